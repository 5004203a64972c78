import { Inject, Injectable } from '@nestjs/common';
import { SQL, type Sql } from '../database/sql';
import { agentOffline } from '../agents/agent-liveness.sql';

// Read at scrape time from Postgres, so every API instance reports the same cluster-wide gauges.
@Injectable()
export class MetricsRepository {
  constructor(@Inject(SQL) private readonly sql: Sql) {}

  queueDepthByLabels(): Promise<{ labels: string[]; depth: number; oldestSeconds: number }[]> {
    return this.sql<{ labels: string[]; depth: number; oldestSeconds: number }[]>`
      select labels, count(*)::int as depth, coalesce(extract(epoch from now() - min(queued_at)), 0)::float8 as "oldestSeconds"
      from jobs where status = 'queued' group by labels`;
  }

  runsByStatus(): Promise<{ status: string; count: number }[]> {
    return this.sql<{ status: string; count: number }[]>`select status, count(*)::int as count from runs group by status`;
  }

  jobsByStatus(): Promise<{ status: string; count: number }[]> {
    return this.sql<{ status: string; count: number }[]>`
      select status, count(*)::int as count from jobs where status in ('waiting', 'queued', 'running') group by status`;
  }

  agentsByStatus(offlineAfterSeconds: number): Promise<{ status: string; count: number }[]> {
    return this.sql<{ status: string; count: number }[]>`
      select case when ${agentOffline(this.sql, offlineAfterSeconds)} then 'offline'
                  when exists (select 1 from jobs j where j.agent_id = a.id and j.status = 'running') then 'busy'
                  else 'online' end as status,
             count(*)::int as count
      from agents a where a.deleted_at is null group by 1`;
  }

  logBytesTotal(): Promise<number> {
    return this.sql<{ total: number }[]>`select coalesce(sum(log_bytes), 0)::float8 as total from jobs`.then(([row]) => row.total);
  }
}
