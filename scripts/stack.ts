import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres } from './embedded-postgres';
import { randomBase62 } from './process-utils';
import { registerSearchAttributes, resolveTemporalCli, startTemporalDevServer } from './temporal-cli';
import { ensurePortFree, paint, printBox, readOrCreate, repoRoot, useColor } from './launcher';
import { ChildGroup, httpReady, onStopSignals, type ChildSpec, type Readiness } from './supervisor';

// `npm start`: one command from a fresh clone to a working Bellows — PostgreSQL, Temporal, API,
// worker and a local agent — with state kept in the data dir so a restart picks up where it left off.

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

/** Short path for messages: relative inside the repo, absolute elsewhere. */
const displayPath = (file: string): string => {
  const relative = path.relative(repoRoot, file);
  return relative.startsWith('..') ? file : relative;
};
let shuttingDown: Promise<never> | null = null;

// Stopped in reverse: agents finish their jobs' cleanup while the API still accepts it; the API goes
// before Temporal and PostgreSQL so it never reports them as down on the way out.
const children = new ChildGroup({
  onLine: (child, line, stream) => (stream === 'stderr' ? process.stderr : process.stdout).write(`${prefix(child.role as Role)} ${line}\n`),
  onUnexpectedExit: (child, info) => {
    warn(child.role as Role, `exited unexpectedly (${info.signal ?? `code ${info.code}`}); shutting the stack down`);
    void shutdown(1);
  },
  onStopError: (name, error) => warn('bellows', `stopping ${name} failed: ${error.message}`),
});

/** A Bellows process: its output prefixed on the terminal, no log file (the terminal is the log). */
function startNode(role: 'api' | 'worker' | 'agent', spec: Omit<ChildSpec, 'name' | 'role' | 'env'> & { env: NodeJS.ProcessEnv }): Promise<unknown> {
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

function installSignalHandlers(): void {
  let forced = false;
  onStopSignals({
    stopping: () => shuttingDown !== null,
    stop: () => void shutdown(0),
    again: (signal) => {
      if (forced) process.exit(130);
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
  const postgresServer = await startEmbeddedPostgres({
    dataDir: path.join(dataDir, 'postgres'),
    port,
    database: 'bellows',
    logFile,
    detached: true,
    onProgress: (message) => say('postgres', message),
  });
  // A fresh cluster has no agent tokens; a token file left from the old one would lock the local agent out.
  children.defer('PostgreSQL', () => postgresServer.stop().catch((error: Error) => warn('postgres', `stop failed: ${error.message}`)));
  if (postgresServer.initialised) fs.rmSync(path.join(dataDir, 'local-agent-token'), { force: true });
  say('postgres', `embedded PostgreSQL ready on 127.0.0.1:${port} in ${Date.now() - started} ms (log: ${displayPath(logFile)})`);
  postgresServer.exited.then(() => {
    if (!shuttingDown) {
      warn('postgres', 'exited unexpectedly; shutting the stack down');
      void shutdown(1);
    }
  });
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
  const temporalServer = await startTemporalDevServer({
    cliPath: cli.path,
    port,
    uiPort,
    dbFile: path.join(dataDir, 'temporal.db'),
    namespaces: [namespace],
    logFile,
    detached: true,
  });
  children.defer('Temporal', () => temporalServer.stop().catch((error: Error) => warn('temporal', `stop failed: ${error.message}`)));
  say('temporal', `dev server ready at ${temporalServer.address} in ${Date.now() - started} ms (log: ${displayPath(logFile)})`);
  temporalServer.exited.then(() => {
    if (!shuttingDown) {
      warn('temporal', `dev server exited unexpectedly (see ${logFile}); shutting the stack down`);
      void shutdown(1);
    }
  });
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
  await startNode('worker', { label: 'the worker', entry: 'worker/main.js', env: shared });

  const labels = localAgentLabels();
  if (labels !== null) {
    const token = await readOrCreate(path.join(dataDir, 'local-agent-token'), () => createAgentToken(`http://127.0.0.1:${apiPort}`, adminToken, 'local'));
    const workDir = path.join(dataDir, 'agents', 'local');
    fs.mkdirSync(workDir, { recursive: true });
    await startNode('agent', {
      label: 'the local agent',
      entry: 'agent/main.js',
      args: ['--url', `http://127.0.0.1:${apiPort}`, '--token', token, '--labels', labels, '--name', 'local', '--work-dir', workDir],
      env: {},
    });
  }

  printBox('Bellows is running', [
    ['API & UI', apiUrl],
    ['API docs', `${apiUrl}/api/docs`],
    ['Temporal UI', temporal.uiUrl ?? `(external Temporal at ${temporal.address})`],
    ['Admin token', adminToken],
    ['Data dir', dataDir],
    ['Local agent', labels ?? 'off (BELLOWS_LOCAL_AGENT=off)'],
  ]);
  say('bellows', 'Press Ctrl-C to stop.');
}

main().catch((error: unknown) => {
  if (shuttingDown) return;
  warn('bellows', `failed to start: ${(error as Error).message}`);
  void shutdown(1);
});
