import type { Sql } from '../database/sql';

/**
 * The one definition of "offline" for an agent row aliased `a`: it signed off, or it has not been
 * heard from within the lease. Agents list, live status, metrics and the queue's matching counts
 * all use it, so they can never disagree.
 */
export function agentOffline(sql: Sql, offlineAfterSeconds: number) {
  return sql`(a.signed_off_at is not null or a.last_seen_at < now() - make_interval(secs => ${offlineAfterSeconds}))`;
}
