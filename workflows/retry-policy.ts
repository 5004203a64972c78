// A job's automatic-retry policy and the one decision the run-attempt workflow takes from it.
// Pure and import-free: the workflow sandbox runs it, and so do the unit tests.

/** Server-side reasons a try can fail for, besides its own exit code. */
export const RETRY_REASONS = ['agent_lost', 'timeout'] as const;
export type RetryReason = (typeof RETRY_REASONS)[number];

/** Buildkite's `automatic` retry and GitLab's `retry: when:`, in one shape (docs/pipelines.md, "Retries"). */
export type RetryPolicy = {
  /** Exit codes that retry; absent (with `reasons` absent too) means any failure does. */
  exitCodes?: number[];
  reasons?: RetryReason[];
  /** Tries in all, the first included. */
  maxTries: number;
  /** Pause between a failed try and the next (a durable timer); 0 when absent. */
  backoffSeconds?: number;
};

export type TryFailure = { reason: 'exit_code'; exitCode: number | null } | { reason: RetryReason };

export type RetryDecision = { kind: 'retry'; backoffMs: number; nextTry: number } | { kind: 'give_up'; why: 'no_policy' | 'not_matched' | 'tries_exhausted' };

export function retryDecision(policy: RetryPolicy | null | undefined, failure: TryFailure, tryNumber: number): RetryDecision {
  if (!policy) return { kind: 'give_up', why: 'no_policy' };
  if (!matches(policy, failure)) return { kind: 'give_up', why: 'not_matched' };
  if (tryNumber >= policy.maxTries) return { kind: 'give_up', why: 'tries_exhausted' };
  return { kind: 'retry', backoffMs: (policy.backoffSeconds ?? 0) * 1000, nextTry: tryNumber + 1 };
}

function matches(policy: RetryPolicy, failure: TryFailure): boolean {
  const { exitCodes, reasons } = policy;
  // No filter at all: every failure is worth another try, as with Buildkite's `exit_status: "*"`.
  if (exitCodes === undefined && reasons === undefined) return true;
  if (failure.reason === 'exit_code') return failure.exitCode !== null && (exitCodes ?? []).includes(failure.exitCode);
  return (reasons ?? []).includes(failure.reason);
}
