import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PutPipeline } from '../../contract/pipelines.contract';
import type { RunDetail } from '../../contract/runs.contract';
import { api, startStack, type Stack } from '../support/stack';

// Re-running chosen jobs (POST /runs/{id}/rerun {jobs}) on a real API, worker, agent, Temporal and Postgres.

let stack: Stack;

async function putPipeline(name: string, body: PutPipeline): Promise<void> {
  await stack.api.call(api.pipelines.put, { params: { slug: 'core', name }, body });
}

async function trigger(pipeline: string): Promise<RunDetail> {
  return stack.answered(201, api.runs.trigger, { params: { slug: 'core', name: pipeline }, body: {} });
}

const waitForEnd = (id: number, attempt: number): Promise<RunDetail> => stack.runEnded(id, { attempt, timeoutMs: 60_000 });

async function logText(jobId: number): Promise<string> {
  return (await stack.api.raw(api.jobs.logText, { params: { id: jobId }, query: { format: 'text' } })).text();
}

const byKey = (run: RunDetail, attempt: number) => new Map(run.attempts.find((a) => a.attempt === attempt)!.jobs.map((job) => [job.key, job]));

async function rerunRefused(id: number, body: unknown) {
  return stack.request<{ error: { code: string; message: string } }>('POST', `/api/v1/runs/${id}/rerun`, { body });
}

/** a → b → c, and d on its own; each prints its name and attempt, d fails while FAIL_D is set for the attempt. */
const chain = (dFails: boolean): PutPipeline => ({
  content: 'echo unused',
  jobs: [
    { name: 'a', content: 'echo a-$BELLOWS_ATTEMPT' },
    { name: 'b', needs: ['a'], content: 'echo b-$BELLOWS_ATTEMPT' },
    { name: 'c', needs: ['b'], content: 'echo c-$BELLOWS_ATTEMPT' },
    { name: 'd', content: dFails ? 'echo d-$BELLOWS_ATTEMPT; exit 3' : 'echo d-$BELLOWS_ATTEMPT' },
  ],
});

beforeAll(async () => {
  stack = await startStack({ agents: [{ name: 'linux-1', labels: 'os=linux' }] });
  await stack.answered(201, api.projects.create, { body: { slug: 'core', name: 'Core' } });
});

afterAll(async () => {
  await stack?.stop();
});

describe('re-run chosen jobs', () => {
  it('re-runs b and what needs it (c); a and d carry over with their earlier results', async () => {
    await putPipeline('chain', chain(false));
    const first = await waitForEnd((await trigger('chain')).id, 1);
    expect(first.status).toBe('succeeded');
    const before = byKey(first, 1);

    const queued = await stack.answered(201, api.runs.rerun, { params: { id: first.id }, body: { jobs: ['b'] } });
    expect(queued.attempt).toBe(2);
    expect(queued.attempts.map((a) => [a.attempt, a.failedOnly, a.rerunJobs])).toEqual([
      [1, false, null],
      [2, false, ['b']],
    ]);

    const second = await waitForEnd(first.id, 2);
    expect(second.status).toBe('succeeded');
    const after = byKey(second, 2);
    expect([...after.keys()]).toEqual(['a', 'b', 'c', 'd']);
    for (const key of ['a', 'd']) {
      expect(after.get(key)).toMatchObject({ status: 'succeeded', reason: 'carried_over', carriedFromJobId: before.get(key)!.id });
    }
    for (const key of ['b', 'c']) {
      expect(after.get(key)).toMatchObject({ status: 'succeeded', carriedFromJobId: null, try: 1 });
      expect(after.get(key)!.id).not.toBe(before.get(key)!.id);
      expect(await logText(after.get(key)!.id)).toContain(`${key}-2`);
    }
    // Attempt 1 stays as it was.
    expect(await logText(before.get('b')!.id)).toContain('b-1');
  });

  it('carries a failed job over as failed: the attempt ends failed, and the re-run jobs ran', async () => {
    await putPipeline('chain-d-fails', chain(true));
    const first = await waitForEnd((await trigger('chain-d-fails')).id, 1);
    expect(first.status).toBe('failed');

    await stack.answered(201, api.runs.rerun, { params: { id: first.id }, body: { jobs: ['c'] } });
    const second = await waitForEnd(first.id, 2);
    expect(second.status).toBe('failed');
    const after = byKey(second, 2);
    expect(after.get('d')).toMatchObject({ status: 'failed', reason: 'carried_over', carriedFromJobId: byKey(first, 1).get('d')!.id });
    expect(after.get('c')).toMatchObject({ status: 'succeeded', carriedFromJobId: null });
    expect(after.get('b')).toMatchObject({ status: 'succeeded', carriedFromJobId: byKey(first, 1).get('b')!.id });
  });

  it('takes a job name for all of its matrix expansions', async () => {
    await putPipeline('matrix', {
      content: 'echo unused',
      jobs: [
        { name: 'build', content: 'echo build-$BELLOWS_ATTEMPT' },
        { name: 'test', needs: ['build'], matrix: { os: ['linux', 'mac'] }, content: 'echo test-$BELLOWS_ATTEMPT' },
      ],
    });
    const first = await waitForEnd((await trigger('matrix')).id, 1);
    const queued = await stack.answered(201, api.runs.rerun, { params: { id: first.id }, body: { jobs: ['test'] } });
    expect(queued.attempts[1].rerunJobs).toEqual(['test[os=linux]', 'test[os=mac]']);
    const second = await waitForEnd(first.id, 2);
    expect(second.jobs.map((job) => [job.key, job.status, job.carriedFromJobId === null])).toEqual([
      ['build', 'succeeded', false],
      ['test[os=linux]', 'succeeded', true],
      ['test[os=mac]', 'succeeded', true],
    ]);
  });

  it('refuses, naming the problem: unknown job, empty list, jobs with failedOnly, a needed job that failed, a run still going', async () => {
    await putPipeline('chain-a-fails', {
      content: 'echo unused',
      jobs: [
        { name: 'a', content: 'echo a-$BELLOWS_ATTEMPT; exit 1' },
        { name: 'b', needs: ['a'], content: 'echo b' },
      ],
    });
    const failed = await waitForEnd((await trigger('chain-a-fails')).id, 1);
    expect(failed.jobs.map((job) => job.status)).toEqual(['failed', 'skipped']);

    const unknown = await rerunRefused(failed.id, { jobs: ['b', 'nope'] });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error).toMatchObject({ code: 'unknown_job' });
    expect(unknown.body.error.message).toContain('"nope"');
    expect(unknown.body.error.message).toContain('its jobs: a, b');

    const empty = await rerunRefused(failed.id, { jobs: [] });
    expect(empty.status).toBe(422);
    expect(empty.body.error.message).toBe('jobs must name at least one job to re-run.');

    const both = await rerunRefused(failed.id, { jobs: ['a'], failedOnly: true });
    expect(both.status).toBe(422);
    expect(both.body.error.message).toContain('either jobs or failedOnly');

    const blocked = await rerunRefused(failed.id, { jobs: ['b'] });
    expect(blocked.status).toBe(422);
    expect(blocked.body.error).toMatchObject({ code: 'dependency_not_succeeded' });
    expect(blocked.body.error.message).toContain('it needs a, which ended failed');

    const notStrings = await rerunRefused(failed.id, { jobs: [1] });
    expect(notStrings.status).toBe(400);

    // None of those made an attempt.
    expect((await stack.api.call(api.runs.get, { params: { id: failed.id } })).attempts).toHaveLength(1);

    // A run that has not ended is refused as the whole-run re-run refuses it (409 run_in_progress).
    // Not `sleep 300`: runs.test.ts, perhaps running in the other test process, waits for every `sleep 300` on the machine to end.
    await putPipeline('slow', { content: 'sleep 240' });
    const going = await trigger('slow');
    const running = await rerunRefused(going.id, { jobs: ['slow'] });
    expect(running.status).toBe(409);
    expect(running.body.error).toMatchObject({ code: 'run_in_progress' });
    await stack.api.call(api.runs.cancel, { params: { id: going.id } });
    await waitForEnd(going.id, 1);
  });
});

describe('bellows rerun --job', () => {
  const cliEntry = path.resolve('dist/cli/main.js');
  function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const env: NodeJS.ProcessEnv = { ...process.env, BELLOWS_URL: stack.apiUrl, BELLOWS_TOKEN: stack.adminToken, NO_COLOR: '1' };
    const child = spawn(process.execPath, [cliEntry, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  }

  it('re-runs the jobs named and refuses an unknown job in one sentence', async () => {
    await putPipeline('chain-cli', chain(false));
    const first = await waitForEnd((await trigger('chain-cli')).id, 1);

    const unknown = await cli(['rerun', String(first.id), '--job', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('has no job "nope" to re-run');

    const both = await cli(['rerun', String(first.id), '--job', 'b', '--failed']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('either --job or --failed');

    const queued = await cli(['rerun', String(first.id), '--job', 'b', '--job', 'd']);
    expect(queued).toMatchObject({ code: 0, stdout: `Run ${first.id} attempt 2 queued (b, d and what needs them).\n` });
    const second = await waitForEnd(first.id, 2);
    expect(second.jobs.map((job) => [job.key, job.carriedFromJobId === null])).toEqual([
      ['a', false],
      ['b', true],
      ['c', true],
      ['d', true],
    ]);
  });
});
