import { afterAll, beforeAll, expect, it } from 'vitest';
import { isTerminal } from '../../contract/runs.contract';
import { api, startStack, type Stack } from '../support/stack';

// Its own file (and stack) because it has to wait out a real one-minute job timeout.
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ agents: [{ name: 'slowpoke', labels: 'pool=slow' }] });
  const project = await stack.api.raw(api.projects.create, { body: { slug: 't', name: 'Timeouts' } });
  expect(project.status).toBe(201);
});

afterAll(async () => {
  await stack?.stop();
});

it('fails a job that outlives its timeout with reason "timeout" and stops its processes', async () => {
  await stack.api.call(api.pipelines.put, {
    params: { slug: 't', name: 'slow' },
    body: { content: 'echo "sleeping as $$"\nsleep 600\n', labels: ['pool=slow'], timeoutMinutes: 1 },
  });
  const run = await stack.api.call(api.runs.trigger, { params: { slug: 't', name: 'slow' }, body: {} });
  const done = await stack.waitFor(
    async () => {
      const current = await stack.api.call(api.runs.get, { params: { id: run.id } });
      return isTerminal(current.status) ? current : null;
    },
    { timeoutMs: 120_000, intervalMs: 1000, message: 'the run to time out' },
  );
  expect(done.status).toBe('failed');
  expect(done.jobs[0]).toMatchObject({ status: 'failed', reason: 'timeout' });
  const log = await (await stack.api.raw(api.jobs.logText, { params: { id: done.jobs[0].id }, query: { format: 'text' } })).text();
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
