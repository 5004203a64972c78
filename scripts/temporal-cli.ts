import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { isRunning, sleep, stopChild, tailFile } from './process-utils';

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

/** Search attributes every Bellows namespace needs (operators find runs by them in the Web UI). */
export const BELLOWS_SEARCH_ATTRIBUTES = {
  BellowsProject: 'Keyword',
  BellowsPipeline: 'Keyword',
  BellowsRunNumber: 'Int',
} as const;

export type ResolveTemporalCliOptions = { onProgress?: (message: string) => void };
/** `path: null` means "no local binary: let @temporalio/testing download one". */
export type ResolvedTemporalCli = { path: string | null; source: 'env' | 'path' | 'cache' | 'built' | 'sdk-download' };

export type TemporalDevServerOptions = {
  cliPath: string | null;
  port: number;
  uiPort: number;
  /** SQLite file for persistence; omit for an in-memory server. */
  dbFile?: string;
  namespaces: string[];
  headless?: boolean;
  logFile: string;
  /** Own process group, so a terminal Ctrl-C reaches only the orchestrator (which stops children in order). */
  detached?: boolean;
  startTimeoutMs?: number;
};

export type TemporalDevServer = {
  address: string;
  uiUrl: string | null;
  /** Resolves if the server dies on its own; lets orchestrators notice a crash. */
  exited: Promise<void>;
  stop(): Promise<void>;
};

export function temporalCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'bellows', 'bin');
}

function binaryName(): string {
  return process.platform === 'win32' ? 'temporal.exe' : 'temporal';
}

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findOnPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, process.platform === 'win32' ? `${name}.exe` : name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

function findGo(): string | null {
  const onPath = findOnPath('go');
  if (onPath) return onPath;
  const fallback = process.platform === 'win32' ? 'C:\\Program Files\\Go\\bin\\go.exe' : '/usr/local/go/bin/go';
  return isExecutableFile(fallback) ? fallback : null;
}

function formatElapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * mkdir is atomic, so it doubles as a cross-process lock. A lock whose owner died (crash, Ctrl-C)
 * is taken over instead of blocking forever.
 */
async function withBuildLock<T>(lockDir: string, onWait: () => void, body: () => Promise<T>): Promise<T> {
  const pidFile = path.join(lockDir, 'pid');
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(pidFile, String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let owner = Number.NaN;
      try {
        owner = Number(fs.readFileSync(pidFile, 'utf8'));
      } catch {
        // The owner may be between mkdir and writing its pid; give it a moment before judging.
      }
      const lockStat = fs.statSync(lockDir, { throwIfNoEntry: false });
      if (!lockStat) continue;
      const ageMs = Date.now() - lockStat.mtimeMs;
      const stale = Number.isFinite(owner) ? !pidAlive(owner) : ageMs > 10_000;
      if (stale) {
        fs.rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!announced) {
        onWait();
        announced = true;
      }
      await sleep(1000);
    }
  }
  try {
    return await body();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

async function goInstallTemporal(goBinary: string, cacheDir: string, onProgress: (message: string) => void): Promise<string> {
  // Build into a private dir and rename: a concurrent reader never sees a half-written binary.
  const buildDir = fs.mkdtempSync(path.join(cacheDir, '.build-'));
  const started = Date.now();
  let lastLine = 'compiling';
  onProgress(`Building the Temporal CLI (${TEMPORAL_CLI_MODULE}) with ${goBinary}; the first build takes a few minutes…`);
  const child = spawn(goBinary, ['install', '-v', TEMPORAL_CLI_MODULE], {
    env: { ...process.env, GOBIN: buildDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const onData = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      const trimmed = line.trim();
      if (!trimmed) continue;
      lastLine = trimmed;
      output.push(trimmed);
      if (output.length > 50) output.shift();
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const ticker = setInterval(() => onProgress(`  still building Temporal CLI… ${formatElapsed(Date.now() - started)} — ${lastLine}`), 5000);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (exitCode) => resolve(exitCode));
    });
    if (code !== 0) throw new Error(`go install exited with ${code}:\n${output.slice(-15).join('\n')}`);
    const built = path.join(buildDir, binaryName());
    const target = path.join(cacheDir, binaryName());
    fs.renameSync(built, target);
    onProgress(`Built the Temporal CLI in ${formatElapsed(Date.now() - started)}: ${target}`);
    return target;
  } finally {
    clearInterval(ticker);
    fs.rmSync(buildDir, { recursive: true, force: true });
  }
}

/**
 * TEMPORAL_CLI → `temporal` on PATH → cached build → `go install` into the cache.
 * `BELLOWS_TEMPORAL_SDK_DOWNLOAD=1` (set by bootstrap after a failed resolve) skips straight to the SDK download.
 */
export async function resolveTemporalCli(options: ResolveTemporalCliOptions = {}): Promise<ResolvedTemporalCli> {
  const onProgress = options.onProgress ?? ((message: string) => process.stderr.write(`${message}\n`));
  if (process.env.BELLOWS_TEMPORAL_SDK_DOWNLOAD === '1') return { path: null, source: 'sdk-download' };

  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (!isExecutableFile(fromEnv)) throw new Error(`TEMPORAL_CLI=${fromEnv} is not an executable file`);
    return { path: path.resolve(fromEnv), source: 'env' };
  }
  const onPath = findOnPath('temporal');
  if (onPath) return { path: onPath, source: 'path' };

  const cacheDir = temporalCacheDir();
  const cached = path.join(cacheDir, binaryName());
  if (isExecutableFile(cached)) return { path: cached, source: 'cache' };

  const go = findGo();
  if (!go) {
    onProgress('No Temporal CLI and no Go toolchain found; falling back to the Temporal SDK download (needs internet).');
    return { path: null, source: 'sdk-download' };
  }
  fs.mkdirSync(cacheDir, { recursive: true });
  try {
    return await withBuildLock(
      path.join(cacheDir, '.temporal-build.lock'),
      () => onProgress('Another process is building the Temporal CLI; waiting for it…'),
      async () => {
        // The previous lock holder may have finished the build while we waited.
        if (isExecutableFile(cached)) return { path: cached, source: 'cache' } as const;
        return { path: await goInstallTemporal(go, cacheDir, onProgress), source: 'built' } as const;
      },
    );
  } catch (error) {
    onProgress(`Could not build the Temporal CLI (${(error as Error).message}); falling back to the Temporal SDK download.`);
    return { path: null, source: 'sdk-download' };
  }
}

export function devServerArgs(options: TemporalDevServerOptions): string[] {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--ui-port', String(options.uiPort)];
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  for (const namespace of options.namespaces) args.push('--namespace', namespace);
  for (const [name, type] of Object.entries(BELLOWS_SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  args.push('--log-level', 'warn');
  if (options.headless) args.push('--headless');
  return args;
}

/** Polls until the frontend answers for every namespace (the dev server creates them after it starts listening). */
export async function waitForTemporal(address: string, namespaces: string[], options: { timeoutMs: number; isAlive?: () => boolean; describeFailure?: () => string }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    if (options.isAlive && !options.isAlive()) {
      throw new Error(`Temporal dev server exited during startup.\n${options.describeFailure?.() ?? ''}`);
    }
    let connection: Connection | null = null;
    try {
      connection = await Connection.connect({ address, connectTimeout: 2000 });
      for (const namespace of namespaces.length > 0 ? namespaces : ['default']) {
        await connection.workflowService.describeNamespace({ namespace });
      }
      return;
    } catch (error) {
      lastError = error;
    } finally {
      await connection?.close().catch(() => undefined);
    }
    await sleep(250);
  }
  throw new Error(`Temporal at ${address} did not become ready within ${options.timeoutMs} ms: ${String(lastError)}\n${options.describeFailure?.() ?? ''}`);
}

/**
 * For TEMPORAL_ADDRESS clusters we did not start: register the search attributes, treating
 * "already exists" as success (every start after the first hits it).
 */
export async function registerSearchAttributes(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: 10_000 });
  // Values of temporal.api.enums.v1.IndexedValueType.
  const indexedValueType = { Keyword: 2, Int: 3 } as const;
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const known = new Set([...Object.keys(existing.customAttributes ?? {}), ...Object.keys(existing.systemAttributes ?? {})]);
    const missing = Object.fromEntries(
      Object.entries(BELLOWS_SEARCH_ATTRIBUTES)
        .filter(([name]) => !known.has(name))
        .map(([name, type]) => [name, indexedValueType[type]]),
    );
    if (Object.keys(missing).length === 0) return;
    try {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
    } catch (error) {
      const grpcAlreadyExists = 6;
      const message = String((error as Error).message ?? '');
      if ((error as { code?: number }).code !== grpcAlreadyExists && !/already exists/i.test(message)) throw error;
    }
  } finally {
    await connection.close();
  }
}

async function startWithSdkDownload(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  // Lazy: @temporalio/testing loads the native bridge, which the common (local binary) path never needs.
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const [first = 'default', ...rest] = options.namespaces;
  const extraArgs: string[] = [];
  for (const namespace of rest) extraArgs.push('--namespace', namespace);
  for (const [name, type] of Object.entries(BELLOWS_SEARCH_ATTRIBUTES)) extraArgs.push('--search-attribute', `${name}=${type}`);
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ip: '127.0.0.1',
      port: options.port,
      ui: !options.headless,
      uiPort: options.headless ? undefined : options.uiPort,
      dbFilename: options.dbFile,
      namespace: first,
      extraArgs,
    },
  });
  await waitForTemporal(env.address, options.namespaces, { timeoutMs: options.startTimeoutMs ?? 120_000 });
  let stopped: Promise<void> | null = null;
  return {
    address: env.address,
    uiUrl: options.headless ? null : `http://localhost:${options.uiPort}`,
    exited: new Promise(() => undefined),
    stop: () => (stopped ??= env.teardown()),
  };
}

export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  if (!options.cliPath) return startWithSdkDownload(options);
  fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
  if (options.dbFile) fs.mkdirSync(path.dirname(options.dbFile), { recursive: true });
  const logFd = fs.openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(options.cliPath, devServerArgs(options), {
      stdio: ['ignore', logFd, logFd],
      detached: options.detached ?? false,
    });
  } finally {
    fs.closeSync(logFd);
  }
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
  spawnError.catch(() => undefined);
  const address = `127.0.0.1:${options.port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const describeFailure = (): string => `--- ${options.logFile} (tail) ---\n${tailFile(options.logFile)}`;
  try {
    await Promise.race([
      waitForTemporal(address, options.namespaces, { timeoutMs: options.startTimeoutMs ?? 120_000, isAlive: () => isRunning(child), describeFailure }),
      spawnError,
    ]);
  } catch (error) {
    await stopChild(child, { graceMs: 2000 });
    throw error;
  }
  let stopped: Promise<void> | null = null;
  return {
    address,
    uiUrl: options.headless ? null : `http://localhost:${options.uiPort}`,
    exited,
    stop: () => (stopped ??= stopChild(child, { graceMs: 10_000 }).then(() => undefined)),
  };
}

// typeof guards: vitest imports this file as ESM, where `require`/`module` do not exist.
if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) {
  // Used by bootstrap.js: the path on stdout, progress on stderr, empty stdout = use the SDK download.
  resolveTemporalCli()
    .then((resolved) => {
      process.stdout.write(`${resolved.path ?? ''}\n`);
    })
    .catch((error: unknown) => {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exit(1);
    });
}
