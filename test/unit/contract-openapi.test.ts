import { describe, expect, it } from 'vitest';
import { api } from '../../contract';
import { buildOpenApiDocument } from '../../contract/openapi';

const document = buildOpenApiDocument(api, { title: 'Bellows API', version: '1', description: 'test' });
const routes = Object.entries(api).flatMap(([group, table]) => Object.entries(table).map(([name, route]) => ({ id: `${group}.${name}`, route })));

describe('the OpenAPI document generated from the contract', () => {
  it('has an operation for every route, with its success answer', () => {
    for (const { id, route } of routes) {
      const operation = document.paths[route.path.replace(/:([A-Za-z]+)/g, '{$1}')]?.[route.method.toLowerCase()] as { responses: Record<string, { content?: Record<string, { schema: unknown }> }> } | undefined;
      expect(operation, id).toBeDefined();
      const success = operation!.responses[route.status];
      expect(success, `${id} answers ${route.status}`).toBeDefined();
      if (route.response === 'empty') expect(success.content, id).toBeUndefined();
      else expect(Object.values(success.content ?? {}).length, `${id} documents its body`).toBeGreaterThan(0);
    }
  });

  it('gives every JSON answer a schema that says what is in it (no placeholder)', () => {
    const vague = routes.filter(({ route }) => typeof route.response === 'object').filter(({ route }) => {
      const json = document.paths[route.path.replace(/:([A-Za-z]+)/g, '{$1}')][route.method.toLowerCase()] as { responses: Record<string, { content: Record<string, { schema: Record<string, unknown> }> }> };
      const schema = json.responses[route.status].content['application/json']?.schema;
      return !schema || Object.keys(schema).length === 0;
    });
    expect(vague.map(({ id }) => id)).toEqual([]);
  });

  it('documents every path parameter and the error shape', () => {
    for (const { id, route } of routes) {
      const operation = document.paths[route.path.replace(/:([A-Za-z]+)/g, '{$1}')][route.method.toLowerCase()] as { parameters: { name: string; in: string }[]; responses: Record<string, unknown> };
      const names = [...route.path.matchAll(/:([A-Za-z]+)/g)].map((match) => match[1]);
      expect(operation.parameters.filter((p) => p.in === 'path').map((p) => p.name), id).toEqual(names);
      expect(operation.responses.default, id).toBeDefined();
    }
    expect(document.components.schemas.Error).toBeDefined();
  });
});
