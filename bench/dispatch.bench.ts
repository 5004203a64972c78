import type { BenchStack } from './bench-stack';
import { deferred, putPipeline, triggerRun, waitRunFinished, within, type Deferred } from './bench-utils';
import { fetchEvents, signalTimeMs } from './history-timing';
import { registerClients, startClaimPool, type ClaimedJob } from './protocol-client';
import { summarize, wallClockMs, type Summary } from './stats';

// Idle dispatch latency: one run at a time, every client already parked in a long poll, so each
// sample is "a job appears in an empty queue" — the case where an agent should react at once.

export type DispatchSample = {
  runId: number;
  jobId: number;
  /** jobs.queued_at → claim response body received by the client. */
  latencyMs: number;
  /** jobs.queued_at → start of the claim transaction (job_tries.claimed_at): NOTIFY delivery + waking the long poll. */
  queuedToClaimTxMs: number;
  /** Claim transaction start → body received: the claim SQL, the jobClaimed signal to Temporal, secrets, HTTP. */
  claimTxToReceivedMs: number;
  /** Claim transaction start → jobClaimed recorded in the workflow history: claim SQL + commit + signal RPC. */
  claimTxToSignaledMs: number;
  /** jobClaimed recorded → body received: signal RPC reply, secrets, serialising, HTTP. */
  signaledToReceivedMs: number;
  /** POST …/runs sent → jobs.queued_at: workflow start + createJobs activity (context, not part of dispatch). */
  triggerToQueuedMs: number;
};

export type DispatchResult = {
  agents: number;
  samples: DispatchSample[];
  latency: Summary;
  queuedToClaimTx: Summary;
  claimTxToReceived: Summary;
  claimTxToSignaled: Summary;
  signaledToReceived: Summary;
  triggerToQueued: Summary;
  /** Transport errors the clients retried through (keep-alive races); non-zero means look at the logs. */
  clientErrors: number;
};

export type DispatchOptions = {
  project: string;
  agents: number;
  samples: number;
  warmup: number;
  signal: AbortSignal;
  onProgress: (message: string) => void;
};

type Received = { claimed: ClaimedJob; receivedAt: number; finished: Promise<void> };

export async function benchDispatch(stack: BenchStack, options: DispatchOptions): Promise<DispatchResult> {
  const { agents, signal } = options;
  const pipeline = `dispatch-${agents}`;
  const labels = [`pool=${pipeline}`];
  await putPipeline(stack, options.project, pipeline, labels);
  const clients = await registerClients(stack, `bench-${pipeline}`, agents, labels);

  let waiting: Deferred<Received> | null = null;
  const pool = startClaimPool(clients, async (client, claimed, receivedAt) => {
    const finished = deferred<void>();
    if (waiting) waiting.resolve({ claimed, receivedAt, finished: finished.promise });
    else options.onProgress(`warning: ${client.name} claimed job ${claimed.job.id} nobody was waiting for`);
    try {
      // Run the job like an agent would, so the run ends and the next sample starts from an idle system.
      await client.start(claimed.job.id);
      await client.finish(claimed.job.id);
      finished.resolve();
    } catch (error) {
      finished.reject(error as Error);
      throw error;
    }
  });

  const samples: DispatchSample[] = [];
  try {
    for (let i = 0; i < options.warmup + options.samples; i++) {
      await within(pool.idle(), 15_000, 'the clients to park', signal);
      waiting = deferred<Received>();
      const triggeredAt = wallClockMs();
      const runId = await triggerRun(stack, options.project, pipeline);
      const received = await within(waiting.promise, 30_000, `a client to receive the job of run ${runId}`, signal);
      waiting = null;
      await within(received.finished, 30_000, `job ${received.claimed.job.id} to finish`, signal);
      await waitRunFinished(stack, runId, signal);
      if (i < options.warmup) continue;

      // Epoch milliseconds with the microseconds Postgres keeps (a Date would round them away).
      const [row] = await stack.sql<{ queuedMs: number; claimTxMs: number }[]>`
        select (extract(epoch from j.queued_at) * 1000)::float8 as "queuedMs",
               (extract(epoch from t.claimed_at) * 1000)::float8 as "claimTxMs"
        from jobs j join job_tries t on t.job_id = j.id and t.try = ${received.claimed.job.try}
        where j.id = ${received.claimed.job.id}`;
      if (!row) throw new Error(`job ${received.claimed.job.id} has no try ${received.claimed.job.try} in the database`);
      const signaledMs = signalTimeMs(await fetchEvents(stack.temporal, `run-${runId}-attempt-1`), 'jobClaimed') ?? Number.NaN;
      samples.push({
        runId,
        jobId: received.claimed.job.id,
        latencyMs: received.receivedAt - row.queuedMs,
        queuedToClaimTxMs: row.claimTxMs - row.queuedMs,
        claimTxToReceivedMs: received.receivedAt - row.claimTxMs,
        claimTxToSignaledMs: signaledMs - row.claimTxMs,
        signaledToReceivedMs: received.receivedAt - signaledMs,
        triggerToQueuedMs: row.queuedMs - triggeredAt,
      });
      if (samples.length % 25 === 0) options.onProgress(`  dispatch (${agents} agents): ${samples.length}/${options.samples}`);
    }
  } finally {
    await pool.stop();
  }
  return {
    agents,
    samples,
    latency: summarize(samples.map((s) => s.latencyMs)),
    queuedToClaimTx: summarize(samples.map((s) => s.queuedToClaimTxMs)),
    claimTxToReceived: summarize(samples.map((s) => s.claimTxToReceivedMs)),
    claimTxToSignaled: summarize(samples.map((s) => s.claimTxToSignaledMs)),
    signaledToReceived: summarize(samples.map((s) => s.signaledToReceivedMs)),
    triggerToQueued: summarize(samples.map((s) => s.triggerToQueuedMs)),
    clientErrors: pool.errors.length,
  };
}
