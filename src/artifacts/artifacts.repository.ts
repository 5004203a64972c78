import { Inject, Injectable } from '@nestjs/common';
import { SQL, type Sql } from '../database/sql';

export type ArtifactRow = {
  id: string;
  name: string;
  size: number;
  sha256: string;
  runId: number;
  runNumber: number;
  jobId: number;
  attempt: number;
  try: number;
  projectId: string;
  project: string;
  pipeline: string;
  storageKey: string;
  createdAt: Date;
};

export type ArtifactFilter = {
  projectId: string | null;
  q: string | null;
  pipeline: string | null;
  runId: number | null;
  from: Date | null;
  to: Date | null;
  minSize: number | null;
  maxSize: number | null;
  cursor: { createdAt: Date; id: string } | null;
  limit: number;
};

@Injectable()
export class ArtifactsRepository {
  constructor(@Inject(SQL) private readonly sql: Sql) {}

  /** Re-uploading a name within the same try replaces it; returns the key of the replaced bytes. */
  async upsert(input: { id: string; runId: number; jobId: number; attempt: number; try: number; name: string; size: number; sha256: string; storageKey: string }) {
    return this.sql.begin(async (tx) => {
      const [previous] = await tx<{ storageKey: string }[]>`
        select storage_key as "storageKey" from artifacts where job_id = ${input.jobId} and try = ${input.try} and name = ${input.name} for update`;
      const [row] = await tx<{ id: string }[]>`
        insert into artifacts (id, run_id, job_id, attempt, try, name, size, sha256, storage_key)
        values (${input.id}, ${input.runId}, ${input.jobId}, ${input.attempt}, ${input.try}, ${input.name}, ${input.size}, ${input.sha256}, ${input.storageKey})
        on conflict (job_id, try, name) do update set size = excluded.size, sha256 = excluded.sha256, storage_key = excluded.storage_key, created_at = now()
        returning id`;
      return { id: row.id, replacedKey: previous && previous.storageKey !== input.storageKey ? previous.storageKey : null };
    });
  }

  /** The newest artifact of that name in the run (an earlier job, or an earlier attempt, uploaded it). */
  async findInRun(runId: number, name: string): Promise<ArtifactRow | undefined> {
    const [row] = await this.sql<ArtifactRow[]>`${this.query()} where a.run_id = ${runId} and a.name = ${name} order by a.attempt desc, a.created_at desc limit 1`;
    return row;
  }

  async get(id: string): Promise<ArtifactRow | undefined> {
    const [row] = await this.sql<ArtifactRow[]>`${this.query()} where a.id = ${id}`;
    return row;
  }

  async list(filter: ArtifactFilter): Promise<ArtifactRow[]> {
    const like = filter.q ? `%${filter.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
    return this.sql<ArtifactRow[]>`
      ${this.query()}
      where (${filter.projectId}::uuid is null or r.project_id = ${filter.projectId})
        and (${like}::text is null or lower(a.name) like ${like})
        and (${filter.pipeline}::text is null or strpos(lower(pl.name), lower(${filter.pipeline})) > 0)
        and (${filter.runId}::bigint is null or a.run_id = ${filter.runId})
        and (${filter.from}::timestamptz is null or a.created_at >= ${filter.from})
        and (${filter.to}::timestamptz is null or a.created_at <= ${filter.to})
        and (${filter.minSize}::bigint is null or a.size >= ${filter.minSize})
        and (${filter.maxSize}::bigint is null or a.size <= ${filter.maxSize})
        and (${filter.cursor?.createdAt ?? null}::timestamptz is null
             or (a.created_at, a.id) < (${filter.cursor?.createdAt ?? null}::timestamptz, ${filter.cursor?.id ?? null}::uuid))
      order by a.created_at desc, a.id desc limit ${filter.limit}`;
  }

  private query() {
    return this.sql`
      select a.id, a.name, a.size, a.sha256, a.run_id as "runId", r.number as "runNumber", a.job_id as "jobId", a.attempt, a.try,
             r.project_id as "projectId", p.slug as project, pl.name as pipeline, a.storage_key as "storageKey", a.created_at as "createdAt"
      from artifacts a join runs r on r.id = a.run_id join projects p on p.id = r.project_id join pipelines pl on pl.id = r.pipeline_id`;
  }
}
