import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiRequestError, connect } from '../../cli/api-client';
import { CliError, EXIT } from '../../cli/cli-errors';
import { api } from '../../contract';

// A stand-in server answering each path with a fixed status and body, so every failure the CLI words is exercised.
const answers: Record<string, { status: number; body: unknown }> = {
  '/api/v1/projects': { status: 200, body: { projects: 'not a list' } },
  '/api/v1/projects/demo/pipelines/build': {
    status: 422,
    body: { error: { code: 'invalid_pipeline', message: 'Invalid pipeline (2 problems): a; b', summary: 'Invalid pipeline (2 problems)', problems: ['a', 'b'] } },
  },
  '/api/v1/runs/1': { status: 401, body: { error: { code: 'unauthorized', message: 'Invalid token.' } } },
};

let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const answer = answers[request.url ?? ''] ?? { status: 404, body: { error: { code: 'not_found', message: 'No such route.' } } };
    response.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const failure = async (promise: Promise<unknown>): Promise<CliError> => {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(CliError);
  return error as CliError;
};

describe('the CLI API client', () => {
  it('lists a refused pipeline one problem a line, keeping the code and details', async () => {
    const error = await failure(connect(url, 't').call(api.pipelines.put, { params: { slug: 'demo', name: 'build' }, body: { content: 'x' } }));
    expect(error).toBeInstanceOf(ApiRequestError);
    expect((error as ApiRequestError).code).toBe('invalid_pipeline');
    expect((error as ApiRequestError).details.problems).toEqual(['a', 'b']);
    expect(error.message).toBe('Invalid pipeline (2 problems):\n  - a\n  - b');
  });

  it('sends a refused token to `bellows login`', async () => {
    const error = await failure(connect(url, 't').call(api.runs.get, { params: { id: 1 } }));
    expect((error as ApiRequestError).status).toBe(401);
    expect(error.message).toBe(`The server at ${url} refused the token (Invalid token.); run \`bellows login\` with a valid token.`);
  });

  it('says the server speaks another version when an answer breaks the contract', async () => {
    const error = await failure(connect(url, 't').call(api.projects.list, {}));
    expect(error.exitCode).toBe(EXIT.failed);
    expect(error.message).toMatch(new RegExp(`^The server at ${url} answered in a form this CLI does not know \\(GET /api/v1/projects .*projects: .*\\); use the bellows CLI of the server's version\\.$`));
  });

  it('names why the server cannot be reached, with the exit code scripts test', async () => {
    // A port that was just free: nothing listens on it.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await failure(connect(`http://127.0.0.1:${port}`, 't').call(api.projects.list, {}));
    expect(error.exitCode).toBe(EXIT.unreachable);
    expect(error.message).toBe(`Cannot reach the Bellows server at http://127.0.0.1:${port} (connection refused).`);
  });
});
