import { Inject, Injectable } from '@nestjs/common';
import type { ClaimState, ConcurrencyHolder, ResolvedConcurrency } from '../../contract/concurrency.contract';
import { TERMINAL_JOB_STATUSES } from '../../contract/jobs.contract';
import { SQL, type Sql, type TransactionSql } from '../database/sql';
import { cancelAttemptIn } from '../jobs/jobs.repository';
import { arrival, promotions, type ClaimOwner, type GroupClaim } from './concurrency-policy';

/** What an acquire found. `promoted`: other owners that took a slot in the same transaction (their workflows are told). */
export type AcquireResult =
  | { kind: 'holding'; promoted: ClaimOwner[]; superseded: { runId: number; attempt: number }[] }
  | { kind: 'waiting'; promoted: ClaimOwner[]; superseded: { runId: number; attempt: number }[] }
  | { kind: 'skipped'; heldBy: ConcurrencyHolder[] };

/** A claim's standing, for views: place in line and who holds the group. */
export type ClaimStanding = ClaimOwner & { state: ClaimState; position: number | null; heldBy: ConcurrencyHolder[] };

type ClaimRow = { id: number; runId: number; attempt: number; jobId: number | null; limit: number; state: ClaimState; withdrawn: boolean };

/**
 * Every SQL statement about concurrency slots. One group's line changes only under its advisory lock, so
 * two runs arriving at once are put in one order; the decisions themselves are concurrency-policy's.
 */
@Injectable()
export class ConcurrencyRepository {
  constructor(@Inject(SQL) private readonly sql: Sql) {}

  /**
   * Joins `owner` to its group's line (once: a retried call finds its claim) and promotes whoever may
   * run now. On arrival, `skip` may leave instead, and `cancel_in_progress` cancels the attempts it
   * supersedes in this same transaction (their workflows are then signalled by the caller).
   */
  async acquire(owner: ClaimOwner, concurrency: ResolvedConcurrency): Promise<AcquireResult> {
    return this.sql.begin(async (tx) => {
      const [run] = await tx<{ projectId: string }[]>`select project_id as "projectId" from runs where id = ${owner.runId}`;
      if (!run) throw new Error(`run ${owner.runId} does not exist`);
      const group = { projectId: run.projectId, key: concurrency.group };
      await lockGroup(tx, group);
      await sweep(tx, group);
      let line = await readLine(tx, group);
      let mine = line.find((claim) => sameOwner(claim, owner));
      let superseded: { runId: number; attempt: number }[] = [];
      if (!mine) {
        const decision = arrival(line, { ...owner, limit: concurrency.limit, onConflict: concurrency.onConflict });
        if (decision.kind === 'skip') return { kind: 'skipped', heldBy: await holders(tx, group) };
        if (decision.kind === 'supersede') {
          for (const victim of decision.victims) await cancelAttemptIn(tx, victim.runId, victim.attempt, 'superseded');
          superseded = decision.victims;
        }
        await tx`
          insert into concurrency_claims (project_id, group_key, run_id, attempt, job_id, slot_limit, on_conflict)
          values (${group.projectId}, ${group.key}, ${owner.runId}, ${owner.attempt}, ${owner.jobId}, ${concurrency.limit}, ${concurrency.onConflict})`;
        line = await readLine(tx, group);
        mine = line.find((claim) => sameOwner(claim, owner))!;
      } else if (concurrency.onConflict === 'cancel_in_progress' && mine.state === 'waiting') {
        // Asked again (a signal or the reconcile): tell the superseded ones again, in case that signal was lost.
        superseded = line.filter((claim) => claim.id < mine!.id && claim.withdrawn && !(claim.runId === owner.runId && claim.attempt === owner.attempt));
      }
      const promoted = await promote(tx, line);
      const holding = mine.state === 'holding' || promoted.some((claim) => claim.id === mine!.id);
      const others = promoted.filter((claim) => claim.id !== mine!.id).map(ownerOf);
      // The job a waiting claim holds back says why it waits (its run's jobs said so when they were created).
      if (!holding && owner.jobId !== null) await tx`update jobs set reason = 'concurrency' where id = ${owner.jobId} and status = 'waiting'`;
      return { kind: holding ? 'holding' : 'waiting', promoted: others, superseded: uniqueAttempts(superseded) };
    });
  }

  /** Gives back an attempt's claims (jobId undefined: all of them, its own and its jobs'), or one job's; answers who took the freed slots. */
  async release(runId: number, attempt: number, jobId?: number): Promise<ClaimOwner[]> {
    const owned = await this.sql<{ projectId: string; key: string }[]>`
      select distinct project_id as "projectId", group_key as key from concurrency_claims
      where run_id = ${runId} and attempt = ${attempt} ${jobId === undefined ? this.sql`` : this.sql`and job_id = ${jobId}`}
      order by 1, 2`;
    if (owned.length === 0) return [];
    return this.sql.begin(async (tx) => {
      const promoted: ClaimOwner[] = [];
      // Groups in one order (the query's), so two releases never wait on each other's locks.
      for (const group of owned) {
        await lockGroup(tx, group);
        await tx`
          delete from concurrency_claims where project_id = ${group.projectId} and group_key = ${group.key}
            and run_id = ${runId} and attempt = ${attempt} ${jobId === undefined ? tx`` : tx`and job_id = ${jobId}`}`;
        await sweep(tx, group);
        promoted.push(...(await promote(tx, await readLine(tx, group))).map(ownerOf));
      }
      return promoted;
    });
  }

  /** Where these owners stand now (owners without a claim are left out). */
  async standings(owners: ClaimOwner[]): Promise<ClaimStanding[]> {
    if (owners.length === 0) return [];
    return this.sql<ClaimStanding[]>`
      with wanted as (
        select * from unnest(${owners.map((o) => o.runId)}::bigint[], ${owners.map((o) => o.attempt)}::int[], ${owners.map((o) => o.jobId ?? 0)}::bigint[]) as w(run_id, attempt, job_id)
      )
      select c.run_id as "runId", c.attempt, c.job_id as "jobId", c.state,
             case when c.state = 'waiting' then (
               select count(*)::int from concurrency_claims ahead
               where ahead.project_id = c.project_id and ahead.group_key = c.group_key and ahead.state = 'waiting' and ahead.id <= c.id
             ) end as position,
             coalesce((
               select json_agg(json_build_object('runId', h.run_id, 'runNumber', r.number, 'pipeline', p.name, 'jobKey', j.key) order by h.id)
               from concurrency_claims h join runs r on r.id = h.run_id join pipelines p on p.id = r.pipeline_id left join jobs j on j.id = h.job_id
               where h.project_id = c.project_id and h.group_key = c.group_key and h.state = 'holding' and not ${ended(this.sql, 'h')}
             ), '[]'::json) as "heldBy"
      from concurrency_claims c join wanted w on w.run_id = c.run_id and w.attempt = c.attempt and w.job_id = coalesce(c.job_id, 0)
      -- An ended attempt holds nothing, though its workflow gives its rows back a moment later.
      where not ${ended(this.sql, 'c')}`;
  }

  /** An attempt's pipeline group as resolved for it; null when the pipeline declares none. */
  async attemptConcurrency(runId: number, attempt: number): Promise<ResolvedConcurrency | null> {
    const [row] = await this.sql<{ concurrency: ResolvedConcurrency | null }[]>`select concurrency from run_attempts where run_id = ${runId} and attempt = ${attempt}`;
    return row?.concurrency ?? null;
  }
}

type Group = { projectId: string; key: string };

const sameOwner = (claim: ClaimOwner, owner: ClaimOwner): boolean => claim.runId === owner.runId && claim.attempt === owner.attempt && (claim.jobId ?? null) === (owner.jobId ?? null);
const ownerOf = (claim: ClaimRow): ClaimOwner => ({ runId: claim.runId, attempt: claim.attempt, jobId: claim.jobId });
const uniqueAttempts = (list: { runId: number; attempt: number }[]) => [...new Map(list.map((item) => [`${item.runId}/${item.attempt}`, { runId: item.runId, attempt: item.attempt }])).values()];

async function lockGroup(tx: TransactionSql, group: Group): Promise<void> {
  await tx`select pg_advisory_xact_lock(hashtextextended(${`concurrency:${group.projectId}:${group.key}`}, 0))`;
}

/** "The claim's owner has ended" for claim rows `alias`: its attempt finished, or its job did. Such a claim holds nothing. */
function ended(sql: Sql | TransactionSql, alias: 'c' | 'h') {
  const claim = sql(alias);
  return sql`(exists (select 1 from run_attempts a where a.run_id = ${claim}.run_id and a.attempt = ${claim}.attempt and a.finished_at is not null)
              or exists (select 1 from jobs j where j.id = ${claim}.job_id and j.status = any(${[...TERMINAL_JOB_STATUSES]}::text[])))`;
}

/** Claims whose owner ended without giving them back (a workflow terminated by hand): they hold nothing any more. */
async function sweep(tx: TransactionSql, group: Group): Promise<void> {
  await tx`delete from concurrency_claims c where c.project_id = ${group.projectId} and c.group_key = ${group.key} and ${ended(tx, 'c')}`;
}

async function readLine(tx: TransactionSql, group: Group): Promise<ClaimRow[]> {
  return tx<ClaimRow[]>`
    select c.id, c.run_id as "runId", c.attempt, c.job_id as "jobId", c.slot_limit as "limit", c.state,
           a.cancel_requested_at is not null as withdrawn
    from concurrency_claims c join run_attempts a on a.run_id = c.run_id and a.attempt = c.attempt
    where c.project_id = ${group.projectId} and c.group_key = ${group.key}
    order by c.id`;
}

async function promote(tx: TransactionSql, line: GroupClaim[]): Promise<ClaimRow[]> {
  const ids = promotions(line);
  if (ids.length === 0) return [];
  await tx`update concurrency_claims set state = 'holding', acquired_at = now() where id = any(${ids}::bigint[])`;
  return line.filter((claim) => ids.includes(claim.id));
}

async function holders(tx: TransactionSql, group: Group): Promise<ConcurrencyHolder[]> {
  return tx<ConcurrencyHolder[]>`
    select h.run_id as "runId", r.number as "runNumber", p.name as pipeline, j.key as "jobKey"
    from concurrency_claims h join runs r on r.id = h.run_id join pipelines p on p.id = r.pipeline_id left join jobs j on j.id = h.job_id
    where h.project_id = ${group.projectId} and h.group_key = ${group.key} and h.state = 'holding' order by h.id`;
}
