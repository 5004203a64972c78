import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminal, type RunDetail } from '../../contract/runs.contract';
import { api, startStack, type Stack } from '../support/stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  await stack.answered(201, api.projects.create, { body: { slug: 'r', name: 'Resilience' } });
});

afterAll(async () => {
  await stack?.stop();
});

async function put(name: string, content: string, labels: string[]) {
  await stack.api.call(api.pipelines.put, { params: { slug: 'r', name }, body: { content, labels } });
}

async function trigger(name: string): Promise<RunDetail> {
  return stack.answered(201, api.runs.trigger, { params: { slug: 'r', name }, body: {} });
}

async function run(id: number): Promise<RunDetail> {
  return stack.api.call(api.runs.get, { params: { id } });
}

async function finished(id: number, timeoutMs = 90_000): Promise<RunDetail> {
  return stack.waitFor(
    async () => {
      const current = await run(id).catch(() => null);
      return current && isTerminal(current.status) ? current : null;
    },
    { timeoutMs, intervalMs: 250, message: `run ${id} to finish` },
  );
}

async function logText(jobId: number): Promise<string> {
  return (await stack.api.raw(api.jobs.logText, { params: { id: jobId }, query: { format: 'text' } })).text();
}

async function waitForLog(runId: number, needle: string): Promise<RunDetail> {
  return stack.waitFor(
    async () => {
      const current = await run(runId).catch(() => null);
      const job = current?.jobs[0];
      return job && job.status === 'running' && (await logText(job.id)).includes(needle) ? current : null;
    },
    { timeoutMs: 60_000, message: `"${needle}" in the log of run ${runId}` },
  );
}

describe('lost agents', () => {
  it('requeues the job of an agent killed mid-run as a new try; it succeeds elsewhere, the first try keeps its logs', async () => {
    await put('lost', 'echo "try $BELLOWS_TRY on $(hostname)"\nsleep 4\necho done-$BELLOWS_TRY\n', ['pool=lost']);
    const doomed = await stack.startAgent({ name: 'doomed', labels: 'pool=lost' });
    const started = await waitForLog((await trigger('lost')).id, 'try 1');
    expect(started.jobs[0].agent).toBe('doomed');
    await doomed.kill('SIGKILL');
    const rescuer = await stack.startAgent({ name: 'rescuer', labels: 'pool=lost' });

    const done = await finished(started.id);
    expect(done.status).toBe('succeeded');
    const [job] = done.jobs;
    expect(job).toMatchObject({ agent: 'rescuer', try: 2, status: 'succeeded' });
    expect(job.tries.map((t) => [t.try, t.agent, t.status])).toEqual([
      [1, 'doomed', 'lost'],
      [2, 'rescuer', 'succeeded'],
    ]);
    const text = await logText(job.id);
    expect(text).toContain('try 1');
    expect(text).toContain('done-2');
    expect(text.indexOf('try 1')).toBeLessThan(text.indexOf('try 2'));
    await rescuer.kill('SIGKILL');
  });

  it('fails the job with reason agent_lost after the last try', async () => {
    await put('cursed', 'echo "cursed try $BELLOWS_TRY"\nsleep 60\n', ['pool=cursed']);
    const runId = (await trigger('cursed')).id;
    for (let attempt = 1; attempt <= 3; attempt++) {
      const agent = await stack.startAgent({ name: `cursed-${attempt}`, labels: 'pool=cursed' });
      await waitForLog(runId, `cursed try ${attempt}`);
      await agent.kill('SIGKILL');
    }
    const done = await finished(runId);
    expect(done.status).toBe('failed');
    expect(done.jobs[0]).toMatchObject({ status: 'failed', reason: 'agent_lost', try: 3 });
    expect(done.jobs[0].tries.map((t) => t.status)).toEqual(['lost', 'lost', 'lost']);
  });

  it('hands a job back when its agent is told to shut down twice, and another agent finishes it', async () => {
    await put('handback', 'echo "handback try $BELLOWS_TRY"\nsleep 3\n', ['pool=handback']);
    const leaving = await stack.startAgent({ name: 'leaving', labels: 'pool=handback' });
    const runId = (await trigger('handback')).id;
    await waitForLog(runId, 'handback try 1');
    leaving.kill('SIGTERM').catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await leaving.kill('SIGTERM');
    await stack.startAgent({ name: 'staying', labels: 'pool=handback' });
    const done = await finished(runId);
    expect(done.status).toBe('succeeded');
    expect(done.jobs[0].tries.map((t) => [t.agent, t.status])).toEqual([
      ['leaving', 'lost'],
      ['staying', 'succeeded'],
    ]);
  });
});

describe('process crashes', () => {
  // A fresh stack whose agents keep their lease for 30 s: an agent that cannot renew for a lease period
  // stops its job (docs/architecture.md, "Leases"), and the API's restart below (2 s plus start-up, up
  // to ~10 s on a busy machine) must stay inside it, where the lost-agent tests above want 3 s.
  beforeAll(async () => {
    await stack.stop();
    stack = await startStack({ env: { BELLOWS_AGENT_LOST_AFTER_SECONDS: '30' } });
    await stack.answered(201, api.projects.create, { body: { slug: 'r', name: 'Resilience' } });
  });

  it('completes a run when the Temporal worker is killed mid-run and comes back', async () => {
    await put('worker-crash', 'echo phase-one\nsleep 3\necho phase-two\n', ['pool=crash']);
    await stack.startAgent({ name: 'crash-agent', labels: 'pool=crash' });
    const started = await waitForLog((await trigger('worker-crash')).id, 'phase-one');
    await stack.killWorker('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 4000));
    expect((await run(started.id)).status).toBe('running');
    await stack.startWorker();
    const done = await finished(started.id);
    expect(done.status).toBe('succeeded');
    expect(await logText(done.jobs[0].id)).toContain('phase-two');
  });

  it('completes a run and keeps every log line when the API is killed mid-run and comes back', async () => {
    await put('api-crash', 'for i in $(seq 1 40); do echo "line $i"; sleep 0.1; done\n', ['pool=api-crash']);
    await stack.startAgent({ name: 'api-crash-agent', labels: 'pool=api-crash' });
    const started = await waitForLog((await trigger('api-crash')).id, 'line 3');
    await stack.killApi('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await stack.startApi();
    const done = await finished(started.id);
    expect(done.status).toBe('succeeded');
    const lines = (await logText(done.jobs[0].id)).split('\n').filter((line) => line.startsWith('line '));
    expect(lines).toEqual(Array.from({ length: 40 }, (_, i) => `line ${i + 1}`));
  });
});
