import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { findGo, findOnPath, goInstallBinary, isExecutableFile, withBuildLock } from './go-install';
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
        return { path: await goInstallBinary({ go, module: TEMPORAL_CLI_MODULE, binary: 'temporal', label: 'the Temporal CLI', cacheDir, onProgress }), source: 'built' } as const;
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
