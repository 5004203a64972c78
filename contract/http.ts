// The shape of one REST route, and the pure functions every client and the server build on: a route is
// data (method, path, schemas), so the server's handlers, the OpenAPI document and every client are
// derived from the same object and cannot drift apart.
import { z } from 'zod';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * What a route answers on success: a JSON body checked by a schema, no body (204), or bytes the caller
 * streams (downloads, uploads' raw bodies, the Prometheus text).
 */
export type ResponseSpec = z.ZodType | 'empty' | 'binary' | 'text';

export type RouteDef = {
  method: HttpMethod;
  /** The full path from the server's root, Express style: `/api/v1/runs/:id`. */
  path: string;
  /** The OpenAPI tag (the docs group routes by it). */
  tag: string;
  summary: string;
  description?: string;
  /** Path parameters, when they are more than strings (ids); the path's `:names` otherwise. */
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** A JSON body; `binary` for a streamed one (artifact upload), `raw` for bytes kept for a signature (webhooks). */
  body?: z.ZodType | 'binary' | 'raw';
  response: ResponseSpec;
  /** The success status (Nest's default of 201 for every POST is not what every POST answers). */
  status: 200 | 201 | 202 | 204;
  /** Who may call it: a user token with a scope, an agent, an agent registration token, or anyone. */
  auth: 'read' | 'write' | 'trigger' | 'admin' | 'agent' | 'registration' | 'public';
  /** Request headers the route reads, for the docs. */
  headers?: Record<string, string>;
};

/** Keeps the literal types of a route (its path, its schemas) so clients infer from it. */
export const defineRoute = <const R extends RouteDef>(route: R): R => route;

// ---- types a client derives from a route ------------------------------------------------------------

type PathParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | PathParamNames<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;

type ParamsInput<R extends RouteDef> = R['params'] extends z.ZodObject
  ? { params: z.input<R['params']> }
  : [PathParamNames<R['path']>] extends [never]
    ? { params?: undefined }
    : { params: Record<PathParamNames<R['path']>, string | number> };

type QueryInput<R extends RouteDef> = R['query'] extends z.ZodObject ? { query?: z.input<R['query']> } : { query?: undefined };

type BodyInput<R extends RouteDef> = R['body'] extends z.ZodType
  ? undefined extends z.input<R['body']>
    ? { body?: z.input<R['body']> }
    : { body: z.input<R['body']> }
  : R['body'] extends 'binary' | 'raw'
    ? { body: BodyInit }
    : { body?: undefined };

/** What a caller passes: path parameters, query and body, each only when the route has them. */
export type RouteInput<R extends RouteDef> = ParamsInput<R> & QueryInput<R> & BodyInput<R>;

/** The JSON a route answers with, as it travels (timestamps are ISO strings). */
export type RouteResponse<R extends RouteDef> = R['response'] extends z.ZodType ? z.input<R['response']> : void;

/** The body a server handler receives after validation. */
export type RouteBody<R extends RouteDef> = R['body'] extends z.ZodType ? z.output<R['body']> : never;
export type RouteQuery<R extends RouteDef> = R['query'] extends z.ZodObject ? z.output<R['query']> : never;
export type RouteParams<R extends RouteDef> = R['params'] extends z.ZodObject ? z.output<R['params']> : Record<PathParamNames<R['path']>, string>;
/** What a server handler returns: the response schema's application side (timestamps as Date). */
export type RouteResult<R extends RouteDef> = R['response'] extends z.ZodType ? z.output<R['response']> : void;

// ---- building a request, reading an answer -----------------------------------------------------------

/** `route.path` with its `:params` filled in (encoded) and the query's defined values appended. */
export function routeUrl(route: RouteDef, params?: Record<string, string | number>, query?: Record<string, unknown>): string {
  const path = route.path.replace(/:([A-Za-z]+)/g, (_, key: string) => {
    const value = params?.[key];
    if (value === undefined) throw new Error(`${route.method} ${route.path} needs the path parameter "${key}".`);
    return encodeURIComponent(String(value));
  });
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    for (const item of Array.isArray(value) ? value : [value]) search.append(key, String(item));
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

/** The `{error: {code, message, …}}` every failure answers with. */
export const ErrorBody = z
  .object({ error: z.looseObject({ code: z.string(), message: z.string() }) })
  .meta({ id: 'Error', description: 'Every error: a stable code for programs and a sentence for people.' });
export type ErrorBody = z.infer<typeof ErrorBody>;

/** An error answer (or no answer: status 0, code `unreachable`), with the API's own sentence as message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The whole `error` object: some carry more (`problems`, `nextSeq`). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The ApiError an error response stands for; a body that is not ours keeps the status line. */
export function errorFromResponse(status: number, statusText: string, text: string): ApiError {
  try {
    const parsed = ErrorBody.safeParse(JSON.parse(text));
    if (parsed.success) {
      const { code, message, ...details } = parsed.data.error;
      return new ApiError(status, code, message, details);
    }
  } catch {
    // not JSON (a proxy's error page): fall through
  }
  return new ApiError(status, 'http_error', text.trim().slice(0, 300) || `HTTP ${status} ${statusText}`.trim());
}

/** A 2xx answer whose body breaks the contract: the server and this client disagree on a version. */
export class ContractViolation extends Error {
  constructor(route: RouteDef, issues: string) {
    super(`${route.method} ${route.path} answered outside its contract: ${issues}`);
    this.name = 'ContractViolation';
  }
}

/** Checks a JSON answer against the route's schema; returns it as sent (timestamps stay strings). */
export function checkResponse<R extends RouteDef>(route: R, json: unknown): RouteResponse<R> {
  if (typeof route.response === 'string') return json as RouteResponse<R>;
  const parsed = route.response.safeParse(json);
  if (!parsed.success) throw new ContractViolation(route, describeIssues(parsed.error.issues));
  return json as RouteResponse<R>;
}

/** One sentence naming every field that failed, nested ones by path (`chunks.0.stream: …`). */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') return `${path ? `${path}: ` : ''}unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `"${key}"`).join(', ')}`;
      // Our own messages name their field already ("limit must be …"): no second name in front.
      return path && !issue.message.startsWith(`${path} `) ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}
