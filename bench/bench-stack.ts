import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import postgres from 'postgres';
import { startEmbeddedPostgres } from '../scripts/embedded-postgres';
import { findFreePort, randomBase62 } from '../scripts/process-utils';
import { resolveTemporalCli, startTemporalDevServer } from '../scripts/temporal-cli';
import { withDatabase } from '../scripts/launcher';
import { ChildGroup, conditionReady, httpReady } from '../scripts/supervisor';

// The bench's own infrastructure, modelled on test/support/stack.ts: a private Temporal dev server
// (in memory), a fresh database, and the real API and worker from dist/. Everything it starts is
// registered for teardown the moment it exists, so a failure half-way still cleans up.

export type BenchStack = {
  apiUrl: string;
  adminToken: string;
  databaseUrl: string;
  /** Where the database came from, for the report header. */
  postgresSource: 'DATABASE_URL' | 'embedded';
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  /** postgres.js on the bench database; bigint travels as number (ids stay far below 2^53). */
  sql: postgres.Sql;
  /** Temporal client on the bench namespace. */
  temporal: Client;
  logDir: string;
  request<T = unknown>(method: string, urlPath: string, options?: { body?: unknown; token?: string | null }): Promise<{ status: number; body: T }>;
  /** Starts the real agent (dist/agent/main.js) with its own registration token; stopped with the stack. */
  startAgent(name: string, labels: string[]): Promise<void>;
  stop(): Promise<void>;
};

export type StartBenchStackOptions = {
  onProgress: (message: string) => void;
  /** Set by main on Ctrl-C: startup stops at the next step instead of finishing first. */
  signal: AbortSignal;
  /** Scratch directory owned by the caller (it decides whether logs survive a failure). */
  benchDir: string;
};

const NAMESPACE = 'bellows-bench';

/**
 * LIFO teardown list: later resources depend on earlier ones (the API needs Postgres). The bench's
 * processes are started on `children`, so they stop in the same sequence.
 */
export type CleanupStack = { push(name: string, fn: () => Promise<unknown>): void; run(): Promise<void>; readonly children: ChildGroup };

export function createCleanupStack(onProgress: (message: string) => void): CleanupStack {
  // Keep going past a failed step: one stuck resource must not leave the others running.
  const children = new ChildGroup({ graceMs: 5000, onStopError: (name, error) => onProgress(`cleanup: ${name} failed: ${error.message}`) });
  return { children, push: (name, fn) => children.defer(name, fn), run: () => children.stopAll() };
}

export async function startBenchStack(cleanups: CleanupStack, options: StartBenchStackOptions): Promise<BenchStack> {
  const { onProgress, signal } = options;
  const logDir = path.join(options.benchDir, 'logs');
  const dataDir = path.join(options.benchDir, 'data');
  fs.mkdirSync(logDir, { recursive: true });
  fs.mkdirSync(dataDir, { recursive: true });
  cleanups.push('API data dir', async () => fs.rmSync(dataDir, { recursive: true, force: true }));

  // Temporal first: it is the slowest to come up, and Postgres startup overlaps with nothing else anyway.
  onProgress('starting Temporal dev server (in memory)…');
  const cli = await resolveTemporalCli({ onProgress });
  const [temporalPort, uiPort] = [await findFreePort(), await findFreePort()];
  const temporalServer = await startTemporalDevServer({
    cliPath: cli.path,
    port: temporalPort,
    uiPort,
    namespaces: [NAMESPACE],
    headless: true,
    detached: true,
    logFile: path.join(logDir, 'temporal.log'),
  });
  cleanups.push('Temporal dev server', () => temporalServer.stop());
  signal.throwIfAborted();

  let databaseUrl: string;
  let postgresSource: BenchStack['postgresSource'];
  const adminUrl = process.env.DATABASE_URL;
  if (adminUrl) {
    postgresSource = 'DATABASE_URL';
    const name = `bellows_bench_${crypto.randomBytes(5).toString('hex')}`;
    onProgress(`creating database ${name} on DATABASE_URL…`);
    const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
    try {
      await admin.unsafe(`create database ${name}`);
    } finally {
      await admin.end({ timeout: 5 });
    }
    cleanups.push(`drop database ${name}`, async () => {
      const sql = postgres(adminUrl, { max: 1, onnotice: () => undefined });
      try {
        // FORCE: a killed API may still hold connections.
        await sql.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await sql.end({ timeout: 5 });
      }
    });
    databaseUrl = withDatabase(adminUrl, name);
  } else {
    postgresSource = 'embedded';
    onProgress('starting embedded PostgreSQL…');
    // Its own mkdtemp dir: as root the cluster dir is chowned to `postgres`, which could not traverse a 0700 parent.
    const pgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bellows-bench-pg-'));
    cleanups.push('embedded PostgreSQL data', async () => fs.rmSync(pgDir, { recursive: true, force: true }));
    const server = await startEmbeddedPostgres({
      dataDir: pgDir,
      port: await findFreePort(),
      database: 'bellows_bench',
      logFile: path.join(logDir, 'postgres.log'),
      detached: true,
    });
    cleanups.push('embedded PostgreSQL', () => server.stop());
    databaseUrl = server.url;
  }
  signal.throwIfAborted();

  const sql = postgres(databaseUrl, {
    max: 4,
    onnotice: () => undefined,
    types: { bigint: { to: 20, from: [20], serialize: (value: number) => String(value), parse: (value: string) => Number(value) } },
  });
  cleanups.push('bench SQL pool', () => sql.end({ timeout: 5 }));

  const adminToken = `bel_${randomBase62(40, crypto.randomBytes)}`;
  const apiPort = await findFreePort();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const taskQueue = `bellows-bench-${crypto.randomBytes(3).toString('hex')}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalServer.address,
    TEMPORAL_NAMESPACE: NAMESPACE,
    BELLOWS_TASK_QUEUE: taskQueue,
    BELLOWS_DATA_DIR: dataDir,
    BELLOWS_ADMIN_TOKEN: adminToken,
    // The repository section reads a repository the bench generates on disk.
    BELLOWS_ALLOW_FILE_REPOSITORIES: 'true',
  };

  // API before worker: both apply migrations, and one at a time keeps their logs readable.
  // The worker goes before the API on the way down (LIFO): it may still be finishing an activity.
  onProgress('starting API and worker…');
  await cleanups.children.start({
    name: 'api',
    label: 'the API',
    entry: 'src/main.js',
    env: { ...env, PORT: String(apiPort) },
    logFile: path.join(logDir, 'api.log'),
    ready: httpReady(`${apiUrl}/api/v1/health`, { timeoutMs: 60_000 }),
    signal,
  });
  const connection = await Connection.connect({ address: temporalServer.address });
  cleanups.push('Temporal client', () => connection.close());
  const temporal = new Client({ connection, namespace: NAMESPACE });
  await cleanups.children.start({
    name: 'worker',
    label: 'the worker',
    entry: 'worker/main.js',
    env,
    logFile: path.join(logDir, 'worker.log'),
    ready: conditionReady(
      `poll ${taskQueue}`,
      async (_child, spawnedAt) => {
        const queue = await connection.workflowService.describeTaskQueue({
          namespace: NAMESPACE,
          taskQueue: { name: taskQueue, kind: 1 }, // TASK_QUEUE_KIND_NORMAL
          taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
        });
        return (queue.pollers ?? []).some((poller) => {
          const at = poller.lastAccessTime;
          return at ? Number(at.seconds ?? 0) * 1000 + (at.nanos ?? 0) / 1e6 >= spawnedAt - 1000 : false;
        });
      },
      { timeoutMs: 60_000 },
    ),
    signal,
  });

  const request: BenchStack['request'] = async <T>(method: string, urlPath: string, requestOptions: { body?: unknown; token?: string | null } = {}) => {
    const token = requestOptions.token === undefined ? adminToken : requestOptions.token;
    const headers: Record<string, string> = {};
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (requestOptions.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${apiUrl}${urlPath}`, {
      method,
      headers,
      body: requestOptions.body === undefined ? undefined : JSON.stringify(requestOptions.body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
  };

  const startAgent: BenchStack['startAgent'] = async (name, labels) => {
    const token = await request<{ token: string }>('POST', '/api/v1/agent-tokens', { body: { name } });
    if (token.status !== 201) throw new Error(`creating an agent token for ${name} failed: ${token.status}`);
    await cleanups.children.start({
      name,
      entry: 'agent/main.js',
      env: {
        ...process.env,
        BELLOWS_URL: apiUrl,
        BELLOWS_AGENT_TOKEN: token.body.token,
        BELLOWS_AGENT_NAME: name,
        BELLOWS_AGENT_LABELS: labels.join(','),
        BELLOWS_AGENT_WORK_DIR: path.join(options.benchDir, 'agents', name),
      },
      logFile: path.join(logDir, `${name}.log`),
    });
  };

  return {
    apiUrl,
    adminToken,
    databaseUrl,
    postgresSource,
    temporalAddress: temporalServer.address,
    namespace: NAMESPACE,
    taskQueue,
    sql,
    temporal,
    logDir,
    request,
    startAgent,
    stop: () => cleanups.run(),
  };
}

export function logDirOf(benchDir: string): string {
  return path.join(benchDir, 'logs');
}
