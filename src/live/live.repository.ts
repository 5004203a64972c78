import { Inject, Injectable } from '@nestjs/common';
import { SQL, type Sql } from '../database/sql';
import { agentOffline } from '../agents/agent-liveness.sql';
import type { JobStatus, RunStatus } from '../../contract/live.contract';

export type RunEventRow = { runId: number; projectId: string; project: string; pipeline: string; number: number; status: RunStatus; attempt: number };

export type JobEventRow = {
  jobId: number;
  runId: number;
  projectId: string;
  attempt: number;
  status: JobStatus;
  try: number;
  agent: string | null;
  exitCode: number | null;
  reason: string | null;
};

export type AgentStatusRow = { agentId: string; name: string; status: 'online' | 'busy' | 'offline' };

export type ArtifactEventRow = {
  id: string;
  name: string;
  size: number;
  sha256: string;
  runId: number;
  jobId: number;
  projectId: string;
  project: string;
  pipeline: string;
};

/**
 * The reads behind live events (what changed, in the shape viewers get) and the ownership checks of
 * subscriptions. Used by the API and by the worker, so it depends on nothing but SQL.
 */
@Injectable()
export class LiveRepository {
  constructor(@Inject(SQL) private readonly sql: Sql) {}

  async run(runId: number): Promise<RunEventRow | undefined> {
    const [row] = await this.sql<RunEventRow[]>`
      select r.id as "runId", r.project_id as "projectId", p.slug as project, pl.name as pipeline, r.number, r.status, r.attempt
      from runs r join projects p on p.id = r.project_id join pipelines pl on pl.id = r.pipeline_id
      where r.id = ${runId}`;
    return row;
  }

  async jobs(jobIds: number[]): Promise<JobEventRow[]> {
    if (!jobIds.length) return [];
    return this.sql<JobEventRow[]>`
      select j.id as "jobId", j.run_id as "runId", r.project_id as "projectId", j.attempt, j.status, j.try,
             a.name as agent, j.exit_code as "exitCode", j.reason
      from jobs j join runs r on r.id = j.run_id left join agents a on a.id = j.agent_id
      where j.id = any(${jobIds}::bigint[]) order by j.id`;
  }

  async attemptJobIds(runId: number, attempt: number): Promise<number[]> {
    const rows = await this.sql<{ id: number }[]>`select id from jobs where run_id = ${runId} and attempt = ${attempt} order by id`;
    return rows.map((row) => row.id);
  }

  async runProject(runId: number): Promise<string | undefined> {
    const [row] = await this.sql<{ projectId: string }[]>`select project_id as "projectId" from runs where id = ${runId}`;
    return row?.projectId;
  }

  async jobProject(jobId: number): Promise<string | undefined> {
    const [row] = await this.sql<{ projectId: string }[]>`
      select r.project_id as "projectId" from jobs j join runs r on r.id = j.run_id where j.id = ${jobId}`;
    return row?.projectId;
  }

  async artifact(id: string): Promise<ArtifactEventRow | undefined> {
    const [row] = await this.sql<ArtifactEventRow[]>`
      select a.id, a.name, a.size, a.sha256, a.run_id as "runId", a.job_id as "jobId", r.project_id as "projectId",
             p.slug as project, pl.name as pipeline
      from artifacts a join runs r on r.id = a.run_id join projects p on p.id = r.project_id join pipelines pl on pl.id = r.pipeline_id
      where a.id = ${id}`;
    return row;
  }

  /**
   * Records and returns agents whose status differs from the one last announced (all agents, or
   * one). The conditional UPDATE is the dedupe: of several API instances, one sees each change.
   */
  async takeStatusChanges(offlineAfterSeconds: number, agentId: string | null = null, force = false): Promise<AgentStatusRow[]> {
    return this.sql<AgentStatusRow[]>`
      with current as (
        select a.id,
               case when ${agentOffline(this.sql, offlineAfterSeconds)} then 'offline'
                    when exists (select 1 from jobs j where j.agent_id = a.id and j.status = 'running') then 'busy'
                    else 'online' end as status
        from agents a
        where a.deleted_at is null and (${agentId}::uuid is null or a.id = ${agentId}::uuid)
      )
      update agents a set live_status = c.status from current c
      where a.id = c.id and (${force}::boolean or a.live_status is distinct from c.status)
      returning a.id as "agentId", a.name, c.status`;
  }

  async agentName(agentId: string): Promise<string | undefined> {
    const [row] = await this.sql<{ name: string }[]>`select name from agents where id = ${agentId}::uuid`;
    return row?.name;
  }
}
