import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { RunActivities } from '../activities';
import {
  cancelSignal,
  jobClaimedSignal,
  jobFinishedSignal,
  jobLostSignal,
  jobsQuery,
  type AttemptStatus,
  type JobClaimed,
  type JobFinished,
  type JobLost,
  type JobStatus,
  type RunAttemptInput,
  type RunAttemptResult,
  type TrackedJob,
} from './messages';
import { retryDecision, type TryFailure } from './retry-policy';

// Every activity is one short, keyed Postgres transaction: local activities run them in the
// worker that holds the workflow task, without a task-queue round trip per call (a one-job run
// went from ~45 ms per activity to a few), and they retry until Postgres answers.
const activities = proxyLocalActivities<RunActivities>({
  startToCloseTimeout: '30 seconds',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

type Event = ({ type: 'claimed' } & JobClaimed) | ({ type: 'finished' } & JobFinished) | ({ type: 'lost' } & JobLost);

const TERMINAL: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled', 'skipped']);

/**
 * One execution per run attempt. Postgres holds job state and performs claims; this workflow
 * decides what happens next: which jobs become claimable, when a lost try is queued again,
 * when a job times out, and how the attempt ends. Log lines and heartbeats never come here.
 */
export async function runAttemptWorkflow(input: RunAttemptInput): Promise<RunAttemptResult> {
  const events: Event[] = [];
  let cancelRequested = input.carried?.cancelRequested ?? false;
  let cancelHandled = input.carried?.cancelRequested ?? false;
  let cancelDeadline = input.carried?.cancelDeadline ?? null;
  let jobs: TrackedJob[] = input.carried?.jobs ?? [];

  setHandler(jobClaimedSignal, (e) => void events.push({ type: 'claimed', ...e }));
  setHandler(jobFinishedSignal, (e) => void events.push({ type: 'finished', ...e }));
  setHandler(jobLostSignal, (e) => void events.push({ type: 'lost', ...e }));
  setHandler(cancelSignal, () => void (cancelRequested = true));
  setHandler(jobsQuery, () => jobs);

  const { runId, attempt } = input;
  if (!input.carried) {
    const created = await activities.createJobs({ runId, attempt, failedOnly: input.failedOnly });
    jobs = created.jobs.map((job) => ({ ...job, deadline: null }));
    // Cancelled before this workflow started: the jobs were created cancelled already.
    cancelRequested ||= created.cancelRequested;
    cancelHandled ||= created.cancelRequested;
  }
  const byId = () => new Map(jobs.map((job) => [job.id, job]));
  let nextReconcile = Date.now() + input.reconcileSeconds * 1000;

  for (;;) {
    if (cancelRequested && !cancelHandled) {
      cancelHandled = true;
      apply(await activities.cancelAttempt({ runId, attempt }));
      cancelDeadline = Date.now() + input.cancelGraceSeconds * 1000;
    }
    if (!cancelRequested) await releaseReadyJobs();
    if (jobs.every((job) => TERMINAL.has(job.status))) break;

    const wakeAt = Math.min(nextReconcile, cancelDeadline ?? Infinity, ...jobs.map((job) => Math.min(job.deadline ?? Infinity, job.retryAt ?? Infinity)));
    const woken = await condition(() => events.length > 0 || (cancelRequested && !cancelHandled), Math.max(wakeAt - Date.now(), 1));

    for (const event of events.splice(0)) await handle(event);
    if (woken) continue;

    const now = Date.now();
    for (const job of jobs) {
      // Nobody decided within the approval's timeoutMinutes.
      if (job.status === 'awaiting_approval' && job.deadline !== null && job.deadline <= now) {
        apply([await activities.expireApproval({ jobId: job.id })]);
      }
      if (job.status === 'running' && job.deadline !== null && job.deadline <= now) {
        if (!(await retried(job, { reason: 'timeout' }))) apply([await activities.failRunningJob({ jobId: job.id, try: job.try, reason: 'timeout' })]);
      }
      // The backoff's durable timer fired (this workflow's own clock, so it survives any crash).
      if (job.status === 'waiting' && job.retryAt != null && job.retryAt <= now && !cancelRequested) {
        job.retryAt = null;
        apply([await activities.releaseRetry({ jobId: job.id })]);
      }
    }
    if (cancelDeadline !== null && cancelDeadline <= now) {
      apply(await activities.forceCancelAttempt({ runId, attempt }));
      cancelDeadline = null;
    }
    if (nextReconcile <= now) {
      await reconcile();
      nextReconcile = now + input.reconcileSeconds * 1000;
      if (workflowInfo().continueAsNewSuggested) {
        await condition(allHandlersFinished);
        return continueAsNew<typeof runAttemptWorkflow>({ ...input, carried: { jobs, cancelRequested, cancelDeadline } });
      }
    }
  }

  const status = outcome();
  await activities.finalizeAttempt({ runId, attempt, status });
  await condition(allHandlersFinished);
  return { status, jobs: jobs.map(({ id, key, status, try: tryNumber }) => ({ id, key, status, try: tryNumber })) };

  async function handle(event: Event): Promise<void> {
    const job = byId().get(event.jobId);
    if (!job) return;
    if (event.type === 'claimed') {
      // A claim for an older try than we know of is a stale, redelivered signal.
      if (TERMINAL.has(job.status) || event.try < job.try) return;
      job.status = 'running';
      job.try = event.try;
      job.deadline = Date.now() + job.timeoutMinutes * 60_000;
    } else if (event.type === 'finished') {
      if (TERMINAL.has(job.status) || event.try < job.try) return;
      if (event.status === 'failed' && (await retried(job, { reason: 'exit_code', exitCode: event.exitCode }, event.try))) return;
      job.status = event.status;
      job.try = event.try;
      job.deadline = null;
    } else {
      if (job.status !== 'running' || event.try !== job.try) return;
      await recoverLostTry(job);
    }
  }

  // Policy: a try whose agent vanished is queued again (its logs stay), up to maxTries tries.
  async function recoverLostTry(job: TrackedJob): Promise<void> {
    if (await retried(job, { reason: 'agent_lost' })) return;
    const state =
      job.try < input.maxTries && !cancelRequested
        ? await activities.requeueLostJob({ jobId: job.id, try: job.try })
        : await activities.failRunningJob({ jobId: job.id, try: job.try, reason: cancelRequested ? 'cancelled' : 'agent_lost' });
    apply([state]);
  }

  /**
   * Policy: a failed try its job's `retry` matches becomes a new try after the backoff; the job waits
   * meanwhile (reason retry_backoff) and its dependants with it. False when the try stays failed.
   */
  async function retried(job: TrackedJob, failure: TryFailure, tryNumber = job.try): Promise<boolean> {
    if (!job.retry || cancelRequested) return false;
    const decision = retryDecision(job.retry, failure, tryNumber);
    // Histories from before retries never reach here (their jobs carry no policy); the marker keeps it so.
    if (decision.kind !== 'retry' || !patched('job-retries')) return false;
    const retryAt = Date.now() + decision.backoffMs;
    const state = await activities.scheduleRetry({ jobId: job.id, try: tryNumber, reason: failure.reason, retryAt });
    apply([state]);
    if (state.status !== 'waiting') return TERMINAL.has(state.status);
    job.retryAt = retryAt;
    return true;
  }

  async function releaseReadyJobs(): Promise<void> {
    const statusByKey = new Map(jobs.map((job) => [job.key, job.status]));
    const ready: number[] = [];
    const blocked: number[] = [];
    for (const job of jobs) {
      if (job.status !== 'waiting' || job.retryAt != null) continue;
      const needs = job.needs.map((key) => statusByKey.get(key));
      if (needs.some((s) => s === 'failed' || s === 'cancelled' || s === 'skipped')) blocked.push(job.id);
      else if (needs.every((s) => s === 'succeeded')) ready.push(job.id);
    }
    if (blocked.length) apply(await activities.skipJobs({ jobIds: blocked, reason: 'dependency_failed' }));
    // Approval gates wait for a person, never for an agent (histories from before them have none).
    const gates = ready.filter((id) => byId().get(id)?.kind === 'approval');
    if (gates.length && patched('approval-jobs')) {
      apply(await activities.awaitApproval({ jobIds: gates }));
      for (const id of gates) {
        const gate = byId().get(id);
        if (gate?.status === 'awaiting_approval' && gate.timeoutMinutes > 0) gate.deadline = Date.now() + gate.timeoutMinutes * 60_000;
      }
    }
    const runnable = ready.filter((id) => !gates.includes(id));
    if (runnable.length) apply(await activities.enqueueJobs({ jobIds: runnable }));
    // Skipping can unblock nothing, but it can cascade: settle the whole chain now.
    if (blocked.length) await releaseReadyJobs();
  }

  async function reconcile(): Promise<void> {
    // Backstop for signals lost between a committed claim/finish and the API's signal.
    const states = await activities.loadJobStates({ runId, attempt });
    const map = byId();
    for (const state of states) {
      const job = map.get(state.id);
      if (!job) continue;
      if (state.status === 'running' && (job.status !== 'running' || job.try !== state.try)) {
        await handle({ type: 'claimed', jobId: state.id, try: state.try, agentId: '' });
      } else if (TERMINAL.has(state.status) && !TERMINAL.has(job.status)) {
        if (state.status === 'failed' && state.reason === 'exit_code' && job.retry) {
          // An agent's failing verdict whose signal is late or lost still meets its job's retry policy.
          await handle({ type: 'finished', jobId: state.id, try: state.try, status: 'failed', exitCode: state.exitCode ?? null });
        } else {
          job.status = state.status;
          job.try = state.try;
          job.deadline = null;
        }
      }
      if (state.status === 'running' && state.leaseExpired) await handle({ type: 'lost', jobId: state.id, try: state.try });
    }
  }

  function apply(states: { id: number; status: JobStatus; try: number }[]): void {
    const map = byId();
    for (const state of states) {
      const job = map.get(state.id);
      if (!job) continue;
      job.status = state.status;
      job.try = state.try;
      if (state.status !== 'running' && state.status !== 'awaiting_approval') job.deadline = null;
      if (state.status !== 'waiting') job.retryAt = null;
    }
  }

  function outcome(): AttemptStatus {
    if (jobs.every((job) => job.status === 'succeeded')) return 'succeeded';
    return cancelRequested ? 'cancelled' : 'failed';
  }
}
