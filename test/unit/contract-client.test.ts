import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApiClient } from '../../contract/api-client';
import { ApiError, ContractViolation, defineRoute, routeUrl } from '../../contract/http';

const Thing = z.object({ id: z.number(), name: z.string() });
const getThing = defineRoute({ method: 'GET', path: '/api/things/:slug/items/:id', tag: 't', summary: 's', auth: 'read', status: 200, query: z.object({ q: z.string().optional() }), response: Thing });
const putThing = defineRoute({ method: 'PUT', path: '/api/things/:slug', tag: 't', summary: 's', auth: 'write', status: 200, body: z.object({ name: z.string() }), response: Thing });
const removeThing = defineRoute({ method: 'DELETE', path: '/api/things/:slug', tag: 't', summary: 's', auth: 'write', status: 204, response: 'empty' });

type Seen = { method: string; url: string; authorization?: string; contentType?: string; body: string };
let server: Server;
let baseUrl: string;
const seen: Seen[] = [];
let answer: { status: number; body: string } = { status: 200, body: '{}' };

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, contentType: req.headers['content-type'], body });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('routeUrl', () => {
  it('fills and encodes path parameters and appends the defined query values', () => {
    expect(routeUrl(getThing, { slug: 'a b/c', id: 7 }, { q: 'x&y', empty: '', none: undefined })).toBe('/api/things/a%20b%2Fc/items/7?q=x%26y');
  });
  it('refuses a missing path parameter, naming it', () => {
    expect(() => routeUrl(getThing, { slug: 'a' })).toThrow(/"id"/);
  });
});

describe('createApiClient', () => {
  it('sends the method, path, token and JSON body of the route, and answers the body', async () => {
    answer = { status: 200, body: JSON.stringify({ id: 1, name: 'n' }) };
    const client = createApiClient({ baseUrl, token: () => 'tok' });
    const thing = await client.call(putThing, { params: { slug: 'p' }, body: { name: 'n' } });
    expect(thing.name).toBe('n');
    expect(seen.at(-1)).toEqual({ method: 'PUT', url: '/api/things/p', authorization: 'Bearer tok', contentType: 'application/json', body: '{"name":"n"}' });
  });

  it('answers undefined for 204', async () => {
    answer = { status: 204, body: '' };
    await expect(createApiClient({ baseUrl }).call(removeThing, { params: { slug: 'p' } })).resolves.toBeUndefined();
  });

  it('rejects with the API error code, sentence and extra fields', async () => {
    answer = { status: 409, body: JSON.stringify({ error: { code: 'log_seq_mismatch', message: 'Expected batch 3.', nextSeq: 3 } }) };
    const error = await createApiClient({ baseUrl }).call(getThing, { params: { slug: 'p', id: 1 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 409, code: 'log_seq_mismatch', message: 'Expected batch 3.', details: { nextSeq: 3 } });
  });

  it('keeps the status line when the error body is not the API’s', async () => {
    answer = { status: 502, body: '<html>Bad gateway</html>' };
    await expect(createApiClient({ baseUrl }).call(getThing, { params: { slug: 'p', id: 1 } })).rejects.toMatchObject({ status: 502, code: 'http_error' });
  });

  it('with checkResponses, refuses an answer outside the contract, naming the field', async () => {
    answer = { status: 200, body: JSON.stringify({ id: 'one', name: 'n' }) };
    const error = await createApiClient({ baseUrl, checkResponses: true }).call(getThing, { params: { slug: 'p', id: 1 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContractViolation);
    expect(String(error)).toMatch(/id:/);
  });

  it('turns no answer at all into an unreachable error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(createApiClient({ baseUrl: `http://127.0.0.1:${port}` }).call(removeThing, { params: { slug: 'p' } })).rejects.toMatchObject({ status: 0, code: 'unreachable' });
  });

  it('types inputs from the route (checked by tsc)', () => {
    const client = createApiClient({ baseUrl });
    // @ts-expect-error the route needs its path parameters
    const missing = () => client.call(getThing, {});
    // @ts-expect-error the body must match the schema
    const wrong = () => client.call(putThing, { params: { slug: 'p' }, body: { name: 3 } });
    expect([typeof missing, typeof wrong]).toEqual(['function', 'function']);
  });
});
