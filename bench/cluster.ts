import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { startCluster, type Cluster } from '../scripts/cluster';
import { createCleanupStack, startBenchStack } from './bench-stack';
import { benchIdlePolls, benchThroughput, type BenchTarget, type IdlePollResult, type ThroughputResult } from './cluster.bench';
import { ms, renderTable } from './report';

// `node dist/bench/cluster.js [--quick] [--json]`: the cluster profile (real Temporal server on
// PostgreSQL, 2 APIs behind the load balancer, 2 workers) against the single-instance setup of
// `npm start` (Temporal dev server, 1 API, 1 worker), one after the other in the same invocation on
// the same machine; then how many idle long polls one API instance of the cluster holds.

type Mode = 'quick' | 'full';
type Sizes = { agents: number; concurrency: number; warmupMs: number; windowMs: number; idleClients: number; idleHoldMs: number; idleDispatches: number };

const SIZES: Record<Mode, Sizes> = {
  full: { agents: 20, concurrency: 20, warmupMs: 10_000, windowMs: 60_000, idleClients: 1000, idleHoldMs: 60_000, idleDispatches: 10 },
  quick: { agents: 20, concurrency: 20, warmupMs: 5_000, windowMs: 20_000, idleClients: 1000, idleHoldMs: 30_000, idleDispatches: 5 },
};

export type ClusterBenchResults = {
  version: 1;
  mode: Mode;
  startedAt: string;
  durationSeconds: number;
  machine: { cpus: number; cpuModel: string; node: string };
  sizes: Sizes;
  single: ThroughputResult;
  cluster: ThroughputResult & { requestsPerApi: Record<string, number> };
  clusterDirect: ThroughputResult;
  idle: IdlePollResult;
};

const progress = (message: string): void => void process.stderr.write(`[bench:cluster] ${message}\n`);

function parseArgs(argv: string[]): { mode: Mode; json: boolean } {
  const args = { mode: 'full' as Mode, json: false };
  for (const arg of argv) {
    if (arg === '--quick') args.mode = 'quick';
    else if (arg === '--json') args.json = true;
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write('usage: node dist/bench/cluster.js [--quick] [--json]\n  --quick  20 s windows instead of 60 s (~4 minutes in all)\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${arg} (try --help)`);
  }
  return args;
}

function report(results: ClusterBenchResults): string {
  const row = (label: string, r: ThroughputResult): string[] => [
    label,
    r.runsPerMinute.toFixed(0),
    String(r.runsInWindow),
    String(r.failedRuns),
    ms(r.dispatch.p50),
    ms(r.dispatch.p99),
    ms(r.runLatency.p50),
    ms(r.runLatency.p99),
  ];
  const throughput = renderTable(
    ['Setup (20 agents, 20 runs in flight)', 'runs/min', `runs in ${results.sizes.windowMs / 1000} s`, 'failed', 'dispatch p50', 'dispatch p99', 'run p50', 'run p99'],
    [
      row('  npm start: dev server, 1 API, 1 worker', results.single),
      row('  cluster: Temporal on Postgres, 2 APIs + LB, 2 workers', results.cluster),
      row('  cluster, clients spread over the 2 APIs (no LB)', results.clusterDirect),
    ],
  );
  const { idle } = results;
  const idleTable = renderTable(
    ['Idle long polls on one API instance', 'value'],
    [
      ['  clients parked (peak in flight)', `${idle.heldAtPeak} / ${idle.clients}`],
      ['  polls held to their full 25 s and answered 204', String(idle.completedPolls)],
      ['  client errors', String(idle.errors)],
      ['  API RSS idle before', `${idle.rssMb.before.toFixed(0)} MB`],
      ['  API RSS holding: first second / last second / max', `${idle.rssMb.first.toFixed(0)} / ${idle.rssMb.last.toFixed(0)} / ${idle.rssMb.duringMax.toFixed(0)} MB`],
      ['  API RSS 5 s after the clients left', `${idle.rssMb.after.toFixed(0)} MB`],
      [`  dispatch with ${idle.clients} parked (n=${idle.dispatchWithIdle.n}) p50 / max`, `${ms(idle.dispatchWithIdle.p50)} / ${ms(idle.dispatchWithIdle.max)}`],
    ],
  );
  const spread = Object.entries(results.cluster.requestsPerApi)
    .map(([upstream, count]) => `${upstream} ${count}`)
    .join(', ');
  const head = `Bellows cluster bench (${results.mode}, ${results.durationSeconds.toFixed(0)} s) — ${results.machine.cpus}× ${results.machine.cpuModel}, Node ${results.machine.node}`;
  return `${head}\n\n${throughput}\n\n${idleTable}\n\nload balancer requests per API instance: ${spread}\n`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const sizes = SIZES[args.mode];
  const startedAt = new Date();
  const controller = new AbortController();
  const benchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bellows-bench-cluster-'));
  // As root, embedded PostgreSQL runs as `postgres`, which must traverse this dir to reach its data dir.
  fs.chmodSync(benchDir, 0o711);
  const cleanups = createCleanupStack(progress);
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      progress(`${signal}: stopping (again to force)…`);
      controller.abort(new Error(`interrupted by ${signal}`));
      void cleanups.run().finally(() => process.exit(130));
    });
  }

  let failed = false;
  try {
    // 1. The single-instance setup, exactly as bench/main.ts runs it.
    progress('single instance: starting Temporal dev server, PostgreSQL, 1 API, 1 worker…');
    // Its own cleanup list: a cleanup stack runs once, and this one must go before the cluster starts.
    const singleCleanups = createCleanupStack(progress);
    cleanups.push('single-instance stack', () => singleCleanups.run());
    const single = await startBenchStack(singleCleanups, { onProgress: progress, signal: controller.signal, benchDir: path.join(benchDir, 'single') });
    const singleTarget: BenchTarget = { label: 'single', url: single.apiUrl, adminToken: single.adminToken, sql: single.sql };
    progress('single instance: sustained runs…');
    const singleResult = await benchThroughput(singleTarget, { ...sizes, signal: controller.signal, onProgress: progress });
    await singleCleanups.run();

    // 2. The cluster profile, through its load balancer.
    progress('cluster: starting PostgreSQL, Temporal server, 2 APIs, load balancer, 2 workers…');
    const suffix = crypto.randomBytes(3).toString('hex');
    const adminUrl = process.env.DATABASE_URL;
    const clusterCleanups = createCleanupStack(progress);
    cleanups.push('cluster', () => clusterCleanups.run());
    if (adminUrl) {
      clusterCleanups.push('drop bench databases', async () => {
        const sql = postgres(adminUrl, { max: 1, onnotice: () => undefined });
        try {
          for (const name of [`bellows_bench_${suffix}`, `temporal_bench_${suffix}`, `temporal_visibility_bench_${suffix}`]) await sql.unsafe(`drop database if exists ${name} with (force)`);
        } finally {
          await sql.end({ timeout: 5 });
        }
      });
    }
    const cluster: Cluster = await startCluster({
      dataDir: path.join(benchDir, 'cluster'),
      databaseUrl: adminUrl,
      bellowsDatabase: `bellows_bench_${suffix}`,
      temporalDatabases: { database: `temporal_bench_${suffix}`, visibilityDatabase: `temporal_visibility_bench_${suffix}` },
      agents: 0,
      onProgress: (role, message) => progress(`${role}: ${message}`),
    });
    clusterCleanups.push('cluster', () => cluster.stop());
    const clusterTarget: BenchTarget = { label: 'cluster', url: cluster.balancerUrl, adminToken: cluster.adminToken, sql: cluster.sql };
    progress('cluster: sustained runs…');
    const before = cluster.balancer.counts();
    const clusterResult = await benchThroughput(clusterTarget, { ...sizes, signal: controller.signal, onProgress: progress });
    const after = cluster.balancer.counts();
    const requestsPerApi = Object.fromEntries(Object.entries(after).map(([key, count]) => [key, count - (before[key] ?? 0)]));
    progress('cluster: sustained runs, clients spread over the APIs directly (no balancer)…');
    const clusterDirect = await benchThroughput(
      { ...clusterTarget, label: 'cluster-direct', url: cluster.apiUrls[0], spreadUrls: cluster.apiUrls },
      { ...sizes, signal: controller.signal, onProgress: progress },
    );

    // 3. Idle long polls held by one instance (API A directly, not through the balancer).
    progress(`cluster: ${sizes.idleClients} idle long polls on ${cluster.apis[0].url}…`);
    const [a] = cluster.apis;
    const idle = await benchIdlePolls(
      { label: 'api-a', url: a.url, adminToken: cluster.adminToken, sql: cluster.sql },
      { clients: sizes.idleClients, holdMs: sizes.idleHoldMs, dispatchSamples: sizes.idleDispatches, apiPid: () => a.pid(), signal: controller.signal, onProgress: progress },
    );

    const results: ClusterBenchResults = {
      version: 1,
      mode: args.mode,
      startedAt: startedAt.toISOString(),
      durationSeconds: (Date.now() - startedAt.getTime()) / 1000,
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown', node: process.version },
      sizes,
      single: singleResult,
      cluster: { ...clusterResult, requestsPerApi },
      clusterDirect,
      idle,
    };
    const outDir = path.resolve(__dirname, '..', '..', '.bench');
    fs.mkdirSync(outDir, { recursive: true });
    const outFile = path.join(outDir, `cluster-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(args.json ? `${JSON.stringify(results, null, 2)}\n` : report(results));
    progress(`results written to ${path.relative(process.cwd(), outFile)}`);
  } catch (error) {
    failed = true;
    if (!interrupted) progress(`failed: ${(error as Error).stack ?? String(error)}`);
  }
  progress('stopping…');
  await cleanups.run();
  if (failed && !interrupted) progress(`logs kept in ${benchDir}`);
  else fs.rmSync(benchDir, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}

void main();
