import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteResponse } from '../../contract/http';
import type { PutPipeline } from '../../contract/pipelines.contract';
import type { QueueEntry } from '../../contract/queue.contract';
import { isTerminal, type RunDetail } from '../../contract/runs.contract';
import { api, startStack, type Stack } from '../support/stack';

let stack: Stack;

beforeAll(async () => {
  // Lost-agent detection is slowed down here: the exactly-once test's clients do not heartbeat.
  stack = await startStack({ env: { BELLOWS_AGENT_LOST_AFTER_SECONDS: '60' } });
  await stack.answered(201, api.projects.create, { body: { slug: 'q', name: 'Queue' } });
});

afterAll(async () => {
  await stack?.stop();
});

async function put(name: string, body: PutPipeline) {
  await stack.api.call(api.pipelines.put, { params: { slug: 'q', name }, body });
}

async function trigger(name: string): Promise<RunDetail> {
  return stack.answered(201, api.runs.trigger, { params: { slug: 'q', name }, body: {} });
}

async function queue(): Promise<QueueEntry[]> {
  return (await stack.api.call(api.queue.list, {})).jobs;
}

async function waitQueued(count: number): Promise<QueueEntry[]> {
  return stack.waitFor(async () => {
    const jobs = await queue();
    return jobs.length >= count ? jobs : null;
  }, { message: `${count} queued jobs` });
}

async function finished(runId: number): Promise<RunDetail> {
  return stack.waitFor(
    async () => {
      const run = await stack.api.call(api.runs.get, { params: { id: runId } });
      return isTerminal(run.status) ? run : null;
    },
    { timeoutMs: 60_000, message: `run ${runId} to finish` },
  );
}

/** A minimal protocol client: registers as an agent and claims, for tests about the server's claim rules. */
async function registerClient(token: string, name: string, labels: string[]) {
  const res = await stack.request<RouteResponse<typeof api.agentProtocol.register>>('POST', '/api/v1/agents/register', { token, body: { name, labels } });
  expect(res.status).toBe(201);
  const secret = res.body.secret;
  return {
    claim: async (wait: number) =>
      stack.request<RouteResponse<typeof api.agentProtocol.claim>>('POST', `/api/v1/agents/claim?wait=${wait}`, { token: secret }),
    finish: (jobId: number) => stack.request('POST', `/api/v1/agents/jobs/${jobId}/finish`, { token: secret, body: { status: 'succeeded', exitCode: 0 } }),
  };
}

describe('queue order and label matching', () => {
  it('reorders pending jobs and agents claim in the new order', async () => {
    await put('order', { content: 'echo $BELLOWS_RUN_ID', labels: ['pool=order'] });
    const runs = [await trigger('order'), await trigger('order'), await trigger('order')];
    const jobs = await waitQueued(3);
    expect(jobs.map((j) => j.runId)).toEqual(runs.map((r) => r.id));
    expect(jobs[0].waitingBecause).toBe('No agent is online.');

    const moved = await stack.api.call(api.queue.move, { body: { jobId: jobs[2].id, beforeJobId: jobs[0].id } });
    expect(moved.jobs.map((j) => j.id)).toEqual([jobs[2].id, jobs[0].id, jobs[1].id]);
    const after = await stack.api.call(api.queue.move, { body: { jobId: jobs[0].id, afterJobId: jobs[1].id } });
    expect(after.jobs.map((j) => j.id)).toEqual([jobs[2].id, jobs[1].id, jobs[0].id]);
    expect(after.jobs.map((j) => j.position)).toEqual([1, 2, 3]);

    const bad = await stack.request<{ error: { code: string } }>('POST', '/api/v1/queue/move', { body: { jobId: jobs[0].id } });
    expect(bad.status).toBe(400);

    await stack.startAgent({ name: 'order-agent', labels: 'pool=order' });
    for (const run of runs) await finished(run.id);
    const claimOrder = await stack.sql<{ jobId: number }[]>`
      select t.job_id as "jobId" from job_tries t join jobs j on j.id = t.job_id where j.run_id = any(${runs.map((r) => r.id)}::bigint[])
      order by t.claimed_at`;
    expect(claimOrder.map((row) => Number(row.jobId))).toEqual([jobs[2].id, jobs[1].id, jobs[0].id]);
  });

  it('pages the queue: limit and cursor, the total, and a 400 naming a bad limit or cursor', async () => {
    await put('paged', { content: 'true', labels: ['pool=paged'] });
    const runs = [await trigger('paged'), await trigger('paged'), await trigger('paged')];
    const all = (await waitQueued(runs.length)).filter((job) => runs.some((run) => run.id === job.runId));
    expect(all).toHaveLength(3);
    const pages: number[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const listed = await stack.api.call(api.queue.list, { query: { limit: '1', cursor } });
      expect(listed.jobs.length).toBeLessThanOrEqual(1);
      expect(listed.total).toBe(all.length);
      pages.push(...listed.jobs.map((job) => job.id));
      if (!listed.nextCursor) break;
      cursor = listed.nextCursor;
    }
    expect(pages).toEqual(all.map((job) => job.id));

    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=ten', 'limit'],
      ['cursor=nope', 'cursor'],
      ['cursor=12', 'cursor'],
    ] as const) {
      const bad = await stack.request<{ error: { code: string; message: string } }>('GET', `/api/v1/queue?${query}`);
      expect(bad.status, query).toBe(400);
      expect(bad.body.error.message, query).toMatch(new RegExp(`^${field} `));
    }
    await stack.api.call(api.runs.cancelMany, { body: { ids: runs.map((run) => run.id) } });
  });

  it("orders the queue by priority — the pipeline's, or the trigger's — then queue order; agents claim in it", async () => {
    await put('prio-low', { content: 'true', labels: ['pool=prio'], priority: -5 });
    await put('prio-normal', { content: 'true', labels: ['pool=prio'] });
    const low = await trigger('prio-low');
    const normal = await trigger('prio-normal');
    const urgent = await stack.answered(201, api.runs.trigger, { params: { slug: 'q', name: 'prio-normal' }, body: { priority: 8 } });
    expect([low.priority, normal.priority, urgent.priority]).toEqual([-5, 0, 8]);
    const mine = (jobs: QueueEntry[]) => jobs.filter((job) => [low.id, normal.id, urgent.id].includes(job.runId));
    const listed = await stack.waitFor(async () => {
      const jobs = mine(await queue());
      return jobs.length === 3 ? jobs : null;
    }, { message: 'the three prioritised jobs queued' });
    expect(listed.map((job) => [job.runId, job.priority])).toEqual([
      [urgent.id, 8],
      [normal.id, 0],
      [low.id, -5],
    ]);

    // A bad priority is a 400 naming it, on the pipeline and on the trigger; nothing is stored.
    for (const [method, path, body] of [
      ['PUT', '/api/v1/projects/q/pipelines/prio-normal', { content: 'true', priority: 1.5 }],
      ['POST', '/api/v1/projects/q/pipelines/prio-normal/runs', { priority: 5000 }],
      ['POST', '/api/v1/projects/q/pipelines/prio-normal/runs', { priority: 'high' }],
    ] as const) {
      const bad = await stack.request<{ error: { message: string } }>(method, path, { body });
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect(bad.body.error.message).toContain('priority must be an integer from -1000 to 1000');
    }
    expect((await stack.api.call(api.pipelines.get, { params: { slug: 'q', name: 'prio-normal' } })).priority).toBe(0);

    await stack.startAgent({ name: 'prio-agent', labels: 'pool=prio' });
    for (const run of [low, normal, urgent]) expect((await finished(run.id)).status).toBe('succeeded');
    const claimOrder = await stack.sql<{ runId: number }[]>`
      select j.run_id as "runId" from job_tries t join jobs j on j.id = t.job_id where j.run_id = any(${[low.id, normal.id, urgent.id]}::bigint[])
      order by t.claimed_at`;
    expect(claimOrder.map((row) => Number(row.runId))).toEqual([urgent.id, normal.id, low.id]);
  });

  it('keeps a gpu job waiting while a plain agent takes the next job, then runs it on a gpu agent', async () => {
    await put('gpu', { content: 'echo gpu work', labels: ['gpu=true'] });
    await put('plain', { content: 'echo plain work', labels: ['pool=plain'] });
    await stack.startAgent({ name: 'plain-agent', labels: 'pool=plain' });
    const gpuRun = await trigger('gpu');
    const plainRun = await trigger('plain');

    const plainDone = await finished(plainRun.id);
    expect(plainDone.jobs[0].agent).toBe('plain-agent');
    const [waiting] = await queue();
    expect(waiting).toMatchObject({ runId: gpuRun.id, matchingAgents: 0 });
    expect(waiting.waitingBecause).toContain('gpu=true');

    await stack.startAgent({ name: 'gpu-agent', labels: 'gpu=true,pool=plain' });
    const gpuDone = await finished(gpuRun.id);
    expect(gpuDone.status).toBe('succeeded');
    expect(gpuDone.jobs[0].agent).toBe('gpu-agent');
  });

  it('hands every job to exactly one of 50 concurrent agents (500 jobs)', async () => {
    for (const agent of stack.agents) await agent.kill('SIGKILL');
    // 2 runs x 250 matrix jobs.
    await put('many', { content: 'true', labels: ['pool=many'], matrix: { a: Array.from({ length: 25 }, (_, i) => i), b: Array.from({ length: 10 }, (_, i) => i) } });
    const runs = [await trigger('many'), await trigger('many')];
    const token = await stack.createAgentToken('swarm');
    const clients = await Promise.all(Array.from({ length: 50 }, (_, i) => registerClient(token, `swarm-${i}`, ['pool=many'])));

    const claimed: number[] = [];
    let idleRounds = 0;
    await Promise.all(
      clients.map(async (client) => {
        while (idleRounds < 50) {
          const res = await client.claim(1);
          if (res.status === 204) {
            idleRounds++;
            continue;
          }
          expect(res.status).toBe(200);
          claimed.push(res.body.job.id);
          expect((await client.finish(res.body.job.id)).status).toBe(200);
        }
      }),
    );

    expect(claimed).toHaveLength(500);
    expect(new Set(claimed).size).toBe(500);
    for (const run of runs) expect((await finished(run.id)).status).toBe('succeeded');
    const [{ tries }] = await stack.sql<{ tries: number }[]>`
      select count(*)::int as tries from job_tries t join jobs j on j.id = t.job_id where j.run_id = any(${runs.map((r) => r.id)}::bigint[])`;
    expect(tries).toBe(500);
  }, 240_000);
});
