import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres';
import { randomBase62, signalChild, sleep, stopChild } from './process-utils';
import { registerSearchAttributes, resolveTemporalCli, startTemporalDevServer, type TemporalDevServer } from './temporal-cli';
import { builtEntry, ensurePortFree, paint, printBox, readOrCreate, repoRoot, useColor } from './launcher';

// `npm start`: one command from a fresh clone to a working Bellows — PostgreSQL, Temporal, API,
// worker and a local agent — with state kept in the data dir so a restart picks up where it left off.

type Role = 'api' | 'worker' | 'agent' | 'temporal' | 'postgres' | 'bellows';
type ManagedChild = { role: Role; child: ChildProcess };

const COLORS: Record<Role, string> = { api: '36', worker: '35', agent: '32', temporal: '33', postgres: '34', bellows: '1' };
const prefix = (role: Role): string => paint(COLORS[role], `[${role}]`);
const say = (role: Role, message: string): void => {
  process.stdout.write(`${prefix(role)} ${message}\n`);
};
const warn = (role: Role, message: string): void => {
  process.stderr.write(`${prefix(role)} ${message}\n`);
};

const dataDir = path.resolve(repoRoot, process.env.BELLOWS_DATA_DIR ?? '.data');

const children: ManagedChild[] = [];

/** Short path for messages: relative inside the repo, absolute elsewhere. */
const displayPath = (file: string): string => {
  const relative = path.relative(repoRoot, file);
  return relative.startsWith('..') ? file : relative;
};
let postgresServer: EmbeddedPostgres | null = null;
let temporalServer: TemporalDevServer | null = null;
let shuttingDown: Promise<never> | null = null;
let forceKill = false;

function pipeWithPrefix(role: Role, stream: NodeJS.ReadableStream | null, target: NodeJS.WriteStream): void {
  if (!stream) return;
  readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => target.write(`${prefix(role)} ${line}\n`));
}

function spawnNode(role: Role, script: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const entry = builtEntry(script);
  const child = spawn(process.execPath, [entry, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env, ...(useColor ? { FORCE_COLOR: '1' } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: a terminal Ctrl-C reaches only us, and we stop children in dependency order.
    detached: true,
  });
  pipeWithPrefix(role, child.stdout, process.stdout);
  pipeWithPrefix(role, child.stderr, process.stderr);
  children.push({ role, child });
  child.once('error', (error) => {
    if (!shuttingDown) {
      warn(role, `failed to start: ${error.message}`);
      void shutdown(1);
    }
  });
  child.once('exit', (code, signal) => {
    if (!shuttingDown) {
      warn(role, `exited unexpectedly (${signal ?? `code ${code}`}); shutting the stack down`);
      void shutdown(1);
    }
  });
  return child;
}

async function stopRole(role: Role): Promise<void> {
  await Promise.all(
    children
      .filter((entry) => entry.role === role)
      .map(({ child }) => stopChild(child, { signal: 'SIGTERM', graceMs: forceKill ? 0 : 10_000, group: true })),
  );
}

function shutdown(exitCode: number): Promise<never> {
  shuttingDown ??= (async () => {
    say('bellows', 'Shutting down…');
    // Reverse dependency order: agents finish their jobs' cleanup while the API still accepts it;
    // the API goes before Temporal and PostgreSQL so it never reports them as down on the way out.
    for (const role of ['agent', 'worker', 'api'] as const) await stopRole(role);
    if (temporalServer) await temporalServer.stop().catch((error: Error) => warn('temporal', `stop failed: ${error.message}`));
    if (postgresServer) await postgresServer.stop().catch((error: Error) => warn('postgres', `stop failed: ${error.message}`));
    say('bellows', 'Stopped.');
    process.exit(exitCode);
  })();
  return shuttingDown;
}

function installSignalHandlers(): void {
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    const now = Date.now();
    if (!shuttingDown) {
      firstSignalAt = now;
      void shutdown(0);
      return;
    }
    // npm, the shell and bootstrap.js all relay the same Ctrl-C; only a deliberate second press forces.
    if (now - firstSignalAt < 2000) return;
    if (!forceKill) {
      forceKill = true;
      warn('bellows', `${signal} again: killing children without waiting`);
      for (const { child } of children) signalChild(child, 'SIGKILL', true);
      return;
    }
    process.exit(130);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  // Detached children would outlive a crash of this process; take them down with us.
  process.on('exit', () => {
    for (const { child } of children) signalChild(child, 'SIGKILL', true);
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
  postgresServer = await startEmbeddedPostgres({
    dataDir: path.join(dataDir, 'postgres'),
    port,
    database: 'bellows',
    logFile,
    detached: true,
    onProgress: (message) => say('postgres', message),
  });
  // A fresh cluster has no agent tokens; a token file left from the old one would lock the local agent out.
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
  temporalServer = await startTemporalDevServer({
    cliPath: cli.path,
    port,
    uiPort,
    dbFile: path.join(dataDir, 'temporal.db'),
    namespaces: [namespace],
    logFile,
    detached: true,
  });
  say('temporal', `dev server ready at ${temporalServer.address} in ${Date.now() - started} ms (log: ${displayPath(logFile)})`);
  temporalServer.exited.then(() => {
    if (!shuttingDown) {
      warn('temporal', `dev server exited unexpectedly (see ${logFile}); shutting the stack down`);
      void shutdown(1);
    }
  });
  return { address: temporalServer.address, uiUrl: temporalServer.uiUrl };
}

async function waitForHealth(apiUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no response';
  let reported = false;
  while (Date.now() < deadline) {
    if (shuttingDown) await shuttingDown;
    try {
      const response = await fetch(`${apiUrl}/api/v1/health`, { signal: AbortSignal.timeout(2000) });
      if (response.status === 200) return;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (!reported && Date.now() > deadline - timeoutMs + 15_000) {
      say('bellows', `still waiting for the API to become healthy (${last})…`);
      reported = true;
    }
    await sleep(300);
  }
  throw new Error(`API did not become healthy within ${timeoutMs / 1000} s (last: ${last})`);
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
  spawnNode('api', 'src/main.js', [], { BELLOWS_ALLOW_FILE_REPOSITORIES: 'true', ...shared, PORT: String(apiPort), BELLOWS_DATA_DIR: dataDir, BELLOWS_ADMIN_TOKEN: adminToken });
  await waitForHealth(`http://127.0.0.1:${apiPort}`, 120_000);
  spawnNode('worker', 'worker/main.js', [], shared);

  const labels = localAgentLabels();
  if (labels !== null) {
    const token = await readOrCreate(path.join(dataDir, 'local-agent-token'), () => createAgentToken(`http://127.0.0.1:${apiPort}`, adminToken, 'local'));
    const workDir = path.join(dataDir, 'agents', 'local');
    fs.mkdirSync(workDir, { recursive: true });
    spawnNode('agent', 'agent/main.js', ['--url', `http://127.0.0.1:${apiPort}`, '--token', token, '--labels', labels, '--name', 'local', '--work-dir', workDir], {});
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
