import { Inject, Injectable } from '@nestjs/common';
import type { z } from 'zod';
import type { Agent } from '../../contract/agents.contract';
import { SQL, type Sql } from '../database/sql';
import { agentOffline } from './agent-liveness.sql';

export type { AgentStatus } from '../../contract/agents.contract';

/** The row the views read: exactly the contract's Agent. */
export type AgentView = z.output<typeof Agent>;

export type ExpiredLease = { jobId: number; try: number; runId: number; attempt: number };

@Injectable()
export class AgentsRepository {
  constructor(@Inject(SQL) private readonly sql: Sql) {}

  /**
   * Registering under an existing name takes that agent over (a restarted agent keeps its id)
   * and rotates its secret. Jobs it held are expired at once: the old process cannot be running them.
   */
  async register(input: {
    name: string;
    tokenId: string;
    secretHash: string;
    labels: string[];
    hostname: string | null;
    os: string | null;
    arch: string | null;
    version: string | null;
  }): Promise<{ id: string; labels: string[] }> {
    return this.sql.begin(async (tx) => {
      const [agent] = await tx<{ id: string; labels: string[] }[]>`
        insert into agents (name, token_id, secret_hash, declared_labels, hostname, os, arch, version)
        values (${input.name}, ${input.tokenId}, ${input.secretHash}, ${input.labels}, ${input.hostname}, ${input.os}, ${input.arch}, ${input.version})
        on conflict (name) do update set token_id = excluded.token_id, secret_hash = excluded.secret_hash,
          declared_labels = excluded.declared_labels, hostname = excluded.hostname, os = excluded.os, arch = excluded.arch,
          version = excluded.version, deleted_at = null, last_seen_at = now(), signed_off_at = null,
          labels_override = case when agents.deleted_at is null then agents.labels_override else null end
        returning id, coalesce(labels_override, declared_labels) as labels`;
      await tx`update jobs set lease_expires_at = now() where agent_id = ${agent.id} and status = 'running'`;
      return agent;
    });
  }

  async findBySecretHash(hash: string): Promise<{ id: string; name: string; labels: string[] } | undefined> {
    const [row] = await this.sql<{ id: string; name: string; labels: string[] }[]>`
      select id, name, coalesce(labels_override, declared_labels) as labels from agents
      where secret_hash = ${hash} and deleted_at is null`;
    return row;
  }

  /**
   * Marks the agent alive and extends the lease of the job it runs. Returns which of its jobs must
   * stop. One statement: busy agents beat every second, and a transaction of several round trips
   * would hold the job's row lock long enough to stall that job's log appends behind it.
   */
  async heartbeat(agentId: string, runningJobId: number | null, leaseSeconds: number): Promise<number[]> {
    const running = runningJobId ?? -1;
    const rows = await this.sql<{ id: number }[]>`
      with seen as (
        update agents set last_seen_at = now(), signed_off_at = null where id = ${agentId}
      ),
      extended as (
        update jobs set lease_expires_at = now() + make_interval(secs => ${leaseSeconds})
        where agent_id = ${agentId} and status = 'running' and id = ${running}
      ),
      -- A claim older than a few seconds that the agent does not report was never received (a long
      -- poll answered into a dead connection): expire it now rather than after the full lease.
      unreported as (
        update jobs set lease_expires_at = now()
        where agent_id = ${agentId} and status = 'running' and id <> ${running}
          and id in (select job_id from job_tries where agent_id = ${agentId} and claimed_at < now() - interval '15 seconds')
      )
      select id from jobs
      where id = ${running} and (status <> 'running' or cancel_requested or agent_id is distinct from ${agentId})`;
    return rows.map((row) => row.id);
  }

  async touch(agentId: string): Promise<void> {
    await this.sql`update agents set last_seen_at = now(), signed_off_at = null where id = ${agentId}`;
  }

  /** A clean stop: offline now, not when its lease would run out. */
  async signOff(agentId: string): Promise<void> {
    await this.sql`update agents set signed_off_at = now() where id = ${agentId}`;
  }

  async list(offlineAfterSeconds: number): Promise<AgentView[]> {
    return this.sql<AgentView[]>`${this.viewQuery(offlineAfterSeconds)} where a.deleted_at is null order by a.name`;
  }

  async get(id: string, offlineAfterSeconds: number): Promise<AgentView | undefined> {
    const [row] = await this.sql<AgentView[]>`${this.viewQuery(offlineAfterSeconds)} where a.id = ${id} and a.deleted_at is null`;
    return row;
  }

  async setLabelsOverride(id: string, labels: string[] | null): Promise<boolean> {
    const rows = await this.sql`update agents set labels_override = ${labels} where id = ${id} and deleted_at is null returning id`;
    if (rows.length) await this.sql`select pg_notify('bellows_queue', '')`;
    return rows.length > 0;
  }

  /** Soft delete: the secret stops working and the agent's running jobs are treated as lost now. */
  async delete(id: string): Promise<boolean> {
    return this.sql.begin(async (tx) => {
      const rows = await tx`update agents set deleted_at = now(), secret_hash = 'deleted:' || id where id = ${id} and deleted_at is null returning id`;
      if (rows.length) await tx`update jobs set lease_expires_at = now() where agent_id = ${id} and status = 'running'`;
      return rows.length > 0;
    });
  }

  async extendAllLeases(seconds: number): Promise<void> {
    await this.sql`
      update jobs set lease_expires_at = greatest(lease_expires_at, now() + make_interval(secs => ${seconds}))
      where status = 'running'`;
  }

  /**
   * Claims the right to report expired leases: pushing the lease forward makes one API instance
   * (and one reaper pass) signal each lost try, and it signals again only if a full lease passes.
   */
  async takeExpiredLeases(leaseSeconds: number, limit = 100): Promise<ExpiredLease[]> {
    return this.sql<ExpiredLease[]>`
      update jobs set lease_expires_at = now() + make_interval(secs => ${leaseSeconds})
      where id in (
        select id from jobs where status = 'running' and lease_expires_at < now()
        order by lease_expires_at limit ${limit} for update skip locked
      )
      returning id as "jobId", try, run_id as "runId", attempt`;
  }

  private viewQuery(offlineAfterSeconds: number) {
    return this.sql`
      select a.id, a.name, coalesce(a.labels_override, a.declared_labels) as labels, a.declared_labels as "declaredLabels",
             a.labels_override as "labelsOverride", a.hostname, a.os, a.arch, a.version, a.last_seen_at as "lastSeenAt",
             a.created_at as "createdAt", cj.id as "currentJobId",
             case when ${agentOffline(this.sql, offlineAfterSeconds)} then 'offline'
                  when cj.id is not null then 'busy' else 'online' end as status
      from agents a
      left join lateral (select id from jobs where agent_id = a.id and status = 'running' order by id limit 1) cj on true`;
  }
}
