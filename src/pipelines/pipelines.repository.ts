import { Inject, Injectable } from '@nestjs/common';
import type { z } from 'zod';
import type { PipelineSummary as PipelineSummaryView, PipelineVersion as PipelineVersionView, PipelineVersionSummary } from '../../contract/pipelines.contract';
import { SQL, type Sql } from '../database/sql';
import type { PipelineDefinition } from './pipeline-spec';

export type PipelineSummary = z.output<typeof PipelineSummaryView>;

/** A version as the API shows it, and the pipeline's id for what follows from it (runs, versions). */
export type PipelineVersion = z.output<typeof PipelineVersionView> & { pipelineId: string };

@Injectable()
export class PipelinesRepository {
  constructor(@Inject(SQL) private readonly sql: Sql) {}

  /** Creates the pipeline on first PUT and appends a new immutable version, atomically. */
  async addVersion(projectId: string, name: string, def: PipelineDefinition, sha256: string): Promise<{ version: number }> {
    return this.sql.begin(async (tx) => {
      const [pipeline] = await tx<{ id: string; version: number }[]>`
        insert into pipelines (project_id, name, latest_version) values (${projectId}, ${name}, 1)
        on conflict (project_id, name) do update set latest_version = pipelines.latest_version + 1, updated_at = now()
        returning id, latest_version as version`;
      await tx`
        insert into pipeline_versions (pipeline_id, version, kind, content, path, sha256, labels, matrix, env, inputs, jobs, timeout_minutes, priority, concurrency)
        values (${pipeline.id}, ${pipeline.version}, ${def.kind}, ${def.content}, ${def.path}, ${sha256}, ${def.labels},
                ${tx.json(def.matrix)}, ${tx.json(def.env)}, ${tx.json(def.inputs as Record<string, never>)},
                ${def.jobs ? tx.json(def.jobs as never) : null}, ${def.timeoutMinutes}, ${def.priority},
                ${def.concurrency ? tx.json(def.concurrency) : null})`;
      return { version: pipeline.version };
    });
  }

  async list(projectId: string): Promise<PipelineSummary[]> {
    return this.sql<PipelineSummary[]>`
      select p.id, p.name, p.latest_version as "latestVersion", v.kind, v.path, p.created_at as "createdAt", p.updated_at as "updatedAt"
      from pipelines p join pipeline_versions v on v.pipeline_id = p.id and v.version = p.latest_version
      where p.project_id = ${projectId} order by p.name`;
  }

  /** The given version, or the latest when version is null. */
  async findVersion(projectId: string, name: string, version: number | null): Promise<PipelineVersion | undefined> {
    const [row] = await this.sql<PipelineVersion[]>`
      select p.id as "pipelineId", p.name, v.version, v.kind, v.content, v.path, v.sha256, v.labels, v.matrix, v.env, v.inputs, v.jobs,
             v.timeout_minutes as "timeoutMinutes", v.priority, v.concurrency, v.created_at as "createdAt"
      from pipelines p join pipeline_versions v on v.pipeline_id = p.id and v.version = coalesce(${version}::int, p.latest_version)
      where p.project_id = ${projectId} and p.name = ${name}`;
    return row;
  }

  async findVersionById(pipelineId: string, version: number): Promise<PipelineVersion | undefined> {
    const [row] = await this.sql<PipelineVersion[]>`
      select p.id as "pipelineId", p.name, v.version, v.kind, v.content, v.path, v.sha256, v.labels, v.matrix, v.env, v.inputs, v.jobs,
             v.timeout_minutes as "timeoutMinutes", v.priority, v.concurrency, v.created_at as "createdAt"
      from pipelines p join pipeline_versions v on v.pipeline_id = p.id and v.version = ${version}
      where p.id = ${pipelineId}`;
    return row;
  }

  async listVersions(pipelineId: string): Promise<z.output<typeof PipelineVersionSummary>[]> {
    return this.sql<z.output<typeof PipelineVersionSummary>[]>`
      select version, sha256, kind, created_at as "createdAt" from pipeline_versions
      where pipeline_id = ${pipelineId} order by version desc`;
  }
}
