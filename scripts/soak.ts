// `npm run soak` (`-- --quick` for about two minutes, `-- --json` for a report): the cluster profile
// under chaos. A steady stream of runs whose job prints numbered lines and uploads an artifact, while
// a random API instance, worker or agent is killed with SIGKILL every 2-5 s, the Temporal server and
// PostgreSQL are each killed once, and one agent is cut off by a network partition for longer than its
// lease. Supervision brings every process back. Then every run is checked: terminal and succeeded,
// every line of every try once, every artifact's SHA-256, no process left behind. The pure parts
// (arguments, the job, the judging, the last line) are in soak-checks.ts and unit-tested.

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApiClient, type ApiClient } from '../contract/api-client';
import { api } from '../contract';
import type { LogChunk } from '../contract/jobs.contract';
import { TERMINAL_RUN_STATUSES, type RunDetail } from '../contract/runs.contract';
import { startCluster, type Cluster, type ClusterAgent, type ClusterProcess } from './cluster';
import { createNetnsLink, netnsSupport, type NetnsLink } from './netns';
import { sleep } from './process-utils';
import { checkLines, expectedArtifactSha256, parseSoakArgs, seededRandom, SOAK_ARTIFACT, SOAK_LINES, soakLine, soakPassed, soakScript, type SoakTotals } from './soak-checks';
import { describeSupervision } from './supervisor';

// A lease of 10 s (the default is 30 s): a partition of 25 s outlives it, and a killed agent's job is
// back in the queue within seconds. Ten tries: a job may be unlucky more than the default three times.
const LEASE_SECONDS = 10;
const PARTITION_MS = 25_000;
const MAX_UNFINISHED_RUNS = 6;
const TRIGGER_EVERY_MS = 800;
const SETTLE_MS = 5 * 60_000;
// Supervision gives up on the fifth crash within a minute: the soak kills one process at most 3 times a minute.
const MAX_KILLS_PER_MINUTE = 3;

type Event = { at: number; what: string };

const soakId = crypto.randomBytes(4).toString('hex');
const startedAt = Date.now();
const events: Event[] = [];
let logStream: fs.WriteStream | null = null;

function note(what: string): void {
  events.push({ at: Date.now() - startedAt, what });
  const line = `[soak +${((Date.now() - startedAt) / 1000).toFixed(1)} s] ${what}`;
  logStream?.write(`${line}\n`);
  if (!options.json) process.stdout.write(`${line}\n`);
}

const parsed = parseSoakArgs(process.argv.slice(2));
if (!parsed.ok) {
  process.stderr.write(`soak: ${parsed.error}\n`);
  process.exit(2);
}
const options = parsed.options;

/** Bellows processes the chaos may kill: the partitioned agent is left to its partition. */
function victims(cluster: Cluster, spared: ClusterAgent | null): ClusterProcess[] {
  return [...cluster.apis, ...cluster.workers, ...cluster.agents.filter((agent) => agent !== spared)];
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bellows-soak-'));
  // mkdtemp's 0700 would keep PostgreSQL's own user (when run as root) out.
  fs.chmodSync(dataDir, 0o755);
  logStream = fs.createWriteStream(path.join(dataDir, 'soak.log'));
  // Every process of the soak inherits this marker: what still carries it at the end was left behind.
  process.env.BELLOWS_SOAK_ID = soakId;
  const random = seededRandom(options.seed);
  note(`seed ${options.seed}, ${options.chaosSeconds} s of chaos, data and logs in ${dataDir}`);

  const support = await netnsSupport();
  if (!support.ok) note(`no network partition in this soak: ${support.reason}`);

  let restarts = 0;
  let gaveUp: string | null = null;
  const cluster = await startCluster({
    dataDir,
    apis: 2,
    workers: 2,
    agents: 3,
    agentLabels: 'soak=true',
    supervise: true,
    env: { BELLOWS_AGENT_LOST_AFTER_SECONDS: String(LEASE_SECONDS), BELLOWS_REAPER_INTERVAL_SECONDS: '2', BELLOWS_MAX_TRIES: '10' },
    onProgress: (role, message) => note(`${role}: ${message}`),
    onSupervision: (event) => {
      if (event.kind === 'restarted') restarts++;
      if (event.kind === 'give_up') gaveUp = `${event.child.name}: ${describeSupervision(event).split('\n')[0]}`;
      note(`${event.child.name} ${describeSupervision(event).split('\n')[0]}`);
    },
  });

  let link: NetnsLink | null = null;
  let partitioned: ClusterAgent | null = null;
  const client: ApiClient = createApiClient({ baseUrl: cluster.balancerUrl, token: () => cluster.adminToken, checkResponses: true });
  let exitCode = 1;
  try {
    await client.call(api.projects.create, { body: { slug: 'soak', name: 'Soak' } });
    await client.call(api.pipelines.put, { params: { slug: 'soak', name: 'count' }, body: { content: soakScript(), labels: ['soak=true'] } });
    if (support.ok) {
      link = await createNetnsLink();
      // Inside the namespace 127.0.0.1 is its own: the agent dials the host's side of the veth.
      partitioned = await cluster.startAgent({ name: 'cut-off', labels: 'soak=true', url: `http://${link.hostAddress}:${cluster.apis[0].port}`, commandPrefix: link.execPrefix });
    }

    const unfinished = async (): Promise<number> =>
      Number((await cluster.sql<{ count: string }[]>`select count(*) from runs where status not in ${cluster.sql([...TERMINAL_RUN_STATUSES])}`)[0].count);
    let triggerErrors = 0;
    let kills = 0;
    const killTimes = new Map<ClusterProcess, number[]>();
    const chaosEnds = Date.now() + options.chaosSeconds * 1000;
    const at = (fraction: number): number => Date.now() + options.chaosSeconds * 1000 * fraction;
    const plan = { temporal: at(0.2), partition: at(0.35), postgres: at(0.65) };
    let nextKill = Date.now() + 2000 + random() * 3000;
    let nextTrigger = Date.now();
    let partitionHealsAt: number | null = null;

    note(`chaos begins: kills every 2-5 s, Temporal at ${Math.round(0.2 * options.chaosSeconds)} s, partition at ${Math.round(0.35 * options.chaosSeconds)} s, PostgreSQL at ${Math.round(0.65 * options.chaosSeconds)} s`);
    while (Date.now() < chaosEnds || partitionHealsAt !== null) {
      const now = Date.now();
      if (now >= nextTrigger && now < chaosEnds) {
        nextTrigger = now + TRIGGER_EVERY_MS;
        try {
          if ((await unfinished()) < MAX_UNFINISHED_RUNS) await client.call(api.runs.trigger, { params: { slug: 'soak', name: 'count' }, body: {} });
        } catch {
          // An API instance (or PostgreSQL) is down right now; a trigger that did land is found in the database at the end.
          triggerErrors++;
        }
      }
      if (now >= nextKill && now < chaosEnds) {
        nextKill = now + 2000 + random() * 3000;
        const candidates = victims(cluster, partitioned).filter((proc) => proc.running() && (killTimes.get(proc) ?? []).filter((t) => now - t < 60_000).length < MAX_KILLS_PER_MINUTE);
        const victim = candidates[Math.floor(random() * candidates.length)];
        const pid = victim?.pid();
        if (victim && pid) {
          // process.kill, not victim.kill(): the supervisor must see a crash, not a stop it asked for.
          process.kill(pid, 'SIGKILL');
          killTimes.set(victim, [...(killTimes.get(victim) ?? []), now]);
          kills++;
          note(`kill -9 ${victim.name} (pid ${pid})`);
        }
      }
      if (now >= plan.temporal) {
        plan.temporal = Infinity;
        const pid = cluster.temporal.pid();
        if (pid) {
          process.kill(pid, 'SIGKILL');
          kills++;
          note(`kill -9 the Temporal server (pid ${pid})`);
        }
      }
      if (now >= plan.postgres) {
        plan.postgres = Infinity;
        const pid = cluster.postgres?.pid();
        if (pid) {
          process.kill(pid, 'SIGKILL');
          kills++;
          note(`kill -9 PostgreSQL (postmaster pid ${pid})`);
        }
      }
      if (now >= plan.partition && link) {
        plan.partition = Infinity;
        await link.cut();
        partitionHealsAt = now + PARTITION_MS;
        note(`partition: agent ${partitioned?.name} cut off for ${PARTITION_MS / 1000} s (lease ${LEASE_SECONDS} s)`);
      }
      if (partitionHealsAt !== null && now >= partitionHealsAt && link) {
        partitionHealsAt = null;
        await link.heal();
        note(`partition healed`);
      }
      if (gaveUp) throw new Error(`supervision gave up on ${gaveUp}`);
      // The loop's tick: triggers, kills and the partition are scheduled on it (a scenario's clock, not a synchronisation).
      await sleep(100);
    }
    note(`chaos over after ${kills} kills; waiting up to ${SETTLE_MS / 60_000} min for every run to end`);

    const settleBy = Date.now() + SETTLE_MS;
    for (;;) {
      const left = await unfinished().catch(() => -1);
      if (left === 0) break;
      if (Date.now() > settleBy) {
        note(`${left} run(s) still unfinished after ${SETTLE_MS / 60_000} min`);
        break;
      }
      await sleep(1000);
    }

    const runIds = (await cluster.sql<{ id: number }[]>`select r.id from runs r join projects p on p.id = r.project_id where p.slug = 'soak' order by r.id`).map((row) => Number(row.id));
    const totals: SoakTotals = { kills, runs: runIds.length, linesLost: 0, linesDuplicated: 0, artifactsCorrupted: 0, runsFailed: 0 };
    const problems: string[] = [];
    let lostTries = 0;
    for (const runId of runIds) {
      const run: RunDetail = await client.call(api.runs.get, { params: { id: runId } });
      if (run.status !== 'succeeded') {
        totals.runsFailed++;
        problems.push(`run ${runId} ended ${run.status}${run.jobs[0]?.reason ? ` (${run.jobs[0].reason})` : ''}`);
      }
      for (const job of run.jobs) {
        const chunks: LogChunk[] = (await client.call(api.jobs.logs, { params: { id: job.id }, query: { limit: '10000' } })).chunks;
        for (const attempt of job.tries) {
          const stdout = chunks
            .filter((chunk) => chunk.try === attempt.try && chunk.stream === 'stdout')
            .map((chunk) => chunk.text)
            .join('');
          const complete = attempt.status === 'succeeded';
          if (attempt.status === 'lost') lostTries++;
          const check = checkLines(stdout, SOAK_LINES, complete);
          totals.linesLost += check.lost;
          totals.linesDuplicated += check.duplicated;
          if (check.lost || check.duplicated) problems.push(`job ${job.id} try ${attempt.try} (${attempt.status}): missing ${check.missing.join(',') || '-'}, repeated ${check.duplicates.join(',') || '-'}`);
        }
        // Every artifact stored is judged (a try killed after its upload keeps its own); the try that
        // succeeded must have exactly one.
        const artifacts = (await client.call(api.artifacts.list, { query: { runId: String(runId) } })).artifacts.filter((artifact) => artifact.jobId === job.id && artifact.name === SOAK_ARTIFACT);
        const expected = expectedArtifactSha256(job.id);
        for (const artifact of artifacts) {
          const downloaded = await download(cluster, artifact.downloadUrl);
          if (artifact.sha256 !== expected || downloaded !== expected) {
            totals.artifactsCorrupted++;
            problems.push(`job ${job.id} try ${artifact.try}: ${SOAK_ARTIFACT} recorded ${artifact.sha256}, downloaded ${downloaded}, expected ${expected}`);
          }
        }
        const ofFinalTry = artifacts.filter((artifact) => artifact.try === job.try).length;
        if (job.status === 'succeeded' && ofFinalTry !== 1) {
          totals.artifactsCorrupted++;
          problems.push(`job ${job.id} try ${job.try} succeeded with ${ofFinalTry} ${SOAK_ARTIFACT}`);
        }
      }
    }

    await cluster.stop();
    await link?.remove();
    link = null;
    const leftovers = leftoverProcesses();
    for (const problem of problems.slice(0, 30)) note(`problem: ${problem}`);
    if (leftovers.length) note(`left behind: ${leftovers.join('; ')}`);
    const passed = soakPassed(totals, leftovers.length);
    const line = soakLine(totals);
    const report = {
      passed,
      line,
      seed: options.seed,
      mode: options.mode,
      chaosSeconds: options.chaosSeconds,
      durationSeconds: Math.round((Date.now() - startedAt) / 1000),
      totals,
      restarts,
      lostTries,
      triggerErrors,
      partition: support.ok ? { seconds: PARTITION_MS / 1000, leaseSeconds: LEASE_SECONDS } : { skipped: support.reason },
      leftoverProcesses: leftovers,
      problems,
      dataDir,
      events,
    };
    fs.writeFileSync(path.join(dataDir, 'soak-report.json'), `${JSON.stringify(report, null, 2)}\n`);
    if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else process.stdout.write(`${restarts} restarts, ${lostTries} lost tries requeued, ${triggerErrors} triggers refused while an API was down\n${line}\n`);
    exitCode = passed ? 0 : 1;
    if (passed && !options.keep) fs.rmSync(dataDir, { recursive: true, force: true });
    else process.stderr.write(`soak: logs and report kept in ${dataDir}\n`);
  } finally {
    await cluster.stop().catch(() => undefined);
    await link?.remove().catch(() => undefined);
    logStream?.end();
  }
  process.exit(exitCode);
}

async function download(cluster: Cluster, downloadUrl: string): Promise<string> {
  const response = await fetch(`${cluster.balancerUrl}${downloadUrl}`, { headers: { authorization: `Bearer ${cluster.adminToken}` } });
  if (!response.ok) return `HTTP ${response.status}`;
  return crypto.createHash('sha256').update(Buffer.from(await response.arrayBuffer())).digest('hex');
}

/** Processes other than this one that carry this soak's marker; zombies have no environment left. */
function leftoverProcesses(): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (!fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`BELLOWS_SOAK_ID=${soakId}`)) continue;
      found.push(`${entry} ${fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim().slice(0, 120)}`);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

main().catch((error: unknown) => {
  process.stderr.write(`soak: ${(error as Error).message}\n`);
  process.exit(1);
});
