import { sleep } from '../scripts/process-utils';
import { QUEUE_PAGE_LIMIT, type QueueCursor } from '../contract/queue.contract';
import { QueueRepository } from '../src/queue/queue.repository';
import type { BenchStack } from './bench-stack';
import { deferred, putPipeline, triggerRun, waitRunFinished, within, type Deferred } from './bench-utils';
import { registerClients, startClaimPool, type ClaimedJob, type ProtocolClient } from './protocol-client';
import { summarize, wallClockMs, type Summary } from './stats';

// Many idle agents on ONE API instance: what one queued job costs when a thousand long polls wait
// (claim statements, dispatch latency next to a lone agent's), what the polls cost in API memory,
// and how the queue page answers with ten thousand jobs in it.

export type ScaleOptions = {
  project: string;
  agents: number;
  labelSets: number;
  triggers: number;
  singleAgentTriggers: number;
  queuedJobs: number;
  queueRequests: number;
  signal: AbortSignal;
  onProgress: (message: string) => void;
};

export type ClaimAttempts = { claimed: number; empty: number; pollStarts: number; wakeups: number; total: number };

export type ScaleResult = {
  agents: number;
  labelSets: number;
  triggers: number;
  /** Claim statements started by queue notifications, per triggered job (goal ≤ 2; one per waiting agent when every poll wakes). */
  claimAttemptsPerJob: number;
  /** Every claim statement during the trigger phase per job, long polls that began anew included (each claimed job's agent polls again: +1). */
  claimAttemptsPerJobAll: number;
  attempts: ClaimAttempts;
  /** POST …/runs sent → claim response received, 1,000 idle agents (50 label sets). */
  dispatch: Summary;
  /** The same with a single idle agent, same stack, same run, measured first. */
  singleAgent: Summary;
  dispatchP50Ms: number;
  singleAgentP50Ms: number;
  /** dispatchP50Ms / singleAgentP50Ms (goal ≤ 2). */
  dispatchRatio: number;
  rssBeforeBytes: number;
  rssWithPollsBytes: number;
  /** (API RSS with every poll parked − RSS before) / agents. */
  rssPerIdleAgentBytes: number;
  queuedJobs: number;
  /** GET /api/v1/queue (first page, the default limit) with `queuedJobs` queued and the agents online. */
  queueList: Summary;
  queueListP50Ms: number;
  /** Entries the first page returned (the whole queue up to 1,000 before pagination). */
  queuePageEntries: number;
  clientErrors: number;
  /** EXPLAIN (ANALYZE) with `queuedJobs` queued: the claim's pick for a matching and for a non-matching agent, and the list's first and a deep page. */
  plans: Record<'claimMatching' | 'claimNoMatch' | 'listFirstPage' | 'listDeepPage', string[]>;
};

type Received = { claimed: ClaimedJob; receivedAt: number; finished: Promise<void> };

// The longest wait the protocol allows (MAX_CLAIM_WAIT_SECONDS): a poll that times out starts again with
// one claim statement, so 1,000 polls of 30 s would add ~33 statements a second that no job caused.
const WAIT_SECONDS = 60;

export async function benchScale(stack: BenchStack, options: ScaleOptions): Promise<ScaleResult> {
  const { signal, onProgress } = options;
  const setLabel = (set: number | string) => `scale-set=${set}`;
  onProgress(`scale: ${options.labelSets + 2} pipelines, registering ${options.agents} agents in ${options.labelSets} label sets…`);
  for (let set = 0; set < options.labelSets; set++) await putPipeline(stack, options.project, `scale-${set}`, [setLabel(set)]);
  await putPipeline(stack, options.project, 'scale-single', [setLabel('single')]);
  // Nobody has this label: its jobs stay queued for the queue page measurement.
  await putPipeline(stack, options.project, 'scale-parked', [setLabel('nobody')]);

  const perSet = Math.ceil(options.agents / options.labelSets);
  const sets: ProtocolClient[][] = [];
  for (let set = 0; set < options.labelSets; set++) {
    sets.push(await registerClients(stack, `scale-${set}`, Math.min(perSet, options.agents - set * perSet), [setLabel(set), 'scale']));
  }
  const many = sets.flat();
  const [single] = await registerClients(stack, 'scale-single', 1, [setLabel('single'), 'scale']);

  let waiting: Deferred<Received> | null = null;
  const onJob = async (client: ProtocolClient, claimed: ClaimedJob, receivedAt: number): Promise<void> => {
    const finished = deferred<void>();
    if (waiting) waiting.resolve({ claimed, receivedAt, finished: finished.promise });
    else onProgress(`warning: ${client.name} claimed job ${claimed.job.id} nobody was waiting for`);
    try {
      await client.start(claimed.job.id);
      await client.finish(claimed.job.id);
      finished.resolve();
    } catch (error) {
      finished.reject(error as Error);
      throw error;
    }
  };

  // One sample: trigger, the claim arrives at a client, it finishes, the run ends (so the next sample starts idle).
  const sample = async (pipeline: string, parked: () => Promise<void>): Promise<number> => {
    await within(parked(), 30_000, 'the clients to park', signal);
    waiting = deferred<Received>();
    const triggeredAt = wallClockMs();
    const runId = await triggerRun(stack, options.project, pipeline);
    const received = await within(waiting.promise, 30_000, `a client to receive the job of run ${runId}`, signal);
    waiting = null;
    await within(received.finished, 30_000, `job ${received.claimed.job.id} to finish`, signal);
    await waitRunFinished(stack, runId, signal);
    return received.receivedAt - triggeredAt;
  };

  onProgress(`scale: ${options.singleAgentTriggers} triggers with a single idle agent…`);
  const singlePool = startClaimPool([single], onJob, { waitSeconds: WAIT_SECONDS });
  const singleSamples: number[] = [];
  try {
    for (let i = 0; i < 3 + options.singleAgentTriggers; i++) {
      const latency = await sample('scale-single', () => singlePool.idle());
      if (i >= 3) singleSamples.push(latency);
    }
  } finally {
    await singlePool.stop();
  }

  const rssBeforeBytes = await apiRss(stack);
  onProgress(`scale: ${many.length} agents long-polling (API RSS before: ${mb(rssBeforeBytes)})…`);
  const pool = startClaimPool(many, onJob, { waitSeconds: WAIT_SECONDS });
  const allParked = async (): Promise<void> => {
    await pool.idle();
    // The server's own count: every request authenticated and armed, not just sent.
    await waitUntil(async () => (await scrape(stack)).waiting >= many.length, 30_000, `${many.length} long polls to be waiting on the API`, signal);
  };
  try {
    await within(allParked(), 60_000, 'all polls to park', signal);
    const rssWithPollsBytes = await apiRss(stack);
    onProgress(`scale: API RSS with ${many.length} polls: ${mb(rssWithPollsBytes)}; ${options.triggers} triggers, one at a time…`);

    const before = await scrape(stack);
    const samples: number[] = [];
    for (let i = 0; i < options.triggers; i++) {
      samples.push(await sample(`scale-${i % options.labelSets}`, () => pool.idle()));
      if ((i + 1) % 50 === 0) onProgress(`  scale: ${i + 1}/${options.triggers}`);
    }
    // The last job's agent polls again: let its first statement be counted like every earlier one's.
    await within(pool.idle(), 30_000, 'the clients to park', signal);
    const after = await scrape(stack);
    const attempts: ClaimAttempts = {
      claimed: after.attempts.claimed - before.attempts.claimed,
      empty: after.attempts.empty - before.attempts.empty,
      pollStarts: after.attempts.pollStarts - before.attempts.pollStarts,
      wakeups: after.attempts.wakeups - before.attempts.wakeups,
      total: after.attempts.total - before.attempts.total,
    };

    onProgress(`scale: ${options.queuedJobs} queued jobs, GET /api/v1/queue × ${options.queueRequests}…`);
    await parkJobs(stack, options.project, options.queuedJobs, signal);
    const queueSamples: number[] = [];
    let queuePageEntries = 0;
    for (let i = 0; i < 2 + options.queueRequests; i++) {
      const startedAt = wallClockMs();
      const response = await stack.request<{ jobs: unknown[] }>('GET', '/api/v1/queue');
      const elapsed = wallClockMs() - startedAt;
      if (response.status !== 200) throw new Error(`GET /api/v1/queue answered ${response.status}`);
      queuePageEntries = response.body.jobs.length;
      if (i >= 2) queueSamples.push(elapsed);
    }

    const plans = await explainPlans(stack, setLabel('nobody'), setLabel(0));
    const dispatch = summarize(samples);
    const singleAgent = summarize(singleSamples);
    const queueList = summarize(queueSamples);
    return {
      agents: many.length,
      labelSets: options.labelSets,
      triggers: options.triggers,
      claimAttemptsPerJob: attempts.wakeups / options.triggers,
      claimAttemptsPerJobAll: attempts.total / options.triggers,
      attempts,
      dispatch,
      singleAgent,
      dispatchP50Ms: dispatch.p50,
      singleAgentP50Ms: singleAgent.p50,
      dispatchRatio: dispatch.p50 / singleAgent.p50,
      rssBeforeBytes,
      rssWithPollsBytes,
      rssPerIdleAgentBytes: (rssWithPollsBytes - rssBeforeBytes) / many.length,
      queuedJobs: options.queuedJobs,
      queueList,
      queueListP50Ms: queueList.p50,
      queuePageEntries,
      clientErrors: pool.errors.length + singlePool.errors.length,
      plans,
    };
  } finally {
    await pool.stop();
  }
}

/**
 * `count` queued jobs nobody can take: one run triggered the ordinary way, its queued job copied in SQL
 * (10,000 runs through Temporal would take the bench minutes and measure nothing more).
 */
async function parkJobs(stack: BenchStack, project: string, count: number, signal: AbortSignal): Promise<void> {
  const runId = await triggerRun(stack, project, 'scale-parked');
  let jobId: number | undefined;
  await waitUntil(
    async () => {
      const [row] = await stack.sql<{ id: number }[]>`select id from jobs where run_id = ${runId} and status = 'queued'`;
      jobId = row?.id;
      return jobId !== undefined;
    },
    30_000,
    `run ${runId}'s job to be queued`,
    signal,
  );
  await stack.sql`
    insert into jobs (run_id, attempt, key, name, kind, content, labels, timeout_minutes, status, queue_rank, queued_at)
    select run_id, attempt, key || '-' || g, name || ' ' || g, kind, content, labels, timeout_minutes, 'queued', queue_rank + g, now()
    from jobs, generate_series(1, ${count - 1}) g where id = ${jobId!}`;
  await stack.sql`analyze jobs`;
}

/**
 * The plans of the two statements that meet the whole queue, as the repository runs them: the claim's
 * pick for an agent whose jobs are parked and for one with none, and the list's first and a deep page.
 */
async function explainPlans(stack: BenchStack, parkedLabel: string, otherLabel: string): Promise<ScaleResult['plans']> {
  const queue = new QueueRepository(stack.sql);
  const [deep] = await stack.sql<QueueCursor[]>`
    select priority, queue_rank as rank, id from jobs where status = 'queued' order by -priority, queue_rank, id offset 9000 limit 1`;
  // The API's default lease (30 s) as the "online" window; the page's default size.
  const page = { projectId: null, onlineWithinSeconds: 30, limit: QUEUE_PAGE_LIMIT.fallback };
  return {
    claimMatching: await queue.explainPick([parkedLabel, 'scale']),
    claimNoMatch: await queue.explainPick([otherLabel, 'scale']),
    listFirstPage: await queue.explainList({ ...page, after: null }),
    listDeepPage: deep ? await queue.explainList({ ...page, after: deep }) : [],
  };
}

type Scraped = { waiting: number; rss: number; attempts: ClaimAttempts };

async function scrape(stack: BenchStack): Promise<Scraped> {
  const response = await fetch(`${stack.apiUrl}/metrics`);
  const text = await response.text();
  const values = (name: string): { labels: string; value: number }[] =>
    text
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      .map((line) => {
        const space = line.lastIndexOf(' ');
        return { labels: line.slice(name.length, space), value: Number(line.slice(space + 1)) };
      });
  const attempts = values('bellows_claim_attempts_total');
  const sum = (match: string) => attempts.filter((row) => row.labels.includes(match)).reduce((total, row) => total + row.value, 0);
  return {
    waiting: values('bellows_long_polls_waiting')[0]?.value ?? 0,
    rss: values('bellows_process_resident_memory_bytes')[0]?.value ?? Number.NaN,
    attempts: {
      claimed: sum('outcome="claimed"'),
      empty: sum('outcome="empty"'),
      pollStarts: sum('after="poll_start"'),
      wakeups: sum('after="wakeup"'),
      total: sum(''),
    },
  };
}

async function apiRss(stack: BenchStack): Promise<number> {
  // Settle first: the RSS read right after a burst of requests includes garbage not yet collected.
  await sleep(1000);
  return (await scrape(stack)).rss;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    signal.throwIfAborted();
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
