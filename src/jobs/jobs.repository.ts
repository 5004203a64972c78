import { Inject, Injectable } from '@nestjs/common';
import { SQL, type Sql, type TransactionSql } from '../database/sql';
import type { JobSpec } from '../pipelines/pipeline-spec';
import { encodeNotification, QUEUE_CHANNEL, type QueuedJobRef } from '../queue/queue-wakeups';
import type { AttemptStatus, JobStatus, TerminalJobStatus } from '../../workflows/messages';
import type { RetryReason, RetryPolicy } from '../../workflows/retry-policy';
import type { z } from 'zod';
import type { ApprovalDecision, JobKind, JobRecord, JobTry } from '../../contract/jobs.contract';
import type { ResolvedConcurrency } from '../../contract/concurrency.contract';

/** `concurrency` is absent in histories recorded before concurrency groups (patch 'concurrency-groups'). */
export type JobState = { id: number; key: string; kind: JobKind; needs: string[]; status: JobStatus; try: number; timeoutMinutes: number; retry: RetryPolicy | null; concurrency?: ResolvedConcurrency | null };
/** `reason` and `exitCode` are absent in histories recorded before retries: the reconcile reads them only when present. */
export type JobStateWithLease = JobState & { leaseExpired: boolean; reason?: string | null; exitCode?: number | null };

/** A job's row as the API answers it (GET /jobs/:id). */
export type JobView = z.output<typeof JobRecord>;
/** A job's row as read: its concurrency group as declared for its run (the service adds where it stands). */
export type JobRow = Omit<JobView, 'concurrency'> & { concurrency: ResolvedConcurrency | null };

export type JobTryView = z.output<typeof JobTry> & { jobId: number };

/** What an agent needs to run a job it just claimed. */
export type ClaimedJobRow = {
  id: number;
  name: string;
  try: number;
  labels: string[];
  kind: 'act' | 'script';
  content: string;
  matrix: Record<string, string>;
  env: Record<string, string>;
  timeoutMinutes: number;
  runId: number;
  attempt: number;
  runNumber: number;
  ref: string;
  commitSha: string | null;
  runInputs: Record<string, string>;
  runEnv: Record<string, string>;
  projectId: string;
  project: string;
  pipeline: string;
  pipelineVersion: number;
  agentId: string;
  queuedAt: Date | null;
  pipelinePath: string | null;
  repositoryUrl: string | null;
  repositoryCredentialsSecret: string | null;
};

export type OwnedJob = {
  id: number;
  runId: number;
  attempt: number;
  try: number;
  status: JobStatus;
  cancelRequested: boolean;
  projectId: string;
};

/**
 * "The agent holds the job" for rows `j` (jobs) and `t` (its current try): the try is the agent's,
 * and the job runs or ended less than 10 minutes ago (late log lines and verdicts still land).
 * Every agent call about a job goes through this one rule.
 */
export function heldBy(sql: Sql, agentId: string) {
  return sql`t.agent_id = ${agentId} and (j.status = 'running' or (j.status in ('succeeded', 'failed', 'cancelled') and j.finished_at > now() - interval '10 minutes'))`;
}

const STATE_COLUMNS = 'id, key, kind, needs, status, try, timeout_minutes as "timeoutMinutes", retry, concurrency';
export const RANK_GAP = 1_000_000;

export type CancelReason = 'cancelled' | 'superseded' | 'concurrency_skipped';

/**
 * Cancels an attempt inside `tx`: its jobs not yet running end at once, running ones are asked to stop.
 * The first reason given sticks (a person's cancel after a supersede does not rename it).
 */
export async function cancelAttemptIn(tx: TransactionSql, runId: number, attempt: number, reason: CancelReason): Promise<void> {
  // Jobs first, the attempt last: the claim locks in that order (its job, then run_attempts). Taking
  // them the other way round deadlocked a cancel against a claim of the same attempt, and so did
  // holding the attempt while a job created meanwhile (the attempt's jobs being made as it is
  // cancelled) was claimed: the cancel never waits for a job while it holds the attempt.
  await tx`select id from jobs where run_id = ${runId} and attempt = ${attempt} order by id for update`;
  await tx`
    update jobs set status = 'cancelled', reason = ${reason}, finished_at = now()
    where run_id = ${runId} and attempt = ${attempt} and status in ('waiting', 'queued', 'awaiting_approval')`;
  await tx`update jobs set cancel_requested = true where run_id = ${runId} and attempt = ${attempt} and status = 'running'`;
  await tx`
    update run_attempts set cancel_requested_at = coalesce(cancel_requested_at, now()),
                            reason = case when cancel_requested_at is null and ${reason}::text <> 'cancelled' then ${reason}::text else reason end
    where run_id = ${runId} and attempt = ${attempt}`;
  await notifyQueue(tx);
}

/** Every SQL statement about a job's lifecycle. Each write is keyed so retried activities and requests are harmless. */
@Injectable()
export class JobsRepository {
  constructor(@Inject(SQL) private readonly sql: Sql) {}

  async attemptContext(runId: number, attempt: number) {
    const [row] = await this.sql<
      {
        pipelineId: string;
        pipelineVersion: number;
        pipelineName: string;
        cancelRequested: boolean;
        pipelineContent: string | null;
        rerunJobs: string[] | null;
        ref: string;
        inputs: Record<string, string>;
      }[]
    >`
      select r.pipeline_id as "pipelineId", r.pipeline_version as "pipelineVersion", p.name as "pipelineName", r.ref, r.inputs,
             (a.cancel_requested_at is not null) as "cancelRequested", a.rerun_jobs as "rerunJobs",
             r.pipeline_content as "pipelineContent"
      from runs r join pipelines p on p.id = r.pipeline_id
      join run_attempts a on a.run_id = r.id and a.attempt = ${attempt}
      where r.id = ${runId}`;
    return row;
  }

  async previousAttemptJobs(runId: number, attempt: number): Promise<{ id: number; key: string; status: JobStatus }[]> {
    return this.sql<{ id: number; key: string; status: JobStatus }[]>`
      select id, key, status from jobs where run_id = ${runId} and attempt = ${attempt}`;
  }

  /**
   * Inserts the attempt's jobs once (keyed on run, attempt, job key). Jobs without needs are
   * queued at once; carried jobs (partial re-runs) arrive already ended, with the status they carry
   * (succeeded unless said otherwise).
   */
  async createForAttempt(
    runId: number,
    attempt: number,
    specs: (JobSpec & { carriedFromJobId: number | null; carriedStatus?: TerminalJobStatus; concurrency: ResolvedConcurrency | null })[],
    options: { maxTries: number; cancelled: boolean; runConcurrency: ResolvedConcurrency | null },
  ): Promise<JobState[]> {
    return this.sql.begin(async (tx) => {
      const queued: QueuedJobRef[] = [];
      if (options.runConcurrency) {
        await tx`update run_attempts set concurrency = ${tx.json(options.runConcurrency)} where run_id = ${runId} and attempt = ${attempt}`;
      }
      for (const spec of specs) {
        const root = spec.needs.length === 0 && spec.kind !== 'approval';
        // A job behind a concurrency group (its run's or its own) waits for the workflow to get it a slot.
        const heldForSlot = root && (options.runConcurrency !== null || spec.concurrency !== null);
        const status: JobStatus = options.cancelled ? 'cancelled' : spec.carriedFromJobId !== null ? (spec.carriedStatus ?? 'succeeded') : root && !heldForSlot ? 'queued' : 'waiting';
        const reason = options.cancelled ? 'cancelled' : spec.carriedFromJobId !== null ? 'carried_over' : status === 'waiting' && heldForSlot ? 'concurrency' : null;
        const inserted = await tx`
          insert into jobs (run_id, attempt, key, name, kind, content, matrix, env, labels, needs, timeout_minutes, status,
                            max_tries, carried_from_job_id, queue_rank, queued_at, finished_at, reason, priority, retry, approvers, outputs, concurrency,
                            approval)
          values (${runId}, ${attempt}, ${spec.key}, ${spec.name}, ${spec.kind}, ${spec.content}, ${tx.json(spec.matrix)},
                  ${tx.json(spec.env)}, ${spec.labels}, ${spec.needs}, ${spec.timeoutMinutes}, ${status}, ${spec.retry?.maxTries ?? options.maxTries},
                  ${spec.carriedFromJobId},
                  ${status === 'queued' ? tx`(select queue_base * ${RANK_GAP} from runs where id = ${runId})` : null},
                  ${status === 'queued' ? tx`now()` : null},
                  ${spec.carriedFromJobId !== null || status === 'cancelled' ? tx`now()` : null},
                  ${reason},
                  (select priority from runs where id = ${runId}), ${spec.retry ? tx.json(spec.retry) : null}, ${spec.approvers},
                  -- A carried job stands in for the one it copies: jobs needing it read that one's outputs.
                  coalesce((select outputs from jobs where id = ${spec.carriedFromJobId}), '{}'),
                  ${spec.concurrency ? tx.json(spec.concurrency) : null},
                  -- A carried approval gate keeps the decision that let it pass (or stopped it).
                  (select approval from jobs where id = ${spec.carriedFromJobId}))
          on conflict (run_id, attempt, key) do nothing
          returning id, labels`;
        if (inserted.length && status === 'queued') queued.push({ id: Number(inserted[0].id), labels: inserted[0].labels as string[] });
      }
      if (queued.length) await notifyQueue(tx, queued);
      return tx<JobState[]>`select ${tx.unsafe(STATE_COLUMNS)} from jobs where run_id = ${runId} and attempt = ${attempt} order by id`;
    });
  }

  async enqueue(jobIds: number[]): Promise<JobState[]> {
    return this.sql.begin(async (tx) => {
      const rows = await tx`
        update jobs j set status = 'queued', queued_at = now(), queue_rank = r.queue_base * ${RANK_GAP}, reason = nullif(j.reason, 'concurrency')
        from runs r where r.id = j.run_id and j.id = any(${jobIds}::bigint[]) and j.status = 'waiting' returning j.id, j.labels`;
      if (rows.length) await notifyQueue(tx, rows.map((row) => ({ id: Number(row.id), labels: row.labels as string[] })));
      return tx<JobState[]>`select ${tx.unsafe(STATE_COLUMNS)} from jobs where id = any(${jobIds}::bigint[])`;
    });
  }

  async skip(jobIds: number[], reason: string): Promise<JobState[]> {
    await this.sql`
      update jobs set status = 'skipped', reason = ${reason}, finished_at = now()
      where id = any(${jobIds}::bigint[]) and status = 'waiting'`;
    return this.sql<JobState[]>`select ${this.sql.unsafe(STATE_COLUMNS)} from jobs where id = any(${jobIds}::bigint[])`;
  }

  /** Marks the try lost (its logs stay) and puts the job back in the queue at its old place. */
  async requeueLost(jobId: number, tryNumber: number): Promise<JobState> {
    return this.sql.begin(async (tx) => {
      const rows = await tx`
        update jobs set status = 'queued', agent_id = null, lease_expires_at = null, started_at = null, queued_at = now(), active_nodes = '{}',
                        queue_rank = coalesce(queue_rank, (select queue_base * ${RANK_GAP} from runs where id = jobs.run_id))
        where id = ${jobId} and try = ${tryNumber} and status = 'running' returning id, labels`;
      if (rows.length) {
        await tx`update job_tries set status = 'lost', reason = 'agent_lost', finished_at = now() where job_id = ${jobId} and try = ${tryNumber}`;
        await notifyQueue(tx, [{ id: jobId, labels: rows[0].labels as string[] }]);
      }
      const [state] = await tx<JobState[]>`select ${tx.unsafe(STATE_COLUMNS)} from jobs where id = ${jobId}`;
      return state;
    });
  }

  /**
   * A failed try that its job's retry policy matched: the try keeps its verdict and log; the job waits
   * (reason `retry_backoff`) until `retryAt`, when the workflow's timer calls releaseRetry. From `running`
   * (timeout, agent lost: the try is closed here, and the agent's next heartbeat tells it to stop) or
   * just after the agent's own failing verdict. Nothing happens once the attempt is being cancelled.
   */
  async scheduleRetry(jobId: number, tryNumber: number, reason: 'exit_code' | RetryReason, retryAt: Date): Promise<JobState> {
    return this.sql.begin(async (tx) => {
      const rows = await tx`
        update jobs set status = 'waiting', reason = 'retry_backoff', retry_at = ${retryAt}, agent_id = null, lease_expires_at = null,
                        started_at = null, finished_at = null, active_nodes = '{}', cancel_requested = false
        where id = ${jobId} and try = ${tryNumber} and not cancel_requested
          and (status = 'running' or (status = 'failed' and reason = 'exit_code'))
          and not exists (select 1 from run_attempts a where a.run_id = jobs.run_id and a.attempt = jobs.attempt and a.cancel_requested_at is not null)
        returning id`;
      if (rows.length && reason !== 'exit_code') {
        await tx`
          update job_tries set status = ${reason === 'agent_lost' ? 'lost' : 'failed'}, reason = ${reason}, finished_at = now()
          where job_id = ${jobId} and try = ${tryNumber} and status = 'running'`;
      }
      const [state] = await tx<JobState[]>`select ${tx.unsafe(STATE_COLUMNS)} from jobs where id = ${jobId}`;
      return state;
    });
  }

  /** The backoff is over: the job goes back to its old place in the queue for its next try. */
  async releaseRetry(jobId: number): Promise<JobState> {
    return this.sql.begin(async (tx) => {
      const rows = await tx`
        update jobs set status = 'queued', reason = null, retry_at = null, queued_at = now(),
                        queue_rank = coalesce(queue_rank, (select queue_base * ${RANK_GAP} from runs where id = jobs.run_id))
        where id = ${jobId} and status = 'waiting' and retry_at is not null returning id, labels`;
      if (rows.length) await notifyQueue(tx, [{ id: jobId, labels: rows[0].labels as string[] }]);
      const [state] = await tx<JobState[]>`select ${tx.unsafe(STATE_COLUMNS)} from jobs where id = ${jobId}`;
      return state;
    });
  }

  /** Approval jobs whose needs succeeded: they wait for a decision (no agent ever claims them). */
  async awaitApproval(jobIds: number[]): Promise<JobState[]> {
    await this.sql`
      update jobs set status = 'awaiting_approval', started_at = now()
      where id = any(${jobIds}::bigint[]) and status = 'waiting' and kind = 'approval'`;
    return this.sql<JobState[]>`select ${this.sql.unsafe(STATE_COLUMNS)} from jobs where id = any(${jobIds}::bigint[])`;
  }

  /** Records a decision once: undefined when the job no longer awaits one (decided, timed out, cancelled). */
  async decideApproval(jobId: number, approval: { decision: ApprovalDecision; by: string | null; comment: string | null }) {
    const status: TerminalJobStatus = approval.decision === 'approved' ? 'succeeded' : 'failed';
    const reason = approval.decision === 'approved' ? null : approval.decision === 'rejected' ? 'rejected' : 'approval_timeout';
    const [row] = await this.sql<{ status: 'succeeded' | 'failed'; runId: number; attempt: number }[]>`
      update jobs set status = ${status}, reason = ${reason}, finished_at = now(),
                      approval = jsonb_build_object('decision', ${approval.decision}::text, 'by', ${approval.by}::text,
                                                    'at', to_jsonb(now()), 'comment', ${approval.comment}::text)
      where id = ${jobId} and status = 'awaiting_approval'
      returning status, run_id as "runId", attempt`;
    return row;
  }

  async jobState(jobId: number): Promise<JobState> {
    const [state] = await this.sql<JobState[]>`select ${this.sql.unsafe(STATE_COLUMNS)} from jobs where id = ${jobId}`;
    return state;
  }

  /** Ends a running try as failed for a server-side reason (timeout, agent_lost). The agent learns it must stop. */
  async failRunning(jobId: number, tryNumber: number, reason: string): Promise<JobState> {
    const status: TerminalJobStatus = reason === 'cancelled' ? 'cancelled' : 'failed';
    return this.sql.begin(async (tx) => {
      const rows = await tx`
        update jobs set status = ${status}, reason = ${reason}, finished_at = now(), lease_expires_at = null, cancel_requested = true,
                        active_nodes = '{}'
        where id = ${jobId} and try = ${tryNumber} and status = 'running' returning id`;
      if (rows.length) {
        await tx`
          update job_tries set status = ${reason === 'agent_lost' ? 'lost' : status}, reason = ${reason}, finished_at = now()
          where job_id = ${jobId} and try = ${tryNumber}`;
      }
      const [state] = await tx<JobState[]>`select ${tx.unsafe(STATE_COLUMNS)} from jobs where id = ${jobId}`;
      return state;
    });
  }

  /**
   * Queued and waiting jobs end now; running ones are flagged so their agents stop them. `reason` says
   * why, when a policy cancels (superseded, concurrency_skipped); a person's cancel is plain `cancelled`.
   */
  async cancelAttempt(runId: number, attempt: number, reason: CancelReason = 'cancelled'): Promise<JobState[]> {
    return this.sql.begin(async (tx) => {
      await cancelAttemptIn(tx, runId, attempt, reason);
      return tx<JobState[]>`select ${tx.unsafe(STATE_COLUMNS)} from jobs where run_id = ${runId} and attempt = ${attempt}`;
    });
  }

  /** After the cancel grace period: whatever still runs is recorded cancelled without waiting for its agent. */
  async forceCancelAttempt(runId: number, attempt: number): Promise<JobState[]> {
    return this.sql.begin(async (tx) => {
      const rows = await tx<{ id: number; try: number }[]>`
        update jobs set status = 'cancelled', reason = 'cancel_timeout', finished_at = now(), lease_expires_at = null, active_nodes = '{}'
        where run_id = ${runId} and attempt = ${attempt} and status in ('running', 'queued', 'waiting', 'awaiting_approval') returning id, try`;
      for (const row of rows) {
        await tx`update job_tries set status = 'cancelled', reason = 'cancel_timeout', finished_at = now() where job_id = ${row.id} and try = ${row.try} and status = 'running'`;
      }
      return tx<JobState[]>`select ${tx.unsafe(STATE_COLUMNS)} from jobs where run_id = ${runId} and attempt = ${attempt}`;
    });
  }

  /**
   * `leaseExpired` here is the workflow's backstop for a lost reaper signal, so it waits a
   * minute past expiry: while the API itself is down no agent can heartbeat, and that must not
   * look like every agent dying at once.
   */
  async loadStates(runId: number, attempt: number): Promise<JobStateWithLease[]> {
    return this.sql<JobStateWithLease[]>`
      select ${this.sql.unsafe(STATE_COLUMNS)}, coalesce(lease_expires_at < now() - interval '60 seconds', false) as "leaseExpired",
             reason, exit_code as "exitCode"
      from jobs where run_id = ${runId} and attempt = ${attempt} order by id`;
  }

  async finalizeAttempt(runId: number, attempt: number, status: AttemptStatus): Promise<void> {
    await this.sql.begin(async (tx) => {
      await tx`
        update run_attempts set status = ${status}, finished_at = coalesce(finished_at, now())
        where run_id = ${runId} and attempt = ${attempt}`;
      // Only the newest attempt speaks for the run.
      await tx`
        update runs set status = ${status}, finished_at = coalesce(finished_at, now()),
                        reason = (select reason from run_attempts where run_id = ${runId} and attempt = ${attempt})
        where id = ${runId} and attempt = ${attempt}`;
    });
  }

  // --- agent side -------------------------------------------------------------------------

  /** The job an agent holds, for any call about it; undefined when the agent does not own its current try. */
  async findOwned(jobId: number, agentId: string): Promise<OwnedJob | undefined> {
    const [row] = await this.sql<OwnedJob[]>`
      select j.id, j.run_id as "runId", j.attempt, j.try, j.status, j.cancel_requested as "cancelRequested",
             r.project_id as "projectId"
      from jobs j join runs r on r.id = j.run_id
      join job_tries t on t.job_id = j.id and t.try = j.try
      where j.id = ${jobId} and ${heldBy(this.sql, agentId)}`;
    return row;
  }

  async projectOf(jobId: number): Promise<string | undefined> {
    const [row] = await this.sql<{ projectId: string }[]>`select r.project_id as "projectId" from jobs j join runs r on r.id = j.run_id where j.id = ${jobId}`;
    return row?.projectId;
  }

  async jobExists(jobId: number): Promise<boolean> {
    return (await this.sql`select 1 from jobs where id = ${jobId}`).length > 0;
  }

  async reportNodes(jobId: number, tryNumber: number, active: string[], states: Record<string, string>): Promise<void> {
    await this.sql`
      update jobs set active_nodes = ${active}, node_states = node_states || ${this.sql.json(states)}, nodes_reported_at = now()
      where id = ${jobId} and try = ${tryNumber}`;
  }

  async graphState(jobId: number) {
    const [row] = await this.sql<{ kind: 'act' | 'script'; content: string; status: JobStatus; activeNodes: string[]; nodeStates: Record<string, string>; reportedAt: Date | null }[]>`
      select kind, content, status, active_nodes as "activeNodes", node_states as "nodeStates", nodes_reported_at as "reportedAt"
      from jobs where id = ${jobId}`;
    return row;
  }

  async expireLease(jobId: number, tryNumber: number): Promise<void> {
    await this.sql`update jobs set lease_expires_at = now() where id = ${jobId} and try = ${tryNumber} and status = 'running'`;
  }

  async markStarted(jobId: number, tryNumber: number): Promise<void> {
    await this.sql.begin(async (tx) => {
      await tx`update jobs set started_at = coalesce(started_at, now()) where id = ${jobId} and try = ${tryNumber}`;
      await tx`update job_tries set started_at = coalesce(started_at, now()) where job_id = ${jobId} and try = ${tryNumber}`;
    });
  }

  /**
   * Records the agent's verdict. A job whose cancel was requested ends cancelled, never failed.
   * Returns the final state, or undefined when the try was already decided elsewhere.
   */
  async finish(jobId: number, tryNumber: number, status: 'succeeded' | 'failed', exitCode: number | null, outputs: Record<string, string> = {}) {
    return this.sql.begin(async (tx) => {
      const [row] = await tx<{ status: TerminalJobStatus; runId: number; attempt: number }[]>`
        update jobs set
          status = case when cancel_requested then 'cancelled' else ${status} end,
          reason = case when cancel_requested then 'cancelled' when ${status} = 'failed' then 'exit_code' else null end,
          exit_code = ${exitCode}, finished_at = now(), lease_expires_at = null, active_nodes = '{}', outputs = ${tx.json(outputs)}
        where id = ${jobId} and try = ${tryNumber} and status = 'running'
        returning status, run_id as "runId", attempt`;
      if (!row) return undefined;
      await tx`
        update job_tries set status = ${row.status}, exit_code = ${exitCode}, finished_at = now(),
                             reason = ${row.status === 'cancelled' ? 'cancelled' : status === 'failed' ? 'exit_code' : null}
        where job_id = ${jobId} and try = ${tryNumber}`;
      return row;
    });
  }

  /** The outputs of the jobs `jobId` needs (same run and attempt), in key order so matrix legs merge stably. */
  async neededOutputs(jobId: number): Promise<{ name: string; key: string; outputs: Record<string, string> }[]> {
    return this.sql<{ name: string; key: string; outputs: Record<string, string> }[]>`
      select n.name, n.key, n.outputs from jobs j
      join jobs n on n.run_id = j.run_id and n.attempt = j.attempt and n.key = any(j.needs)
      where j.id = ${jobId} order by n.key`;
  }

  async get(jobId: number): Promise<JobRow | undefined> {
    const [row] = await this.sql<JobRow[]>`${this.viewQuery()} where j.id = ${jobId}`;
    return row;
  }

  async listForRun(runId: number): Promise<JobRow[]> {
    return this.sql<JobRow[]>`${this.viewQuery()} where j.run_id = ${runId} order by j.attempt, j.id`;
  }

  async listTries(jobIds: number[]): Promise<JobTryView[]> {
    return this.sql<JobTryView[]>`
      select t.job_id as "jobId", t.try, t.agent_id as "agentId", a.name as agent, t.status, t.reason, t.exit_code as "exitCode",
             t.claimed_at as "claimedAt", t.started_at as "startedAt", t.finished_at as "finishedAt"
      from job_tries t left join agents a on a.id = t.agent_id
      where t.job_id = any(${jobIds}::bigint[]) order by t.job_id, t.try`;
  }

  private viewQuery() {
    return this.sql`
      select j.id, j.run_id as "runId", j.attempt, j.key, j.name, j.kind, j.status, j.reason, j.labels, j.needs, j.matrix,
             j.agent_id as "agentId", a.name as agent, j.exit_code as "exitCode", j.try, j.carried_from_job_id as "carriedFromJobId",
             j.retry, j.max_tries as "maxTries", j.retry_at as "retryAt", j.approvers, j.approval, j.outputs, j.concurrency,
             j.queued_at as "queuedAt", j.started_at as "startedAt", j.finished_at as "finishedAt", j.created_at as "createdAt"
      from jobs j left join agents a on a.id = j.agent_id`;
  }
}

/**
 * Delivered at commit, to every API instance. With the jobs just queued each instance wakes one
 * matching long poll per job; without them (a reorder, a cancel: no job named) every poll looks again.
 */
export async function notifyQueue(tx: TransactionSql | Sql, jobs?: QueuedJobRef[]): Promise<void> {
  await tx`select pg_notify(${QUEUE_CHANNEL}, ${encodeNotification(jobs)})`;
}
