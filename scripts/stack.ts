import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres } from './embedded-postgres';
import { randomBase62 } from './process-utils';
import { registerSearchAttributes, resolveTemporalCli, startTemporalDevServer } from './temporal-cli';
import { ensurePortFree, paint, printBox, readOrCreate, repoRoot, useColor } from './launcher';
import { ChildGroup, describeSupervision, httpReady, lineReady, onStopSignals, SupervisedService, type ChildSpec, type Readiness, type SupervisedChild, type SupervisionEvent } from './supervisor';

// `npm start`: one command from a fresh clone to a working Bellows — PostgreSQL, Temporal, API,
// worker and a local agent — with state kept in the data dir so a restart picks up where it left off.
// Every child is supervised: one that dies is started again (0.5 s, 1 s, 2 s, 4 s… apart) while the
// rest keep serving; one that crashes five times within a minute stops the stack, naming it and its log.

type Role = 'api' | 'worker' | 'agent' | 'temporal' | 'postgres' | 'bellows';

const COLORS: Record<Role, string> = { api: '36', worker: '35', agent: '32', temporal: '33', postgres: '34', bellows: '1' };
const prefix = (role: Role): string => paint(COLORS[role], `[${role}]`);
const say = (role: Role, message: string): void => {
  process.stdout.write(`${prefix(role)} ${message}\n`);
};
const warn = (role: Role, message: string): void => {
  process.stderr.write(`${prefix(role)} ${message}\n`);
};

const dataDir = path.resolve(repoRoot, process.env.BELLOWS_DATA_DIR ?? '.data');

const USAGE = 'usage: npm start [-- --drain]';
/** `--drain`: on Ctrl-C the local agent finishes its running job first (a second Ctrl-C hands it back). */
function parseArgs(argv: string[]): { drain: boolean } {
  let drain = process.env.BELLOWS_AGENT_DRAIN === '1';
  for (const arg of argv) {
    if (arg === '--drain') drain = true;
    else {
      process.stderr.write(`bellows: ${arg === '--help' || arg === '-h' ? USAGE : `unknown argument "${arg}". ${USAGE}`}\n`);
      process.exit(2);
    }
  }
  return { drain };
}
const { drain } = parseArgs(process.argv.slice(2));

/** Short path for messages: relative inside the repo, absolute elsewhere. */
const displayPath = (file: string): string => {
  const relative = path.relative(repoRoot, file);
  return relative.startsWith('..') ? file : relative;
};
let shuttingDown: Promise<never> | null = null;

// Stopped in reverse: agents finish their jobs' cleanup while the API still accepts it; the API goes
// before Temporal and PostgreSQL so it never reports them as down on the way out.
const children = new ChildGroup({
  // Each child's output goes to the terminal and to <data dir>/logs/<name>.log, the file a give-up names.
  logDir: path.join(dataDir, 'logs'),
  onLine: (child, line, stream) => (stream === 'stderr' ? process.stderr : process.stdout).write(`${prefix(child.role as Role)} ${line}\n`),
  supervise: true,
  onSupervision: (event) => reportSupervision(event),
  onStopError: (name, error) => warn('bellows', `stopping ${name} failed: ${error.message}`),
});

/** One line per restart; a give-up stops the stack (a crash loop needs a person, not a sixth restart). */
function reportSupervision(event: SupervisionEvent): void {
  const role = (event.child.name in COLORS ? event.child.name : 'bellows') as Role;
  if (event.kind === 'give_up') {
    warn(role, describeSupervision(event, 'shutting the stack down'));
    void shutdown(1);
  } else if (event.kind === 'restarting') warn(role, describeSupervision(event));
  else say(role, describeSupervision(event));
}

/** A Bellows process: its output prefixed on the terminal, no log file (the terminal is the log). */
function startNode(role: 'api' | 'worker' | 'agent', spec: Omit<ChildSpec, 'name' | 'role' | 'env'> & { env: NodeJS.ProcessEnv }): Promise<SupervisedChild> {
  return children.start({
    name: role,
    role,
    stopTogether: true,
    ...spec,
    env: { ...process.env, ...spec.env, ...(useColor ? { FORCE_COLOR: '1' } : {}) },
  });
}

/** Says once, 15 s in, what the API still answers: a first start migrates the database, which takes a while. */
function slowNotice(ready: Readiness): Readiness {
  let reported = false;
  return {
    ...ready,
    check: async (child, spawnedAt) => {
      try {
        return await ready.check(child, spawnedAt);
      } catch (error) {
        if (!reported && Date.now() - spawnedAt > 15_000) {
          reported = true;
          say('bellows', `still waiting for the API to become healthy (${(error as Error).message})…`);
        }
        throw error;
      }
    },
  };
}

function shutdown(exitCode: number): Promise<never> {
  shuttingDown ??= (async () => {
    say('bellows', 'Shutting down…');
    await children.stopAll();
    say('bellows', 'Stopped.');
    process.exit(exitCode);
  })();
  return shuttingDown;
}

let localAgent: { running(): boolean; pid(): number | undefined } | null = null;
let handedBack = false;

function installSignalHandlers(): void {
  let forced = false;
  onStopSignals({
    stopping: () => shuttingDown !== null,
    stop: () => void shutdown(0),
    again: (signal) => {
      if (forced) process.exit(130);
      // Draining: the second Ctrl-C asks the agent to hand its job back (it is requeued at once).
      if (drain && !handedBack && localAgent?.running()) {
        handedBack = true;
        warn('bellows', `${signal} again: the local agent hands its job back; once more to kill everything`);
        process.kill(localAgent.pid()!, 'SIGTERM');
        return;
      }
      forced = true;
      warn('bellows', `${signal} again: killing children without waiting`);
      children.killAll();
    },
  });
}

async function startPostgres(): Promise<string> {
  if (process.env.DATABASE_URL) {
    say('postgres', 'using DATABASE_URL');
    return process.env.DATABASE_URL;
  }
  const port = Number(process.env.BELLOWS_POSTGRES_PORT ?? 5433);
  await ensurePortFree(port, 'embedded PostgreSQL', 'Set BELLOWS_POSTGRES_PORT or DATABASE_URL.');
  const logFile = path.join(dataDir, 'postgres.log');
  const started = Date.now();
  // Restarted on the same data dir and port: the API's pool, its LISTEN and the worker reconnect by themselves.
  const service = new SupervisedService({
    name: 'postgres',
    label: 'PostgreSQL',
    logFile: displayPath(logFile),
    start: () => startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres'), port, database: 'bellows', logFile, detached: true, onProgress: (message) => say('postgres', message) }),
    onSupervision: reportSupervision,
    stopping: () => shuttingDown !== null,
  });
  const postgresServer = await service.start();
  children.defer('PostgreSQL', () => service.stop().catch((error: Error) => warn('postgres', `stop failed: ${error.message}`)));
  // A fresh cluster has no agent tokens; a token file left from the old one would lock the local agent out.
  if (postgresServer.initialised) fs.rmSync(path.join(dataDir, 'local-agent-token'), { force: true });
  say('postgres', `embedded PostgreSQL ready on 127.0.0.1:${port} in ${Date.now() - started} ms (log: ${displayPath(logFile)})`);
  return postgresServer.url;
}

async function startTemporal(namespace: string): Promise<{ address: string; uiUrl: string | null }> {
  if (process.env.TEMPORAL_ADDRESS) {
    const address = process.env.TEMPORAL_ADDRESS;
    try {
      await registerSearchAttributes(address, namespace);
      say('temporal', `using TEMPORAL_ADDRESS=${address} (search attributes registered in '${namespace}')`);
    } catch (error) {
      warn('temporal', `using TEMPORAL_ADDRESS=${address}, but could not register search attributes: ${(error as Error).message}`);
    }
    return { address, uiUrl: null };
  }
  const port = Number(process.env.TEMPORAL_PORT ?? 7233);
  const uiPort = Number(process.env.TEMPORAL_UI_PORT ?? 8233);
  await ensurePortFree(port, 'Temporal', 'Set TEMPORAL_PORT, or TEMPORAL_ADDRESS to use a running Temporal.');
  await ensurePortFree(uiPort, 'Temporal Web UI', 'Set TEMPORAL_UI_PORT.');
  const cli = await resolveTemporalCli({ onProgress: (message) => say('temporal', message) });
  const logFile = path.join(dataDir, 'temporal.log');
  const started = Date.now();
  // Its state is in temporal.db: a restart finds every workflow where it was, and the worker reconnects.
  const service = new SupervisedService({
    name: 'temporal',
    label: 'the Temporal dev server',
    logFile: displayPath(logFile),
    start: () => startTemporalDevServer({ cliPath: cli.path, port, uiPort, dbFile: path.join(dataDir, 'temporal.db'), namespaces: [namespace], logFile, detached: true }),
    onSupervision: reportSupervision,
    stopping: () => shuttingDown !== null,
  });
  const temporalServer = await service.start();
  children.defer('Temporal', () => service.stop().catch((error: Error) => warn('temporal', `stop failed: ${error.message}`)));
  say('temporal', `dev server ready at ${temporalServer.address} in ${Date.now() - started} ms (log: ${displayPath(logFile)})`);
  return { address: temporalServer.address, uiUrl: temporalServer.uiUrl };
}

async function createAgentToken(apiUrl: string, adminToken: string, name: string): Promise<string> {
  const response = await fetch(`${apiUrl}/api/v1/agent-tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ name }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`creating the local agent token failed: ${response.status} ${text}`);
  const { token } = JSON.parse(text) as { token?: string };
  if (!token) throw new Error(`creating the local agent token returned no token: ${text}`);
  return token;
}

function localAgentLabels(): string | null {
  const setting = (process.env.BELLOWS_LOCAL_AGENT ?? 'on').trim();
  if (setting === 'off') return null;
  if (setting === 'on' || setting === '') return `os=${process.platform},arch=${process.arch},local=true`;
  return setting;
}

async function main(): Promise<void> {
  installSignalHandlers();
  fs.mkdirSync(dataDir, { recursive: true });
  const apiPort = Number(process.env.PORT ?? 3000);
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const taskQueue = process.env.BELLOWS_TASK_QUEUE ?? 'bellows-runs';
  await ensurePortFree(apiPort, 'API', 'Set PORT to use another one.');

  const adminToken = process.env.BELLOWS_ADMIN_TOKEN ?? (await readOrCreate(path.join(dataDir, 'admin-token'), () => `bel_${randomBase62(40, crypto.randomBytes)}`));
  const databaseUrl = await startPostgres();
  const temporal = await startTemporal(namespace);
  const shared = { DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: namespace, BELLOWS_TASK_QUEUE: taskQueue };

  const apiUrl = `http://localhost:${apiPort}`;
  // Local repositories (file://) are fine on one's own machine; a shared server leaves them off.
  await startNode('api', {
    label: 'the API',
    entry: 'src/main.js',
    env: { BELLOWS_ALLOW_FILE_REPOSITORIES: 'true', ...shared, PORT: String(apiPort), BELLOWS_DATA_DIR: dataDir, BELLOWS_ADMIN_TOKEN: adminToken },
    ready: slowNotice(httpReady(`http://127.0.0.1:${apiPort}/api/v1/health`, { timeoutMs: 120_000, intervalMs: 300 })),
  });
  // Ready once it polls its task queue; a restart's "ready in" then says when runs move again.
  await startNode('worker', { label: 'the worker', entry: 'worker/main.js', env: shared, ready: lineReady('worker started', { timeoutMs: 120_000 }) });

  const labels = localAgentLabels();
  if (labels !== null) {
    const token = await readOrCreate(path.join(dataDir, 'local-agent-token'), () => createAgentToken(`http://127.0.0.1:${apiPort}`, adminToken, 'local'));
    const workDir = path.join(dataDir, 'agents', 'local');
    fs.mkdirSync(workDir, { recursive: true });
    localAgent = await startNode('agent', {
      label: 'the local agent',
      entry: 'agent/main.js',
      args: ['--url', `http://127.0.0.1:${apiPort}`, '--token', token, '--labels', labels, '--name', 'local', '--work-dir', workDir, ...(drain ? ['--drain'] : [])],
      env: {},
      // Handing a job back stops its processes (up to BELLOWS_AGENT_CANCEL_GRACE_MS, 10 s) before the
      // release: 20 s covers both. Draining waits for the job however long it takes.
      graceMs: drain ? Infinity : 20_000,
    });
  }

  printBox('Bellows is running', [
    ['API & UI', apiUrl],
    ['API docs', `${apiUrl}/api/docs`],
    ['Temporal UI', temporal.uiUrl ?? `(external Temporal at ${temporal.address})`],
    ['Admin token', adminToken],
    ['Data dir', dataDir],
    ['Local agent', labels ?? 'off (BELLOWS_LOCAL_AGENT=off)'],
    ['Logs', displayPath(path.join(dataDir, 'logs'))],
  ]);
  say('bellows', drain ? 'Press Ctrl-C to stop (the local agent finishes its running job first).' : 'Press Ctrl-C to stop (the local agent hands its running job back; `npm start -- --drain` lets it finish).');
}

main().catch((error: unknown) => {
  if (shuttingDown) return;
  warn('bellows', `failed to start: ${(error as Error).message}`);
  void shutdown(1);
});
