import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import postgres from 'postgres';
import { beforeEach, inject } from 'vitest';
import { createApiClient, type ApiClient } from '../../contract/api-client';
import { api as contractApi } from '../../contract';
import { checkResponse, type RouteDef, type RouteInput, type RouteResponse } from '../../contract/http';
import { isTerminal, type RunDetail } from '../../contract/runs.contract';
import { findFreePort, inheritedEnv, randomBase62, tailFile, type ExitInfo } from '../../scripts/process-utils';
import { builtEntry, taskQueuePolledSince, withDatabase } from '../../scripts/launcher';
import { ChildGroup, conditionReady, httpReady, killAllChildren, waitUntil, type SupervisedChild } from '../../scripts/supervisor';

// Tests call typed routes as `stack.api.call(api.runs.get, …)`; importing `api` from here saves a second import.
export { api } from '../../contract';

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
  /** The API it talks to; defaults to the stack's (another instance's url, or an address a namespace can reach). */
  url?: string;
  /** Runs the agent under this command, e.g. ['ip', 'netns', 'exec', name] (scripts/netns.ts) to put it in a network namespace. */
  commandPrefix?: string[];
};

export type ApiInstanceSpec = {
  /** Names its log file (api-<name>.log) and its messages. */
  name: string;
  /** Its database URL, e.g. through a forwarder (scripts/netns.ts startTcpForwarder); defaults to the stack's. */
  databaseUrl?: string;
  /** Extra environment on top of the stack's. */
  env?: Record<string, string>;
};

export type ApiInstanceHandle = ProcessHandle & { url: string; port: number };

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
  /** Typed client on the contract, as the admin, answers checked against their schemas: `stack.api.call(api.runs.get, { params: { id } })`. */
  api: ApiClient;
  /** A call that must answer exactly `status` (201 for a create): asserted, then the body checked against its schema. */
  answered<R extends RouteDef>(status: number, route: R, input: RouteInput<R>): Promise<RouteResponse<R>>;
  createAgentToken(name?: string): Promise<string>;
  startAgent(spec: AgentSpec): Promise<AgentHandle>;
  agents: AgentHandle[];
  /** One more API instance on the stack's database, namespace and task queue; stopped with the stack (before the first). */
  startApiInstance(spec: ApiInstanceSpec): Promise<ApiInstanceHandle>;
  killApi(signal?: NodeJS.Signals): Promise<ExitInfo>;
  startApi(): Promise<void>;
  killWorker(signal?: NodeJS.Signals): Promise<ExitInfo>;
  startWorker(): Promise<void>;
  waitFor<T>(predicate: () => T | Promise<T>, options?: WaitOptions): Promise<NonNullable<T>>;
  /** The run once it has ended (its `attempt`-th attempt, when given), checked against the contract. */
  runEnded(runId: number, options?: { attempt?: number; timeoutMs?: number }): Promise<RunDetail>;
  stop(): Promise<void>;
};

const MAX_CAPTURE = 2 * 1024 * 1024;
const activeStacks = new Set<Stack>();

// Children run in their own process groups (so we can take down the jobs an agent started); that
// means nobody else kills them if this worker process goes away, so we must (supervisor.ts does it on exit).
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
        const extraApis = fs.existsSync(stack.logDir) ? fs.readdirSync(stack.logDir).filter((file) => /^api-.+\.log$/.test(file)) : [];
        const files = [path.join(stack.logDir, 'api.log'), ...extraApis.map((file) => path.join(stack.logDir, file)), path.join(stack.logDir, 'worker.log'), ...agentLogs.map((agent) => agent.logFile)];
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
  // A throwing predicate counts as "not yet" (e.g. the API is restarting), but is reported on timeout.
  return waitUntil(predicate, {
    timeoutMs,
    intervalMs,
    timeoutMessage: (lastError) => `Timed out after ${timeoutMs} ms waiting for ${message}${lastError ? ` (last error: ${String(lastError)})` : ''}`,
  });
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

/** The handle tests hold: one incarnation of a supervised child. */
function handleOf(child: SupervisedChild): ProcessHandle {
  const exited = child.exited();
  return {
    name: child.name,
    pid: child.pid() ?? -1,
    logFile: child.logFile ?? '',
    exited,
    running: () => child.running(),
    output: () => child.output(),
    waitForOutput: (pattern, options = {}) =>
      waitFor(
        () => {
          const captured = child.output();
          const match = typeof pattern === 'string' ? captured.includes(pattern) : pattern.test(captured);
          if (!match && !child.running()) throw new Error(`${child.name} exited without printing ${String(pattern)}`);
          return match ? captured : null;
        },
        { message: `${child.name} to print ${String(pattern)}`, ...options },
      ),
    kill: (signal = 'SIGTERM') => child.kill(signal),
  };
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
  // Agents go first on the way down (all together), then the worker, then the API.
  const children = new ChildGroup({ logDir, graceMs: 5000, maxCapture: MAX_CAPTURE });

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

  const apiChild = children.add({
    name: 'api',
    label: 'the API',
    entry: 'src/main.js',
    env: { ...baseEnv, PORT: String(port) },
    ready: httpReady(`${apiUrl}/api/v1/health`, { timeoutMs: 60_000, intervalMs: 250 }),
  });
  let apiStarted = false;
  const workerChild = children.add({ name: 'worker', label: 'the worker', entry: 'worker/main.js', env: baseEnv });
  let workerStarted = false;

  const startApi = async (): Promise<void> => {
    if (apiChild.running()) throw new Error('the API is already running');
    apiStarted = true;
    await apiChild.start();
  };

  const startWorker = async (): Promise<void> => {
    if (workerChild.running()) throw new Error('the worker is already running');
    workerStarted = true;
    if (options.waitForWorker === false) return workerChild.start({ ready: null });
    const connection = await Connection.connect({ address: temporalAddress });
    try {
      await workerChild.start({
        ready: conditionReady(
          `poll task queue ${taskQueue}`,
          (_child, spawnedAt) => taskQueuePolledSince(connection, namespace, taskQueue, spawnedAt),
          { timeoutMs: 60_000, intervalMs: 250 },
        ),
      });
    } finally {
      await connection.close();
    }
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
    const args = ['--url', spec.url ?? apiUrl, '--token', token, '--name', spec.name, '--work-dir', workDir];
    if (labels) args.push('--labels', labels);
    const prefix = spec.commandPrefix ?? [];
    const child = children.add({
      name: `agent ${spec.name}`,
      role: 'agent',
      stopTogether: true,
      ...(prefix.length > 0 ? { command: prefix[0], args: [...prefix.slice(1), process.execPath, builtEntry('agent/main.js'), ...args] } : { entry: 'agent/main.js', args }),
      env: { ...baseEnv, ...spec.env },
      logFile: path.join(logDir, `agent-${spec.name}.log`),
    });
    await child.start();
    const agent: AgentHandle = Object.assign(handleOf(child), { token, labels, workDir });
    agents.push(agent);
    return agent;
  };

  const startApiInstance = async (spec: ApiInstanceSpec): Promise<ApiInstanceHandle> => {
    const instancePort = await findFreePort();
    const url = `http://127.0.0.1:${instancePort}`;
    const child = children.add({
      name: `api ${spec.name}`,
      label: `API instance ${spec.name}`,
      entry: 'src/main.js',
      env: { ...baseEnv, ...spec.env, DATABASE_URL: spec.databaseUrl ?? database.url, PORT: String(instancePort) },
      logFile: path.join(logDir, `api-${spec.name}.log`),
      ready: httpReady(`${url}/api/v1/health`, { timeoutMs: 60_000, intervalMs: 250 }),
    });
    await child.start();
    return Object.assign(handleOf(child), { url, port: instancePort });
  };

  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await children.stopAll();
      activeStacks.delete(stack);
      await sql.end({ timeout: 5 }).catch(() => undefined);
      // BELLOWS_TEST_KEEP=1 leaves the database and the data/work dirs behind for a post-mortem.
      if (process.env.BELLOWS_TEST_KEEP !== '1') {
        await database.drop().catch(() => undefined);
        fs.rmSync(dataDir, { recursive: true, force: true });
        fs.rmSync(path.join(stackDir, 'agents'), { recursive: true, force: true });
      }
    })());

  const client = createApiClient({ baseUrl: apiUrl, token: () => adminToken, checkResponses: true });
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
    api: client,
    async answered(status, route, input) {
      const response = await client.raw(route, input);
      const text = await response.text();
      if (response.status !== status) throw new Error(`${route.method} ${route.path} answered ${response.status}, not ${status}: ${text}`);
      return checkResponse(route, text ? JSON.parse(text) : undefined);
    },
    createAgentToken,
    startAgent,
    agents,
    startApiInstance,
    killApi: async (signal = 'SIGTERM') => {
      if (!apiStarted) throw new Error('the API was never started');
      return signal === 'SIGTERM' ? apiChild.stop(10_000) : apiChild.kill(signal);
    },
    startApi,
    killWorker: async (signal = 'SIGTERM') => {
      if (!workerStarted) throw new Error('the worker was never started');
      return signal === 'SIGTERM' ? workerChild.stop(10_000) : workerChild.kill(signal);
    },
    startWorker,
    waitFor,
    runEnded: (runId, { attempt, timeoutMs = 90_000 } = {}) =>
      waitFor(
        async () => {
          const current = await client.call(contractApi.runs.get, { params: { id: runId } });
          return isTerminal(current.status) && (attempt === undefined || current.attempt === attempt) ? current : null;
        },
        { timeoutMs, message: `run ${runId}${attempt === undefined ? '' : ` attempt ${attempt}`} to end` },
      ),
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
