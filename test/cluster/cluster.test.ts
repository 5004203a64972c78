import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import postgres from 'postgres';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { startCluster, type Cluster, type ClusterProcess } from '../../scripts/cluster';
import { sleep } from '../../scripts/process-utils';
import type { ClientToServerEvents, LiveRoom, LogChunkEvent, ServerToClientEvents, SubscribeReply } from '../../contract/live.contract';

// The `npm run cluster` topology against failures: the real Temporal server on PostgreSQL, two API
// instances behind the load balancer, two workers, three agents. Each failure test runs one job
// long enough to crash something in the middle of it, then checks that the run completes and the
// stored and streamed logs hold every line exactly once, in order.

type LiveClient = Socket<ServerToClientEvents, ClientToServerEvents>;
type Job = { id: number; status: string; agent: string | null; try: number };
type Run = { id: number; status: string; jobs: Job[] };

const LINES = 60;
/** Prints LINES numbered lines over ~6 s: long enough to crash something while it runs. */
const SLOW_SCRIPT = `sleep 1\nfor i in $(seq 1 ${LINES}); do echo "line $i"; sleep 0.1; done\n`;

let cluster: Cluster;
let dropDatabases: (() => Promise<void>) | null = null;
const unexpectedExits: string[] = [];
const clients: LiveClient[] = [];

function optionalInject(key: 'postgresAdminUrl'): string | undefined {
  try {
    return inject(key) || undefined;
  } catch {
    // Run alone, without the suite's global setup: startCluster brings its own PostgreSQL.
    return undefined;
  }
}

// Set by `npm test` when neither a cached build nor Go can provide the Temporal server (it says so).
const skipCluster = process.env.BELLOWS_SKIP_CLUSTER_TESTS === '1';

beforeAll(async () => {
  if (skipCluster) return;
  const adminUrl = optionalInject('postgresAdminUrl') ?? process.env.DATABASE_URL;
  const suffix = crypto.randomBytes(4).toString('hex');
  const names = { bellows: `bellows_cluster_${suffix}`, temporal: `temporal_${suffix}`, visibility: `temporal_visibility_${suffix}` };
  if (adminUrl) {
    dropDatabases = async () => {
      const sql = postgres(adminUrl, { max: 1, onnotice: () => undefined });
      try {
        for (const name of Object.values(names)) await sql.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await sql.end({ timeout: 5 });
      }
    };
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bellows-cluster-test-'));
  // Without an injected PostgreSQL, the embedded one runs as `postgres` when we are root: it must traverse this dir.
  fs.chmodSync(dataDir, 0o711);
  cluster = await startCluster({
    dataDir,
    databaseUrl: adminUrl,
    bellowsDatabase: names.bellows,
    temporalDatabases: { database: names.temporal, visibilityDatabase: names.visibility },
    agentLabels: 'pool=cluster',
    env: {
      // Short periods keep recoveries in seconds: a lost signal is found by the next reconcile.
      BELLOWS_AGENT_LOST_AFTER_SECONDS: '5',
      BELLOWS_RECONCILE_SECONDS: '3',
      BELLOWS_REAPER_INTERVAL_SECONDS: '1',
      BELLOWS_AGENT_CANCEL_GRACE_MS: '2000',
    },
    onProgress: (role, message) => process.stderr.write(`[cluster ${role}] ${message}\n`),
    onUnexpectedExit: (proc, info) => unexpectedExits.push(`${proc.name} (${info.signal ?? `code ${info.code}`})`),
  });
  expect((await request('POST', '/api/v1/projects', { body: { slug: 'c', name: 'Cluster' } })).status).toBe(201);
}, 300_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await cluster?.stop();
  await dropDatabases?.().catch(() => undefined);
  if (cluster && process.env.BELLOWS_TEST_KEEP !== '1') fs.rmSync(cluster.dataDir, { recursive: true, force: true });
}, 120_000);

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => void process.stderr.write(`\n[cluster] logs of the failed test: ${cluster?.logDir}\n`));
});

async function request<T = unknown>(method: string, urlPath: string, options: { body?: unknown; base?: string } = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(`${options.base ?? cluster.balancerUrl}${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${cluster.adminToken}`, ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, body: (text && (response.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text) as T };
}

async function waitFor<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    await sleep(200);
  }
}

async function pipeline(name: string, content: string, labels: string[]): Promise<void> {
  expect((await request('PUT', `/api/v1/projects/c/pipelines/${name}`, { body: { content, labels } })).status).toBe(200);
}

async function trigger(name: string, base?: string): Promise<number> {
  const response = await request<{ id: number }>('POST', `/api/v1/projects/c/pipelines/${name}/runs`, { body: {}, base });
  expect(response.status).toBe(201);
  return response.body.id;
}

async function getRun(id: number, base?: string): Promise<Run | null> {
  const response = await request<Run>('GET', `/api/v1/runs/${id}`, { base });
  return response.status === 200 ? response.body : null;
}

function finished(id: number, timeoutMs = 90_000, base?: string): Promise<Run> {
  return waitFor(`run ${id} to finish`, async () => {
    const run = await getRun(id, base);
    return run && ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : null;
  }, timeoutMs);
}

function firstJob(id: number, base?: string, status?: string): Promise<Job> {
  return waitFor(`run ${id} to have a job${status ? ` that is ${status}` : ''}`, async () => {
    const job = (await getRun(id, base))?.jobs[0];
    return job && (!status || job.status === status) ? job : null;
  });
}

/** Every stored chunk of a job, through the REST API's pages. */
async function storedChunks(jobId: number): Promise<LogChunkEvent[]> {
  const chunks: LogChunkEvent[] = [];
  for (let after = 0; ; ) {
    const page = await request<{ chunks: LogChunkEvent[]; nextSeq: number }>('GET', `/api/v1/jobs/${jobId}/logs?after=${after}&limit=500`);
    expect(page.status).toBe(200);
    chunks.push(...page.body.chunks);
    if (page.body.chunks.length === 0) return chunks;
    after = page.body.chunks[page.body.chunks.length - 1].seq;
  }
}

function printedLines(chunks: LogChunkEvent[]): string[] {
  return chunks
    .map((chunk) => chunk.text)
    .join('')
    .split('\n')
    .filter((line) => /^line \d+$/.test(line));
}

const expectedLines = (): string[] => Array.from({ length: LINES }, (_, i) => `line ${i + 1}`);

/**
 * A viewer as the web UI is one (web/src/logs/use-job-log.ts): follows `job:<id>`, drops chunks it
 * already has (by seq), after a reconnect subscribes again after the last seq it kept, and a chunk
 * beyond the next expected seq is held while the missing ones are read over REST. That catch-up is
 * needed: an instance killed between committing a batch and publishing it (the adapter's NOTIFY)
 * never broadcasts that batch, so viewers on other instances see the next one arrive after a hole.
 */
function follow(url: string, jobId: number, options: { websocketOnly: boolean }) {
  const client: LiveClient = io(url, {
    path: '/socket.io',
    auth: { token: cluster.adminToken },
    transports: options.websocketOnly ? ['websocket'] : ['polling', 'websocket'],
    reconnectionDelay: 200,
    reconnectionDelayMax: 1000,
    forceNew: true,
  });
  clients.push(client);
  const kept: LogChunkEvent[] = [];
  const held = new Map<number, LogChunkEvent>();
  const subscribeErrors: string[] = [];
  const catchUpErrors: string[] = [];
  let last = 0;
  let connects = 0;
  let catchUps = 0;
  let catchingUp: Promise<void> | undefined;
  /** Keeps what follows on from the last seq kept; holds the rest. */
  const take = (chunks: LogChunkEvent[]): void => {
    for (const chunk of chunks) if (chunk.seq > last) held.set(chunk.seq, chunk);
    for (let next = held.get(last + 1); next; next = held.get(last + 1)) {
      held.delete(next.seq);
      kept.push(next);
      last = next.seq;
    }
    for (const seq of held.keys()) if (seq <= last) held.delete(seq);
  };
  const accept = (chunks: LogChunkEvent[]): void => {
    take(chunks);
    if (held.size > 0 && !catchingUp) {
      catchUps++;
      catchingUp = (async () => {
        for (;;) {
          const page = await request<{ chunks: LogChunkEvent[] }>('GET', `/api/v1/jobs/${jobId}/logs?after=${last}&limit=500`, { base: cluster.balancerUrl });
          if (page.status !== 200) throw new Error(`log catch-up answered ${page.status}`);
          const before = last;
          take(page.body.chunks);
          if (page.body.chunks.length < 500 || last === before) return;
        }
      })()
        .catch((error: Error) => void catchUpErrors.push(error.message))
        .finally(() => {
          catchingUp = undefined;
          // What arrived live during the read and still does not follow on starts another one.
          if (held.size > 0) accept([]);
        });
    }
  };
  client.on('log.chunks', (event) => {
    if (event.jobId === jobId) accept(event.chunks);
  });
  const subscribed = new Promise<void>((resolve) => {
    client.on('connect', () => {
      connects++;
      const room: LiveRoom = `job:${jobId}`;
      client
        .timeout(10_000)
        .emitWithAck('subscribe', { room, afterSeq: last })
        .then((reply: SubscribeReply) => {
          if (reply.ok) resolve();
          else subscribeErrors.push(reply.error.message);
        })
        .catch((error: Error) => subscribeErrors.push(error.message));
    });
  });
  return { client, kept, held, subscribeErrors, catchUpErrors, subscribed, connects: () => connects, catchUps: () => catchUps };
}

/** `identity` of the worker that started the workflow's most recent workflow task (`<pid>@<host>` by default). */
async function lastWorkflowTaskIdentity(workflowId: string): Promise<string> {
  const connection = await Connection.connect({ address: cluster.temporalAddress });
  try {
    const history = await connection.workflowService.getWorkflowExecutionHistory({ namespace: cluster.namespace, execution: { workflowId } });
    const identities = (history.history?.events ?? []).map((event) => event.workflowTaskStartedEventAttributes?.identity).filter((value): value is string => Boolean(value));
    const last = identities.at(-1);
    if (!last) throw new Error(`workflow ${workflowId} has no started workflow task yet`);
    return last;
  } finally {
    await connection.close();
  }
}

function processState(procs: ClusterProcess[]): string {
  return procs.map((proc) => `${proc.name}=${proc.running() ? 'up' : 'down'}`).join(' ');
}

describe.skipIf(skipCluster)('cluster profile', () => {
  it('wakes an agent polling instance B for a run triggered on A, and streams to a viewer on B what an agent posts to A', async () => {
    const [a, b] = cluster.apis;
    await cluster.startAgent({ name: 'on-b', url: b.url, labels: 'pool=on-b' });
    await cluster.startAgent({ name: 'on-a', url: a.url, labels: 'pool=on-a' });

    // The agent on B sits in a 30 s long poll; only a cross-instance wake-up hands it the job in time.
    await pipeline('claimed-on-b', 'echo claimed', ['pool=on-b']);
    await sleep(500);
    const first = await trigger('claimed-on-b', a.url);
    const done = await finished(first, 40_000, a.url);
    expect(done.status).toBe('succeeded');
    expect(done.jobs[0].agent).toBe('on-b');
    // Its poll started before the job existed and would only have ended after 30 s: a claim within
    // a second or two of queueing means instance A's NOTIFY woke the poll parked on B.
    const [latency] = await cluster.sql<{ seconds: number }[]>`
      select extract(epoch from t.claimed_at - j.queued_at)::float8 as seconds
      from jobs j join job_tries t on t.job_id = j.id where j.id = ${done.jobs[0].id}`;
    expect(latency.seconds).toBeLessThan(3);

    await pipeline('posted-to-a', SLOW_SCRIPT, ['pool=on-a']);
    const second = await trigger('posted-to-a', a.url);
    const job = await firstJob(second, a.url);
    const viewer = follow(b.url, job.id, { websocketOnly: true });
    await viewer.subscribed;
    const run = await finished(second, 60_000, a.url);
    expect(run.status).toBe('succeeded');
    expect(run.jobs[0].agent).toBe('on-a');
    await waitFor('the viewer on B to have every line', async () => printedLines(viewer.kept).length >= LINES, 10_000).catch(() => undefined);
    expect(viewer.subscribeErrors).toEqual([]);
    expect(viewer.catchUpErrors).toEqual([]);
    // No instance died: the subscription alone delivered every chunk in order.
    expect(viewer.catchUps()).toBe(0);
    expect(printedLines(viewer.kept)).toEqual(expectedLines());
    expect(viewer.kept.map((chunk) => chunk.seq)).toEqual((await storedChunks(job.id)).map((chunk) => chunk.seq));
  });

  it('survives kill -9 of API instance A mid-run: agents and viewers fail over to B, no log line lost or duplicated', async () => {
    const [a] = cluster.apis;
    await pipeline('api-failover', SLOW_SCRIPT, ['pool=cluster']);
    const id = await trigger('api-failover');
    const job = await firstJob(id);
    // Viewers through the balancer, polling first (sticky sessions, then the upgrade). The balancer
    // alternates, but other traffic interleaves: open viewers until at least one is pinned to A.
    const viewers: ReturnType<typeof follow>[] = [];
    const onA = (viewer: ReturnType<typeof follow>): boolean => cluster.balancer.upstreamOf(viewer.client.io.engine.id) === `127.0.0.1:${a.port}`;
    while (viewers.length < 6 && !viewers.some(onA)) {
      const viewer = follow(cluster.balancerUrl, job.id, { websocketOnly: false });
      await viewer.subscribed;
      viewers.push(viewer);
    }
    const viewersOnA = viewers.filter(onA);
    expect(viewersOnA.length).toBeGreaterThan(0);
    await waitFor('the first 15 lines to reach the viewers', async () => viewers.every((viewer) => printedLines(viewer.kept).length >= 15), 30_000);
    expect((await getRun(id))?.status).toBe('running');

    try {
      const exit = await a.kill('SIGKILL');
      expect(exit.signal).toBe('SIGKILL');
      const run = await finished(id, 90_000);
      expect(run.status).toBe('succeeded');
      await waitFor('the viewers to have every line', async () => viewers.every((viewer) => printedLines(viewer.kept).length >= LINES), 15_000).catch(() => undefined);

      const stored = await storedChunks(job.id);
      expect(printedLines(stored)).toEqual(expectedLines());
      expect(stored.map((chunk) => chunk.seq)).toEqual(stored.map((_, i) => i + 1));
      for (const viewer of viewers) {
        expect(viewer.subscribeErrors).toEqual([]);
        expect(viewer.catchUpErrors).toEqual([]);
        expect(viewer.held.size).toBe(0);
        expect(printedLines(viewer.kept)).toEqual(expectedLines());
        expect(viewer.kept.map((chunk) => chunk.seq)).toEqual(stored.map((chunk) => chunk.seq));
        expect(viewer.client.connected).toBe(true);
      }
      // The ones on A lost their connection and resumed on B after the last seq they had.
      for (const viewer of viewersOnA) expect(viewer.connects()).toBeGreaterThanOrEqual(2);
    } finally {
      if (!a.running()) await a.start();
    }
  });

  it('completes a run when one worker is killed mid-run', async () => {
    await pipeline('worker-failover', SLOW_SCRIPT, ['pool=cluster']);
    const id = await trigger('worker-failover');
    await firstJob(id, undefined, 'running');
    // Kill the worker that ran the workflow's last task: it holds the run in its sticky cache, so
    // the rest of the run must move to the other worker (replaying the history there).
    const identity = await lastWorkflowTaskIdentity(`run-${id}-attempt-1`);
    const victim = cluster.workers.find((worker) => identity.startsWith(`${worker.pid()}@`));
    expect(victim, `a cluster worker with identity ${identity}`).toBeDefined();
    try {
      await victim!.kill('SIGKILL');
      const run = await finished(id, 90_000);
      expect(run.status).toBe('succeeded');
      expect(printedLines(await storedChunks(run.jobs[0].id))).toEqual(expectedLines());
      const finishedBy = await lastWorkflowTaskIdentity(`run-${id}-attempt-1`);
      expect(finishedBy).not.toBe(identity);
      // And the next run, with one worker left, goes through too.
      const next = await finished(await trigger('worker-failover'), 90_000);
      expect(next.status).toBe('succeeded');
    } finally {
      if (!victim!.running()) await victim!.start();
    }
  });

  it('completes a run when the Temporal server is stopped for 20 s mid-run', async () => {
    await pipeline('temporal-outage', SLOW_SCRIPT, ['pool=cluster']);
    const id = await trigger('temporal-outage');
    await firstJob(id, undefined, 'running');
    try {
      await cluster.temporal.stop(10_000);
      const downAt = Date.now();
      // While Temporal is down the job keeps running and its logs keep flowing through Postgres.
      await sleep(20_000 - (Date.now() - downAt));
      expect((await getRun(id))?.jobs[0].status).toMatch(/running|succeeded/);
      await cluster.temporal.start();
      const run = await finished(id, 120_000);
      expect(run.status).toBe('succeeded');
      expect(printedLines(await storedChunks(run.jobs[0].id))).toEqual(expectedLines());
    } finally {
      if (!cluster.temporal.running()) await cluster.temporal.start();
    }
    // Nothing else fell over along the way (the processes we killed on purpose do not count).
    expect(unexpectedExits).toEqual([]);
    expect(processState([...cluster.apis, ...cluster.workers, ...cluster.agents])).not.toContain('=down');
  });
});
