import type { ResolvedConcurrency } from '../contract/concurrency.contract';
import { isTerminalJob } from '../contract/jobs.contract';
import { resolveConcurrency, type ClaimOwner } from '../src/concurrency/concurrency-policy';
import type { AcquireResult, ConcurrencyRepository } from '../src/concurrency/concurrency.repository';
import type { CancelReason, JobsRepository, JobState } from '../src/jobs/jobs.repository';
import type { LivePublisher } from '../src/live/live-publisher';
import { expandJobs, type JobSpec } from '../src/pipelines/pipeline-spec';
import type { PipelinesRepository } from '../src/pipelines/pipelines.repository';
import { jobsToRerun, type RerunMode } from '../src/runs/rerun-selection';
import type { AttemptStatus, TerminalJobStatus } from '../workflows/messages';
import type { RetryReason } from '../workflows/retry-policy';

/** `live` announces each change to viewers (after the write committed; never failing the activity). */
export type RunActivityDeps = { jobs: JobsRepository; pipelines: PipelinesRepository; concurrency: ConcurrencyRepository; maxTries: number; live?: LivePublisher };

// Activities run at least once: every one of them is a keyed or conditional write, so a retry
// after a crash lands on the same rows and changes nothing twice.
export function createRunActivities({ jobs, pipelines, concurrency, maxTries, live }: RunActivityDeps) {
  // Announced unconditionally: a retried activity re-announces the same state, which viewers take as a no-op.
  const announce = (states: JobState[], queue?: 'queued' | 'requeued' | 'cancelled' | 'held'): JobState[] => {
    live?.jobsChanged(states.map((state) => state.id));
    if (queue && (queue === 'cancelled' || queue === 'held' || states.some((state) => state.status === 'queued'))) live?.queueChanged(queue);
    return states;
  };
  return {
    /** `concurrency`: the pipeline's group for this run, which the workflow takes a slot of before any job is queued. */
    async createJobs(input: { runId: number; attempt: number; failedOnly: boolean }): Promise<{ jobs: JobState[]; cancelRequested: boolean; concurrency: ResolvedConcurrency | null }> {
      const context = await jobs.attemptContext(input.runId, input.attempt);
      if (!context) throw new Error(`run ${input.runId} attempt ${input.attempt} does not exist`);
      const version = await pipelines.findVersionById(context.pipelineId, context.pipelineVersion);
      if (!version) throw new Error(`pipeline version ${context.pipelineVersion} of run ${input.runId} is gone`);
      // A repository pipeline runs the content its run read at its commit, on every attempt.
      const definition = context.pipelineContent === null ? version : { ...version, content: context.pipelineContent };
      const specs = expandJobs(definition, context.pipelineName);
      // The attempt's row says which jobs it re-runs (a chosen-jobs re-run); the workflow input only knew failedOnly.
      const mode: RerunMode = context.rerunJobs !== null ? { kind: 'jobs', keys: context.rerunJobs } : input.failedOnly ? { kind: 'failedOnly' } : { kind: 'all' };
      const carried = mode.kind !== 'all' && input.attempt > 1 ? await carryOver(jobs, input.runId, input.attempt - 1, specs, mode) : new Map<string, CarriedJob>();
      const groupContext = { ref: context.ref, pipeline: context.pipelineName, inputs: context.inputs };
      const runConcurrency = version.concurrency ? resolveConcurrency(version.concurrency, groupContext) : null;
      const created = await jobs.createForAttempt(
        input.runId,
        input.attempt,
        specs.map((spec) => ({
          ...spec,
          carriedFromJobId: carried.get(spec.key)?.id ?? null,
          carriedStatus: carried.get(spec.key)?.status,
          concurrency: spec.concurrency ? resolveConcurrency(spec.concurrency, { ...groupContext, matrix: spec.matrix }) : null,
        })),
        { maxTries, cancelled: context.cancelRequested, runConcurrency },
      );
      announce(created, 'queued');
      if (runConcurrency || created.some((job) => job.concurrency)) live?.queueChanged('held');
      return { jobs: created, cancelRequested: context.cancelRequested, concurrency: runConcurrency };
    },

    /**
     * A slot of `group` for the attempt (jobId null) or one of its jobs. While the claim waits, the jobs
     * it holds back say so (reason `concurrency`); superseded attempts were cancelled in the same transaction.
     */
    acquireConcurrency: async ({ owner, group }: { owner: ClaimOwner; group: ResolvedConcurrency }): Promise<AcquireResult> => {
      const result = await concurrency.acquire(owner, group);
      if (result.kind !== 'skipped') {
        for (const victim of result.superseded) {
          live?.attemptJobsChanged(victim.runId, victim.attempt);
          live?.runChanged(victim.runId);
        }
        if (result.superseded.length) live?.queueChanged('cancelled');
      }
      // Its run page shows where it stands in line: a jobs event makes viewers read the run again.
      live?.attemptJobsChanged(owner.runId, owner.attempt);
      live?.queueChanged('held');
      return result;
    },
    /** Gives back the attempt's slots (all of them, or one job's); answers who took the freed slots. */
    releaseConcurrency: async ({ runId, attempt, jobId }: { runId: number; attempt: number; jobId?: number }): Promise<ClaimOwner[]> => {
      const promoted = await concurrency.release(runId, attempt, jobId);
      for (const owner of promoted) live?.attemptJobsChanged(owner.runId, owner.attempt);
      if (promoted.length) live?.queueChanged('held');
      return promoted;
    },

    enqueueJobs: async ({ jobIds }: { jobIds: number[] }) => announce(await jobs.enqueue(jobIds), 'queued'),
    awaitApproval: async ({ jobIds }: { jobIds: number[] }) => announce(await jobs.awaitApproval(jobIds), 'held'),
    expireApproval: async ({ jobId }: { jobId: number }) => {
      await jobs.decideApproval(jobId, { decision: 'timed_out', by: null, comment: null });
      const state = await jobs.jobState(jobId);
      announce([state], 'held');
      return state;
    },
    skipJobs: async ({ jobIds, reason }: { jobIds: number[]; reason: string }) => announce(await jobs.skip(jobIds, reason)),
    requeueLostJob: async ({ jobId, try: tryNumber }: { jobId: number; try: number }) => {
      const state = await jobs.requeueLost(jobId, tryNumber);
      announce([state], 'requeued');
      return state;
    },
    scheduleRetry: async ({ jobId, try: tryNumber, reason, retryAt }: { jobId: number; try: number; reason: 'exit_code' | RetryReason; retryAt: number }) => {
      const state = await jobs.scheduleRetry(jobId, tryNumber, reason, new Date(retryAt));
      announce([state], 'held');
      return state;
    },
    releaseRetry: async ({ jobId }: { jobId: number }) => {
      const state = await jobs.releaseRetry(jobId);
      announce([state], 'requeued');
      return state;
    },
    failRunningJob: async ({ jobId, try: tryNumber, reason }: { jobId: number; try: number; reason: string }) => {
      const state = await jobs.failRunning(jobId, tryNumber, reason);
      announce([state]);
      return state;
    },
    cancelAttempt: async ({ runId, attempt, reason }: { runId: number; attempt: number; reason?: CancelReason }) => announce(await jobs.cancelAttempt(runId, attempt, reason), 'cancelled'),
    forceCancelAttempt: async ({ runId, attempt }: { runId: number; attempt: number }) => announce(await jobs.forceCancelAttempt(runId, attempt)),
    loadJobStates: ({ runId, attempt }: { runId: number; attempt: number }) => jobs.loadStates(runId, attempt),
    finalizeAttempt: async ({ runId, attempt, status }: { runId: number; attempt: number; status: AttemptStatus }) => {
      await jobs.finalizeAttempt(runId, attempt, status);
      live?.runChanged(runId);
    },
  };
}

export type RunActivities = ReturnType<typeof createRunActivities>;

type CarriedJob = { id: number; status: TerminalJobStatus };

/**
 * A partial re-run (failed jobs only, or chosen jobs): those jobs run again, and so does everything
 * that needs them; the rest carry over with the status they ended with, pointing at the job they copy.
 */
async function carryOver(jobs: JobsRepository, runId: number, previousAttempt: number, specs: JobSpec[], mode: RerunMode): Promise<Map<string, CarriedJob>> {
  // An ended attempt's jobs have all ended; one that somehow has not cannot carry over, so it counts as missing and runs.
  const previous = new Map<string, CarriedJob>();
  for (const job of await jobs.previousAttemptJobs(runId, previousAttempt)) {
    if (isTerminalJob(job.status)) previous.set(job.key, { id: job.id, status: job.status });
  }
  const rerun = jobsToRerun(specs, new Map([...previous].map(([key, job]) => [key, job.status])), mode);
  const carried = new Map<string, CarriedJob>();
  for (const spec of specs) {
    const job = previous.get(spec.key);
    if (job && !rerun.has(spec.key)) carried.set(spec.key, job);
  }
  return carried;
}
