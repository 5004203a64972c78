import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../scripts/embedded-postgres';
import { findFreePort } from '../../scripts/process-utils';
import { resolveTemporalCli, startTemporalDevServer, type TemporalDevServer } from '../../scripts/temporal-cli';

// One Temporal dev server and one PostgreSQL for the whole run: starting them per test file would
// cost seconds each. Files stay isolated through their own database and namespace (test/support/stack.ts).

export const TEST_NAMESPACE_COUNT = 40;

declare module 'vitest' {
  // Module augmentation only works with an interface.
  // eslint-disable-next-line @typescript-eslint/consistent-type-definitions
  export interface ProvidedContext {
    temporalAddress: string;
    /** Superuser URL of the `postgres` database: test files create and drop their own databases through it. */
    postgresAdminUrl: string;
    /** Pre-created namespaces with the Bellows search attributes; claim one per stack with claimNamespace(). */
    namespaces: string[];
    /** Directory in which claimNamespace() takes its atomic `wx` claims. */
    namespaceClaimDir: string;
    /** Per-run directory under os.tmpdir() for logs. */
    testLogDir: string;
  }
}

const cleanups: (() => Promise<void>)[] = [];

async function startPostgres(logDir: string): Promise<{ adminUrl: string; description: string }> {
  if (process.env.DATABASE_URL) {
    const adminUrl = process.env.DATABASE_URL;
    const sql = postgres(adminUrl, { max: 1, connect_timeout: 10, onnotice: () => undefined });
    try {
      await sql`select 1`;
    } catch (error) {
      throw new Error(`DATABASE_URL is set but PostgreSQL is not reachable: ${(error as Error).message}`);
    } finally {
      await sql.end({ timeout: 1 });
    }
    return { adminUrl, description: 'DATABASE_URL' };
  }
  // mkdtemp's own directory is the cluster dir: as root it gets chowned to `postgres`, which could
  // not traverse a 0700 parent.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bellows-test-pg-'));
  const port = await findFreePort();
  let server: EmbeddedPostgres;
  try {
    server = await startEmbeddedPostgres({ dataDir, port, database: 'bellows', logFile: path.join(logDir, 'postgres.log') });
  } catch (error) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  cleanups.push(async () => {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return { adminUrl: server.adminUrl, description: `embedded on 127.0.0.1:${port}` };
}

async function startTemporal(logDir: string, namespaces: string[]): Promise<TemporalDevServer> {
  const cli = await resolveTemporalCli({ onProgress: (message) => process.stderr.write(`[global-setup] ${message}\n`) });
  const [port, uiPort] = [await findFreePort(), await findFreePort()];
  const server = await startTemporalDevServer({
    cliPath: cli.path,
    port,
    uiPort,
    namespaces,
    headless: true,
    logFile: path.join(logDir, 'temporal.log'),
  });
  cleanups.push(() => server.stop());
  return server;
}

async function runCleanups(): Promise<void> {
  // Reverse start order; keep going when one fails so nothing is left running.
  while (cleanups.length > 0) {
    const cleanup = cleanups.pop()!;
    await cleanup().catch((error: unknown) => process.stderr.write(`[global-setup] teardown step failed: ${String(error)}\n`));
  }
}

/** Log dirs of earlier runs are kept for debugging; a day later they are only clutter. */
function pruneOldLogDirs(): void {
  const cutoff = Date.now() - 24 * 60 * 60 * 1000;
  for (const name of fs.readdirSync(os.tmpdir())) {
    if (!/^bellows-test-[a-z0-9]+-\d+$/.test(name)) continue;
    const dir = path.join(os.tmpdir(), name);
    try {
      if (fs.statSync(dir).mtimeMs < cutoff) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // Raced with another run's cleanup.
    }
  }
}

export async function setup(project: TestProject): Promise<void> {
  pruneOldLogDirs();
  const runId = `${Date.now().toString(36)}-${process.pid}`;
  const logDir = path.join(os.tmpdir(), `bellows-test-${runId}`);
  const namespaceClaimDir = path.join(os.tmpdir(), `bellows-ns-${runId}`);
  fs.mkdirSync(logDir, { recursive: true });
  fs.mkdirSync(namespaceClaimDir, { recursive: true });
  cleanups.push(async () => fs.rmSync(namespaceClaimDir, { recursive: true, force: true }));
  const namespaces = Array.from({ length: TEST_NAMESPACE_COUNT }, (_, index) => `bellows-t${index + 1}`);

  const started = Date.now();
  const [temporal, pg] = await Promise.allSettled([startTemporal(logDir, namespaces), startPostgres(logDir)]);
  if (temporal.status === 'rejected' || pg.status === 'rejected') {
    await runCleanups();
    const reasons = [temporal, pg].filter((result) => result.status === 'rejected').map((result) => String((result as PromiseRejectedResult).reason));
    throw new Error(`test infrastructure failed to start:\n${reasons.join('\n')}`);
  }
  process.stderr.write(
    `[global-setup] Temporal ${temporal.value.address} (${namespaces.length} namespaces), PostgreSQL ${pg.value.description}, ready in ${Date.now() - started} ms; logs in ${logDir}\n`,
  );

  project.provide('temporalAddress', temporal.value.address);
  project.provide('postgresAdminUrl', pg.value.adminUrl);
  project.provide('namespaces', namespaces);
  project.provide('namespaceClaimDir', namespaceClaimDir);
  project.provide('testLogDir', logDir);
}

export async function teardown(): Promise<void> {
  await runCleanups();
}
