import type { ResolvedConcurrency } from '../../contract/concurrency.contract';
import { Inject, Injectable } from '@nestjs/common';
import { SQL, type Sql } from '../database/sql';
import { workflowIdFor, type AttemptStatus } from '../../workflows/messages';

export type RunStatus = 'queued' | 'running' | AttemptStatus;
export type TriggerKind = 'manual' | 'api' | 'webhook' | 'schedule';
/** Who or what started a run; webhook runs also name the hook, event, delivery and commit. */
export type TriggerInfo = {
  kind: TriggerKind;
  actor: string;
  hookId?: string;
  event?: string | null;
  deliveryId?: string;
  commitSha?: string | null;
  [detail: string]: unknown;
};

export type RunRow = {
  id: number;
  number: number;
  projectId: string;
  project: string;
  pipelineId: string;
  pipeline: string;
  pipelineVersion: number;
  ref: string;
  commitSha: string | null;
  /** A repository pipeline's file, as read at commitSha. */
  pipelinePath: string | null;
  inputs: Record<string, string>;
  env: Record<string, string>;
  status: RunStatus;
  /** Why a policy ended the run (superseded, concurrency_skipped); null otherwise. */
  reason: string | null;
  priority: number;
  attempt: number;
  trigger: TriggerInfo;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
};

export type AttemptRow = {
  runId: number;
  attempt: number;
  status: RunStatus;
  reason: string | null;
  /** The pipeline's concurrency group as resolved for this attempt. */
  concurrency: ResolvedConcurrency | null;
  failedOnly: boolean;
  rerunJobs: string[] | null;
  workflowId: string;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  cancelRequestedAt: Date | null;
};

export type UnstartedAttempt = { runId: number; attempt: number; failedOnly: boolean; project: string; pipeline: string; number: number };

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

class DuplicateIdempotencyKey extends Error {}

@Injectable()
export class RunsRepository {
  constructor(@Inject(SQL) private readonly sql: Sql) {}

  /**
   * The run, its number (per pipeline) and its first attempt, in one transaction. With an idempotency key,
   * a second create with the same key (even concurrently, even from another API instance) returns the
   * first run instead: `created` tells which happened.
   */
  async create(input: {
    projectId: string;
    pipelineId: string;
    pipelineVersion: number;
    ref: string;
    commitSha: string | null;
    inputs: Record<string, string>;
    env: Record<string, string>;
    trigger: TriggerInfo;
    idempotencyKey?: string | null;
    /** A repository pipeline's file content as read at the run's commit. */
    pipelineContent?: string | null;
    /** Its jobs' queue priority (higher first). */
    priority: number;
  }): Promise<{ id: number; created: boolean }> {
    const key = input.idempotencyKey ?? null;
    if (key !== null) {
      const existing = await this.findByIdempotencyKey(key);
      if (existing !== undefined) return { id: existing, created: false };
    }
    try {
      const id = await this.sql.begin(async (tx) => {
        const [{ number }] = await tx<{ number: number }[]>`
          update pipelines set next_run_number = next_run_number + 1 where id = ${input.pipelineId} returning next_run_number - 1 as number`;
        // The unique key decides between racing creates; the loser rolls back so no run number is burnt.
        const [row] = await tx<{ id: number }[]>`
          insert into runs (project_id, pipeline_id, pipeline_version, number, ref, commit_sha, inputs, env, trigger, idempotency_key, pipeline_content, priority)
          values (${input.projectId}, ${input.pipelineId}, ${input.pipelineVersion}, ${number}, ${input.ref}, ${input.commitSha},
                  ${tx.json(input.inputs)}, ${tx.json(input.env)}, ${tx.json(input.trigger as unknown as Record<string, never>)}, ${key},
                  ${input.pipelineContent ?? null}, ${input.priority})
          on conflict (idempotency_key) do nothing
          returning id`;
        if (!row) throw new DuplicateIdempotencyKey();
        await tx`insert into run_attempts (run_id, attempt, workflow_id) values (${row.id}, 1, ${workflowIdFor(row.id, 1)})`;
        return row.id;
      });
      return { id, created: true };
    } catch (error) {
      if (!(error instanceof DuplicateIdempotencyKey) || key === null) throw error;
      const existing = await this.findByIdempotencyKey(key);
      if (existing === undefined) throw new Error(`run with idempotency key ${key} vanished while it was being created`);
      return { id: existing, created: false };
    }
  }

  async findByIdempotencyKey(key: string): Promise<number | undefined> {
    const [row] = await this.sql<{ id: number }[]>`select id from runs where idempotency_key = ${key}`;
    return row?.id;
  }

  /**
   * A new numbered attempt of a finished run; undefined when the run is still going. `rerunJobs` (keys)
   * makes it re-run only those and what needs them; null re-runs all (or, failedOnly, what did not succeed).
   */
  async addAttempt(runId: number, failedOnly: boolean, rerunJobs: string[] | null = null): Promise<number | undefined> {
    return this.sql.begin(async (tx) => {
      const [run] = await tx<{ attempt: number }[]>`
        update runs set attempt = attempt + 1, status = 'queued', started_at = null, finished_at = null,
                        queue_base = nextval('job_queue_rank_seq')
        where id = ${runId} and status = any(${TERMINAL}) returning attempt`;
      if (!run) return undefined;
      await tx`
        insert into run_attempts (run_id, attempt, failed_only, rerun_jobs, workflow_id)
        values (${runId}, ${run.attempt}, ${failedOnly}, ${rerunJobs}, ${workflowIdFor(runId, run.attempt)})`;
      return run.attempt;
    });
  }

  async markWorkflowStarted(runId: number, attempt: number): Promise<void> {
    await this.sql`
      update run_attempts set workflow_started_at = coalesce(workflow_started_at, now()) where run_id = ${runId} and attempt = ${attempt}`;
  }

  /** Attempts stored but never handed to Temporal (it was down, or the API died in between). */
  async unstartedAttempts(olderThanSeconds: number): Promise<UnstartedAttempt[]> {
    return this.sql<UnstartedAttempt[]>`
      select a.run_id as "runId", a.attempt, a.failed_only as "failedOnly", p.slug as project, pl.name as pipeline, r.number
      from run_attempts a join runs r on r.id = a.run_id join projects p on p.id = r.project_id join pipelines pl on pl.id = r.pipeline_id
      where a.workflow_started_at is null and a.created_at < now() - make_interval(secs => ${olderThanSeconds})
      order by a.created_at limit 100`;
  }

  async get(runId: number): Promise<RunRow | undefined> {
    const [row] = await this.sql<RunRow[]>`${this.runQuery()} where r.id = ${runId}`;
    return row;
  }

  async list(filter: {
    projectId: string | null;
    pipeline: string | null;
    status: RunStatus | null;
    beforeId: number | null;
    limit: number;
  }): Promise<RunRow[]> {
    return this.sql<RunRow[]>`
      ${this.runQuery()}
      where (${filter.projectId}::uuid is null or r.project_id = ${filter.projectId})
        and (${filter.pipeline}::text is null or strpos(lower(pl.name), lower(${filter.pipeline})) > 0)
        and (${filter.status}::text is null or r.status = ${filter.status})
        and (${filter.beforeId}::bigint is null or r.id < ${filter.beforeId})
      order by r.id desc limit ${filter.limit}`;
  }

  async attempts(runId: number): Promise<AttemptRow[]> {
    return this.sql<AttemptRow[]>`
      select run_id as "runId", attempt, status, reason, concurrency, failed_only as "failedOnly", rerun_jobs as "rerunJobs", workflow_id as "workflowId", created_at as "createdAt",
             started_at as "startedAt", finished_at as "finishedAt", cancel_requested_at as "cancelRequestedAt"
      from run_attempts where run_id = ${runId} order by attempt`;
  }

  private runQuery() {
    return this.sql`
      select r.id, r.number, r.project_id as "projectId", p.slug as project, r.pipeline_id as "pipelineId", pl.name as pipeline,
             r.pipeline_version as "pipelineVersion", r.ref, r.commit_sha as "commitSha", pv.path as "pipelinePath", r.inputs, r.env, r.status, r.reason, r.priority, r.attempt,
             r.trigger, r.created_at as "createdAt", r.started_at as "startedAt", r.finished_at as "finishedAt"
      from runs r join projects p on p.id = r.project_id join pipelines pl on pl.id = r.pipeline_id
      join pipeline_versions pv on pv.pipeline_id = r.pipeline_id and pv.version = r.pipeline_version`;
  }
}
