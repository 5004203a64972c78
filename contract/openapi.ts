// The OpenAPI 3.1 document, generated from the route table: every route with its parameters, request
// body and response schemas. OpenAPI 3.1 schemas are JSON Schema 2020-12, which zod writes itself, so
// this file only places zod's output; schemas with a `meta({id})` become shared components.
import { z } from 'zod';
import { ErrorBody, type RouteDef } from './http';

type JsonSchema = Record<string, unknown>;
type Operation = Record<string, unknown>;

export type OpenApiDocument = {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, JsonSchema> };
};

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No content' };

export function buildOpenApiDocument(routes: Record<string, Record<string, RouteDef>>, info: { title: string; version: string; description: string }): OpenApiDocument {
  const components: Record<string, JsonSchema> = {};
  /** zod's JSON Schema for `schema`, its named parts moved to the shared components. */
  const toSchema = (schema: z.ZodType): JsonSchema => {
    const { $defs, $schema: _dialect, ...root } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as JsonSchema & { $defs?: Record<string, JsonSchema> };
    for (const [id, def] of Object.entries($defs ?? {})) components[id] = relink(def);
    return relink(root);
  };
  const errorRef = toSchema(ErrorBody);

  const paths: OpenApiDocument['paths'] = {};
  for (const [group, table] of Object.entries(routes)) {
    for (const [name, route] of Object.entries(table)) {
      const path = route.path.replace(/:([A-Za-z]+)/g, '{$1}');
      const method = route.method.toLowerCase();
      const existing = paths[path]?.[method];
      // Two routes on one handler (a job's log as JSON or as text): one operation, both answers.
      if (existing) {
        mergeVariant(existing, route, toSchema);
        continue;
      }
      (paths[path] ??= {})[method] = {
        operationId: `${group}.${name}`,
        tags: [route.tag],
        summary: route.summary,
        ...(route.description ? { description: route.description } : {}),
        security: route.auth === 'public' ? [] : [{ bearer: [] }],
        parameters: [...pathParameters(route, toSchema), ...queryParameters(route, toSchema), ...headerParameters(route)],
        ...requestBody(route, toSchema),
        responses: {
          [route.status]: responseOf(route, toSchema),
          default: { description: 'An error', content: { 'application/json': { schema: errorRef } } },
        },
      };
    }
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: { schemas: components, securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API token, an agent secret or a registration token, as the route says.' } } },
  };
}

function responseOf(route: RouteDef, toSchema: (schema: z.ZodType) => JsonSchema): Operation {
  const description = STATUS_TEXT[route.status] ?? 'Success';
  if (route.response === 'empty') return { description };
  if (route.response === 'binary') return { description, content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } } };
  if (route.response === 'text') return { description, content: { 'text/plain': { schema: { type: 'string' } } } };
  return { description, content: { 'application/json': { schema: toSchema(route.response) } } };
}

function mergeVariant(operation: Operation, route: RouteDef, toSchema: (schema: z.ZodType) => JsonSchema): void {
  const responses = operation.responses as Record<string, Operation>;
  const variant = responseOf(route, toSchema);
  const current = responses[route.status] ?? { description: variant.description };
  current.content = { ...(current.content as object), ...(variant.content as object) };
  responses[route.status] = current;
  const known = new Set((operation.parameters as { name: string; in: string }[]).map((p) => `${p.in}:${p.name}`));
  for (const parameter of queryParameters(route, toSchema)) if (!known.has(`query:${parameter.name}`)) (operation.parameters as object[]).push({ ...parameter, required: false });
  operation.summary = `${String(operation.summary)}; ${route.summary}`;
}

function pathParameters(route: RouteDef, toSchema: (schema: z.ZodType) => JsonSchema) {
  const names = [...route.path.matchAll(/:([A-Za-z]+)/g)].map((match) => match[1]);
  const shape = route.params?.shape as Record<string, z.ZodType> | undefined;
  return names.map((name) => ({ name, in: 'path', required: true, schema: shape?.[name] ? toSchema(shape[name]) : { type: 'string' } }));
}

function queryParameters(route: RouteDef, toSchema: (schema: z.ZodType) => JsonSchema) {
  if (!route.query) return [];
  const object = toSchema(route.query) as { required?: string[] };
  return Object.entries(route.query.shape as Record<string, z.ZodType>).map(([name, schema]) => {
    const { description, ...rest } = toSchema(schema);
    return { name, in: 'query', required: object.required?.includes(name) ?? false, ...(description ? { description } : {}), schema: rest };
  });
}

function headerParameters(route: RouteDef) {
  return Object.entries(route.headers ?? {}).map(([name, description]) => ({ name, in: 'header', required: false, description, schema: { type: 'string' } }));
}

function requestBody(route: RouteDef, toSchema: (schema: z.ZodType) => JsonSchema) {
  if (route.body === undefined) return {};
  if (route.body === 'binary') return { requestBody: { required: true, content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } } } };
  if (route.body === 'raw') return { requestBody: { required: true, description: 'The sender’s payload, byte for byte (JSON or form-encoded).', content: { 'application/json': { schema: {} } } } };
  return { requestBody: { required: true, content: { 'application/json': { schema: toSchema(route.body) } } } };
}

/** zod points at its local `#/$defs/X`; in the document they live under components. */
function relink<T>(value: T): T {
  if (Array.isArray(value)) return value.map(relink) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = key === '$ref' && typeof item === 'string' ? item.replace('#/$defs/', '#/components/schemas/') : relink(item);
  }
  return out as T;
}
