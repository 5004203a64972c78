import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCleanupStack, logDirOf, startBenchStack, type BenchStack } from './bench-stack';
import { createProject } from './bench-utils';
import { benchDispatch, type DispatchResult } from './dispatch.bench';
import { benchFanout, type FanoutResult } from './fanout.bench';
import { benchRawQueue, type RawQueueResult } from './raw-queue.baseline';
import { ms, p50p95, ratio, renderTable } from './report';
import { benchBareWorkflow, benchBellowsRuns, type BareRunsResult, type BellowsRunsResult } from './run-overhead.bench';

// `npm run bench`: brings up a private stack (Temporal dev server, Postgres, API, worker), measures
// Bellows next to a baseline in the same process tree, prints one table and saves JSON in .bench/.
// Ratios matter more than absolute times: on a shared 2-core machine the latter drift run to run.

type Mode = 'quick' | 'full';

type Sizes = {
  dispatchSamples: number;
  dispatchWarmup: number;
  rawSamples: number;
  rawWarmup: number;
  runs: number;
  runWarmup: number;
  fanoutSamples: number;
  fanoutWarmup: number;
};

// Full sizes take ~2.5–3 minutes on 2 cores; most of it is 2 × 150 sequential dispatch samples.
const SIZES: Record<Mode, Sizes> = {
  full: { dispatchSamples: 150, dispatchWarmup: 5, rawSamples: 300, rawWarmup: 10, runs: 50, runWarmup: 3, fanoutSamples: 200, fanoutWarmup: 10 },
  quick: { dispatchSamples: 20, dispatchWarmup: 2, rawSamples: 50, rawWarmup: 5, runs: 8, runWarmup: 2, fanoutSamples: 40, fanoutWarmup: 5 },
};

const TARGETS = { dispatchP50Ms: 50, runOverheadRatio: 2, fanoutP99Ratio: 2 } as const;
const MANY_AGENTS = 20;
const FANOUT_VIEWERS = [1, 10, 100];
const FANOUT_LINES_PER_BATCH = 10;

export type BenchResults = {
  version: 1;
  mode: Mode;
  startedAt: string;
  durationSeconds: number;
  machine: { cpus: number; cpuModel: string; node: string; platform: string; postgres: BenchStack['postgresSource'] };
  sizes: Sizes;
  dispatch: { oneAgent: DispatchResult; manyAgents: DispatchResult; rawOnePoller: RawQueueResult; rawManyPollers: RawQueueResult };
  runOverhead: { bellows: BellowsRunsResult; bare: BareRunsResult };
  fanout: FanoutResult[];
  verdict: {
    dispatchP50OneAgentMs: number;
    dispatchP50ManyAgentsMs: number;
    dispatchRatioOneAgent: number;
    dispatchRatioManyAgents: number;
    runOverheadRatio: number;
    runOverheadRatioToFinishedAt: number;
    dispatchTargetMet: boolean;
    runOverheadTargetMet: boolean;
    /** Bellows p99 / bare broadcast p99, per number of viewers. */
    fanoutP99Ratios: Record<string, number>;
    fanoutTargetMet: boolean;
  };
};

type Args = { mode: Mode; json: boolean };

function parseArgs(argv: string[]): Args {
  const args: Args = { mode: 'full', json: false };
  for (const arg of argv) {
    if (arg === '--quick') args.mode = 'quick';
    else if (arg === '--json') args.json = true;
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write('usage: npm run bench -- [--quick] [--json]\n  --quick  short run (~1 minute)\n  --json   print results as JSON instead of the table\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${arg} (try --help)`);
  }
  return args;
}

const progress = (message: string): void => void process.stderr.write(`[bench] ${message}\n`);

async function measure(stack: BenchStack, mode: Mode, signal: AbortSignal): Promise<Omit<BenchResults, 'version' | 'mode' | 'startedAt' | 'durationSeconds' | 'machine' | 'verdict'>> {
  const sizes = SIZES[mode];
  const project = 'bench';
  await createProject(stack, project);
  const dispatchOptions = { project, samples: sizes.dispatchSamples, warmup: sizes.dispatchWarmup, signal, onProgress: progress };
  const rawOptions = { samples: sizes.rawSamples, warmup: sizes.rawWarmup, signal };

  // Each Bellows measurement runs right after its baseline, so both see the same machine state.
  progress('dispatch: raw SKIP LOCKED baseline, 1 poller…');
  const rawOnePoller = await benchRawQueue(stack.databaseUrl, { ...rawOptions, pollers: 1 });
  progress('dispatch: Bellows, 1 idle agent…');
  const oneAgent = await benchDispatch(stack, { ...dispatchOptions, agents: 1 });
  progress(`dispatch: raw SKIP LOCKED baseline, ${MANY_AGENTS} pollers…`);
  const rawManyPollers = await benchRawQueue(stack.databaseUrl, { ...rawOptions, pollers: MANY_AGENTS });
  progress(`dispatch: Bellows, ${MANY_AGENTS} idle agents…`);
  const manyAgents = await benchDispatch(stack, { ...dispatchOptions, agents: MANY_AGENTS });

  const runOptions = { runs: sizes.runs, warmup: sizes.runWarmup, signal, onProgress: progress };
  progress('run overhead: bare Temporal workflow with the same two signals…');
  const bare = await benchBareWorkflow(stack, runOptions);
  progress('run overhead: Bellows one-job runs…');
  const bellows = await benchBellowsRuns(stack, { ...runOptions, project });

  progress('log fan-out: bare Socket.IO broadcast vs Bellows, 1/10/100 viewers…');
  const fanout = await benchFanout(stack, {
    project,
    viewerCounts: FANOUT_VIEWERS,
    samples: sizes.fanoutSamples,
    warmup: sizes.fanoutWarmup,
    linesPerBatch: FANOUT_LINES_PER_BATCH,
    signal,
    onProgress: progress,
  });

  return { sizes, dispatch: { oneAgent, manyAgents, rawOnePoller, rawManyPollers }, runOverhead: { bellows, bare }, fanout };
}

function verdictOf(results: Pick<BenchResults, 'dispatch' | 'runOverhead' | 'fanout'>): BenchResults['verdict'] {
  const { dispatch, runOverhead, fanout } = results;
  const fanoutP99Ratios = Object.fromEntries(fanout.map((row) => [String(row.viewers), row.bellows.latency.p99 / row.bare.latency.p99]));
  const runOverheadRatio = runOverhead.bellows.toResult.p50 / runOverhead.bare.toResult.p50;
  return {
    dispatchP50OneAgentMs: dispatch.oneAgent.latency.p50,
    dispatchP50ManyAgentsMs: dispatch.manyAgents.latency.p50,
    dispatchRatioOneAgent: dispatch.oneAgent.latency.p50 / dispatch.rawOnePoller.latency.p50,
    dispatchRatioManyAgents: dispatch.manyAgents.latency.p50 / dispatch.rawManyPollers.latency.p50,
    runOverheadRatio,
    runOverheadRatioToFinishedAt: runOverhead.bellows.toFinishedAt.p50 / runOverhead.bare.toResult.p50,
    dispatchTargetMet: Math.max(dispatch.oneAgent.latency.p50, dispatch.manyAgents.latency.p50) <= TARGETS.dispatchP50Ms,
    runOverheadTargetMet: runOverheadRatio <= TARGETS.runOverheadRatio,
    fanoutP99Ratios,
    fanoutTargetMet: Object.values(fanoutP99Ratios).every((value) => value <= TARGETS.fanoutP99Ratio),
  };
}

function report(results: BenchResults): string {
  const { dispatch, runOverhead: run, verdict } = results;
  const check = (ok: boolean): string => (ok ? 'ok' : 'MISSED');
  const dispatchRow = (label: string, bellows: DispatchResult, raw: RawQueueResult, baseline: string): string[] => [
    label,
    String(bellows.latency.n),
    ms(bellows.latency.p50),
    ms(bellows.latency.p95),
    ms(bellows.latency.p99),
    baseline,
    ms(raw.latency.p50),
    ms(raw.latency.p95),
    ratio(bellows.latency.p50, raw.latency.p50),
    `p50 ≤ ${TARGETS.dispatchP50Ms} ms: ${check(bellows.latency.p50 <= TARGETS.dispatchP50Ms)}`,
  ];
  const bareBaseline = `bare workflow (n=${run.bare.runs})`;
  const runRow = (label: string, summary: BellowsRunsResult['toResult'], target: boolean): string[] => [
    label,
    String(summary.n),
    ms(summary.p50),
    ms(summary.p95),
    ms(summary.p99),
    bareBaseline,
    ms(run.bare.toResult.p50),
    ms(run.bare.toResult.p95),
    ratio(summary.p50, run.bare.toResult.p50),
    target ? `≤ ${TARGETS.runOverheadRatio}× bare: ${check(verdict.runOverheadTargetMet)}` : '',
  ];
  const main = renderTable(
    ['Measure', 'n', 'p50', 'p95', 'p99', 'Baseline', 'base p50', 'base p95', 'ratio p50', 'Target'],
    [
      'Dispatch latency: jobs.queued_at → claim response received by an idle long-polling agent',
      dispatchRow('  1 idle agent', dispatch.oneAgent, dispatch.rawOnePoller, `raw SKIP LOCKED, 1 poller (n=${dispatch.rawOnePoller.latency.n})`),
      dispatchRow(`  ${MANY_AGENTS} idle agents`, dispatch.manyAgents, dispatch.rawManyPollers, `raw SKIP LOCKED, ${MANY_AGENTS} pollers (n=${dispatch.rawManyPollers.latency.n})`),
      'Run overhead: one-job run, POST …/runs → …   (baseline: client.start → 2 signals → result)',
      runRow('  workflow result seen', run.bellows.toResult, true),
      runRow('  runs.finished_at', run.bellows.toFinishedAt, false),
    ],
  );
  const history = renderTable(
    ['Temporal history events per run', 'min', 'avg', 'max', 'kinds (one run)'],
    [
      ['  Bellows runAttemptWorkflow', String(run.bellows.history.min), run.bellows.history.avg.toFixed(1), String(run.bellows.history.max), kinds(run.bellows.history.byKind)],
      ['  bare workflow', String(run.bare.history.min), run.bare.history.avg.toFixed(1), String(run.bare.history.max), kinds(run.bare.history.byKind)],
    ],
  );
  const where = renderTable(
    ['Where time goes (p50 / p95)', '1 agent', `${MANY_AGENTS} agents`],
    [
      ['  queued_at → claim tx start (NOTIFY delivery, wake, BEGIN)', p50p95(dispatch.oneAgent.queuedToClaimTx), p50p95(dispatch.manyAgents.queuedToClaimTx)],
      ['  claim tx start → body received (claim SQL, jobClaimed signal, secrets, HTTP)', p50p95(dispatch.oneAgent.claimTxToReceived), p50p95(dispatch.manyAgents.claimTxToReceived)],
      ['    of which claim tx start → jobClaimed in history (claim SQL, commit, signal RPC)', p50p95(dispatch.oneAgent.claimTxToSignaled), p50p95(dispatch.manyAgents.claimTxToSignaled)],
      ['    of which jobClaimed in history → body received (RPC reply, secrets, HTTP)', p50p95(dispatch.oneAgent.signaledToReceived), p50p95(dispatch.manyAgents.signaledToReceived)],
      ['  (context) POST …/runs → queued_at (workflow start, createJobs)', p50p95(dispatch.oneAgent.triggerToQueued), p50p95(dispatch.manyAgents.triggerToQueued)],
      ['  run: POST …/runs → WorkflowExecutionStarted', p50p95(run.bellows.toWorkflowStarted), ''],
      ...Object.entries(run.bellows.activities).sort(([a], [b]) => a.localeCompare(b)).map(([name, summary]) => [`  run: activity ${name}`, p50p95(summary), '']),
      ['  run: POST …/runs → claimed by the polling client', p50p95(run.bellows.toClaimed), ''],
      ['  run: finish response → runs.finished_at (signal, WFT, finalizeAttempt)', p50p95(run.bellows.finishToFinishedAt), ''],
    ],
  );
  const fanoutRow = (row: FanoutResult): string[] => [
    `  ${row.viewers} viewer${row.viewers === 1 ? '' : 's'}`,
    String(row.bellows.latency.n),
    ms(row.bellows.latency.p50),
    ms(row.bellows.latency.p95),
    ms(row.bellows.latency.p99),
    ms(row.bare.latency.p50),
    ms(row.bare.latency.p99),
    ratio(row.bellows.latency.p99, row.bare.latency.p99),
    ms(row.bellowsStored.p50),
    ms(row.bellows.perSampleLast.p99),
    `p99 ≤ ${TARGETS.fanoutP99Ratio}× bare: ${check(row.bellows.latency.p99 <= TARGETS.fanoutP99Ratio * row.bare.latency.p99)}`,
  ];
  const bytes = results.fanout[0]?.bytesPerBatch ?? 0;
  const fanout = renderTable(
    ['Log fan-out', 'n', 'p50', 'p95', 'p99', 'bare p50', 'bare p99', 'ratio p99', 'stored p50', 'last viewer p99', 'Target'],
    [
      `Agent POSTs a ${FANOUT_LINES_PER_BATCH}-line batch (${bytes} B) → log.chunks at each Socket.IO viewer of job:<id>   (baseline: bare Socket.IO server, writer socket → room broadcast, same payload; stored = POST answered)`,
      ...results.fanout.map(fanoutRow),
    ],
  );
  const { machine } = results;
  const head = `Bellows bench (${results.mode}, ${results.durationSeconds.toFixed(0)} s) — ${machine.cpus}× ${machine.cpuModel}, Node ${machine.node}, Postgres ${machine.postgres}, Temporal dev server in memory`;
  const errors = dispatch.oneAgent.clientErrors + dispatch.manyAgents.clientErrors;
  const footer = errors ? `\nnote: protocol clients retried ${errors} transport error(s) during dispatch sampling.` : '';
  return `${head}\n\n${main}\n\n${history}\n\n${where}\n\n${fanout}${footer}\n`;
}

function kinds(byKind: Record<string, number>): string {
  return Object.entries(byKind)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, count]) => `${kind} ${count}`)
    .join(', ');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const repoRoot = path.resolve(__dirname, '..', '..');
  const startedAt = new Date();
  const controller = new AbortController();
  const cleanups = createCleanupStack(progress);
  const benchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bellows-bench-'));

  let interrupted = false;
  let exitCode = 0;
  // Set once every child is registered for cleanup: before that, an early exit could orphan a
  // server that is still starting (its startup steps are bounded and check the abort signal).
  let stackReady = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    exitCode = signal === 'SIGINT' ? 130 : 143;
    if (interrupted) {
      // Second Ctrl-C: stop waiting for a polite shutdown; the exit hook SIGKILLs the children.
      process.exit(exitCode);
    }
    interrupted = true;
    progress(`${signal}: stopping everything (Ctrl-C again to force)…`);
    controller.abort(new Error(`interrupted by ${signal}`));
    if (!stackReady) return;
    // Teardown does not wait for the measurement to notice the abort: some awaits are not abortable.
    void cleanups.run().finally(() => {
      fs.rmSync(benchDir, { recursive: true, force: true });
      process.exit(exitCode);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let failed = false;
  try {
    const stack = await startBenchStack(cleanups, { onProgress: progress, signal: controller.signal, benchDir });
    stackReady = true;
    controller.signal.throwIfAborted();
    const measured = await measure(stack, args.mode, controller.signal);
    const results: BenchResults = {
      version: 1,
      mode: args.mode,
      startedAt: startedAt.toISOString(),
      durationSeconds: (Date.now() - startedAt.getTime()) / 1000,
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}`, postgres: stack.postgresSource },
      ...measured,
      verdict: verdictOf(measured),
    };
    const outDir = path.join(repoRoot, '.bench');
    fs.mkdirSync(outDir, { recursive: true });
    const outFile = path.join(outDir, `results-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
    if (args.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    else process.stdout.write(report(results));
    progress(`results written to ${path.relative(process.cwd(), outFile)}`);
  } catch (error) {
    failed = true;
    if (!interrupted) progress(`failed: ${(error as Error).stack ?? String(error)}`);
  }
  progress('stopping the stack…');
  await cleanups.run();
  // A failed bench keeps its logs (API, worker, Temporal, Postgres) for a post-mortem; Ctrl-C does not.
  if (failed && !interrupted) progress(`logs kept in ${logDirOf(benchDir)}`);
  else fs.rmSync(benchDir, { recursive: true, force: true });
  process.exit(interrupted ? exitCode : failed ? 1 : 0);
}

void main();
