import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { ensureDatabase } from './embedded-postgres';
import { isRunning, sleep, stopChild, tailFile, type ExitInfo } from './process-utils';
import { findGo, goInstallBinary, isExecutableFile, withBuildLock } from './go-install';
import { registerSearchAttributes, temporalCacheDir } from './temporal-cli';

// The production Temporal server (not the CLI's dev server): PostgreSQL persistence and visibility,
// schemas managed by temporal-sql-tool, all four services in one process. Used by `npm run cluster`,
// its tests and its benchmark. Binaries come from the environment, the cache, or `go install`.

export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
export const TEMPORAL_SERVER_MODULE = `go.temporal.io/server/cmd/server@${TEMPORAL_SERVER_VERSION}`;
export const TEMPORAL_SQL_TOOL_MODULE = `go.temporal.io/server/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`;

/** Fixed for the life of a database: Temporal refuses to start when it differs from the stored value. */
const HISTORY_SHARDS = 4;

export type ServerBinary = 'server' | 'sql';
export type ResolvedServerBinaries = { server: string; sql: string; sources: Record<ServerBinary, 'env' | 'cache' | 'built'> };

export type TemporalPostgres = { host: string; port: number; user: string; password: string; database: string; visibilityDatabase: string };

export type TemporalServerPorts = {
  frontend: number;
  frontendHttp: number;
  history: number;
  matching: number;
  worker: number;
  frontendMembership: number;
  historyMembership: number;
  matchingMembership: number;
  workerMembership: number;
};

export type TemporalServerOptions = {
  binary: string;
  /** Holds config/, dynamicconfig.yaml and temporal.log. */
  dir: string;
  postgres: TemporalPostgres;
  ports: TemporalServerPorts;
  logFile: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Own process group, so a terminal Ctrl-C reaches only the orchestrator (which stops children in order). */
  detached?: boolean;
};

export type TemporalServerProcess = {
  address: string;
  pid: number | undefined;
  running(): boolean;
  exited: Promise<ExitInfo>;
  /** SIGTERM (Temporal drains and exits), SIGKILL after the grace period. */
  stop(graceMs?: number): Promise<ExitInfo>;
};

const ENV_OVERRIDE: Record<ServerBinary, string> = { server: 'TEMPORAL_SERVER_BIN', sql: 'TEMPORAL_SQL_TOOL' };
const MODULE_OF: Record<ServerBinary, string> = { server: TEMPORAL_SERVER_MODULE, sql: TEMPORAL_SQL_TOOL_MODULE };

function binaryFile(name: ServerBinary): string {
  return process.platform === 'win32' ? `${name}.exe` : name;
}

/**
 * TEMPORAL_SERVER_BIN / TEMPORAL_SQL_TOOL → cached build in ~/.cache/bellows/bin → `go install`.
 * Unlike the CLI there is no SDK download to fall back to, so a missing Go toolchain is an error.
 */
export async function resolveTemporalServerBinaries(options: { onProgress?: (message: string) => void; signal?: AbortSignal } = {}): Promise<ResolvedServerBinaries> {
  const onProgress = options.onProgress ?? ((message: string) => process.stderr.write(`${message}\n`));
  const cacheDir = temporalCacheDir();
  const found: Partial<Record<ServerBinary, string>> = {};
  const sources: Partial<ResolvedServerBinaries['sources']> = {};
  for (const name of ['server', 'sql'] as const) {
    const fromEnv = process.env[ENV_OVERRIDE[name]];
    if (fromEnv) {
      if (!isExecutableFile(fromEnv)) throw new Error(`${ENV_OVERRIDE[name]}=${fromEnv} is not an executable file`);
      found[name] = path.resolve(fromEnv);
      sources[name] = 'env';
      continue;
    }
    const cached = path.join(cacheDir, binaryFile(name));
    if (isExecutableFile(cached)) {
      found[name] = cached;
      sources[name] = 'cache';
      continue;
    }
    const go = findGo();
    if (!go) {
      throw new Error(
        `The Temporal server binary '${name}' is not in ${cacheDir} and no Go toolchain was found to build it. ` +
          `Install Go (https://go.dev/dl/) or set ${ENV_OVERRIDE[name]} to a binary of ${MODULE_OF[name]}.`,
      );
    }
    fs.mkdirSync(cacheDir, { recursive: true });
    found[name] = await withBuildLock(
      path.join(cacheDir, `.temporal-${name}-build.lock`),
      () => onProgress(`Another process is building ${name}; waiting for it…`),
      async () =>
        isExecutableFile(cached)
          ? cached
          : goInstallBinary({ go, module: MODULE_OF[name], binary: name, label: name, cacheDir, onProgress, signal: options.signal }),
    );
    sources[name] = 'built';
  }
  return { server: found.server!, sql: found.sql!, sources: sources as ResolvedServerBinaries['sources'] };
}

/** Splits a postgres:// URL into what temporal-sql-tool and the server config want. */
export function temporalPostgresFromUrl(url: string, databases: { database: string; visibilityDatabase: string }): TemporalPostgres {
  const parsed = new URL(url);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username || 'postgres'),
    password: decodeURIComponent(parsed.password),
    ...databases,
  };
}

function runTool(binary: string, args: string[], what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`temporal-sql-tool ${what} exited with ${code}:\n${output.slice(-3000)}`));
    });
  });
}

/**
 * Creates both databases and brings their schemas to the version this server needs. Safe at every
 * start: `setup-schema -v 0.0` only creates the version table when missing, and `update-schema`
 * applies only the versions above the stored one. The schema files are the ones embedded in the
 * tool (`--schema-name`), so no Go module cache is needed when the binaries came from elsewhere.
 */
export async function setupTemporalSchemas(sqlTool: string, adminUrl: string, pg: TemporalPostgres): Promise<void> {
  await ensureDatabase(adminUrl, pg.database);
  await ensureDatabase(adminUrl, pg.visibilityDatabase);
  const connection = ['--endpoint', pg.host, '--port', String(pg.port), '--user', pg.user, '--password', pg.password, '--plugin', 'postgres12'];
  for (const [database, schema] of [
    [pg.database, 'postgresql/v12/temporal'],
    [pg.visibilityDatabase, 'postgresql/v12/visibility'],
  ] as const) {
    await runTool(sqlTool, [...connection, '--database', database, 'setup-schema', '-v', '0.0'], `setup-schema (${database})`);
    await runTool(sqlTool, [...connection, '--database', database, 'update-schema', '--schema-name', schema], `update-schema (${database})`);
  }
}

const yamlString = (value: string): string => JSON.stringify(value);

/**
 * The server config, modelled on config/development-postgres12.yaml of the server module. Pool sizes
 * are per service, and all four run in this process: 4 × (10 + 2) connections at most.
 */
export function temporalServerConfigYaml(options: { postgres: TemporalPostgres; ports: TemporalServerPorts; dynamicConfigFile: string; logLevel: string }): string {
  const { postgres: pg, ports } = options;
  const datastore = (database: string, maxConns: number): string => `      sql:
        pluginName: "postgres12"
        databaseName: ${yamlString(database)}
        connectAddr: ${yamlString(`${pg.host}:${pg.port}`)}
        connectProtocol: "tcp"
        user: ${yamlString(pg.user)}
        password: ${yamlString(pg.password)}
        maxConns: ${maxConns}
        maxIdleConns: ${maxConns}
        maxConnLifetime: "1h"`;
  const service = (grpcPort: number, membershipPort: number, extra = ''): string => `    rpc:
      grpcPort: ${grpcPort}
      membershipPort: ${membershipPort}
      bindOnLocalHost: true${extra}`;
  return `# Generated by scripts/temporal-server.ts at every start; edits are overwritten.
log:
  stdout: true
  level: ${options.logLevel}

persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: ${HISTORY_SHARDS}
  datastores:
    postgres-default:
${datastore(pg.database, 10)}
    postgres-visibility:
${datastore(pg.visibilityDatabase, 2)}

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"

services:
  frontend:
${service(ports.frontend, ports.frontendMembership, `\n      httpPort: ${ports.frontendHttp}`)}
  history:
${service(ports.history, ports.historyMembership)}
  matching:
${service(ports.matching, ports.matchingMembership)}
  worker:
${service(ports.worker, ports.workerMembership)}

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "127.0.0.1:${ports.frontend}"

dcRedirectionPolicy:
  policy: "noop"

archival:
  history:
    state: "disabled"
  visibility:
    state: "disabled"

namespaceDefaults:
  archival:
    history:
      state: "disabled"
    visibility:
      state: "disabled"

dynamicConfigClient:
  filepath: ${yamlString(options.dynamicConfigFile)}
  pollInterval: "10s"
`;
}

// Namespace and search-attribute caches refresh every 10 s / 60 s by default: a fresh cluster would
// answer "namespace not found" to the API for that long. One-second refreshes cost nothing here.
const DYNAMIC_CONFIG = `# Generated by scripts/temporal-server.ts.
system.namespaceCacheRefreshInterval:
  - value: 1s
system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
limit.maxIDLength:
  - value: 255
`;

/** Writes config/bellows.yaml and dynamicconfig.yaml under `dir`; the server reads them with `--env bellows`. */
export function writeTemporalServerConfig(options: Pick<TemporalServerOptions, 'dir' | 'postgres' | 'ports' | 'logLevel'>): string {
  const configDir = path.join(options.dir, 'config');
  fs.mkdirSync(configDir, { recursive: true });
  const dynamicConfigFile = path.join(options.dir, 'dynamicconfig.yaml');
  fs.writeFileSync(dynamicConfigFile, DYNAMIC_CONFIG);
  const file = path.join(configDir, 'bellows.yaml');
  // 0600: it holds the database password.
  fs.writeFileSync(file, temporalServerConfigYaml({ ...options, dynamicConfigFile, logLevel: options.logLevel ?? 'warn' }), { mode: 0o600 });
  return file;
}

/**
 * v1.29.1 has no --config-file: it reads <root>/<config>/<env>.yaml. All four services run in this
 * one process (the default of --service).
 */
export function temporalServerArgs(dir: string): string[] {
  return ['--root', dir, '--config', 'config', '--env', 'bellows', '--allow-no-auth', 'start'];
}

/** Polls the frontend until it answers for `namespace` (or just the cluster health check when null). */
export async function waitForTemporalFrontend(
  address: string,
  options: { namespace: string | null; timeoutMs: number; isAlive?: () => boolean; describeFailure?: () => string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    if (options.isAlive && !options.isAlive()) throw new Error(`Temporal server exited during startup.\n${options.describeFailure?.() ?? ''}`);
    let connection: Connection | null = null;
    try {
      connection = await Connection.connect({ address, connectTimeout: 2000 });
      await connection.healthService.check({});
      if (options.namespace) await connection.workflowService.describeNamespace({ namespace: options.namespace });
      else await connection.workflowService.getSystemInfo({});
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

export async function startTemporalServer(options: TemporalServerOptions): Promise<TemporalServerProcess> {
  writeTemporalServerConfig(options);
  fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
  const logFd = fs.openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(options.binary, temporalServerArgs(options.dir), { stdio: ['ignore', logFd, logFd], detached: options.detached ?? false });
  } finally {
    fs.closeSync(logFd);
  }
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('error', () => resolve({ code: null, signal: null }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const address = `127.0.0.1:${options.ports.frontend}`;
  try {
    await waitForTemporalFrontend(address, {
      namespace: null,
      timeoutMs: 120_000,
      isAlive: () => isRunning(child),
      describeFailure: () => `--- ${options.logFile} (tail) ---\n${tailFile(options.logFile)}`,
    });
  } catch (error) {
    await stopChild(child, { graceMs: 2000 });
    throw error;
  }
  return {
    address,
    pid: child.pid,
    running: () => isRunning(child),
    exited,
    stop: (graceMs = 15_000) => stopChild(child, { signal: 'SIGTERM', graceMs }),
  };
}

/**
 * Registers the namespace (idempotent) and waits until the frontend serves it, then the Bellows
 * search attributes. Retention: 3 days, like the dev server's default of a day but enough for a
 * weekend's post-mortem.
 */
export async function ensureNamespace(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: 10_000 });
  try {
    try {
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('3 days') });
    } catch (error) {
      const grpcAlreadyExists = 6;
      if ((error as { code?: number }).code !== grpcAlreadyExists && !/already exists/i.test(String((error as Error).message))) throw error;
    }
  } finally {
    await connection.close();
  }
  await waitForTemporalFrontend(address, { namespace, timeoutMs: 30_000 });
  // The search-attribute call can race the namespace cache on a brand-new cluster; retry briefly.
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await registerSearchAttributes(address, namespace);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(500);
    }
  }
}

// typeof guards: vitest imports this file as ESM, where `require`/`module` do not exist.
if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) {
  // Used by bootstrap.js before the tests: builds the binaries once, up front, rather than inside a
  // test hook's timeout. Paths as JSON on stdout, progress on stderr.
  resolveTemporalServerBinaries()
    .then(({ server, sql }) => process.stdout.write(`${JSON.stringify({ server, sql })}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exit(1);
    });
}
