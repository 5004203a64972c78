import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import postgres from 'postgres';
import { beforeEach, inject } from 'vitest';
import { findFreePort, isRunning, randomBase62, signalChild, sleep, stopChild, tailFile, type ExitInfo } from '../../scripts/process-utils';
import { builtEntry, repoRoot, withDatabase } from '../../scripts/launcher';

// Integration-test harness: each startStack() gets its own database, Temporal namespace and task
// queue on the shared servers from global-setup.ts, and runs the real built processes from dist/.

export type Labels = Record<string, string> | string;

export type AgentSpec = {
  name: string;
  labels?: Labels;
  env?: Record<string, string>;
  /** Defaults to a fresh token from createAgentToken(). */
  token?: string;
  /** Defaults to <stack dir>/agents/<name>. */
  workDir?: string;
};

export type StackOptions = {
  agents?: AgentSpec[];
  /** Extra environment for every process of the stack (API, worker, agents). */
  env?: Record<string, string>;
  /** Wait until the worker polls its task queue (default true). */
  waitForWorker?: boolean;
};

export type RequestOptions = {
  /** Serialised as JSON. */
  body?: unknown;
  /** Sent as is (set content-type through `headers`). */
  rawBody?: string | Buffer;
  /** Bearer token; defaults to the admin token, `null` sends no Authorization header. */
  token?: string | null;
  headers?: Record<string, string>;
};

export type ApiResponse<T = unknown> = {
  status: number;
  /** Parsed JSON when the body is JSON, else the text ('' for an empty body). */
  body: T;
  headers: Record<string, string>;
};

export type ProcessHandle = {
  name: string;
  pid: number;
  logFile: string;
  exited: Promise<ExitInfo>;
  running(): boolean;
  /** Everything the process wrote to stdout and stderr so far (the most recent 2 MB). */
  output(): string;
  waitForOutput(pattern: RegExp | string, options?: WaitOptions): Promise<string>;
  /** Sends `signal` (default SIGTERM) to the process only and resolves when it has exited. */
  kill(signal?: NodeJS.Signals): Promise<ExitInfo>;
};

export type AgentHandle = ProcessHandle & { token: string; labels: string; workDir: string };

export type WaitOptions = { timeoutMs?: number; intervalMs?: number; message?: string };

export type TestDatabase = { name: string; url: string; drop(): Promise<void> };

export type Stack = {
  apiUrl: string;
  adminToken: string;
  namespace: string;
  taskQueue: string;
  databaseUrl: string;
  temporalAddress: string;
  /** postgres.js client on the stack's database. */
  sql: postgres.Sql;
  /** Directory with api.log, worker.log and agent-<name>.log. */
  logDir: string;
  request<T = unknown>(method: string, urlPath: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  createAgentToken(name?: string): Promise<string>;
  startAgent(spec: AgentSpec): Promise<AgentHandle>;
  agents: AgentHandle[];
  killApi(signal?: NodeJS.Signals): Promise<ExitInfo>;
  startApi(): Promise<void>;
  killWorker(signal?: NodeJS.Signals): Promise<ExitInfo>;
  startWorker(): Promise<void>;
  waitFor<T>(predicate: () => T | Promise<T>, options?: WaitOptions): Promise<NonNullable<T>>;
  stop(): Promise<void>;
};

const MAX_CAPTURE = 2 * 1024 * 1024;
const liveChildren = new Set<ChildProcess>();
const activeStacks = new Set<Stack>();

function killAllChildren(): void {
  for (const child of liveChildren) signalChild(child, 'SIGKILL', true);
}

// Children run in their own process groups (so we can take down the jobs an agent started); that
// means nobody else kills them if this worker process goes away, so we must.
process.once('exit', killAllChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllChildren();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

try {
  // Registered at import time, so every test file using the harness gets it without boilerplate.
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      for (const stack of activeStacks) {
        process.stderr.write(`\n[stack] logs of the failed test's stack: ${stack.logDir}\n`);
        // With dozens of agents, only the ones that died are worth the screen space.
        const agentLogs = stack.agents.length <= 3 ? stack.agents : stack.agents.filter((agent) => !agent.running());
        const files = [path.join(stack.logDir, 'api.log'), path.join(stack.logDir, 'worker.log'), ...agentLogs.map((agent) => agent.logFile)];
        for (const file of new Set(files)) {
          if (fs.existsSync(file)) process.stderr.write(`--- ${path.basename(file)} (tail) ---\n${tailFile(file, 3000)}\n`);
        }
      }
    });
  });
} catch {
  // Imported outside of a test file's collection phase; no hook needed.
}

export async function waitFor<T>(predicate: () => T | Promise<T>, options: WaitOptions = {}): Promise<NonNullable<T>> {
  const { timeoutMs = 30_000, intervalMs = 200, message = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
      lastError = null;
    } catch (error) {
      // A throwing predicate counts as "not yet" (e.g. the API is restarting), but is reported on timeout.
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${message}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** Takes one of the namespaces global setup created; claims are atomic across test worker processes. */
export function claimNamespace(): string {
  const namespaces = inject('namespaces');
  const claimDir = inject('namespaceClaimDir');
  for (let n = 1; n <= namespaces.length; n++) {
    try {
      fs.closeSync(fs.openSync(path.join(claimDir, String(n)), 'wx'));
      return namespaces[n - 1];
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new Error(`all ${namespaces.length} test namespaces are claimed; raise TEST_NAMESPACE_COUNT in test/support/global-setup.ts`);
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('postgresAdminUrl');
  const name = `bellows_${crypto.randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  let dropped: Promise<void> | null = null;
  return {
    name,
    url: withDatabase(adminUrl, name),
    drop: () =>
      (dropped ??= (async () => {
        const sql = postgres(adminUrl, { max: 1, onnotice: () => undefined });
        try {
          // FORCE: a crashed API may still hold connections.
          await sql.unsafe(`drop database if exists ${name} with (force)`);
        } finally {
          await sql.end({ timeout: 5 });
        }
      })()),
  };
}

function formatLabels(labels: Labels | undefined): string {
  if (labels === undefined) return '';
  if (typeof labels === 'string') return labels;
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

function inheritedEnv(): NodeJS.ProcessEnv {
  // VITEST_* would make server code believe it runs inside vitest.
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
}

function spawnLogged(name: string, script: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): ProcessHandle {
  const entry = builtEntry(script);
  const log = fs.createWriteStream(logFile, { flags: 'a' });
  log.write(`--- ${new Date().toISOString()} ${name} starting: node ${path.relative(repoRoot, entry)} ${args.join(' ')}\n`);
  const child = spawn(process.execPath, [entry, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  liveChildren.add(child);
  let captured = '';
  const capture = (chunk: Buffer): void => {
    log.write(chunk);
    captured += chunk.toString('utf8');
    if (captured.length > MAX_CAPTURE) captured = captured.slice(-MAX_CAPTURE);
  };
  child.stdout?.on('data', capture);
  child.stderr?.on('data', capture);
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('error', (error) => {
      capture(Buffer.from(`spawn error: ${error.message}\n`));
      resolve({ code: null, signal: null });
    });
    child.once('exit', (code, signal) => {
      liveChildren.delete(child);
      log.end(`--- ${new Date().toISOString()} ${name} exited (${signal ?? `code ${code}`})\n`);
      resolve({ code, signal });
    });
  });
  const handle: ProcessHandle & { child: ChildProcess } = {
    name,
    pid: child.pid ?? -1,
    logFile,
    exited,
    child,
    running: () => isRunning(child),
    output: () => captured,
    waitForOutput: (pattern, options = {}) =>
      waitFor(
        () => {
          const match = typeof pattern === 'string' ? captured.includes(pattern) : pattern.test(captured);
          if (!match && !isRunning(child)) throw new Error(`${name} exited without printing ${String(pattern)}`);
          return match ? captured : null;
        },
        { message: `${name} to print ${String(pattern)}`, ...options },
      ),
    kill: (signal = 'SIGTERM') => {
      signalChild(child, signal, false);
      return exited;
    },
  };
  return handle;
}

function childOf(handle: ProcessHandle): ChildProcess {
  return (handle as ProcessHandle & { child: ChildProcess }).child;
}

async function stopHandle(handle: ProcessHandle | null, graceMs: number): Promise<void> {
  if (!handle) return;
  await stopChild(childOf(handle), { signal: 'SIGTERM', graceMs, group: true });
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const temporalAddress = inject('temporalAddress');
  const stackId = `${Date.now().toString(36)}-${crypto.randomBytes(3).toString('hex')}`;
  const stackDir = path.join(inject('testLogDir') || os.tmpdir(), `stack-${stackId}`);
  const logDir = stackDir;
  const dataDir = path.join(stackDir, 'data');
  fs.mkdirSync(dataDir, { recursive: true });

  const namespace = claimNamespace();
  const database = await createTestDatabase();
  const taskQueue = `bellows-test-${stackId}`;
  const adminToken = `bel_${randomBase62(40, crypto.randomBytes)}`;
  const port = await findFreePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  const sql = postgres(database.url, { max: 4, onnotice: () => undefined });

  const baseEnv: NodeJS.ProcessEnv = {
    ...inheritedEnv(),
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: namespace,
    BELLOWS_TASK_QUEUE: taskQueue,
    BELLOWS_DATA_DIR: dataDir,
    BELLOWS_ADMIN_TOKEN: adminToken,
    // Short timeouts keep lost-agent and reconcile tests in seconds instead of minutes.
    BELLOWS_AGENT_LOST_AFTER_SECONDS: '3',
    BELLOWS_RECONCILE_SECONDS: '5',
    BELLOWS_AGENT_CANCEL_GRACE_MS: '2000',
    ...options.env,
  };

  let api: ProcessHandle | null = null;
  let worker: ProcessHandle | null = null;
  const agents: AgentHandle[] = [];
  let stopped: Promise<void> | null = null;

  const request = async <T = unknown>(method: string, urlPath: string, requestOptions: RequestOptions = {}): Promise<ApiResponse<T>> => {
    const headers: Record<string, string> = { ...requestOptions.headers };
    const token = requestOptions.token === undefined ? adminToken : requestOptions.token;
    if (token !== null) headers.authorization ??= `Bearer ${token}`;
    let body: string | Uint8Array<ArrayBuffer> | undefined;
    if (requestOptions.rawBody !== undefined) {
      const raw = requestOptions.rawBody;
      // Copy: fetch's typings reject a Buffer that may sit on a SharedArrayBuffer.
      body = typeof raw === 'string' ? raw : new Uint8Array(raw);
    } else if (requestOptions.body !== undefined) {
      body = JSON.stringify(requestOptions.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${apiUrl}${urlPath}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    if (text && (response.headers.get('content-type') ?? '').includes('json')) {
      try {
        parsed = JSON.parse(text);
      } catch {
        // Leave malformed JSON as text; the test asserting on it will show it.
      }
    }
    return { status: response.status, body: parsed as T, headers: Object.fromEntries(response.headers.entries()) };
  };

  const startApi = async (): Promise<void> => {
    if (api?.running()) throw new Error('the API is already running');
    const handle = spawnLogged('api', 'src/main.js', [], { ...baseEnv, PORT: String(port) }, path.join(logDir, 'api.log'));
    api = handle;
    await waitFor(
      async () => {
        if (!handle.running()) throw new Error(`the API exited during startup:\n${handle.output().slice(-3000)}`);
        const response = await fetch(`${apiUrl}/api/v1/health`, { signal: AbortSignal.timeout(2000) });
        return response.status === 200;
      },
      { timeoutMs: 60_000, intervalMs: 250, message: `API health at ${apiUrl} (log: ${handle.logFile})` },
    ).catch(async (error: unknown) => {
      await stopHandle(handle, 2000);
      throw error;
    });
  };

  const waitForWorkerPolling = async (handle: ProcessHandle, spawnedAt: number): Promise<void> => {
    const connection = await Connection.connect({ address: temporalAddress });
    try {
      await waitFor(
        async () => {
          if (!handle.running()) throw new Error(`the worker exited during startup:\n${handle.output().slice(-3000)}`);
          const queue = await connection.workflowService.describeTaskQueue({
            namespace,
            taskQueue: { name: taskQueue, kind: 1 }, // TASK_QUEUE_KIND_NORMAL
            taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
          });
          // Temporal lists pollers seen in the last minutes, including a worker we just killed:
          // only a poll that started after the spawn proves the new worker is up.
          return (queue.pollers ?? []).some((poller) => {
            const at = poller.lastAccessTime;
            return at ? Number(at.seconds ?? 0) * 1000 + (at.nanos ?? 0) / 1e6 >= spawnedAt : false;
          });
        },
        { timeoutMs: 60_000, intervalMs: 250, message: `the worker to poll task queue ${taskQueue} (log: ${handle.logFile})` },
      );
    } finally {
      await connection.close();
    }
  };

  const startWorker = async (): Promise<void> => {
    if (worker?.running()) throw new Error('the worker is already running');
    const spawnedAt = Date.now();
    const handle = spawnLogged('worker', 'worker/main.js', [], baseEnv, path.join(logDir, 'worker.log'));
    worker = handle;
    if (options.waitForWorker !== false) await waitForWorkerPolling(handle, spawnedAt);
  };

  const createAgentToken = async (name = `agent-${crypto.randomBytes(3).toString('hex')}`): Promise<string> => {
    const response = await request<{ token?: string }>('POST', '/api/v1/agent-tokens', { body: { name } });
    if (response.status >= 300 || !response.body?.token) {
      throw new Error(`creating an agent token failed: ${response.status} ${JSON.stringify(response.body)}`);
    }
    return response.body.token;
  };

  const startAgent = async (spec: AgentSpec): Promise<AgentHandle> => {
    const token = spec.token ?? (await createAgentToken(spec.name));
    const labels = formatLabels(spec.labels);
    const workDir = spec.workDir ?? path.join(stackDir, 'agents', spec.name);
    fs.mkdirSync(workDir, { recursive: true });
    const args = ['--url', apiUrl, '--token', token, '--name', spec.name, '--work-dir', workDir];
    if (labels) args.push('--labels', labels);
    const handle = spawnLogged(`agent ${spec.name}`, 'agent/main.js', args, { ...baseEnv, ...spec.env }, path.join(logDir, `agent-${spec.name}.log`));
    const agent: AgentHandle = Object.assign(handle, { token, labels, workDir });
    agents.push(agent);
    return agent;
  };

  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await Promise.all(agents.map((agent) => stopHandle(agent, 5000)));
      await stopHandle(worker, 5000);
      await stopHandle(api, 5000);
      activeStacks.delete(stack);
      await sql.end({ timeout: 5 }).catch(() => undefined);
      // BELLOWS_TEST_KEEP=1 leaves the database and the data/work dirs behind for a post-mortem.
      if (process.env.BELLOWS_TEST_KEEP !== '1') {
        await database.drop().catch(() => undefined);
        fs.rmSync(dataDir, { recursive: true, force: true });
        fs.rmSync(path.join(stackDir, 'agents'), { recursive: true, force: true });
      }
    })());

  const stack: Stack = {
    apiUrl,
    adminToken,
    namespace,
    taskQueue,
    databaseUrl: database.url,
    temporalAddress,
    sql,
    logDir,
    request,
    createAgentToken,
    startAgent,
    agents,
    killApi: async (signal = 'SIGTERM') => {
      if (!api) throw new Error('the API was never started');
      const child = childOf(api);
      return signal === 'SIGTERM' ? stopChild(child, { signal, graceMs: 10_000 }) : api.kill(signal);
    },
    startApi,
    killWorker: async (signal = 'SIGTERM') => {
      if (!worker) throw new Error('the worker was never started');
      const child = childOf(worker);
      return signal === 'SIGTERM' ? stopChild(child, { signal, graceMs: 10_000 }) : worker.kill(signal);
    },
    startWorker,
    waitFor,
    stop,
  };
  activeStacks.add(stack);

  try {
    await startApi();
    await startWorker();
    for (const spec of options.agents ?? []) await startAgent(spec);
  } catch (error) {
    await stop();
    throw error;
  }
  return stack;
}
