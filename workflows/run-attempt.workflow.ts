import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  patched,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { RunActivities } from '../activities';
import {
  cancelSignal,
  concurrencySlotSignal,
  jobClaimedSignal,
  jobFinishedSignal,
  jobLostSignal,
  jobsQuery,
  type AttemptStatus,
  type ClaimOwner,
  type JobClaimed,
  type JobFinished,
  type JobLost,
  type JobStatus,
  type RunAttemptInput,
  type RunAttemptResult,
  type SlotGroup,
  type SlotState,
  type TrackedJob,
  workflowIdFor,
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
  // The pipeline's concurrency group: no job of the attempt is queued before this holds a slot.
  let runSlot: { group: SlotGroup; state: SlotState } | null = input.carried?.runSlot ?? null;
  let cancelReason = input.carried?.cancelReason;
  // Ask Postgres about waiting slots: at start, on a release's signal, and at each reconcile (a lost signal's backstop).
  let slotNews = true;

  setHandler(jobClaimedSignal, (e) => void events.push({ type: 'claimed', ...e }));
  setHandler(jobFinishedSignal, (e) => void events.push({ type: 'finished', ...e }));
  setHandler(jobLostSignal, (e) => void events.push({ type: 'lost', ...e }));
  setHandler(cancelSignal, () => void (cancelRequested = true));
  setHandler(concurrencySlotSignal, () => void (slotNews = true));
  setHandler(jobsQuery, () => jobs);

  const { runId, attempt } = input;
  if (!input.carried) {
    const created = await activities.createJobs({ runId, attempt, failedOnly: input.failedOnly });
    jobs = created.jobs.map((job) => ({ ...job, deadline: null }));
    // Cancelled before this workflow started: the jobs were created cancelled already.
    cancelRequested ||= created.cancelRequested;
    cancelHandled ||= created.cancelRequested;
    // Absent in histories recorded before concurrency groups.
    if (created.concurrency) runSlot = { group: created.concurrency, state: 'pending' };
  }
  const byId = () => new Map(jobs.map((job) => [job.id, job]));
  let nextReconcile = Date.now() + input.reconcileSeconds * 1000;

  for (;;) {
    if (cancelRequested && !cancelHandled) {
      cancelHandled = true;
      apply(await activities.cancelAttempt(cancelReason ? { runId, attempt, reason: cancelReason } : { runId, attempt }));
      cancelDeadline = Date.now() + input.cancelGraceSeconds * 1000;
    }
    const recheckSlots = slotNews;
    slotNews = false;
    if (!cancelRequested && runSlot && runSlot.state !== 'holding' && (runSlot.state === 'pending' || recheckSlots)) await acquireRunSlot();
    if (!cancelRequested && (!runSlot || runSlot.state === 'holding')) await releaseReadyJobs(recheckSlots);
    await releaseEndedJobSlots();
    if (jobs.every((job) => TERMINAL.has(job.status))) break;

    const wakeAt = Math.min(nextReconcile, cancelDeadline ?? Infinity, ...jobs.map((job) => Math.min(job.deadline ?? Infinity, job.retryAt ?? Infinity)));
    const woken = await condition(() => events.length > 0 || (cancelRequested && !cancelHandled) || slotNews, Math.max(wakeAt - Date.now(), 1));

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
      if (runSlot?.state === 'waiting' || jobs.some((job) => job.slot === 'waiting')) slotNews = true;
      if (workflowInfo().continueAsNewSuggested) {
        await condition(allHandlersFinished);
        const carried = { jobs, cancelRequested, cancelDeadline, ...(runSlot ? { runSlot } : {}), ...(cancelReason ? { cancelReason } : {}) };
        return continueAsNew<typeof runAttemptWorkflow>({ ...input, carried });
      }
    }
  }

  const status = outcome();
  await activities.finalizeAttempt({ runId, attempt, status });
  // Every slot the attempt holds or waits for goes back, and whoever is next in line is told.
  if (runSlot || jobs.some((job) => job.concurrency)) {
    if (patched('concurrency-groups')) await tellPromoted(await activities.releaseConcurrency({ runId, attempt }));
  }
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

  /** The run's slot: wait in line for it, or (onConflict) supersede whoever holds it, or end skipped. */
  async function acquireRunSlot(): Promise<void> {
    if (!runSlot || !patched('concurrency-groups')) return;
    const result = await activities.acquireConcurrency({ owner: { runId, attempt, jobId: null }, group: runSlot.group });
    if (result.kind === 'skipped') return skipRun();
    runSlot.state = result.kind;
    await Promise.all([tellPromoted(result.promoted), supersede(result.superseded)]);
  }

  /** Its group full and onConflict skip: the run ends cancelled (reason concurrency_skipped) without running anything. */
  function skipRun(): void {
    cancelRequested = true;
    cancelReason = 'concurrency_skipped';
  }

  /** Jobs holding (or in line for) a slot of their own group give it back once they end. */
  async function releaseEndedJobSlots(): Promise<void> {
    for (const job of jobs) {
      if ((job.slot === 'holding' || job.slot === 'waiting') && TERMINAL.has(job.status) && patched('concurrency-groups')) {
        job.slot = 'released';
        await tellPromoted(await activities.releaseConcurrency({ runId, attempt, jobId: job.id }));
      }
    }
  }

  /** Whoever took a freed slot hears it now (this attempt included), rather than at its next reconcile. */
  async function tellPromoted(promoted: ClaimOwner[]): Promise<void> {
    const others = new Set<string>();
    for (const owner of promoted) {
      if (owner.runId === runId && owner.attempt === attempt) slotNews = true;
      else others.add(workflowIdFor(owner.runId, owner.attempt));
    }
    // An attempt that ended meanwhile cannot be signalled, and needs nothing.
    await Promise.all([...others].map((workflowId) => getExternalWorkflowHandle(workflowId).signal(concurrencySlotSignal).catch(() => undefined)));
  }

  /** Attempts a cancel_in_progress arrival superseded: already cancelled in Postgres, their workflows stop their running jobs. */
  async function supersede(victims: { runId: number; attempt: number }[]): Promise<void> {
    const by = `superseded by run ${runId}`;
    await Promise.all(victims.map((victim) => getExternalWorkflowHandle(workflowIdFor(victim.runId, victim.attempt)).signal(cancelSignal, { by }).catch(() => undefined)));
  }

  async function releaseReadyJobs(recheckSlots = false): Promise<void> {
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
    const runnable: number[] = [];
    for (const id of ready.filter((readyId) => !gates.includes(readyId))) {
      const job = byId().get(id);
      if (job?.concurrency && job.slot !== 'holding' && !(await acquireJobSlot(job, recheckSlots))) continue;
      runnable.push(id);
    }
    // A job found its group full under onConflict skip: the run is cancelled, nothing more is queued.
    if (cancelReason === 'concurrency_skipped') return;
    if (runnable.length) apply(await activities.enqueueJobs({ jobIds: runnable }));
    // Skipping can unblock nothing, but it can cascade: settle the whole chain now.
    if (blocked.length) await releaseReadyJobs(recheckSlots);
  }

  /** A ready job's own slot: true once it holds one. A waiting job asks again only when there is news. */
  async function acquireJobSlot(job: TrackedJob, recheck: boolean): Promise<boolean> {
    if (!job.concurrency || !patched('concurrency-groups')) return true;
    if (job.slot === 'waiting' && !recheck) return false;
    const result = await activities.acquireConcurrency({ owner: { runId, attempt, jobId: job.id }, group: job.concurrency });
    if (result.kind === 'skipped') {
      skipRun();
      return false;
    }
    job.slot = result.kind;
    await Promise.all([tellPromoted(result.promoted), supersede(result.superseded)]);
    return result.kind === 'holding';
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
