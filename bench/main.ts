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
import { benchBrowserLatency, chromiumAvailable, type BrowserLatencyResult } from './browser-latency.bench';
import { benchRepository, type RepositoryResult } from './repository.bench';
import { benchScale, type ScaleResult } from './scale.bench';

// `npm run bench`: brings up a private stack (Temporal dev server, Postgres, API, worker), measures
// Bellows next to a baseline in the same process tree, prints one table and saves JSON in .bench/.
// Ratios matter more than absolute times: on a shared 2-core machine the latter drift run to run.

type Mode = 'quick' | 'full';
// scale goes last: it leaves 10,000 jobs in the queue and a thousand agents registered.
const SECTIONS = ['dispatch', 'runs', 'fanout', 'browser', 'repository', 'scale'] as const;
type Section = (typeof SECTIONS)[number];

type Sizes = {
  dispatchSamples: number;
  dispatchWarmup: number;
  rawSamples: number;
  rawWarmup: number;
  runs: number;
  runWarmup: number;
  fanoutSamples: number;
  fanoutWarmup: number;
  browserLines: number;
  repositoryCheckouts: number;
  repositoryTriggers: number;
  scaleAgents: number;
  scaleLabelSets: number;
  scaleTriggers: number;
  scaleSingleTriggers: number;
  scaleQueuedJobs: number;
  scaleQueueRequests: number;
};

// Full sizes take ~2.5–3 minutes on 2 cores; most of it is 2 × 150 sequential dispatch samples.
const SIZES: Record<Mode, Sizes> = {
  full: { dispatchSamples: 150, dispatchWarmup: 5, rawSamples: 300, rawWarmup: 10, runs: 50, runWarmup: 3, fanoutSamples: 200, fanoutWarmup: 10, browserLines: 400, repositoryCheckouts: 5, repositoryTriggers: 30, scaleAgents: 1000, scaleLabelSets: 50, scaleTriggers: 200, scaleSingleTriggers: 50, scaleQueuedJobs: 10_000, scaleQueueRequests: 30 },
  quick: { dispatchSamples: 20, dispatchWarmup: 2, rawSamples: 50, rawWarmup: 5, runs: 8, runWarmup: 2, fanoutSamples: 40, fanoutWarmup: 5, browserLines: 100, repositoryCheckouts: 2, repositoryTriggers: 8, scaleAgents: 1000, scaleLabelSets: 50, scaleTriggers: 40, scaleSingleTriggers: 15, scaleQueuedJobs: 10_000, scaleQueueRequests: 10 },
};

const TARGETS = { claimAttemptsPerJob: 2, scaleDispatchRatio: 2, queueListP50Ms: 100, dispatchP50Ms: 50, runOverheadRatio: 2, fanoutP99Ratio: 2, browserP95Ms: 1000, firstCheckoutRatio: 1.2, laterCheckoutRatio: 1.5, repositoryTriggerRatio: 2 } as const;
// The repository the issue sets the checkout targets against.
const REPOSITORY_FILES = 5000;
const REPOSITORY_COMMITS = 1000;
// Build output arrives in bursts; a line every 25 ms keeps the agent's 100 ms shipping batches full.
const BROWSER_LINE_INTERVAL_MS = 25;
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
  sections: Section[];
  dispatch?: { oneAgent: DispatchResult; manyAgents: DispatchResult; rawOnePoller: RawQueueResult; rawManyPollers: RawQueueResult };
  runOverhead?: { bellows: BellowsRunsResult; bare: BareRunsResult };
  fanout?: FanoutResult[];
  /** Absent when Chromium is not installed. */
  browser?: BrowserLatencyResult;
  repository?: RepositoryResult;
  scale?: ScaleResult;
  verdict: {
    dispatchP50OneAgentMs?: number;
    dispatchP50ManyAgentsMs?: number;
    dispatchRatioOneAgent?: number;
    dispatchRatioManyAgents?: number;
    runOverheadRatio?: number;
    runOverheadRatioToFinishedAt?: number;
    dispatchTargetMet?: boolean;
    runOverheadTargetMet?: boolean;
    /** Bellows p99 / bare broadcast p99, per number of viewers. */
    fanoutP99Ratios?: Record<string, number>;
    fanoutTargetMet?: boolean;
    browserP95Ms?: number;
    browserTargetMet?: boolean;
    firstCheckoutRatio?: number;
    laterCheckoutRatio?: number;
    repositoryTriggerRatio?: number;
    repositoryTargetsMet?: boolean;
    claimAttemptsPerJob?: number;
    dispatchP50Ms?: number;
    singleAgentP50Ms?: number;
    rssPerIdleAgentBytes?: number;
    queueListP50Ms?: number;
    scaleTargetsMet?: boolean;
  };
};

type Args = { mode: Mode; json: boolean; sections: Section[] };

const USAGE = `usage: npm run bench -- [--quick] [--json] [--only SECTION[,SECTION]]
  --quick  short run (~1 minute)
  --json   print results as JSON instead of the tables
  --only   measure only these: ${SECTIONS.join(', ')} (default: all; browser needs Chromium)
`;

function parseArgs(argv: string[]): Args {
  const args: Args = { mode: 'full', json: false, sections: [...SECTIONS] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') args.mode = 'quick';
    else if (arg === '--json') args.json = true;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
      const wanted = (value ?? '').split(',').filter(Boolean);
      const unknown = wanted.filter((name) => !(SECTIONS as readonly string[]).includes(name));
      if (!wanted.length || unknown.length) throw new Error(`--only takes sections from ${SECTIONS.join(', ')}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}`);
      args.sections = SECTIONS.filter((name) => wanted.includes(name));
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${arg} (try --help)`);
  }
  return args;
}

const progress = (message: string): void => void process.stderr.write(`[bench] ${message}\n`);

type Measured = Pick<BenchResults, 'sizes' | 'sections' | 'dispatch' | 'runOverhead' | 'fanout' | 'browser' | 'repository' | 'scale'>;

async function measure(stack: BenchStack, mode: Mode, sections: Section[], signal: AbortSignal, benchDir: string): Promise<Measured> {
  const sizes = SIZES[mode];
  const project = 'bench';
  await createProject(stack, project);
  const measured: Measured = { sizes, sections };

  // Each Bellows measurement runs right after its baseline, so both see the same machine state.
  if (sections.includes('dispatch')) {
    const dispatchOptions = { project, samples: sizes.dispatchSamples, warmup: sizes.dispatchWarmup, signal, onProgress: progress };
    const rawOptions = { samples: sizes.rawSamples, warmup: sizes.rawWarmup, signal };
    progress('dispatch: raw SKIP LOCKED baseline, 1 poller…');
    const rawOnePoller = await benchRawQueue(stack.databaseUrl, { ...rawOptions, pollers: 1 });
    progress('dispatch: Bellows, 1 idle agent…');
    const oneAgent = await benchDispatch(stack, { ...dispatchOptions, agents: 1 });
    progress(`dispatch: raw SKIP LOCKED baseline, ${MANY_AGENTS} pollers…`);
    const rawManyPollers = await benchRawQueue(stack.databaseUrl, { ...rawOptions, pollers: MANY_AGENTS });
    progress(`dispatch: Bellows, ${MANY_AGENTS} idle agents…`);
    const manyAgents = await benchDispatch(stack, { ...dispatchOptions, agents: MANY_AGENTS });
    measured.dispatch = { oneAgent, manyAgents, rawOnePoller, rawManyPollers };
  }

  if (sections.includes('runs')) {
    const runOptions = { runs: sizes.runs, warmup: sizes.runWarmup, signal, onProgress: progress };
    progress('run overhead: bare Temporal workflow with the same two signals…');
    const bare = await benchBareWorkflow(stack, runOptions);
    progress('run overhead: Bellows one-job runs…');
    const bellows = await benchBellowsRuns(stack, { ...runOptions, project });
    measured.runOverhead = { bellows, bare };
  }

  if (sections.includes('fanout')) {
    progress('log fan-out: bare Socket.IO broadcast vs Bellows, 1/10/100 viewers…');
    measured.fanout = await benchFanout(stack, {
      project,
      viewerCounts: FANOUT_VIEWERS,
      samples: sizes.fanoutSamples,
      warmup: sizes.fanoutWarmup,
      linesPerBatch: FANOUT_LINES_PER_BATCH,
      signal,
      onProgress: progress,
    });
  }

  if (sections.includes('browser')) {
    if (chromiumAvailable()) {
      progress('browser: line printed by a job → visible in the run page (real agent, headless Chromium)…');
      measured.browser = await benchBrowserLatency(stack, { project, lines: sizes.browserLines, intervalMs: BROWSER_LINE_INTERVAL_MS, signal, onProgress: progress });
    } else progress('browser: skipped, Chromium is not installed (apt-get install -y chromium, or set BELLOWS_CHROMIUM)');
  }

  if (sections.includes('repository')) {
    const workDir = path.join(benchDir, 'repository');
    fs.mkdirSync(workDir, { recursive: true });
    measured.repository = await benchRepository(stack, {
      project,
      files: REPOSITORY_FILES,
      commits: REPOSITORY_COMMITS,
      checkoutSamples: sizes.repositoryCheckouts,
      triggerSamples: sizes.repositoryTriggers,
      workDir,
      signal,
      onProgress: progress,
    });
  }

  if (sections.includes('scale')) {
    measured.scale = await benchScale(stack, {
      project,
      agents: sizes.scaleAgents,
      labelSets: sizes.scaleLabelSets,
      triggers: sizes.scaleTriggers,
      singleAgentTriggers: sizes.scaleSingleTriggers,
      queuedJobs: sizes.scaleQueuedJobs,
      queueRequests: sizes.scaleQueueRequests,
      signal,
      onProgress: progress,
    });
  }
  return measured;
}

function verdictOf(results: Measured): BenchResults['verdict'] {
  const { dispatch, runOverhead, fanout, browser, repository, scale } = results;
  const verdict: BenchResults['verdict'] = {};
  if (dispatch) {
    verdict.dispatchP50OneAgentMs = dispatch.oneAgent.latency.p50;
    verdict.dispatchP50ManyAgentsMs = dispatch.manyAgents.latency.p50;
    verdict.dispatchRatioOneAgent = dispatch.oneAgent.latency.p50 / dispatch.rawOnePoller.latency.p50;
    verdict.dispatchRatioManyAgents = dispatch.manyAgents.latency.p50 / dispatch.rawManyPollers.latency.p50;
    verdict.dispatchTargetMet = Math.max(dispatch.oneAgent.latency.p50, dispatch.manyAgents.latency.p50) <= TARGETS.dispatchP50Ms;
  }
  if (runOverhead) {
    verdict.runOverheadRatio = runOverhead.bellows.toResult.p50 / runOverhead.bare.toResult.p50;
    verdict.runOverheadRatioToFinishedAt = runOverhead.bellows.toFinishedAt.p50 / runOverhead.bare.toResult.p50;
    verdict.runOverheadTargetMet = verdict.runOverheadRatio <= TARGETS.runOverheadRatio;
  }
  if (fanout) {
    verdict.fanoutP99Ratios = Object.fromEntries(fanout.map((row) => [String(row.viewers), row.bellows.latency.p99 / row.bare.latency.p99]));
    verdict.fanoutTargetMet = Object.values(verdict.fanoutP99Ratios).every((value) => value <= TARGETS.fanoutP99Ratio);
  }
  if (browser) {
    verdict.browserP95Ms = browser.latency.p95;
    verdict.browserTargetMet = browser.missing === 0 && browser.latency.p95 <= TARGETS.browserP95Ms;
  }
  if (repository) {
    verdict.firstCheckoutRatio = repository.firstCheckout.bellows.p50 / repository.firstCheckout.gitClone.p50;
    verdict.laterCheckoutRatio = repository.laterCheckout.bellows.p50 / repository.laterCheckout.worktreeAdd.p50;
    verdict.repositoryTriggerRatio = repository.triggerToQueued.repository.p50 / repository.triggerToQueued.stored.p50;
    verdict.repositoryTargetsMet =
      verdict.firstCheckoutRatio <= TARGETS.firstCheckoutRatio && verdict.laterCheckoutRatio <= TARGETS.laterCheckoutRatio && verdict.repositoryTriggerRatio <= TARGETS.repositoryTriggerRatio;
  }
  if (scale) {
    verdict.claimAttemptsPerJob = scale.claimAttemptsPerJob;
    verdict.dispatchP50Ms = scale.dispatchP50Ms;
    verdict.singleAgentP50Ms = scale.singleAgentP50Ms;
    verdict.rssPerIdleAgentBytes = scale.rssPerIdleAgentBytes;
    verdict.queueListP50Ms = scale.queueListP50Ms;
    verdict.scaleTargetsMet =
      scale.claimAttemptsPerJob <= TARGETS.claimAttemptsPerJob && scale.dispatchRatio <= TARGETS.scaleDispatchRatio && scale.queueListP50Ms <= TARGETS.queueListP50Ms;
  }
  return verdict;
}

function report(results: BenchResults): string {
  const { machine } = results;
  const head = `Bellows bench (${results.mode}, ${results.durationSeconds.toFixed(0)} s) — ${machine.cpus}× ${machine.cpuModel}, Node ${machine.node}, Postgres ${machine.postgres}, Temporal dev server in memory`;
  const parts = [head];
  if (results.dispatch || results.runOverhead) parts.push(...dispatchAndRunTables(results));
  if (results.fanout) parts.push(fanoutTable(results.fanout));
  if (results.browser) parts.push(browserTable(results.browser));
  if (results.repository) parts.push(repositoryTable(results.repository));
  if (results.scale) parts.push(scaleTable(results.scale));
  const errors = (results.dispatch?.oneAgent.clientErrors ?? 0) + (results.dispatch?.manyAgents.clientErrors ?? 0);
  const footer = errors ? `note: protocol clients retried ${errors} transport error(s) during dispatch sampling.\n` : '';
  return `${parts.join('\n\n')}\n${footer}`;
}

const check = (ok: boolean): string => (ok ? 'ok' : 'MISSED');

function dispatchAndRunTables(results: BenchResults): string[] {
  const { dispatch, runOverhead: run, verdict } = results;
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
  const runRow = (label: string, bare: BareRunsResult, summary: BellowsRunsResult['toResult'], target: boolean): string[] => [
    label,
    String(summary.n),
    ms(summary.p50),
    ms(summary.p95),
    ms(summary.p99),
    `bare workflow (n=${bare.runs})`,
    ms(bare.toResult.p50),
    ms(bare.toResult.p95),
    ratio(summary.p50, bare.toResult.p50),
    target ? `≤ ${TARGETS.runOverheadRatio}× bare: ${check(verdict.runOverheadTargetMet === true)}` : '',
  ];
  const rows: (string | string[])[] = [];
  if (dispatch) {
    rows.push(
      'Dispatch latency: jobs.queued_at → claim response received by an idle long-polling agent',
      dispatchRow('  1 idle agent', dispatch.oneAgent, dispatch.rawOnePoller, `raw SKIP LOCKED, 1 poller (n=${dispatch.rawOnePoller.latency.n})`),
      dispatchRow(`  ${MANY_AGENTS} idle agents`, dispatch.manyAgents, dispatch.rawManyPollers, `raw SKIP LOCKED, ${MANY_AGENTS} pollers (n=${dispatch.rawManyPollers.latency.n})`),
    );
  }
  if (run) {
    rows.push(
      'Run overhead: one-job run, POST …/runs → …   (baseline: client.start → 2 signals → result)',
      runRow('  workflow result seen', run.bare, run.bellows.toResult, true),
      runRow('  runs.finished_at', run.bare, run.bellows.toFinishedAt, false),
    );
  }
  const tables = [renderTable(['Measure', 'n', 'p50', 'p95', 'p99', 'Baseline', 'base p50', 'base p95', 'ratio p50', 'Target'], rows)];
  if (run) {
    tables.push(
      renderTable(
        ['Temporal history events per run', 'min', 'avg', 'max', 'kinds (one run)'],
        [
          ['  Bellows runAttemptWorkflow', String(run.bellows.history.min), run.bellows.history.avg.toFixed(1), String(run.bellows.history.max), kinds(run.bellows.history.byKind)],
          ['  bare workflow', String(run.bare.history.min), run.bare.history.avg.toFixed(1), String(run.bare.history.max), kinds(run.bare.history.byKind)],
        ],
      ),
    );
  }
  const whereRows: string[][] = [];
  if (dispatch) {
    whereRows.push(
      ['  queued_at → claim tx start (NOTIFY delivery, wake, BEGIN)', p50p95(dispatch.oneAgent.queuedToClaimTx), p50p95(dispatch.manyAgents.queuedToClaimTx)],
      ['  claim tx start → body received (claim SQL, jobClaimed signal, secrets, HTTP)', p50p95(dispatch.oneAgent.claimTxToReceived), p50p95(dispatch.manyAgents.claimTxToReceived)],
      ['    of which claim tx start → jobClaimed in history (claim SQL, commit, signal RPC)', p50p95(dispatch.oneAgent.claimTxToSignaled), p50p95(dispatch.manyAgents.claimTxToSignaled)],
      ['    of which jobClaimed in history → body received (RPC reply, secrets, HTTP)', p50p95(dispatch.oneAgent.signaledToReceived), p50p95(dispatch.manyAgents.signaledToReceived)],
      ['  (context) POST …/runs → queued_at (workflow start, createJobs)', p50p95(dispatch.oneAgent.triggerToQueued), p50p95(dispatch.manyAgents.triggerToQueued)],
    );
  }
  if (run) {
    whereRows.push(
      ['  run: POST …/runs → WorkflowExecutionStarted', p50p95(run.bellows.toWorkflowStarted), ''],
      ...Object.entries(run.bellows.activities).sort(([a], [b]) => a.localeCompare(b)).map(([name, summary]) => [`  run: activity ${name}`, p50p95(summary), '']),
      ['  run: POST …/runs → claimed by the polling client', p50p95(run.bellows.toClaimed), ''],
      ['  run: finish response → runs.finished_at (signal, WFT, finalizeAttempt)', p50p95(run.bellows.finishToFinishedAt), ''],
    );
  }
  tables.push(renderTable(['Where time goes (p50 / p95)', '1 agent', `${MANY_AGENTS} agents`], whereRows));
  return tables;
}

function fanoutTable(fanout: FanoutResult[]): string {
  const fanoutRow = (row: FanoutResult, transport: 'stream' | 'http'): string[] => {
    const side = transport === 'stream' ? row.bellows : row.bellowsHttp;
    return [
      `  ${row.viewers} viewer${row.viewers === 1 ? '' : 's'}${transport === 'stream' ? '' : ', HTTP fallback'}`,
      String(side.latency.n),
      ms(side.latency.p50),
      ms(side.latency.p95),
      ms(side.latency.p99),
      ms(row.bare.latency.p50),
      ms(row.bare.latency.p99),
      ratio(side.latency.p99, row.bare.latency.p99),
      transport === 'stream' ? ms(row.bellowsStored.p50) : '',
      ms(side.perSampleLast.p99),
      transport === 'stream' ? `p99 ≤ ${TARGETS.fanoutP99Ratio}× bare: ${check(side.latency.p99 <= TARGETS.fanoutP99Ratio * row.bare.latency.p99)}` : '(context)',
    ];
  };
  const bytes = fanout[0]?.bytesPerBatch ?? 0;
  return renderTable(
    ['Log fan-out', 'n', 'p50', 'p95', 'p99', 'bare p50', 'bare p99', 'ratio p99', 'stored p50', 'last viewer p99', 'Target'],
    [
      `Agent sends a ${FANOUT_LINES_PER_BATCH}-line batch (${bytes} B) over its log stream → log.chunks at each Socket.IO viewer of job:<id>   (baseline: bare Socket.IO server, writer socket → room broadcast, same payload; stored = batch acknowledged)`,
      ...fanout.flatMap((row) => [fanoutRow(row, 'stream'), fanoutRow(row, 'http')]),
    ],
  );
}

function browserTable(browser: BrowserLatencyResult): string {
  const ok = browser.missing === 0 && browser.latency.p95 <= TARGETS.browserP95Ms;
  return renderTable(
    ['Line visible in the browser', 'n', 'p50', 'p95', 'p99', 'max', 'missing', 'Target'],
    [
      `A job's script prints a timestamped line every ${BROWSER_LINE_INTERVAL_MS} ms → the line appears in the run page's log viewer (real agent, API, Socket.IO, React; headless Chromium)`,
      [
        '  printed → visible',
        String(browser.latency.n),
        ms(browser.latency.p50),
        ms(browser.latency.p95),
        ms(browser.latency.p99),
        ms(browser.latency.max),
        String(browser.missing),
        `p95 ≤ ${TARGETS.browserP95Ms} ms, none missing: ${check(ok)}`,
      ],
    ],
  );
}

function repositoryTable(repository: RepositoryResult): string {
  const row = (label: string, bellows: RepositoryResult['firstCheckout']['bellows'], base: RepositoryResult['firstCheckout']['bellows'], baseline: string, target: number): string[] => [
    label,
    String(bellows.n),
    ms(bellows.p50),
    ms(bellows.p95),
    baseline,
    ms(base.p50),
    ms(base.p95),
    ratio(bellows.p50, base.p50),
    `≤ ${target}×: ${check(bellows.p50 <= target * base.p50)}`,
  ];
  return renderTable(
    ['Repository pipelines', 'n', 'p50', 'p95', 'Baseline', 'base p50', 'base p95', 'ratio p50', 'Target'],
    [
      `A generated repository of ${repository.files} files and ${repository.commits} commits, over file://`,
      row('  agent: first checkout (mirror + clone --shared)', repository.firstCheckout.bellows, repository.firstCheckout.gitClone, 'git clone', TARGETS.firstCheckoutRatio),
      row('  agent: later checkout, same agent', repository.laterCheckout.bellows, repository.laterCheckout.worktreeAdd, 'git worktree add (warm mirror)', TARGETS.laterCheckoutRatio),
      row('  POST …/runs → job queued', repository.triggerToQueued.repository, repository.triggerToQueued.stored, 'stored pipeline', TARGETS.repositoryTriggerRatio),
    ],
  );
}

function scaleTable(scale: ScaleResult): string {
  const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
  return renderTable(
    ['Scale: one API instance', 'n', 'p50', 'p95', 'Baseline', 'base p50', 'ratio', 'Target'],
    [
      `${scale.agents} idle agents in ${scale.labelSets} label sets (protocol clients), ${scale.triggers} one-job runs triggered one at a time, each matching one set`,
      ['  claim attempts per job (after a wakeup)', String(scale.triggers), scale.claimAttemptsPerJob.toFixed(2), '', `all statements: ${scale.claimAttemptsPerJobAll.toFixed(2)}/job`, '', '', `≤ ${TARGETS.claimAttemptsPerJob}: ${check(scale.claimAttemptsPerJob <= TARGETS.claimAttemptsPerJob)}`],
      ['  POST …/runs → claim received', String(scale.dispatch.n), ms(scale.dispatch.p50), ms(scale.dispatch.p95), `1 idle agent (n=${scale.singleAgent.n})`, ms(scale.singleAgent.p50), ratio(scale.dispatch.p50, scale.singleAgent.p50), `≤ ${TARGETS.scaleDispatchRatio}×: ${check(scale.dispatchRatio <= TARGETS.scaleDispatchRatio)}`],
      ['  API RSS per idle agent', String(scale.agents), kib(scale.rssPerIdleAgentBytes), '', `RSS ${kib(scale.rssBeforeBytes)} → ${kib(scale.rssWithPollsBytes)}`, '', '', '(context)'],
      [`  GET /api/v1/queue, ${scale.queuedJobs} queued (${scale.queuePageEntries} on the page)`, String(scale.queueList.n), ms(scale.queueList.p50), ms(scale.queueList.p95), '', '', '', `p50 ≤ ${TARGETS.queueListP50Ms} ms: ${check(scale.queueListP50Ms <= TARGETS.queueListP50Ms)}`],
    ],
  );
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
    const measured = await measure(stack, args.mode, args.sections, controller.signal, benchDir);
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
