import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunDetail } from '../../contract/runs.contract';
import { api, startStack, type Stack } from '../support/stack';

// Automatic retries on the real stack: the agent's exit code decides, the workflow's durable timer
// holds the backoff, and a Temporal worker killed during the backoff loses nothing.
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ agents: [{ name: 'retry-agent', labels: 'pool=retry' }] });
  await stack.answered(201, api.projects.create, { body: { slug: 'rt', name: 'Retries' } });
});

afterAll(async () => {
  await stack?.stop();
});

const run = (id: number): Promise<RunDetail> => stack.api.call(api.runs.get, { params: { id } });

it('retries a try whose exit code the policy names after a backoff that survives kill -9 of the worker', async () => {
  await stack.api.call(api.pipelines.put, {
    params: { slug: 'rt', name: 'flaky' },
    body: {
      content: 'true\n',
      labels: ['pool=retry'],
      jobs: [
        {
          name: 'flaky',
          // Fails with 75 (EX_TEMPFAIL) on its first two tries, succeeds on the third.
          content: 'echo "try $BELLOWS_TRY"\nif [ "$BELLOWS_TRY" -lt 3 ]; then exit 75; fi\necho recovered\n',
          retry: { exitCodes: [75], maxTries: 3, backoffSeconds: 3 },
        },
        { name: 'after', needs: ['flaky'], content: 'echo after\n' },
      ],
    },
  });
  const started = await stack.answered(201, api.runs.trigger, { params: { slug: 'rt', name: 'flaky' }, body: {} });

  // The first try failed and the job waits out its backoff: kill the worker that holds the timer.
  const backingOff = await stack.waitFor(
    async () => {
      const job = (await run(started.id)).jobs.find((candidate) => candidate.key === 'flaky');
      return job && job.status === 'waiting' && job.reason === 'retry_backoff' && job.try === 1 ? job : null;
    },
    { timeoutMs: 60_000, message: 'the first try to fail and the job to wait out its backoff' },
  );
  expect(backingOff.retryAt).not.toBeNull();
  expect(backingOff.maxTries).toBe(3);
  expect(backingOff.tries).toMatchObject([{ try: 1, status: 'failed', reason: 'exit_code', exitCode: 75 }]);
  await stack.killWorker('SIGKILL');

  // Past the backoff with no worker: nothing but the workflow's timer may queue the next try.
  const retryAt = Date.parse(String(backingOff.retryAt));
  await stack.waitFor(() => Date.now() > retryAt + 1500, { timeoutMs: 30_000, intervalMs: 100, message: 'the backoff to pass' });
  expect((await run(started.id)).jobs.find((job) => job.key === 'flaky')).toMatchObject({ status: 'waiting', reason: 'retry_backoff', try: 1 });
  // The queue says why the job is not in it.
  const queue = await stack.api.call(api.queue.list, { query: {} });
  expect(queue.held.find((entry) => entry.id === backingOff.id)).toMatchObject({
    status: 'waiting',
    waitingBecause: `try 1 failed; try 2 of 3 starts after its backoff at ${new Date(retryAt).toISOString()}`,
  });

  await stack.startWorker();
  const done = await stack.runEnded(started.id, { timeoutMs: 90_000 });
  expect(done.status).toBe('succeeded');
  const flaky = done.jobs.find((job) => job.key === 'flaky')!;
  expect(flaky).toMatchObject({ status: 'succeeded', try: 3, retryAt: null, retry: { exitCodes: [75], maxTries: 3, backoffSeconds: 3 } });
  // Every try stays visible, with its verdict and its log.
  expect(flaky.tries.map((t) => [t.try, t.status, t.exitCode])).toEqual([
    [1, 'failed', 75],
    [2, 'failed', 75],
    [3, 'succeeded', 0],
  ]);
  const log = await (await stack.api.raw(api.jobs.logText, { params: { id: flaky.id }, query: { format: 'text' } })).text();
  for (const line of ['try 1', 'try 2', 'try 3', 'recovered']) expect(log).toContain(line);
  expect(done.jobs.find((job) => job.key === 'after')).toMatchObject({ status: 'succeeded', try: 1 });
}, 180_000);

it('fails at once on an exit code the policy does not name', async () => {
  await stack.api.call(api.pipelines.put, {
    params: { slug: 'rt', name: 'broken' },
    body: { content: 'true\n', labels: ['pool=retry'], jobs: [{ name: 'broken', content: 'exit 2\n', retry: { exitCodes: [75], maxTries: 3 } }] },
  });
  const started = await stack.answered(201, api.runs.trigger, { params: { slug: 'rt', name: 'broken' }, body: {} });
  const done = await stack.runEnded(started.id, { timeoutMs: 60_000 });
  expect(done.status).toBe('failed');
  expect(done.jobs[0]).toMatchObject({ status: 'failed', reason: 'exit_code', exitCode: 2, try: 1 });
});

it('answers 422 naming every problem of a bad retry policy, and keeps the stored version', async () => {
  const answer = await stack.request<{ error: { code: string; problems: string[] } }>('PUT', '/api/v1/projects/rt/pipelines/flaky', {
    body: { content: 'true\n', jobs: [{ name: 'flaky', retry: { maxTries: 50, reasons: ['cosmic_rays'] } }] },
  });
  expect(answer.status).toBe(422);
  expect(answer.body.error.code).toBe('invalid_pipeline');
  expect(answer.body.error.problems).toEqual([
    'jobs[0].retry.maxTries: required; an integer from 2 to 10 (tries in all, the first included)',
    'jobs[0].retry.reasons: a non-empty list of agent_lost, timeout',
  ]);
  const stored = await stack.api.call(api.pipelines.get, { params: { slug: 'rt', name: 'flaky' }, query: {} });
  expect(stored.version).toBe(1);
});
