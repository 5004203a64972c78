export { formatBytes } from '../../contract/format';

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

/**
 * Milliseconds from start to finish, or to `now` while still running. Computed here rather than read
 * from the API's durationMs, which is frozen at the moment the answer was built.
 */
export function elapsedMs(startedAt: string | null | undefined, finishedAt: string | null | undefined, now: number): number | null {
  if (!startedAt) return null;
  // Clamped: the browser's clock may run slightly behind the server's.
  return Math.max(0, (finishedAt ? new Date(finishedAt).getTime() : now) - new Date(startedAt).getTime());
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return date.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function formatAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const seconds = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

// Job reasons as the server stores them (jobs.repository.ts, run-attempt.workflow.ts).
const REASONS: Record<string, string> = {
  exit_code: 'the command failed',
  dependency_failed: 'not run: a job it needs failed',
  carried_over: 'reused from an earlier attempt',
  timeout: 'timed out',
  agent_lost: 'its agent stopped responding',
  cancelled: 'cancelled on request',
  cancel_timeout: 'force-stopped: it did not stop after cancel',
  retry_backoff: 'retrying after a failed try',
  rejected: 'rejected by an approver',
  approval_timeout: 'nobody decided in time',
  concurrency: 'waiting for a concurrency slot',
  superseded: 'cancelled: a newer run of its concurrency group superseded it',
  concurrency_skipped: 'not run: its concurrency group was full (onConflict skip)',
};

/** A short phrase for a job's reason code; an unknown code is shown as it is. */
export function reasonText(reason: string): string {
  return REASONS[reason] ?? reason;
}
