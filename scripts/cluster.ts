import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import postgres from 'postgres';
import { hashToken } from '../src/auth/token-codec';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres';
import { startLoadBalancer, type LoadBalancer } from './load-balancer';
import { findFreePort, inheritedEnv, isPortInUse, randomBase62, type ExitInfo } from './process-utils';
import { builtEntry, ensurePortFree, paint, printBox, readOrCreate, repoRoot, taskQueuePolledSince, withDatabase } from './launcher';
import { ChildGroup, conditionReady, describeSupervision, httpReady, lineReady, onStopSignals, SupervisedService, type SupervisedChild, type SupervisionEvent } from './supervisor';
import {
  ensureNamespace,
  resolveTemporalServerBinaries,
  setupTemporalSchemas,
  temporalPostgresFromUrl,
  temporalServerArgs,
  waitForTemporalFrontend,
  writeTemporalServerConfig,
  type TemporalPostgres,
  type TemporalServerPorts,
} from './temporal-server';

// `npm run cluster`: the production topology on one machine — PostgreSQL, the real Temporal server
// on it, 2 API instances behind a round-robin load balancer, 2 workers and 3 agents. startCluster()
// is also what the failover tests (test/cluster) and the cluster benchmark (bench/cluster.ts) use.

export type ClusterRole = 'postgres' | 'temporal' | 'balancer' | 'api' | 'worker' | 'agent' | 'cluster';

export type ClusterProcess = {
  name: string;
  role: ClusterRole;
  logFile: string;
  pid(): number | undefined;
  running(): boolean;
  /** Output of the current incarnation (last 1 MB). */
  output(): string;
  /** Resolves when the current incarnation exits. */
  exited(): Promise<ExitInfo>;
  /** (Re)starts the process and resolves once it is ready (healthy, polling, registered). */
  start(): Promise<void>;
  /** Sends `signal` (default SIGKILL: a crash) to the process only and resolves when it has exited. */
  kill(signal?: NodeJS.Signals): Promise<ExitInfo>;
  /** Polite stop: SIGTERM, SIGKILL to its process group after `graceMs`. */
  stop(graceMs?: number): Promise<ExitInfo>;
  /** How many times supervision restarted it after a crash. */
  restarts(): number;
};

/** The embedded PostgreSQL, when the cluster runs one: its postmaster's pid (from its pid file) and its restarts. */
export type ClusterPostgres = { dataDir: string; logFile: string; pid(): number | undefined; restarts(): number };

export type ClusterApi = ClusterProcess & { url: string; port: number };
export type ClusterAgent = ClusterProcess & { url: string; labels: string };

export type ClusterAgentSpec = {
  name: string;
  labels?: string;
  /** Defaults to the load balancer. */
  url?: string;
  env?: Record<string, string>;
  /** Runs the agent under this command, e.g. ['ip', 'netns', 'exec', name] (scripts/netns.ts) to put it in a network namespace. */
  commandPrefix?: string[];
};

export type StartClusterOptions = {
  /** BELLOWS_DATA_DIR of every API instance (artifacts, shared); the cluster's own state goes to <dataDir>/cluster. */
  dataDir: string;
  /** Default <dataDir>/cluster/logs. */
  logDir?: string;
  /**
   * A PostgreSQL URL whose user may create databases. Bellows uses `bellowsDatabase` (default: the
   * URL's own database); Temporal gets `temporalDatabases` on the same server. Unset: embedded PostgreSQL.
   */
  databaseUrl?: string;
  bellowsDatabase?: string;
  temporalDatabases?: { database: string; visibilityDatabase: string };
  /** Port of the embedded PostgreSQL (default: a free one). */
  postgresPort?: number;
  /** Default: a free one. */
  temporalPort?: number;
  /** Default: free ones. */
  apiPorts?: number[];
  /** Default: a free one. */
  balancerPort?: number;
  apis?: number;
  workers?: number;
  /** Agents started through the load balancer; more with cluster.startAgent(). */
  agents?: number;
  agentLabels?: string;
  namespace?: string;
  taskQueue?: string;
  adminToken?: string;
  /** Extra environment for every Bellows process (API, worker, agent). */
  env?: Record<string, string>;
  /** Every output line of a Bellows process (they always go to <logDir>/<name>.log as well). */
  onLine?: (process: { name: string; role: ClusterRole }, line: string, stream: 'stdout' | 'stderr') => void;
  onProgress?: (role: ClusterRole, message: string) => void;
  /** A process exited without being asked to (kill()/stop() do not count). */
  onUnexpectedExit?: (process: ClusterProcess, info: ExitInfo) => void;
  /**
   * Restart every process that dies (PostgreSQL, Temporal, APIs, workers, agents) with backoff, as
   * `npm start` does; each restart and give-up goes to onSupervision. Default off: tests kill on purpose.
   */
  supervise?: boolean;
  onSupervision?: (event: SupervisionEvent) => void;
  /** Own process groups, so a terminal Ctrl-C reaches only the orchestrator (default true). */
  detached?: boolean;
  /** Aborting stops the start at the next step; whatever was started is stopped again. */
  signal?: AbortSignal;
};

export type Cluster = {
  dataDir: string;
  logDir: string;
  /** Where agents and viewers connect. */
  balancerUrl: string;
  balancer: LoadBalancer;
  apiUrls: string[];
  apis: ClusterApi[];
  workers: ClusterProcess[];
  agents: ClusterAgent[];
  temporal: ClusterProcess;
  /** null with an external DATABASE_URL. */
  postgres: ClusterPostgres | null;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  adminToken: string;
  databaseUrl: string;
  /** postgres.js client on the Bellows database. */
  sql: postgres.Sql;
  /** The agent registration token the cluster's agents use. */
  agentToken: string;
  startAgent(spec: ClusterAgentSpec): Promise<ClusterAgent>;
  /** Stops everything in dependency order: agents, workers, APIs, balancer, Temporal, PostgreSQL. */
  stop(): Promise<void>;
};

/** The public face of a supervised child: kill() defaults to SIGKILL (a crash), stop() to a 10 s grace. */
function clusterProcess(child: SupervisedChild, role: ClusterRole): ClusterProcess {
  return {
    name: child.name,
    role,
    logFile: child.logFile ?? '',
    pid: () => child.pid(),
    running: () => child.running(),
    output: () => child.output(),
    exited: () => child.exited(),
    start: () => child.start(),
    kill: (signal = 'SIGKILL') => child.kill(signal),
    stop: (graceMs = 10_000) => child.stop(graceMs),
    restarts: () => child.restarts(),
  };
}

async function freePorts(count: number): Promise<number[]> {
  // Hold nothing open between calls, so ask for all first and de-duplicate (the kernel may repeat one).
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await findFreePort());
  return [...ports];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Temporal stores membership ports in a smallint column (cluster_membership.rpc_port), so kernel-chosen
 * ephemeral ports (32768+) make it fail at startup. Pick free ones from 20000–32767 instead.
 */
async function lowFreePorts(count: number, exclude: Set<number>): Promise<number[]> {
  const ports: number[] = [];
  for (let attempts = 0; ports.length < count; attempts++) {
    if (attempts > 2000) throw new Error('could not find free ports below 32768 for the Temporal server');
    const port = 20_000 + crypto.randomInt(12_767);
    if (exclude.has(port) || ports.includes(port)) continue;
    if (await canListen(port)) ports.push(port);
  }
  return ports;
}

async function temporalPorts(frontend: number | undefined): Promise<TemporalServerPorts> {
  const [a, b, c, d, e, f, g, h, i] = await lowFreePorts(9, new Set(frontend === undefined ? [] : [frontend]));
  return {
    frontend: frontend ?? a,
    frontendHttp: b,
    history: c,
    matching: d,
    worker: e,
    frontendMembership: f,
    historyMembership: g,
    matchingMembership: h,
    workerMembership: i,
  };
}

/** ALTER SYSTEM when max_connections is below `wanted`; true when a restart is needed for it to apply. */
async function raiseMaxConnections(adminUrl: string, wanted: number): Promise<boolean> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  try {
    const [row] = await sql<{ current: number; pending: string | null }[]>`
      select current_setting('max_connections')::int as current,
             (select setting from pg_file_settings where name = 'max_connections' and applied is not true order by seqno desc limit 1) as pending`;
    if (row.current >= wanted) return false;
    if (Number(row.pending) < wanted) await sql.unsafe(`alter system set max_connections = ${wanted}`);
    return true;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function defaultAgentLabels(): string {
  return `os=${process.platform},arch=${process.arch},local=true`;
}

export async function startCluster(options: StartClusterOptions): Promise<Cluster> {
  const progress = options.onProgress ?? (() => undefined);
  const detached = options.detached ?? true;
  const dataDir = path.resolve(options.dataDir);
  const clusterDir = path.join(dataDir, 'cluster');
  const logDir = options.logDir ?? path.join(clusterDir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const namespace = options.namespace ?? 'default';
  const taskQueue = options.taskQueue ?? 'bellows-runs';
  const processes = new Map<SupervisedChild, ClusterProcess>();
  const onLine = options.onLine;
  // Processes and resources in start order; stop() stops them backwards, also after a failed start.
  const group = new ChildGroup({
    detached,
    supervise: options.supervise ?? false,
    onSupervision: options.onSupervision,
    onLine: onLine && ((child, line, stream) => onLine({ name: child.name, role: child.role as ClusterRole }, line, stream)),
    onUnexpectedExit: (child, info) => options.onUnexpectedExit?.(processes.get(child)!, info),
    onStopError: (name, error) => progress('cluster', `stopping ${name} failed: ${error.message}`),
  });
  const declare = (role: ClusterRole, spec: Parameters<ChildGroup['add']>[0]): ClusterProcess => {
    const child = group.add({ ...spec, role });
    const proc = clusterProcess(child, role);
    processes.set(child, proc);
    return proc;
  };

  const checkAborted = (): void => options.signal?.throwIfAborted();
  try {
    // Shared secrets: one key for every API instance (secrets written by A must decrypt on B).
    const adminToken = options.adminToken ?? (await readOrCreate(path.join(dataDir, 'admin-token'), () => `bel_${randomBase62(40, crypto.randomBytes)}`));
    const secretsKey = await readOrCreate(path.join(dataDir, 'secrets.key'), () => crypto.randomBytes(32).toString('base64'));

    // PostgreSQL.
    let adminUrl: string;
    let bellowsUrl: string;
    let clusterPostgres: ClusterPostgres | null = null;
    if (options.databaseUrl) {
      adminUrl = options.databaseUrl;
      bellowsUrl = options.bellowsDatabase ? withDatabase(adminUrl, options.bellowsDatabase) : adminUrl;
      if (options.bellowsDatabase) await ensureDatabase(adminUrl, options.bellowsDatabase);
      progress('postgres', `using ${new URL(adminUrl).host}`);
    } else {
      const port = options.postgresPort ?? (await findFreePort());
      const started = Date.now();
      const startPostgres = (): Promise<EmbeddedPostgres> =>
        startEmbeddedPostgres({
          dataDir: path.join(clusterDir, 'postgres'),
          port,
          database: options.bellowsDatabase ?? 'bellows',
          logFile: path.join(logDir, 'postgres.log'),
          detached,
          onProgress: (message) => progress('postgres', message),
        });
      const logFile = path.join(logDir, 'postgres.log');
      const service = new SupervisedService({
        name: 'postgres',
        label: 'PostgreSQL',
        logFile,
        start: startPostgres,
        onSupervision: (event) => options.onSupervision?.(event),
        stopping: () => group.stopping,
      });
      let server = await startPostgres();
      group.defer('PostgreSQL', () => (options.supervise ? service.stop() : server.stop()));
      // A fresh database cluster has no agent tokens; a token file left from an older one is stale.
      if (server.initialised) fs.rmSync(path.join(clusterDir, 'agent-token'), { force: true });
      // PostgreSQL's default of 100 connections is too few for this topology: the Temporal server's
      // four services have a pool each, every API instance holds ~23 and every worker ~7.
      if (await raiseMaxConnections(server.adminUrl, 300)) {
        progress('postgres', 'raised max_connections to 300; restarting PostgreSQL once');
        await server.stop();
        server = await startPostgres();
      }
      if (options.supervise) service.adopt(server);
      else {
        const running = server;
        void running.exited.then(() => {
          if (!group.stopping) progress('postgres', 'PostgreSQL exited unexpectedly: nothing works until it is back (see postgres.log)');
        });
      }
      const pgDataDir = path.join(clusterDir, 'postgres');
      clusterPostgres = {
        dataDir: pgDataDir,
        logFile,
        pid: () => {
          try {
            return Number(fs.readFileSync(path.join(pgDataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) || undefined;
          } catch {
            return undefined;
          }
        },
        restarts: () => service.restarts(),
      };
      adminUrl = server.adminUrl;
      bellowsUrl = server.url;
      progress('postgres', `embedded PostgreSQL ready on 127.0.0.1:${port} in ${Date.now() - started} ms`);
    }

    // Temporal: binaries, schemas, config, server, namespace, search attributes.
    checkAborted();
    const binaries = await resolveTemporalServerBinaries({ onProgress: (message) => progress('temporal', message), signal: options.signal });
    checkAborted();
    const pg: TemporalPostgres = temporalPostgresFromUrl(adminUrl, options.temporalDatabases ?? { database: 'temporal', visibilityDatabase: 'temporal_visibility' });
    let started = Date.now();
    await setupTemporalSchemas(binaries.sql, adminUrl, pg);
    progress('temporal', `schemas of ${pg.database} and ${pg.visibilityDatabase} up to date (${Date.now() - started} ms)`);
    const ports = await temporalPorts(options.temporalPort);
    const temporalDir = path.join(clusterDir, 'temporal');
    writeTemporalServerConfig({ dir: temporalDir, postgres: pg, ports, logLevel: 'warn' });
    const temporalAddress = `127.0.0.1:${ports.frontend}`;
    const temporal = declare('temporal', {
      name: 'temporal',
      label: 'the Temporal server',
      command: binaries.server,
      args: temporalServerArgs(temporalDir),
      logFile: path.join(logDir, 'temporal.log'),
      // Temporal's output is zap JSON: it goes to temporal.log only, never to the terminal.
      echo: false,
      graceMs: 15_000,
      ready: conditionReady(
        `open its frontend at ${temporalAddress}`,
        async (self) => {
          await waitForTemporalFrontend(temporalAddress, {
            namespace: null,
            timeoutMs: 120_000,
            isAlive: () => self.running(),
            describeFailure: () => `--- ${self.logFile} (tail) ---\n${self.output().slice(-3000)}`,
          });
          return true;
        },
        { timeoutMs: 120_000 },
      ),
    });
    started = Date.now();
    await temporal.start();
    await ensureNamespace(temporalAddress, namespace);
    progress('temporal', `server ${binaries.server} ready at ${temporalAddress} in ${Date.now() - started} ms (namespace '${namespace}', search attributes registered)`);

    checkAborted();
    const sql = postgres(bellowsUrl, { max: 4, onnotice: () => undefined });
    group.defer('SQL pool', () => sql.end({ timeout: 5 }));

    const env: NodeJS.ProcessEnv = {
      ...inheritedEnv(),
      DATABASE_URL: bellowsUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_NAMESPACE: namespace,
      BELLOWS_TASK_QUEUE: taskQueue,
      BELLOWS_DATA_DIR: dataDir,
      BELLOWS_ADMIN_TOKEN: adminToken,
      BELLOWS_SECRETS_KEY: secretsKey,
      ...options.env,
    };

    // API instances.
    const apiCount = options.apis ?? 2;
    const apiPorts = options.apiPorts ?? (await freePorts(apiCount));
    for (const port of apiPorts) if (await isPortInUse(port)) throw new Error(`port ${port} (API) is already in use`);
    const apis: ClusterApi[] = apiPorts.slice(0, apiCount).map((port, index) => {
      const name = `api-${String.fromCharCode(97 + index)}`;
      const url = `http://127.0.0.1:${port}`;
      const proc = declare('api', {
        name,
        entry: 'src/main.js',
        env: { ...env, PORT: String(port) },
        logFile: path.join(logDir, `${name}.log`),
        ready: httpReady(`${url}/api/v1/health`, { timeoutMs: 90_000 }),
      });
      return Object.assign(proc, { url, port });
    });
    started = Date.now();
    // The first instance applies the migrations (under an advisory lock); the others then start together.
    await apis[0].start();
    await Promise.all(apis.slice(1).map((api) => api.start()));
    progress('api', `${apis.length} instance(s) healthy in ${Date.now() - started} ms: ${apis.map((api) => api.url).join(', ')}`);

    checkAborted();
    const balancer = await startLoadBalancer(
      apis.map((api) => ({ host: '127.0.0.1', port: api.port })),
      { port: options.balancerPort },
    );
    group.defer('load balancer', () => balancer.close());
    progress('balancer', `round-robin over ${apis.length} API instance(s) at ${balancer.url}`);

    // Workers.
    const connection = await Connection.connect({ address: temporalAddress });
    group.defer('Temporal client', () => connection.close());
    const workerPolling = (spawnedAt: number) => taskQueuePolledSince(connection, namespace, taskQueue, spawnedAt);
    const workers: ClusterProcess[] = Array.from({ length: options.workers ?? 2 }, (_, index) => {
      const name = `worker-${index + 1}`;
      return declare('worker', {
        name,
        entry: 'worker/main.js',
        env,
        logFile: path.join(logDir, `${name}.log`),
        // With two workers the other one's polls would satisfy a shared check; the worker's own log line cannot.
        ready: conditionReady(`poll ${taskQueue}`, async (self, spawnedAt) => self.output().includes('worker started') && (await workerPolling(spawnedAt)), {
          timeoutMs: 90_000,
        }),
      });
    });
    started = Date.now();
    await Promise.all(workers.map((worker) => worker.start()));
    progress('worker', `${workers.length} worker(s) polling ${taskQueue} in ${Date.now() - started} ms`);

    checkAborted();
    // Agents: one registration token for the cluster's agents, kept in the data dir across restarts.
    const tokenFile = path.join(clusterDir, 'agent-token');
    let agentToken = fs.existsSync(tokenFile) ? fs.readFileSync(tokenFile, 'utf8').trim() : '';
    if (agentToken) {
      const [valid] = await sql`select 1 from tokens where token_hash = ${hashToken(agentToken)} and kind = 'agent' and revoked_at is null`;
      if (!valid) agentToken = '';
    }
    if (!agentToken) {
      const response = await fetch(`${apis[0].url}/api/v1/agent-tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
        body: JSON.stringify({ name: 'cluster-agents' }),
      });
      const body = (await response.json()) as { token?: string };
      if (!response.ok || !body.token) throw new Error(`creating the cluster's agent token failed: ${response.status} ${JSON.stringify(body)}`);
      agentToken = body.token;
      fs.writeFileSync(tokenFile, `${agentToken}\n`, { mode: 0o600 });
    }

    const agents: ClusterAgent[] = [];
    const startAgent = async (spec: ClusterAgentSpec): Promise<ClusterAgent> => {
      const url = spec.url ?? balancer.url;
      const labels = spec.labels ?? options.agentLabels ?? defaultAgentLabels();
      const workDir = path.join(clusterDir, 'agents', spec.name);
      fs.mkdirSync(workDir, { recursive: true });
      const args = ['--url', url, '--token', agentToken, '--labels', labels, '--name', spec.name, '--work-dir', workDir];
      const prefix = spec.commandPrefix ?? [];
      const proc = declare('agent', {
        name: spec.name,
        label: `agent ${spec.name}`,
        ...(prefix.length > 0 ? { command: prefix[0], args: [...prefix.slice(1), process.execPath, builtEntry('agent/main.js'), ...args] } : { entry: 'agent/main.js', args }),
        env: { ...env, ...spec.env },
        logFile: path.join(logDir, `agent-${spec.name}.log`),
        ready: lineReady('Registered as agent', { timeoutMs: 60_000 }),
        // A job handed back on stop has its processes stopped first (up to 10 s of cancel grace).
        graceMs: 20_000,
      });
      const agent: ClusterAgent = Object.assign(proc, { url, labels });
      agents.push(agent);
      await agent.start();
      return agent;
    };
    started = Date.now();
    await Promise.all(Array.from({ length: options.agents ?? 3 }, (_, index) => startAgent({ name: `cluster-agent-${index + 1}` })));
    progress('agent', `${agents.length} agent(s) registered through the load balancer in ${Date.now() - started} ms`);

    return {
      dataDir,
      logDir,
      balancerUrl: balancer.url,
      balancer,
      apiUrls: apis.map((api) => api.url),
      apis,
      workers,
      agents,
      temporal,
      postgres: clusterPostgres,
      temporalAddress,
      namespace,
      taskQueue,
      adminToken,
      databaseUrl: bellowsUrl,
      sql,
      agentToken,
      startAgent,
      stop: () => group.stopAll(),
    };
  } catch (error) {
    await group.stopAll();
    throw error;
  }
}

// ——— `npm run cluster` ———

const COLORS: Record<ClusterRole, string> = { api: '36', worker: '35', agent: '32', temporal: '33', postgres: '34', balancer: '94', cluster: '1' };
const say = (role: ClusterRole, message: string, name: string = role): void => void process.stdout.write(`${paint(COLORS[role], `[${name}]`)} ${message}\n`);
const warn = (role: ClusterRole, message: string, name: string = role): void => void process.stderr.write(`${paint(COLORS[role], `[${name}]`)} ${message}\n`);


/** The role a supervised process's name stands for (api-a, worker-2, cluster-agent-1, postgres, temporal). */
function roleOf(name: string): ClusterRole {
  if (name === 'postgres' || name === 'temporal') return name;
  if (name.startsWith('api-')) return 'api';
  if (name.startsWith('worker-')) return 'worker';
  return 'agent';
}

async function main(): Promise<void> {
  const dataDir = path.resolve(repoRoot, process.env.BELLOWS_DATA_DIR ?? '.data');
  const basePort = Number(process.env.PORT ?? 3000);
  const temporalPort = Number(process.env.TEMPORAL_PORT ?? 7233);
  const apiPorts = [basePort + 1, basePort + 2];
  await ensurePortFree(basePort, 'load balancer', 'Set PORT (the APIs take PORT+1 and PORT+2).');
  for (const port of apiPorts) await ensurePortFree(port, 'API', 'Set PORT (the APIs take PORT+1 and PORT+2).');
  await ensurePortFree(temporalPort, 'Temporal frontend', 'Set TEMPORAL_PORT.');
  const postgresPort = process.env.DATABASE_URL ? undefined : Number(process.env.BELLOWS_POSTGRES_PORT ?? 5434);
  if (postgresPort !== undefined) await ensurePortFree(postgresPort, 'embedded PostgreSQL', 'Set BELLOWS_POSTGRES_PORT or DATABASE_URL.');

  let cluster: Cluster | null = null;
  let shuttingDown = false;
  const starting = new AbortController();
  const shutdown = async (code: number): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    say('cluster', 'Shutting down…');
    await cluster?.stop();
    say('cluster', 'Stopped.');
    process.exit(code);
  };
  onStopSignals({
    stopping: () => shuttingDown,
    stop: (signal) => {
      // Still starting: startCluster stops at its next step and stops what it started.
      if (!cluster) starting.abort(new Error(`interrupted by ${signal}`));
      else void shutdown(0);
    },
    again: (signal) => {
      warn('cluster', `${signal} again: killing everything without waiting`);
      process.exit(130);
    },
  });

  cluster = await startCluster({
    dataDir,
    databaseUrl: process.env.DATABASE_URL,
    postgresPort,
    temporalPort,
    apiPorts,
    balancerPort: basePort,
    signal: starting.signal,
    namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: process.env.BELLOWS_TASK_QUEUE ?? 'bellows-runs',
    adminToken: process.env.BELLOWS_ADMIN_TOKEN,
    agentLabels: process.env.BELLOWS_CLUSTER_AGENT_LABELS,
    onProgress: (role, message) => say(role, message),
    onLine: ({ name, role }, line, stream) => (stream === 'stderr' ? warn : say)(role, line, name),
    // Every process is restarted when it dies, the others keep serving; a crash loop stops the cluster.
    supervise: true,
    onSupervision: (event) => {
      const role = roleOf(event.child.name);
      if (event.kind === 'give_up') {
        warn(role, describeSupervision(event, 'shutting the cluster down'), event.child.name);
        void shutdown(1);
      } else (event.kind === 'restarting' ? warn : say)(role, describeSupervision(event), event.child.name);
    },
  });

  const relative = (file: string): string => (path.relative(repoRoot, file).startsWith('..') ? file : path.relative(repoRoot, file));
  printBox('Bellows cluster is running', [
    ['Load balancer', `${cluster.balancerUrl.replace('127.0.0.1', 'localhost')}  (UI, CLI, agents, viewers)`],
    ...cluster.apis.map((api, index): [string, string] => [`API ${String.fromCharCode(65 + index)}`, api.url.replace('127.0.0.1', 'localhost')]),
    ['Temporal', `${cluster.temporalAddress}  (namespace ${cluster.namespace}; temporal workflow list --address ${cluster.temporalAddress})`],
    ['PostgreSQL', process.env.DATABASE_URL ? new URL(process.env.DATABASE_URL).host : `127.0.0.1:${postgresPort} (embedded)`],
    ['Workers', `${cluster.workers.length} on task queue ${cluster.taskQueue}`],
    ['Agents', `${cluster.agents.length} via the load balancer (${cluster.agents[0]?.labels ?? ''})`],
    ['Admin token', cluster.adminToken],
    ['Data dir', relative(cluster.dataDir)],
    ['Logs', relative(cluster.logDir)],
  ]);
  say('cluster', 'Press Ctrl-C to stop.');
}

// typeof guards: vitest imports this file as ESM, where `require`/`module` do not exist.
if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) {
  main().catch((error: unknown) => {
    warn('cluster', `failed to start: ${(error as Error).message}`);
    // startCluster has already stopped whatever it started.
    process.exit(process.exitCode ?? 1);
  });
}
