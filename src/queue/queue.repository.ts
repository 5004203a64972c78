import { Inject, Injectable } from '@nestjs/common';
import type { z } from 'zod';
import type { QueueCursor, QueueEntry as QueueEntryView } from '../../contract/queue.contract';
import type { ResolvedConcurrency } from '../../contract/concurrency.contract';
import { SQL, type Sql } from '../database/sql';
import { agentOffline } from '../agents/agent-liveness.sql';
import { notifyQueue, RANK_GAP, type ClaimedJobRow } from '../jobs/jobs.repository';

/** A queued job as the repository reads it; the service adds why it waits (the contract's QueueEntry). */
export type QueueEntry = Omit<z.output<typeof QueueEntryView>, 'waitingBecause'> & {
  /** Queued jobs of a higher priority than this one: they go first (part of why it waits). */
  higherPriorityAhead: number;
};

export type QueuePage = { entries: QueueEntry[]; next: QueueCursor | null; total: number };

/** A job a policy keeps out of the queue, as read; the service says why in a sentence. */
export type HeldJobRow = {
  id: number;
  runId: number;
  attempt: number;
  runNumber: number;
  name: string;
  project: string;
  pipeline: string;
  status: 'waiting' | 'awaiting_approval';
  reason: string | null;
  try: number;
  maxTries: number;
  retryAt: Date | null;
  approvers: string[];
  concurrency: ResolvedConcurrency | null;
  runConcurrency: ResolvedConcurrency | null;
  since: Date;
};

export type ListOptions = { projectId: string | null; onlineWithinSeconds: number; limit: number; after: QueueCursor | null };

type Plan = { 'QUERY PLAN': string };

@Injectable()
export class QueueRepository {
  constructor(@Inject(SQL) private readonly sql: Sql) {}

  /**
   * The atomic claim, in one statement: the first queued job (queue order) whose labels are all
   * among the agent's becomes this agent's next try. SKIP LOCKED lets concurrent claimers pass
   * each other; the status check makes a job go exactly once.
   */
  async claim(agentId: string, agentLabels: string[], leaseSeconds: number): Promise<ClaimedJobRow | undefined> {
    const [row] = await this.sql<ClaimedJobRow[]>`
      with claimed as (
        update jobs set status = 'running', agent_id = ${agentId}, try = jobs.try + 1, started_at = null,
                        active_nodes = '{}', node_states = '{}', nodes_reported_at = null,
                        lease_expires_at = now() + make_interval(secs => ${leaseSeconds})
        where id = (${this.pick(agentLabels)}) and status = 'queued'
        returning id, name, try, labels, kind, content, matrix, env, timeout_minutes, run_id, attempt, agent_id, queued_at
      ),
      new_try as (
        insert into job_tries (job_id, try, agent_id) select id, try, agent_id from claimed on conflict do nothing
      ),
      attempt_started as (
        update run_attempts a set status = 'running', started_at = coalesce(a.started_at, now())
        from claimed c where a.run_id = c.run_id and a.attempt = c.attempt and a.status = 'queued'
      ),
      run_started as (
        update runs r set status = 'running', started_at = coalesce(r.started_at, now())
        from claimed c where r.id = c.run_id and r.attempt = c.attempt and r.status = 'queued'
      )
      select c.id, c.name, c.try, c.labels, c.kind, c.content, c.matrix, c.env, c.timeout_minutes as "timeoutMinutes",
             r.id as "runId", c.attempt, r.number as "runNumber", r.ref, r.commit_sha as "commitSha",
             r.inputs as "runInputs", r.env as "runEnv", r.project_id as "projectId", p.slug as project,
             pl.name as pipeline, r.pipeline_version as "pipelineVersion", c.agent_id as "agentId", c.queued_at as "queuedAt",
             pv.path as "pipelinePath", p.repository_url as "repositoryUrl", p.repository_credentials_secret as "repositoryCredentialsSecret"
      from claimed c join runs r on r.id = c.run_id join projects p on p.id = r.project_id join pipelines pl on pl.id = r.pipeline_id
      join pipeline_versions pv on pv.pipeline_id = r.pipeline_id and pv.version = r.pipeline_version`;
    return row;
  }

  /**
   * One page of pending jobs in the order agents will get them, with how many agents could take each.
   * Keyset on (-priority, queue_rank, id), the claim's order and the jobs_queue index: a page reads its rows and
   * no more, and the agent counts are worked out for the page only (10,000 queued jobs: see
   * docs/performance.md). Positions count every queued job before the entry, all projects.
   */
  async list(options: ListOptions): Promise<QueuePage> {
    const { projectId } = options;
    const rows = await this.sql<(QueueEntry & { rank: number })[]>`${this.page(options)}`;
    const more = rows.length > options.limit;
    const entries = more ? rows.slice(0, options.limit) : rows;
    const last = entries[entries.length - 1];
    const [{ total }] = projectId
      ? await this.sql<{ total: number }[]>`
          select count(*)::int as total from jobs j join runs r on r.id = j.run_id where j.status = 'queued' and r.project_id = ${projectId}`
      : await this.sql<{ total: number }[]>`select count(*)::int as total from jobs where status = 'queued'`;
    return {
      entries: entries.map(({ rank: _rank, ...entry }) => entry),
      next: more && last ? { priority: last.priority, rank: last.rank, id: last.id } : null,
      total,
    };
  }

  /**
   * Jobs held back by a policy (a concurrency slot, a retry backoff, an approval), oldest first, read
   * through the jobs_held partial index; `total` counts them all.
   */
  async held(projectId: string | null, limit: number): Promise<{ rows: HeldJobRow[]; total: number }> {
    const scope = projectId ? this.sql`and r.project_id = ${projectId}` : this.sql``;
    const rows = await this.sql<HeldJobRow[]>`
      select j.id, j.run_id as "runId", j.attempt, r.number as "runNumber", j.name, p.slug as project, pl.name as pipeline,
             j.status, j.reason, j.try, j.max_tries as "maxTries", j.retry_at as "retryAt", j.approvers,
             j.concurrency, a.concurrency as "runConcurrency", coalesce(j.started_at, j.created_at) as since
      from jobs j join runs r on r.id = j.run_id join projects p on p.id = r.project_id join pipelines pl on pl.id = r.pipeline_id
      join run_attempts a on a.run_id = j.run_id and a.attempt = j.attempt
      where (j.status = 'awaiting_approval' or (j.status = 'waiting' and j.reason in ('concurrency', 'retry_backoff'))) ${scope}
      order by j.id limit ${limit}`;
    const [{ total }] = await this.sql<{ total: number }[]>`
      select count(*)::int as total from jobs j join runs r on r.id = j.run_id
      where (j.status = 'awaiting_approval' or (j.status = 'waiting' and j.reason in ('concurrency', 'retry_backoff'))) ${scope}`;
    return { rows, total };
  }

  /**
   * EXPLAIN (ANALYZE, BUFFERS) of the claim's pick for these labels and of one list page: the scale
   * bench shows the plans of the very statements above against a full queue (docs/performance.md).
   * ANALYZE runs them: the pick's row lock ends with its implicit transaction.
   */
  async explainPick(agentLabels: string[]): Promise<string[]> {
    return this.plan(await this.sql<Plan[]>`explain (analyze, buffers) ${this.pick(agentLabels)}`);
  }

  async explainList(options: ListOptions): Promise<string[]> {
    return this.plan(await this.sql<Plan[]>`explain (analyze, buffers) ${this.page(options)}`);
  }

  private plan(rows: Plan[]): string[] {
    return rows.map((row) => row['QUERY PLAN']);
  }

  /** The claim's pick: the first queued job (queue order) the agent's labels cover, skipping locked ones. */
  private pick(agentLabels: string[]) {
    return this.sql`
      select id from jobs
      where status = 'queued' and labels <@ ${agentLabels}::text[]
      order by -priority, queue_rank, id
      for update skip locked
      limit 1`;
  }

  /**
   * One page of the list, one row more than the limit (is there another page?). Tuples compare
   * (-priority, queue_rank, id): the claim's order, read off the index in one direction.
   */
  private page(options: ListOptions) {
    const { after, projectId } = options;
    return this.sql`
      with page as (
        select j.id, j.run_id, j.name, j.labels, j.priority, j.queue_rank, j.queued_at, r.number as run_number, r.project_id, r.pipeline_id
        from jobs j join runs r on r.id = j.run_id
        where j.status = 'queued'
          ${after ? this.sql`and (-j.priority, j.queue_rank, j.id) > (${-after.priority}, ${after.rank}, ${after.id})` : this.sql``}
          ${projectId ? this.sql`and r.project_id = ${projectId}` : this.sql``}
        order by -j.priority, j.queue_rank, j.id
        limit ${options.limit + 1}
      ),
      first as (select priority, queue_rank, id from page order by -priority, queue_rank, id limit 1),
      last as (select priority, queue_rank, id from page order by -priority desc, queue_rank desc, id desc limit 1),
      numbered as (
        select x.id, row_number() over (order by -x.priority, x.queue_rank, x.id)
                     + (select count(*) from jobs y, first f where y.status = 'queued' and (-y.priority, y.queue_rank, y.id) < (-f.priority, f.queue_rank, f.id)) as position
        from jobs x, first f, last l
        where x.status = 'queued' and (-x.priority, x.queue_rank, x.id) >= (-f.priority, f.queue_rank, f.id)
          and (-x.priority, x.queue_rank, x.id) <= (-l.priority, l.queue_rank, l.id)
      ),
      online as materialized (
        select coalesce(labels_override, declared_labels) as labels,
               exists (select 1 from jobs r where r.agent_id = a.id and r.status = 'running') as busy
        from agents a
        where a.deleted_at is null and not ${agentOffline(this.sql, options.onlineWithinSeconds)}
      )
      select q.id, q.run_id as "runId", q.run_number as "runNumber", q.name, p.slug as project, pl.name as pipeline, q.labels,
             q.priority, n.position::int as position, q.queued_at as "queuedAt", q.queue_rank as rank,
             (select count(*)::int from jobs h where h.status = 'queued' and -h.priority < -q.priority) as "higherPriorityAhead",
             (select count(*)::int from online o where q.labels <@ o.labels) as "matchingAgents",
             (select count(*)::int from online o where q.labels <@ o.labels and not o.busy) as "idleMatchingAgents",
             (select count(*)::int from online) as "onlineAgents"
      from page q join numbered n on n.id = q.id join projects p on p.id = q.project_id join pipelines pl on pl.id = q.pipeline_id
      order by -q.priority, q.queue_rank, q.id`;
  }

  async queuedJob(jobId: number): Promise<{ id: number; rank: number; projectId: string } | undefined> {
    const [row] = await this.sql<{ id: number; rank: number; projectId: string }[]>`
      select j.id, j.queue_rank as rank, r.project_id as "projectId" from jobs j join runs r on r.id = j.run_id
      where j.id = ${jobId} and j.status = 'queued'`;
    return row;
  }

  /**
   * Places a queued job right before or after another, taking that job's priority (a drag across
   * priorities changes the dragged job's). Ranks have gaps; when a gap is used up the queue is
   * renumbered in one statement.
   */
  async move(jobId: number, anchorId: number, where: 'before' | 'after'): Promise<boolean> {
    return this.sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(7362002)`;
      for (let round = 0; round < 2; round++) {
        const [anchor] = await tx<{ rank: number; priority: number }[]>`select queue_rank as rank, priority from jobs where id = ${anchorId} and status = 'queued'`;
        const [moving] = await tx<{ rank: number }[]>`select queue_rank as rank from jobs where id = ${jobId} and status = 'queued'`;
        if (!anchor || !moving) return false;
        const [neighbour] =
          where === 'before'
            ? await tx<{ rank: number }[]>`
                select queue_rank as rank from jobs where status = 'queued' and id <> ${jobId} and priority = ${anchor.priority}
                  and (queue_rank, id) < (${anchor.rank}, ${anchorId}) order by queue_rank desc, id desc limit 1`
            : await tx<{ rank: number }[]>`
                select queue_rank as rank from jobs where status = 'queued' and id <> ${jobId} and priority = ${anchor.priority}
                  and (queue_rank, id) > (${anchor.rank}, ${anchorId}) order by queue_rank, id limit 1`;
        const low = where === 'before' ? (neighbour?.rank ?? anchor.rank - RANK_GAP) : anchor.rank;
        const high = where === 'before' ? anchor.rank : (neighbour?.rank ?? anchor.rank + RANK_GAP);
        if (high - low >= 2) {
          await tx`update jobs set queue_rank = ${Math.floor((low + high) / 2)}, priority = ${anchor.priority} where id = ${jobId}`;
          await notifyQueue(tx);
          return true;
        }
        // One order is renumbered, not just the queued jobs: running jobs (where each goes back should
        // its agent be lost) and the base of each run in progress (where its waiting jobs will queue,
        // after the jobs at that rank now). Queued jobs alone renumbered from 1 would pass ahead of
        // every run in progress, whose bases count all runs ever made. Runs yet to be made stay
        // behind: the sequence moves past the points.
        // Jobs are locked before runs, the order a claim takes them in, so the two never deadlock.
        const [{ points, runIds, bases }] = await tx<{ points: number; runIds: number[]; bases: number[] }[]>`
          with points as (
            select id as job_id, null::bigint as run_id, queue_rank as rank from jobs where status in ('queued', 'running') and queue_rank is not null
            union all
            select null, id, queue_base * ${RANK_GAP} from runs where status in ('queued', 'running')
          ),
          numbered as (select job_id, run_id, row_number() over (order by rank, run_id is not null, job_id) as n from points),
          renumbered as (update jobs j set queue_rank = p.n * ${RANK_GAP} from numbered p where j.id = p.job_id)
          select count(*)::int as points,
                 coalesce(array_agg(run_id) filter (where run_id is not null), '{}') as "runIds",
                 coalesce(array_agg(n) filter (where run_id is not null), '{}') as bases
          from numbered`;
        await tx`update runs r set queue_base = b.base from unnest(${runIds}::bigint[], ${bases}::bigint[]) as b(id, base) where r.id = b.id`;
        await tx`select setval('job_queue_rank_seq', greatest((select last_value from job_queue_rank_seq), ${points + 1}))`;
      }
      return false;
    });
  }
}
