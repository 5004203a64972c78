// Which long polls a queue notification wakes: pure, so every lost-wakeup case is a unit test
// (test/unit/queue-wakeups.test.ts). The notifier service keeps the waiters; this file decides.

/** A job that became claimable, as the NOTIFY payload names it. */
export type QueuedJobRef = { id: number; labels: string[] };

/** What one NOTIFY on `bellows_queue` says: these jobs were queued, or "look again, all of you". */
export type QueueNotification = { kind: 'jobs'; jobs: QueuedJobRef[] } | { kind: 'all' };

export type WaiterView = { key: number; labels: ReadonlySet<string> };

/** A waiter to wake, and the job it is woken for (it passes that job on should it not claim it). */
export type Wakeup = { key: number; job: QueuedJobRef };

export const QUEUE_CHANNEL = 'bellows_queue';

// Postgres refuses a NOTIFY payload of 8000 bytes or more; a margin for the channel name and framing.
export const MAX_NOTIFY_PAYLOAD_BYTES = 7900;

/**
 * The payload for jobs just queued: `[[id, [label…]], …]`, or '' ("wake every poll") when the
 * jobs are not known or would not fit (a big batch: one claim per waiter then, as before targeting).
 */
export function encodeNotification(jobs: QueuedJobRef[] | undefined): string {
  if (!jobs || jobs.length === 0) return '';
  const payload = JSON.stringify(jobs.map((job) => [job.id, job.labels]));
  return Buffer.byteLength(payload) < MAX_NOTIFY_PAYLOAD_BYTES ? payload : '';
}

/** Anything unreadable (an older or newer instance, a manual NOTIFY) means "wake all": never a lost job. */
export function decodeNotification(payload: string): QueueNotification {
  if (payload === '') return { kind: 'all' };
  try {
    const parsed: unknown = JSON.parse(payload);
    if (!Array.isArray(parsed)) return { kind: 'all' };
    const jobs: QueuedJobRef[] = [];
    for (const entry of parsed) {
      if (!Array.isArray(entry) || entry.length !== 2) return { kind: 'all' };
      const [id, labels] = entry as unknown[];
      if (typeof id !== 'number' || !Array.isArray(labels) || !labels.every((label) => typeof label === 'string')) return { kind: 'all' };
      jobs.push({ id, labels: labels as string[] });
    }
    return jobs.length ? { kind: 'jobs', jobs } : { kind: 'all' };
  } catch {
    return { kind: 'all' };
  }
}

export function canTake(waiter: WaiterView, job: QueuedJobRef): boolean {
  return job.labels.every((label) => waiter.labels.has(label));
}

/**
 * One waiter per job: for each job in order, the longest-waiting waiter (`waiters` is oldest first)
 * whose labels include all of the job's and that no earlier job of this notification took. A job no
 * waiter here can take wakes nobody: a matching agent that starts polling later finds it with the
 * claim at the start of its poll, and another instance wakes its own.
 */
export function pickWakeups(waiters: readonly WaiterView[], jobs: readonly QueuedJobRef[]): Wakeup[] {
  const taken = new Set<number>();
  const wakeups: Wakeup[] = [];
  for (const job of jobs) {
    const waiter = waiters.find((candidate) => !taken.has(candidate.key) && canTake(candidate, job));
    if (!waiter) continue;
    taken.add(waiter.key);
    wakeups.push({ key: waiter.key, job });
  }
  return wakeups;
}

/**
 * After a woken poll's claim: the jobs it was woken for that it still owes to the other waiters.
 * - it claimed one of them: that one is settled, the others are passed on;
 * - it claimed another job (an earlier one its labels also match): all are passed on, since the waiter
 *   the earlier job's own notification woke may not be able to take them;
 * - it claimed nothing: the jobs were taken by someone else (an agent on another instance, a poll that
 *   just started here) — or are locked by a reorder, which wakes every poll when it commits — so none;
 * - it gave up without a claim statement (client gone, shutdown, timeout, error): all are passed on.
 */
export function owedAfterClaim(wokenFor: readonly QueuedJobRef[], outcome: { claimedJobId: number } | 'empty' | 'gave_up'): QueuedJobRef[] {
  if (outcome === 'empty') return [];
  if (outcome === 'gave_up') return [...wokenFor];
  return wokenFor.filter((job) => job.id !== outcome.claimedJobId);
}
