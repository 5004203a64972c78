import { setMaxListeners } from 'node:events';
import fs from 'node:fs';
import type postgres from 'postgres';
import { sleep } from '../scripts/process-utils';
import { startClaimPool, type ClaimedJob, type ProtocolClient } from './protocol-client';
import { summarize, wallClockMs, type Summary } from './stats';
import { agentProtocolRoutes as routes } from '../contract/agent-protocol.contract';
import { routeUrl } from '../contract/http';

// Measurements of the cluster benchmark, each against a "target": the API address agents and
// triggers use (one API, or the cluster's load balancer) and the Bellows database behind it.

export type BenchTarget = {
  label: string;
  /** Where triggers and protocol clients go (the balancer, or one API). */
  url: string;
  /** When set, clients and triggers are spread over these instead (round robin, no balancer). */
  spreadUrls?: string[];
  adminToken: string;
  sql: postgres.Sql;
};

export type ThroughputResult = {
  agents: number;
  concurrency: number;
  windowSeconds: number;
  /** Runs that reached a final status inside the measuring window. */
  runsInWindow: number;
  runsPerMinute: number;
  failedRuns: number;
  /** jobs.queued_at → claim response received by a protocol client, for jobs queued in the window. */
  dispatch: Summary;
  /** POST …/runs → runs.finished_at. */
  runLatency: Summary;
  clientErrors: number;
};

export type IdlePollResult = {
  clients: number;
  /** Claim requests in flight at the sample taken in the middle of the holding period. */
  heldAtPeak: number;
  /** Long polls the server answered with 204 after their full wait (proof it held them, not dropped them). */
  completedPolls: number;
  errors: number;
  /** `first`/`last`: the first and last sample of the holding period; flat memory means last ≈ first. */
  rssMb: { before: number; first: number; last: number; duringMax: number; after: number };
  /** Dispatch latency of single jobs while all clients are parked (the thundering-herd case). */
  dispatchWithIdle: Summary;
};

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

async function api<T>(target: BenchTarget, method: string, urlPath: string, body?: unknown, token: string = target.adminToken): Promise<{ status: number; body: T }> {
  let response: Response;
  for (let attempt = 1; ; attempt++) {
    try {
      response = await fetch(`${target.url}${urlPath}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      break;
    } catch (error) {
      // A pooled keep-alive socket the server closed a moment ago ("other side closed"): the request
      // never reached it, so sending it again is safe.
      if (attempt >= 3) throw error;
      await sleep(50);
    }
  }
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

export async function preparePipeline(target: BenchTarget, project: string, pipeline: string, labels: string[]): Promise<void> {
  const created = await api(target, 'POST', '/api/v1/projects', { slug: project, name: `Bench ${project}` });
  if (created.status >= 300 && created.status !== 409) throw new Error(`creating project ${project}: ${created.status} ${JSON.stringify(created.body)}`);
  const saved = await api(target, 'PUT', `/api/v1/projects/${project}/pipelines/${pipeline}`, { content: 'true', labels });
  if (saved.status >= 300) throw new Error(`saving pipeline ${pipeline}: ${saved.status} ${JSON.stringify(saved.body)}`);
}

let triggers = 0;

async function triggerRun(target: BenchTarget, project: string, pipeline: string): Promise<number> {
  const urls = target.spreadUrls ?? [target.url];
  const via = { ...target, url: urls[triggers++ % urls.length] };
  const response = await api<{ id: number }>(via, 'POST', `/api/v1/projects/${project}/pipelines/${pipeline}/runs`, {});
  if (response.status !== 201) throw new Error(`triggering ${pipeline}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.id;
}

/** Protocol clients like bench/protocol-client.ts, but against any URL (the balancer included). */
export async function registerClients(target: BenchTarget, prefix: string, count: number, labels: string[]): Promise<ProtocolClient[]> {
  const tokenResponse = await api<{ token: string }>(target, 'POST', '/api/v1/agent-tokens', { name: prefix });
  if (tokenResponse.status >= 300) throw new Error(`creating an agent token: ${tokenResponse.status} ${JSON.stringify(tokenResponse.body)}`);
  const clients: ProtocolClient[] = [];
  // Registered 50 at a time: 1,000 sequential registrations would take longer than the measurement.
  for (let start = 0; start < count; start += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, count - start) }, async (_, i) => {
        const name = `${prefix}-${start + i}`;
        const registered = await api<{ secret: string }>(target, 'POST', routeUrl(routes.register), { name, labels }, tokenResponse.body.token);
        if (registered.status !== 201) throw new Error(`registering ${name}: ${registered.status} ${JSON.stringify(registered.body)}`);
        const urls = target.spreadUrls ?? [target.url];
        return protocolClient(urls[(start + i) % urls.length], name, registered.body.secret);
      }),
    );
    clients.push(...batch);
  }
  return clients;
}

function protocolClient(url: string, name: string, secret: string): ProtocolClient {
  const post = async (urlPath: string, signal?: AbortSignal): Promise<{ status: number; text: string }> => {
    const response = await fetch(`${url}${urlPath}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: urlPath.endsWith('/finish') ? JSON.stringify({ status: 'succeeded', exitCode: 0 }) : '{}',
      signal,
    });
    return { status: response.status, text: await response.text() };
  };
  const expectOk = (what: string, response: { status: number; text: string }): void => {
    if (response.status >= 300) throw new Error(`${name}: ${what} answered ${response.status}: ${response.text.slice(0, 300)}`);
  };
  return {
    name,
    claim: async (waitSeconds, signal) => {
      const response = await post(routeUrl(routes.claim, undefined, { wait: waitSeconds }), signal);
      const receivedAt = wallClockMs();
      if (response.status === 204) return null;
      expectOk('claim', response);
      return { claimed: JSON.parse(response.text) as ClaimedJob, receivedAt };
    },
    start: async (jobId) => expectOk('start', await post(routeUrl(routes.start, { id: jobId }))),
    finish: async (jobId) => expectOk('finish', await post(routeUrl(routes.finish, { id: jobId }))),
  };
}

async function queuedAtMs(sql: postgres.Sql, jobIds: number[]): Promise<Map<number, number>> {
  const rows = await sql<{ id: number; queuedMs: number }[]>`
    select id::int as id, (extract(epoch from queued_at) * 1000)::float8 as "queuedMs" from jobs where id = any(${jobIds}::bigint[])`;
  return new Map(rows.map((row) => [row.id, row.queuedMs]));
}

/**
 * Closed loop: `concurrency` runs in flight at all times (a new one is triggered as soon as one
 * ends), `agents` protocol clients claiming, starting and finishing the trivial job at once.
 */
export async function benchThroughput(
  target: BenchTarget,
  options: { agents: number; concurrency: number; warmupMs: number; windowMs: number; signal: AbortSignal; onProgress: (message: string) => void },
): Promise<ThroughputResult> {
  const project = 'throughput';
  const pipeline = 'trivial';
  const labels = ['pool=throughput'];
  await preparePipeline(target, project, pipeline, labels);
  const clients = await registerClients(target, `${target.label}-tp`, options.agents, labels);
  const received = new Map<number, number>();
  const pool = startClaimPool(clients, async (client, claimed, receivedAt) => {
    received.set(claimed.job.id, receivedAt);
    await client.start(claimed.job.id);
    await client.finish(claimed.job.id);
  });
  await pool.idle();

  const startedAt = Date.now();
  const windowStart = startedAt + options.warmupMs;
  const windowEnd = windowStart + options.windowMs;
  const triggered = new Map<number, number>();
  const inFlight = new Set<number>();
  const finished: { id: number; status: string; finishedMs: number }[] = [];
  let triggering = 0;
  const topUp = (): void => {
    while (Date.now() < windowEnd && inFlight.size + triggering < options.concurrency) {
      triggering++;
      const at = wallClockMs();
      triggerRun(target, project, pipeline)
        .then((id) => {
          triggered.set(id, at);
          inFlight.add(id);
        })
        .catch((error: Error) => options.onProgress(`trigger failed: ${error.message}`))
        .finally(() => triggering--);
    }
  };
  let lastReport = Date.now();
  try {
    // One poller for every run in flight: per-run polling would load the very database being measured.
    while (Date.now() < windowEnd || inFlight.size > 0 || triggering > 0) {
      options.signal.throwIfAborted();
      topUp();
      if (Date.now() > windowEnd + 60_000) throw new Error(`${inFlight.size} run(s) did not finish within 60 s of the window's end`);
      if (inFlight.size > 0) {
        const rows = await target.sql<{ id: number; status: string; finishedMs: number }[]>`
          select id::int as id, status, (extract(epoch from finished_at) * 1000)::float8 as "finishedMs"
          from runs where id = any(${[...inFlight]}::bigint[]) and status = any(${TERMINAL})`;
        for (const row of rows) {
          inFlight.delete(row.id);
          finished.push(row);
        }
      }
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        options.onProgress(`  ${target.label}: ${finished.length} runs finished, ${inFlight.size} in flight`);
      }
      await sleep(25);
    }
  } finally {
    await pool.stop();
  }
  const inWindow = finished.filter((run) => run.finishedMs >= windowStart && run.finishedMs < windowEnd);
  const jobRows = await target.sql<{ runId: number; jobId: number }[]>`
    select j.run_id::int as "runId", j.id::int as "jobId" from jobs j where j.run_id = any(${inWindow.map((run) => run.id)}::bigint[])`;
  const queued = await queuedAtMs(target.sql, jobRows.map((row) => row.jobId));
  const dispatch = jobRows
    .map((row) => (received.get(row.jobId) ?? Number.NaN) - (queued.get(row.jobId) ?? Number.NaN))
    .filter((value) => Number.isFinite(value));
  return {
    agents: options.agents,
    concurrency: options.concurrency,
    windowSeconds: options.windowMs / 1000,
    runsInWindow: inWindow.length,
    runsPerMinute: inWindow.length / (options.windowMs / 60_000),
    failedRuns: finished.filter((run) => run.status !== 'succeeded').length,
    dispatch: summarize(dispatch),
    runLatency: summarize(inWindow.map((run) => run.finishedMs - (triggered.get(run.id) ?? Number.NaN)).filter((value) => Number.isFinite(value))),
    clientErrors: pool.errors.length,
  };
}

/** Resident set size of a process in MB (Linux /proc; NaN elsewhere). */
export function rssMb(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * `clients` protocol clients long-poll one API instance directly (keep-alive, one socket each) for
 * `holdMs`; RSS is sampled before, every second during, and after. A few jobs are dispatched
 * in the middle, so "holds" also means "still hands out work at once".
 */
export async function benchIdlePolls(
  target: BenchTarget,
  options: { clients: number; holdMs: number; dispatchSamples: number; apiPid: () => number | undefined; signal: AbortSignal; onProgress: (message: string) => void },
): Promise<IdlePollResult> {
  const project = 'idle';
  const pipeline = 'idle-trivial';
  const labels = ['pool=idle'];
  await preparePipeline(target, project, pipeline, labels);
  options.onProgress(`  registering ${options.clients} protocol clients…`);
  const clients = await registerClients(target, 'idle', options.clients, labels);
  await sleep(2000);
  const before = rssMb(options.apiPid());

  let inFlight = 0;
  let completedPolls = 0;
  let errors = 0;
  const received = new Map<number, number>();
  const controller = new AbortController();
  // Every claim in flight listens on this one signal; 1,000 of them are the point, not a leak.
  setMaxListeners(options.clients * 2 + 100, controller.signal);
  const loops = clients.map(async (client) => {
    while (!controller.signal.aborted) {
      inFlight++;
      try {
        const result = await client.claim(25, controller.signal);
        inFlight--;
        if (!result) {
          completedPolls++;
          continue;
        }
        received.set(result.claimed.job.id, result.receivedAt);
        await client.start(result.claimed.job.id);
        await client.finish(result.claimed.job.id);
      } catch {
        inFlight--;
        if (controller.signal.aborted) return;
        errors++;
        await sleep(200);
      }
    }
  });

  const during: number[] = [];
  let heldAtPeak = 0;
  const dispatch: number[] = [];
  const started = Date.now();
  try {
    while (Date.now() - started < options.holdMs) {
      options.signal.throwIfAborted();
      await sleep(1000);
      during.push(rssMb(options.apiPid()));
      heldAtPeak = Math.max(heldAtPeak, inFlight);
      // Halfway through, with everyone parked: time a few single dispatches.
      if (dispatch.length === 0 && Date.now() - started > options.holdMs / 2) {
        for (let i = 0; i < options.dispatchSamples; i++) {
          const id = await triggerRun(target, project, pipeline);
          const deadline = Date.now() + 30_000;
          let jobId: number | null = null;
          while (Date.now() < deadline) {
            const [row] = await target.sql<{ jobId: number; status: string }[]>`
              select j.id::int as "jobId", r.status from runs r join jobs j on j.run_id = r.id where r.id = ${id}`;
            if (row && received.has(row.jobId) && TERMINAL.includes(row.status)) {
              jobId = row.jobId;
              break;
            }
            await sleep(25);
          }
          if (jobId === null) throw new Error(`run ${id} was not dispatched and finished within 30 s`);
          const queued = await queuedAtMs(target.sql, [jobId]);
          dispatch.push(received.get(jobId)! - queued.get(jobId)!);
          await sleep(300);
        }
        options.onProgress(`  ${options.clients} clients parked; ${dispatch.length} dispatches timed`);
      }
    }
  } finally {
    controller.abort();
    await Promise.all(loops);
  }
  await sleep(5000);
  const after = rssMb(options.apiPid());
  const finiteDuring = during.filter((value) => Number.isFinite(value));
  return {
    clients: options.clients,
    heldAtPeak,
    completedPolls,
    errors,
    rssMb: { before, first: finiteDuring[0] ?? Number.NaN, last: finiteDuring.at(-1) ?? Number.NaN, duringMax: Math.max(...finiteDuring), after },
    dispatchWithIdle: summarize(dispatch),
  };
}
