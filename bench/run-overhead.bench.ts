import crypto from 'node:crypto';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { BenchStack } from './bench-stack';
import { deferred, putPipeline, triggerRun, waitRunFinished, within, type Deferred } from './bench-utils';
import { bareClaimedSignal, bareFinishedSignal, bareRunWorkflow } from './bare.workflow';
import { registerClients, startClaimPool } from './protocol-client';
import { activityDurations, fetchEvents, firstEventTimeMs, historyStats, summarizeActivities, type HistoryEvent, type HistoryStats } from './history-timing';
import { summarize, wallClockMs, type Summary } from './stats';

// Run overhead: what Bellows adds around a job that does nothing, against a bare Temporal workflow
// that receives the same two signals. The job "runs" in an in-process client, so the difference is
// orchestration: REST, Postgres writes, activities, signals and workflow tasks.

export type BellowsRunsResult = {
  runs: number;
  /** POST …/runs sent → runs.finished_at (finalizeAttempt's transaction). */
  toFinishedAt: Summary;
  /** POST …/runs sent → workflow result observed by a Temporal client (comparable with the bare workflow). */
  toResult: Summary;
  /** POST …/runs sent → claim response received by the (already polling) client. */
  toClaimed: Summary;
  /** POST …/runs sent → WorkflowExecutionStarted recorded (the API's part of triggering). */
  toWorkflowStarted: Summary;
  /** Finish response received → runs.finished_at: signal, workflow task, finalizeAttempt activity. */
  finishToFinishedAt: Summary;
  /** Activity name → scheduled → completed, from the histories. */
  activities: Record<string, Summary>;
  history: HistoryStats;
};

export type BareRunsResult = { runs: number; toResult: Summary; history: HistoryStats };

export type RunOverheadOptions = { project: string; runs: number; warmup: number; signal: AbortSignal; onProgress: (message: string) => void };

export async function benchBellowsRuns(stack: BenchStack, options: RunOverheadOptions): Promise<BellowsRunsResult> {
  const { signal } = options;
  const pipeline = 'overhead';
  const labels = ['pool=overhead'];
  await putPipeline(stack, options.project, pipeline, labels);
  const [client] = await registerClients(stack, 'bench-overhead', 1, labels);

  type Done = { receivedAt: number; finishedAt: number };
  let waiting: Deferred<Done> | null = null;
  const pool = startClaimPool([client], async (claimer, claimed, receivedAt) => {
    await claimer.start(claimed.job.id);
    await claimer.finish(claimed.job.id);
    waiting?.resolve({ receivedAt, finishedAt: wallClockMs() });
  });

  const toFinishedAt: number[] = [];
  const toResult: number[] = [];
  const toClaimed: number[] = [];
  const finishToFinishedAt: number[] = [];
  const toWorkflowStarted: number[] = [];
  const activities: Record<string, number[]>[] = [];
  const histories: HistoryEvent[][] = [];
  try {
    for (let i = 0; i < options.warmup + options.runs; i++) {
      await within(pool.idle(), 15_000, 'the client to park', signal);
      waiting = deferred<Done>();
      const triggeredAt = wallClockMs();
      const runId = await triggerRun(stack, options.project, pipeline);
      const workflowId = `run-${runId}-attempt-1`;
      // Wait on the workflow's result like the bare baseline does (a long poll, no load on the API).
      await within(stack.temporal.workflow.getHandle(workflowId).result(), 30_000, `workflow ${workflowId}`, signal);
      const resultAt = wallClockMs();
      const done = await within(waiting.promise, 30_000, `the client to finish run ${runId}`, signal);
      waiting = null;
      await waitRunFinished(stack, runId, signal);
      if (i < options.warmup) continue;
      const [row] = await stack.sql<{ finishedMs: number }[]>`
        select (extract(epoch from finished_at) * 1000)::float8 as "finishedMs" from runs where id = ${runId}`;
      toFinishedAt.push(row.finishedMs - triggeredAt);
      toResult.push(resultAt - triggeredAt);
      toClaimed.push(done.receivedAt - triggeredAt);
      finishToFinishedAt.push(row.finishedMs - done.finishedAt);
      const events = await fetchEvents(stack.temporal, workflowId);
      histories.push(events);
      toWorkflowStarted.push((firstEventTimeMs(events, 'workflowExecutionStarted') ?? Number.NaN) - triggeredAt);
      activities.push(activityDurations(events));
      if (toResult.length % 10 === 0) options.onProgress(`  bellows runs: ${toResult.length}/${options.runs}`);
    }
  } finally {
    await pool.stop();
  }
  return {
    runs: toResult.length,
    toFinishedAt: summarize(toFinishedAt),
    toResult: summarize(toResult),
    toClaimed: summarize(toClaimed),
    toWorkflowStarted: summarize(toWorkflowStarted),
    finishToFinishedAt: summarize(finishToFinishedAt),
    activities: summarizeActivities(activities),
    history: historyStats(histories),
  };
}

let runtimeInstalled = false;

/** The Worker SDK would otherwise take over SIGINT/SIGTERM; main.ts owns shutdown order. */
function installRuntime(): void {
  if (runtimeInstalled) return;
  Runtime.install({ shutdownSignals: [], logger: new DefaultLogger('ERROR') });
  runtimeInstalled = true;
}

export async function benchBareWorkflow(stack: BenchStack, options: Omit<RunOverheadOptions, 'project'>): Promise<BareRunsResult> {
  const { signal } = options;
  installRuntime();
  const taskQueue = `bench-bare-${crypto.randomBytes(3).toString('hex')}`;
  const connection = await NativeConnection.connect({ address: stack.temporalAddress });
  try {
    options.onProgress('  bundling the bare workflow…');
    const worker = await Worker.create({
      connection,
      namespace: stack.namespace,
      taskQueue,
      workflowsPath: require.resolve('./bare.workflow'),
    });
    const toResult: number[] = [];
    const histories: HistoryEvent[][] = [];
    const measure = async (): Promise<void> => {
      for (let i = 0; i < options.warmup + options.runs; i++) {
        signal.throwIfAborted();
        const workflowId = `bare-${taskQueue}-${i}`;
        const startedAt = wallClockMs();
        const handle = await stack.temporal.workflow.start(bareRunWorkflow, { taskQueue, workflowId });
        await handle.signal(bareClaimedSignal, { jobId: i, try: 1, agentId: 'bench' });
        await handle.signal(bareFinishedSignal, { jobId: i, try: 1, status: 'succeeded', exitCode: 0 });
        await within(handle.result(), 30_000, `workflow ${workflowId}`, signal);
        const resultAt = wallClockMs();
        if (i < options.warmup) continue;
        toResult.push(resultAt - startedAt);
        histories.push(await fetchEvents(stack.temporal, workflowId));
      }
    };
    // runUntil shuts the worker down when measuring ends, also when it throws (Ctrl-C included).
    await worker.runUntil(measure());
    return { runs: toResult.length, toResult: summarize(toResult), history: historyStats(histories) };
  } finally {
    await connection.close();
  }
}
