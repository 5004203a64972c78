// Every message a run-attempt workflow understands, shared by the workflow, the worker and the API.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { RetryPolicy } from './retry-policy';

export type TerminalJobStatus = 'succeeded' | 'failed' | 'cancelled' | 'skipped';
export type JobStatus = 'waiting' | 'queued' | 'running' | 'awaiting_approval' | TerminalJobStatus;
export type AttemptStatus = 'succeeded' | 'failed' | 'cancelled';

export type TrackedJob = {
  id: number;
  key: string;
  /** Absent in histories recorded before approval jobs (patch 'approval-jobs'). */
  kind?: 'act' | 'script' | 'approval';
  needs: string[];
  status: JobStatus;
  try: number;
  timeoutMinutes: number;
  /** Workflow-clock deadline (ms) of the running try. */
  deadline: number | null;
  /** Absent in histories recorded before automatic retries (patch 'job-retries'). */
  retry?: RetryPolicy | null;
  /** Workflow-clock time (ms) a job waiting out a retry backoff is queued again. */
  retryAt?: number | null;
  /** The job's own concurrency group; absent in histories recorded before them (patch 'concurrency-groups'). */
  concurrency?: SlotGroup | null;
  /** Where the job stands with its group's slot. */
  slot?: SlotState;
};

/** A concurrency group resolved for one run (the contract's ResolvedConcurrency, which must agree). */
export type SlotGroup = { group: string; limit: number; onConflict: 'queue' | 'cancel_in_progress' | 'skip' };
/** pending: not asked for yet; released: given back. */
export type SlotState = 'pending' | 'waiting' | 'holding' | 'released';
/** Who a concurrency claim is for: a whole run attempt (jobId null) or one job of it. */
export type ClaimOwner = { runId: number; attempt: number; jobId: number | null };

export type RunAttemptInput = {
  runId: number;
  attempt: number;
  failedOnly: boolean;
  maxTries: number;
  reconcileSeconds: number;
  cancelGraceSeconds: number;
  /** Carried across continue-as-new. */
  carried?: {
    jobs: TrackedJob[];
    cancelRequested: boolean;
    cancelDeadline: number | null;
    /** The attempt's slot of its pipeline's concurrency group, when it declares one. */
    runSlot?: { group: SlotGroup; state: SlotState } | null;
    cancelReason?: 'superseded' | 'concurrency_skipped';
  };
};

export type RunAttemptResult = { status: AttemptStatus; jobs: { id: number; key: string; status: JobStatus; try: number }[] };

export type JobClaimed = { jobId: number; try: number; agentId: string };
export type JobFinished = { jobId: number; try: number; status: TerminalJobStatus; exitCode: number | null };
export type JobLost = { jobId: number; try: number };
export type CancelRequest = { by: string };

export const jobClaimedSignal = defineSignal<[JobClaimed]>('jobClaimed');
export const jobFinishedSignal = defineSignal<[JobFinished]>('jobFinished');
export const jobLostSignal = defineSignal<[JobLost]>('jobLost');
export const cancelSignal = defineSignal<[CancelRequest]>('cancel');
/** "A concurrency slot may be yours now": the workflow asks Postgres again (the claim rows decide). */
export const concurrencySlotSignal = defineSignal('concurrencySlot');
export const jobsQuery = defineQuery<TrackedJob[]>('jobs');

export const workflowIdFor = (runId: number, attempt: number): string => `run-${runId}-attempt-${attempt}`;

/** A Temporal Schedule's action: start one run of the Bellows schedule and wait for it (so overlap policies mean something). */
export type ScheduledRunInput = {
  scheduleId: string;
  /** Carried across continue-as-new once the run exists. */
  runId?: number;
};
export type ScheduledRunResult = { runId: number | null; status: 'succeeded' | 'failed' | 'cancelled' | 'schedule_gone' };

/** The Temporal Schedule of a Bellows schedule: same id, prefixed, so the Temporal UI shows which one it is. */
export const temporalScheduleIdFor = (scheduleId: string): string => `schedule-${scheduleId}`;
