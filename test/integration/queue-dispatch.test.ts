import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { routeUrl } from '../../contract/http';
import { isTerminal, type RunDetail } from '../../contract/runs.contract';
import { api, startStack, waitFor, type Stack } from '../support/stack';

// Targeted dispatch over the real agent protocol: many idle long polls in several label sets on one
// API instance; a queued job wakes one poll that can take it (bellows_claim_attempts_total counts the
// claim statements), no job is left queued while a matching poll waits, and a second instance's
// polls get jobs the worker queues through the same database.

let stack: Stack;
let token: string;

beforeAll(async () => {
  // The protocol clients here do not heartbeat: slow lost-agent detection so they stay online.
  stack = await startStack({ env: { BELLOWS_AGENT_LOST_AFTER_SECONDS: '120' } });
  await stack.answered(201, api.projects.create, { body: { slug: 'dispatch', name: 'Dispatch' } });
  token = await stack.createAgentToken('dispatch-clients');
});

afterAll(async () => {
  await stack?.stop();
});

type Claimed = { status: number; jobId: number | null };
type Client = { name: string; set: string; poll(): { result: Promise<Claimed>; abort(): void }; finish(jobId: number): Promise<number> };

async function register(apiUrl: string, name: string, set: string): Promise<Client> {
  const res = await fetch(`${apiUrl}${routeUrl(api.agentProtocol.register)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, labels: [`set=${set}`, 'dispatch'] }),
  });
  expect(res.status).toBe(201);
  const { secret } = (await res.json()) as { secret: string };
  const post = (urlPath: string, body: unknown, signal?: AbortSignal) =>
    fetch(`${apiUrl}${urlPath}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
  return {
    name,
    set,
    poll: () => {
      const controller = new AbortController();
      // The longest wait the protocol allows: a lost wakeup shows as a 204 a minute later, not as a claim.
      const result = post(routeUrl(api.agentProtocol.claim, undefined, { wait: 60 }), {}, controller.signal).then(async (response) => {
        if (response.status === 204) return { status: 204, jobId: null };
        const body = (await response.json()) as { job: { id: number } };
        return { status: response.status, jobId: body.job.id };
      });
      result.catch(() => undefined);
      return { result, abort: () => controller.abort() };
    },
    finish: async (jobId) => (await post(routeUrl(api.agentProtocol.finish, { id: jobId }), { status: 'succeeded', exitCode: 0 })).status,
  };
}

type Metrics = { waiting: number; wakeupAttempts: number; pollStartAttempts: number; claimed: number; targeted: number };

async function metrics(apiUrl = stack.apiUrl): Promise<Metrics> {
  const text = await (await fetch(`${apiUrl}/metrics`)).text();
  const sum = (name: string, match: string) =>
    text
      .split('\n')
      .filter((line) => line.startsWith(name) && line.includes(match))
      .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  return {
    waiting: sum('bellows_long_polls_waiting ', ''),
    wakeupAttempts: sum('bellows_claim_attempts_total{', 'after="wakeup"'),
    pollStartAttempts: sum('bellows_claim_attempts_total{', 'after="poll_start"'),
    claimed: sum('bellows_claim_attempts_total{', 'outcome="claimed"'),
    targeted: sum('bellows_queue_wakeups_total{', 'kind="targeted"'),
  };
}

async function waitingPolls(count: number, apiUrl = stack.apiUrl): Promise<void> {
  await waitFor(async () => (await metrics(apiUrl)).waiting === count, { timeoutMs: 60_000, message: `${count} long polls waiting on ${apiUrl}` });
}

async function pipeline(set: string): Promise<string> {
  const name = `set-${set}`;
  await stack.api.call(api.pipelines.put, { params: { slug: 'dispatch', name }, body: { content: 'true', labels: [`set=${set}`] } });
  return name;
}

async function trigger(name: string): Promise<RunDetail> {
  return stack.answered(201, api.runs.trigger, { params: { slug: 'dispatch', name }, body: {} });
}

async function finished(runId: number): Promise<RunDetail> {
  return waitFor(
    async () => {
      const run = await stack.api.call(api.runs.get, { params: { id: runId } });
      return isTerminal(run.status) ? run : null;
    },
    { timeoutMs: 60_000, message: `run ${runId} to finish` },
  );
}

/** The run's one job, once the workflow has made it. */
async function jobOf(runId: number): Promise<number> {
  return waitFor(
    async () => {
      const [row] = await stack.sql<{ id: number }[]>`select id from jobs where run_id = ${runId}`;
      return row ? Number(row.id) : null;
    },
    { timeoutMs: 60_000, message: `run ${runId}'s job` },
  );
}

describe('targeted dispatch on one instance', () => {
  it('a queued job wakes one poll whose agent can take it: at most 2 claim statements per job, every job claimed', async () => {
    const sets = ['a', 'b', 'c', 'd'];
    const names = Object.fromEntries(await Promise.all(sets.map(async (set) => [set, await pipeline(set)] as const)));
    const clients: Client[] = [];
    for (const set of sets) for (let i = 0; i < 10; i++) clients.push(await register(stack.apiUrl, `idle-${set}-${i}`, set));
    // Each client polls in a loop like an agent: a claimed job is finished at once and recorded.
    const claims: { client: Client; jobId: number }[] = [];
    let stopped = false;
    const current = new Map<Client, ReturnType<Client['poll']>>();
    const loops = clients.map(async (client) => {
      while (!stopped) {
        const poll = client.poll();
        current.set(client, poll);
        const result = await poll.result.catch(() => null);
        if (!result || result.jobId === null) continue;
        expect(await client.finish(result.jobId)).toBe(200);
        claims.push({ client, jobId: result.jobId });
      }
    });
    onTestFinished(async () => {
      stopped = true;
      for (const poll of current.values()) poll.abort();
      await Promise.all(loops);
      await waitingPolls(0);
    });
    await waitingPolls(clients.length);
    const before = await metrics();

    const jobs = 8;
    for (let i = 0; i < jobs; i++) {
      const set = sets[i % sets.length];
      const run = await trigger(names[set]);
      const jobId = await jobOf(run.id);
      const claim = await waitFor(() => claims[i], { timeoutMs: 60_000, message: `job ${jobId} to be claimed` });
      expect(claim.jobId).toBe(jobId);
      expect(claim.client.set).toBe(set);
      expect((await finished(run.id)).status).toBe('succeeded');
      await waitingPolls(clients.length);
    }
    expect(claims).toHaveLength(jobs);

    const after = await metrics();
    expect(after.claimed - before.claimed).toBe(jobs);
    // With every poll woken this is 40 per job (one per waiting agent).
    expect(after.wakeupAttempts - before.wakeupAttempts).toBeLessThanOrEqual(2 * jobs);
    expect(after.targeted - before.targeted).toBeGreaterThanOrEqual(jobs);
  }, 240_000);

  it("a job queued after the oldest matching poll's client went away goes to the next matching poll", async () => {
    const name = await pipeline('gone');
    const gone = await register(stack.apiUrl, 'gone-first', 'gone');
    const next = await register(stack.apiUrl, 'gone-second', 'gone');
    const first = gone.poll();
    await waitingPolls(1);
    const second = next.poll();
    await waitingPolls(2);
    // No wait for the server to notice: the job may reach the first poll before its close does.
    first.abort();
    const run = await trigger(name);
    const jobId = await jobOf(run.id);
    expect(await second.result).toEqual({ status: 200, jobId });
    expect(await next.finish(jobId)).toBe(200);
    expect((await finished(run.id)).status).toBe('succeeded');
    await waitingPolls(0);
  }, 120_000);
});

describe('targeted dispatch on two instances', () => {
  it('a job the worker queues reaches a poll on the other instance; polls on both get one job each', async () => {
    // Instance B: the same built API, env and database as the stack's, on its own port (stopped with the stack).
    const { url } = await stack.startApiInstance({ name: 'b' });
    const name = await pipeline('both');
    const onB = await register(url, 'on-b', 'both');
    const pollB = onB.poll();
    await waitingPolls(1, url);
    const run = await trigger(name);
    expect(await pollB.result).toEqual({ status: 200, jobId: await jobOf(run.id) });
    expect(await onB.finish(await jobOf(run.id))).toBe(200);
    expect((await finished(run.id)).status).toBe('succeeded');

    // One poll per instance, two jobs: each instance wakes its own poll for each job; both get claimed.
    const onA = await register(stack.apiUrl, 'on-a', 'both');
    const polls = [onA.poll(), onB.poll()];
    await waitingPolls(1);
    await waitingPolls(1, url);
    const runs = [await trigger(name), await trigger(name)];
    const claimed = await Promise.all(polls.map((poll) => poll.result));
    const jobIds = await Promise.all(runs.map((r) => jobOf(r.id)));
    expect(claimed.map((c) => c.status)).toEqual([200, 200]);
    expect(claimed.map((c) => c.jobId).sort()).toEqual([...jobIds].sort());
    await onA.finish(claimed[0].jobId!);
    await onB.finish(claimed[1].jobId!);
    for (const r of runs) expect((await finished(r.id)).status).toBe('succeeded');
  }, 180_000);
});
