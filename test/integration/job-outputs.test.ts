import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail, RunStatus } from '../../contract/runs.contract';
import { api, startStack, type Stack } from '../support/stack';

// Job outputs end to end: real server, Temporal, PostgreSQL and agent. A job writes $BELLOWS_OUTPUT,
// jobs that need it read NEEDS_<JOB>_<KEY> (script) and ${{ needs.JOB.outputs.KEY }} (graph).

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ agents: [{ name: 'outputs-1', labels: 'os=linux' }] });
  await stack.answered(201, api.projects.create, { body: { slug: 'outs', name: 'Outputs' } });
  expect((await stack.api.raw(api.secrets.put, { params: { slug: 'outs', name: 'DEPLOY_TOKEN' }, body: { value: 'tok-0ut-secret' } })).status).toBe(204);
});

afterAll(async () => {
  await stack?.stop();
});

async function logText(jobId: number): Promise<string> {
  return (await stack.api.raw(api.jobs.logText, { params: { id: jobId }, query: { format: 'text' } })).text();
}

async function waitForStatus(id: number, statuses: RunStatus[]): Promise<RunDetail> {
  return stack.waitFor(
    async () => {
      const run = await stack.api.call(api.runs.get, { params: { id } });
      return statuses.includes(run.status) ? run : null;
    },
    { timeoutMs: 60_000, message: `run ${id} to reach ${statuses.join('/')}` },
  );
}

const PRODUCER = [
  'echo "version=1.2.3" >> "$BELLOWS_OUTPUT"',
  'echo "leak=token:$ACT_INPUT_SECRET_DEPLOY_TOKEN" >> "$BELLOWS_OUTPUT"',
  'printf "notes<<EOF\\nfirst line\\nsecond = line\\nEOF\\n" >> "$BELLOWS_OUTPUT"',
].join('\n');

const GRAPH = `entry: start
nodes:
  - id: start
    type: core/start@v1
  - id: show
    type: core/run@v1
    inputs:
      shell: bash
      script: |
        echo "graph sees [\${{ needs.a.outputs.version }}]"
        echo "graph env [$NEEDS_A_VERSION]"
connections: []
executions:
  - src: {node: start, port: exec}
    dst: {node: show, port: exec}
`;

describe('job outputs', () => {
  it('reach the jobs that need them (env and graph expressions), show on the run, mask secrets, and carry over', async () => {
    await stack.api.call(api.pipelines.put, {
      params: { slug: 'outs', name: 'chain' },
      body: {
        content: 'echo unused',
        jobs: [
          { name: 'a', content: PRODUCER },
          {
            name: 'b',
            needs: ['a'],
            // Fails on the first attempt, so a failed-only re-run carries `a` (and its outputs) over.
            content: 'echo "script sees [$NEEDS_A_VERSION] attempt $BELLOWS_ATTEMPT"\nprintf "notes=[%s]\\n" "$NEEDS_A_NOTES"\necho "leak=[$NEEDS_A_LEAK]"\n[ "$BELLOWS_ATTEMPT" -ge 2 ]',
          },
          { name: 'g', needs: ['a'], content: GRAPH },
        ],
      },
    });
    const triggered = await stack.answered(201, api.runs.trigger, { params: { slug: 'outs', name: 'chain' }, body: {} });
    const first = await waitForStatus(triggered.id, ['failed', 'succeeded']);
    expect(first.jobs.map((job) => [job.key, job.status])).toEqual([
      ['a', 'succeeded'],
      ['b', 'failed'],
      ['g', 'succeeded'],
    ]);
    const [a, b, g] = first.jobs;
    // The secret is masked where it is stored: the API, the UI and the needing jobs only ever see ***.
    const expected = { version: '1.2.3', notes: 'first line\nsecond = line', leak: 'token:***' };
    expect(a.outputs).toEqual(expected);
    expect(b.outputs).toEqual({});
    expect((await stack.api.call(api.jobs.get, { params: { id: a.id } })).outputs).toEqual(expected);
    const [row] = await stack.sql<{ outputs: Record<string, string> }[]>`select outputs from jobs where id = ${a.id}`;
    expect(JSON.stringify(row.outputs)).not.toContain('tok-0ut-secret');

    const bLog = await logText(b.id);
    expect(bLog).toContain('script sees [1.2.3] attempt 1');
    expect(bLog).toContain('notes=[first line\nsecond = line]');
    expect(bLog).toContain('leak=[token:***]');
    const gLog = await logText(g.id);
    expect(gLog).toContain('graph sees [1.2.3]');
    expect(gLog).toContain('graph env [1.2.3]');
    expect(await logText(a.id)).toContain('Outputs: version, leak, notes');

    await stack.answered(201, api.runs.rerun, { params: { id: first.id }, body: { failedOnly: true } });
    const second = await waitForStatus(first.id, ['failed', 'succeeded']);
    expect(second.status).toBe('succeeded');
    const [a2, b2] = second.attempts[1].jobs;
    expect(a2).toMatchObject({ key: 'a', carriedFromJobId: a.id, outputs: expected });
    expect(await logText(b2.id)).toContain('script sees [1.2.3] attempt 2');

    // The built CLI shows them too: a table (multi-line values on one line) and --json as stored.
    const cli = (args: string[]) =>
      promisify(execFile)(process.execPath, [resolve('dist/cli/main.js'), ...args, '--url', stack.apiUrl, '--token', stack.adminToken], { env: { ...process.env, NO_COLOR: '1' } });
    const shown = await cli(['outputs', String(first.id)]);
    expect(shown.stdout).toMatch(/JOB\s+OUTPUT\s+VALUE/);
    expect(shown.stdout).toMatch(/a\s+notes\s+first line\\nsecond = line/);
    expect(JSON.parse((await cli(['outputs', String(first.id), '--json'])).stdout)).toEqual({ a: expected, b: {}, g: {} });
  });

  it('fails a try whose output file is malformed, naming the line', async () => {
    await stack.api.call(api.pipelines.put, {
      params: { slug: 'outs', name: 'malformed' },
      body: { content: 'echo "ok=1" >> "$BELLOWS_OUTPUT"\necho "not an output" >> "$BELLOWS_OUTPUT"\n' },
    });
    const triggered = await stack.answered(201, api.runs.trigger, { params: { slug: 'outs', name: 'malformed' }, body: {} });
    const run = await waitForStatus(triggered.id, ['failed', 'succeeded']);
    expect(run.status).toBe('failed');
    expect(run.jobs[0]).toMatchObject({ status: 'failed', exitCode: 0, outputs: {} });
    expect(await logText(run.jobs[0].id)).toContain('$BELLOWS_OUTPUT line 2: expected KEY=VALUE or KEY<<DELIMITER, got "not an output"');
  });
});

describe('the agent protocol', () => {
  it('refuses bad outputs at finish (400, like every body the contract refuses) naming the problem, and hands stored outputs to the needing job\'s claim', async () => {
    const token = await stack.createAgentToken('outputs-manual');
    const registered = await stack.request<{ secret: string }>('POST', '/api/v1/agents/register', { token, body: { name: 'manual-1', labels: ['pool=manual'] } });
    expect(registered.status).toBe(201);
    const secret = registered.body.secret;
    await stack.api.call(api.pipelines.put, {
      params: { slug: 'outs', name: 'manual' },
      body: { content: 'true', labels: ['pool=manual'], jobs: [{ name: 'make' }, { name: 'use', needs: ['make'] }] },
    });
    await stack.answered(201, api.runs.trigger, { params: { slug: 'outs', name: 'manual' }, body: {} });
    type Claim = { job: { id: number; name: string }; needs?: Record<string, { outputs: Record<string, string> }> };
    const claim = async (): Promise<Claim> => {
      const response = await stack.request<Claim>('POST', '/api/v1/agents/claim?wait=20', { token: secret });
      expect(response.status).toBe(200);
      return response.body;
    };
    const make = await claim();
    expect(make).toMatchObject({ job: { name: 'make' }, needs: {} });
    const path = `/api/v1/agents/jobs/${make.job.id}`;
    expect((await stack.request('POST', `${path}/start`, { token: secret })).status).toBe(200);

    const badName = await stack.request<{ error: { message: string } }>('POST', `${path}/finish`, { token: secret, body: { status: 'succeeded', outputs: { 'bad-name': 'x' } } });
    expect(badName.status, JSON.stringify(badName.body)).toBe(400);
    expect(badName.body.error.message).toContain('each output name must be a letter or underscore, then letters, digits or underscores (got "bad-name")');
    const tooBig = await stack.request<{ error: { message: string } }>('POST', `${path}/finish`, {
      token: secret,
      body: { status: 'succeeded', outputs: { a: 'x'.repeat(600_000), b: 'y'.repeat(600_000) } },
    });
    expect(tooBig.status).toBe(400);
    expect(tooBig.body.error.message).toContain('outputs must be at most 1048576 bytes in all');

    const finished = await stack.request('POST', `${path}/finish`, { token: secret, body: { status: 'succeeded', exitCode: 0, outputs: { artifact_url: 'http://x/a.tgz' } } });
    expect(finished.status).toBe(200);
    expect((await stack.api.call(api.jobs.get, { params: { id: make.job.id } })).outputs).toEqual({ artifact_url: 'http://x/a.tgz' });
    const use = await claim();
    expect(use).toMatchObject({ job: { name: 'use' }, needs: { make: { outputs: { artifact_url: 'http://x/a.tgz' } } } });
    // An agent from before job outputs finishes without them.
    expect((await stack.request('POST', `/api/v1/agents/jobs/${use.job.id}/finish`, { token: secret, body: { status: 'succeeded', exitCode: 0 } })).status).toBe(200);
  });
});
