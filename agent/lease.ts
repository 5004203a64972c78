// The agent's view of its running job's lease. The server extends the lease on every busy heartbeat and
// queues the job again once it lapses; an agent that cannot renew it must assume exactly that and stop
// the job, or two agents would run it side by side for as long as the partition lasts.

export type LeaseState = { kind: 'held'; remainingMs: number } | { kind: 'lost'; silentMs: number };

/**
 * Whether the lease renewed at `lastRenewedAt` (epoch ms) still holds at `now`. `lastRenewedAt` must be
 * when the renewing request was *sent* (or a claim's reply arrived): the server wrote its expiry after
 * that moment, so the agent's deadline never falls after the server's.
 */
export function leaseState(lastRenewedAt: number, now: number, leaseSeconds: number): LeaseState {
  const silentMs = Math.max(0, now - lastRenewedAt);
  const remainingMs = leaseSeconds * 1000 - silentMs;
  return remainingMs > 0 ? { kind: 'held', remainingMs } : { kind: 'lost', silentMs };
}

/**
 * A heartbeat's timeout: short enough that one request lost in a dead connection leaves time for the
 * next ones within the lease (a third of it), at most the 10 s used with the default 30 s lease, at
 * least 1 s so a loaded machine's slow answers are not cut off.
 */
export function heartbeatTimeoutMs(leaseSeconds: number): number {
  return Math.min(10_000, Math.max(1000, Math.floor((leaseSeconds * 1000) / 3)));
}
