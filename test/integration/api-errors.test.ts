import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';

type ErrorBody = { error: { code: string; message: string } };

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ waitForWorker: false });
  for (const slug of ['alpha', 'beta']) {
    expect((await stack.request('POST', '/api/v1/projects', { body: { slug, name: slug } })).status).toBe(201);
    expect((await stack.request('PUT', `/api/v1/projects/${slug}/pipelines/ci`, { body: { content: 'echo ok' } })).status).toBe(200);
  }
});

afterAll(async () => {
  await stack?.stop();
});

async function countRows(): Promise<{ runs: number; projects: number; tokens: number }> {
  const [row] = await stack.sql<{ runs: number; projects: number; tokens: number }[]>`
    select (select count(*)::int from runs) as runs, (select count(*)::int from projects) as projects, (select count(*)::int from tokens) as tokens`;
  return row;
}

function expectError(res: { status: number; body: unknown }, status: number, code: string, message?: RegExp) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  const body = res.body as ErrorBody;
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  if (message) expect(body.error.message).toMatch(message);
}

describe('bad input gets a clear 4xx and changes nothing', () => {
  it('answers health without a token', async () => {
    const res = await stack.request('GET', '/api/v1/health', { token: null });
    expect(res).toMatchObject({ status: 200, body: { status: 'ok', database: 'up', temporal: 'up' } });
  });

  it('rejects missing and wrong tokens with 401', async () => {
    expectError(await stack.request('GET', '/api/v1/projects', { token: null }), 401, 'unauthorized', /Authorization/);
    expectError(await stack.request('GET', '/api/v1/projects', { token: 'bel_wrong' }), 401, 'unauthorized', /Invalid or revoked/);
  });

  it('keeps a project-bound token inside its project (403) and a read token read-only', async () => {
    const created = await stack.request<{ token: string; scopes: string[] }>('POST', '/api/v1/tokens', {
      body: { name: 'alpha-bot', scopes: ['trigger'], project: 'alpha' },
    });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^bel_/);
    const stored = await stack.sql<{ hash: string }[]>`select token_hash as hash from tokens where name = 'alpha-bot'`;
    expect(stored[0].hash).not.toContain(created.body.token);
    const token = created.body.token;

    expect((await stack.request('POST', '/api/v1/projects/alpha/pipelines/ci/runs', { token, body: {} })).status).toBe(201);
    const before = await countRows();
    expectError(await stack.request('POST', '/api/v1/projects/beta/pipelines/ci/runs', { token, body: {} }), 403, 'forbidden', /beta/);
    expectError(await stack.request('PUT', '/api/v1/projects/alpha/pipelines/ci', { token, body: { content: 'x' } }), 403, 'forbidden', /write/);
    const listed = await stack.request<{ projects: { slug: string }[] }>('GET', '/api/v1/projects', { token });
    expect(listed.body.projects.map((p) => p.slug)).toEqual(['alpha']);
    expect(await countRows()).toEqual(before);

    const agentToken = await stack.createAgentToken('fleet');
    expectError(await stack.request('GET', '/api/v1/projects', { token: agentToken }), 403, 'forbidden', /register/);
  });

  it('answers unknown things with 404', async () => {
    expectError(await stack.request('GET', '/api/v1/projects/nope'), 404, 'project_not_found', /"nope"/);
    expectError(await stack.request('POST', '/api/v1/projects/nope/pipelines/ci/runs', { body: {} }), 404, 'project_not_found');
    expectError(await stack.request('POST', '/api/v1/projects/alpha/pipelines/nope/runs', { body: {} }), 404, 'pipeline_not_found');
    expectError(await stack.request('GET', '/api/v1/runs/424242'), 404, 'run_not_found');
    expectError(await stack.request('GET', '/api/v1/runs/abc'), 400, 'bad_request', /run id/);
    expectError(await stack.request('GET', '/api/v1/no-such-route'), 404, 'not_found');
    expectError(await stack.request('GET', '/api/v1/artifacts/00000000-0000-0000-0000-000000000000'), 404, 'artifact_not_found');
  });

  it('rejects malformed JSON (400), oversized bodies (413) and invalid fields (400/422)', async () => {
    const before = await countRows();
    expectError(
      await stack.request('POST', '/api/v1/projects', { rawBody: '{"slug": "x",', headers: { 'content-type': 'application/json' } }),
      400,
      'malformed_json',
    );
    const huge = JSON.stringify({ content: 'x'.repeat(6 * 1024 * 1024) });
    expectError(
      await stack.request('PUT', '/api/v1/projects/alpha/pipelines/ci', { rawBody: huge, headers: { 'content-type': 'application/json' } }),
      413,
      'payload_too_large',
    );
    expectError(await stack.request('POST', '/api/v1/projects', { body: { slug: 'Bad Slug!', name: 'x' } }), 400, 'validation_failed', /slug/);
    expectError(await stack.request('POST', '/api/v1/projects', { body: { slug: 'ok', name: 'x', extra: 1 } }), 400, 'validation_failed', /extra/);
    expectError(await stack.request('POST', '/api/v1/projects', { body: { slug: 'alpha', name: 'again' } }), 409, 'project_exists');
    expectError(
      await stack.request('PUT', '/api/v1/projects/alpha/pipelines/ci', { body: { content: 'echo', labels: ['has space'], matrix: { os: [] } } }),
      422,
      'invalid_pipeline',
      /"has space".*matrix\.os/,
    );
    expectError(
      await stack.request('POST', '/api/v1/projects/alpha/pipelines/ci/runs', { body: { env: { '1X': 'y' } } }),
      422,
      'invalid_trigger',
      /1X/,
    );
    expectError(await stack.request('GET', '/api/v1/runs?status=bogus'), 400, 'bad_request', /status/);
    expectError(await stack.request('POST', '/api/v1/tokens', { body: { name: 'x', scopes: ['root'] } }), 400, 'validation_failed', /scope/);
    expect(await countRows()).toEqual(before);
    const pipeline = await stack.request<{ version: number; content: string }>('GET', '/api/v1/projects/alpha/pipelines/ci');
    expect(pipeline.body).toMatchObject({ version: 1, content: 'echo ok' });
  });

  it('names the bad query parameter of a list (the route schema checks it)', async () => {
    expectError(await stack.request('GET', '/api/v1/artifacts?minSize=-1'), 400, 'validation_failed', /^minSize must be a non-negative integer; got "-1"\.$/);
    expectError(await stack.request('GET', '/api/v1/artifacts?from=yesterday'), 400, 'validation_failed', /^from must be an ISO 8601 date; got "yesterday"\.$/);
    expectError(await stack.request('GET', '/api/v1/artifacts?limit=500&runId=x'), 400, 'validation_failed', /runId must be a non-negative integer.*limit must be an integer from 1 to 200/);
    const empty = await stack.request<{ artifacts: unknown[] }>('GET', '/api/v1/artifacts?minSize=&from=&runId=999999');
    expect(empty.status).toBe(200);
    expect(empty.body.artifacts).toEqual([]);
  });

  it('refuses a broken .act graph at push with 422 naming every problem (node, type, port), storing nothing', async () => {
    const broken = [
      'entry: start',
      'nodes:',
      '  - {id: start, type: core/start@v1}',
      '  - {id: beam, type: core/teleport@v1}',
      '  - {id: act, type: core/gh-action@v1}',
      '  - {id: say, type: core/print@v1, inputs: {color: purple}}',
      'connections:',
      '  - {src: {node: start, port: args}, dst: {node: say, port: "values[3]"}}',
      'executions:',
      '  - {src: {node: start, port: exec}, dst: {node: say, port: run}}',
    ].join('\n');
    const before = await stack.request<{ version: number }>('GET', '/api/v1/projects/alpha/pipelines/ci');
    const res = await stack.request<{ error: { code: string; message: string; problems: string[] } }>('PUT', '/api/v1/projects/alpha/pipelines/ci', { body: { content: broken } });
    // An unknown colour is not among them: the reference prints uncoloured, so Bellows accepts it too.
    expectError(res, 422, 'invalid_pipeline', /4 problems/);
    expect(res.body.error.problems).toEqual([
      'content: node beam: unknown node type core/teleport@v1: this agent does not implement it',
      expect.stringMatching(/^content: node act: node type core\/gh-action@v1 cannot run on a Bellows agent: it runs a GitHub Action/),
      'content: node say: execution start.exec → say.run: a core/print@v1 node has no exec input port run (it has: exec)',
      expect.stringMatching(/^content: node say: connection start\.args → say\.values\[3\]: values\[3\] is not declared/),
    ]);
    const after = await stack.request<{ version: number }>('GET', '/api/v1/projects/alpha/pipelines/ci');
    expect(after.body.version).toBe(before.body.version);
  });

  it('refuses bad repositories: file:// where the server does not allow it, credentials in the URL, bad paths', async () => {
    const local = await stack.request('POST', '/api/v1/projects', { body: { slug: 'local-repo', name: 'x', repository: { url: 'file:///srv/repo.git' } } });
    expectError(local, 422, 'invalid_repository', /BELLOWS_ALLOW_FILE_REPOSITORIES/);
    const leaky = await stack.request('PATCH', '/api/v1/projects/alpha', { body: { repository: { url: 'https://bob:hunter2-token@example.com/x.git' } } });
    expectError(leaky, 422, 'invalid_repository', /credentialsSecret/);
    expect(JSON.stringify(leaky.body)).not.toContain('hunter2');
    const listed = await stack.request('PATCH', '/api/v1/projects/alpha', { body: { repository: { url: 'https://example.com/x.git', credentialsSecret: ['GIT_TOKEN'] } } });
    expectError(listed, 422, 'invalid_repository', /credentialsSecret must be a string/);
    const anonymous = await stack.request('PATCH', '/api/v1/projects/alpha', { body: { repository: { url: 'git://example.com/x.git', credentialsSecret: 'GIT_TOKEN' } } });
    expectError(anonymous, 422, 'invalid_repository', /takes no credentials/);
    expectError(await stack.request('PUT', '/api/v1/projects/alpha/pipelines/ci', { body: { path: '.bellows/x.act' } }), 422, 'no_repository');
    expectError(await stack.request('PUT', '/api/v1/projects/alpha/pipelines/ci', { body: { path: '../x.act' } }), 400, 'invalid_path', /leaves the repository/);
    expectError(await stack.request('PUT', '/api/v1/projects/alpha/pipelines/ci', { body: { content: 'x', path: 'a.sh' } }), 400, 'invalid_pipeline', /either content or path/);
    expectError(await stack.request('GET', '/api/v1/projects/alpha/branches'), 422, 'no_repository');
    expect((await stack.request('GET', '/api/v1/projects/alpha')).body).toMatchObject({ repository: null });
  });

  it('never returns a secret value', async () => {
    expect((await stack.request('PUT', '/api/v1/projects/alpha/secrets/API_KEY', { body: { value: 'v3ry-secret' } })).status).toBe(204);
    const listed = await stack.request('GET', '/api/v1/projects/alpha/secrets');
    expect(JSON.stringify(listed.body)).not.toContain('v3ry-secret');
    expect(JSON.stringify(listed.body)).toContain('API_KEY');
    const [row] = await stack.sql<{ ciphertext: string }[]>`select ciphertext from secrets where name = 'API_KEY'`;
    expect(row.ciphertext).not.toContain('v3ry-secret');
    expectError(await stack.request('PUT', '/api/v1/projects/alpha/secrets/bad-name', { body: { value: 'x' } }), 400, 'invalid_secret_name');
  });

  it('serves the OpenAPI document', async () => {
    const doc = await stack.request<{ openapi: string; paths: Record<string, unknown> }>('GET', '/api/docs-json', { token: null });
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/api/v1/runs/{id}', '/api/v1/agents/claim', '/api/v1/projects/{slug}/pipelines/{name}/runs', '/api/v1/queue/move']),
    );
    const page = await stack.request<string>('GET', '/api/docs', { token: null });
    expect(page.status).toBe(200);
    expect(page.body).toContain('swagger');
  });
});
