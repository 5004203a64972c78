import { afterAll, beforeAll, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack';

// Its own file (and stack) because it has to wait out a real one-minute job timeout.
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ agents: [{ name: 'slowpoke', labels: 'pool=slow' }] });
  expect((await stack.request('POST', '/api/v1/projects', { body: { slug: 't', name: 'Timeouts' } })).status).toBe(201);
});

afterAll(async () => {
  await stack?.stop();
});

it('fails a job that outlives its timeout with reason "timeout" and stops its processes', async () => {
  const put = await stack.request('PUT', '/api/v1/projects/t/pipelines/slow', {
    body: { content: 'echo "sleeping as $$"\nsleep 600\n', labels: ['pool=slow'], timeoutMinutes: 1 },
  });
  expect(put.status).toBe(200);
  const run = (await stack.request<{ id: number }>('POST', '/api/v1/projects/t/pipelines/slow/runs', { body: {} })).body;
  type Run = { status: string; jobs: { id: number; status: string; reason: string | null; startedAt: string; finishedAt: string }[] };
  const done = await stack.waitFor(
    async () => {
      const current = (await stack.request<Run>('GET', `/api/v1/runs/${run.id}`)).body;
      return ['succeeded', 'failed', 'cancelled'].includes(current.status) ? current : null;
    },
    { timeoutMs: 120_000, intervalMs: 1000, message: 'the run to time out' },
  );
  expect(done.status).toBe('failed');
  expect(done.jobs[0]).toMatchObject({ status: 'failed', reason: 'timeout' });
  const log = (await stack.request<string>('GET', `/api/v1/jobs/${done.jobs[0].id}/logs?format=text`)).body;
  const pid = Number(/sleeping as (\d+)/.exec(log)?.[1]);
  await stack.waitFor(() => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, { timeoutMs: 20_000, message: `the job's shell (pid ${pid}) to be stopped` });
}, 180_000);
