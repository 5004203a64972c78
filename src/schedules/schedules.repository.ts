import { Inject, Injectable } from '@nestjs/common';
import type { ScheduleOverlap } from '../../contract/schedules.contract';
import { SQL, type Sql } from '../database/sql';
import type { RunStatus } from '../runs/runs.repository';

export type ScheduleRow = {
  id: string;
  projectId: string;
  project: string;
  pipeline: string;
  cron: string | null;
  every: string | null;
  ref: string | null;
  inputs: Record<string, string>;
  timezone: string;
  overlap: ScheduleOverlap;
  paused: boolean;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
};

export type ScheduleRunRow = { scheduleId: string; id: number; number: number; status: RunStatus; createdAt: Date; finishedAt: Date | null };

export type ScheduleFields = Pick<ScheduleRow, 'pipeline' | 'cron' | 'every' | 'ref' | 'inputs' | 'timezone' | 'overlap' | 'paused'>;

@Injectable()
export class SchedulesRepository {
  constructor(@Inject(SQL) private readonly sql: Sql) {}

  async insert(schedule: ScheduleFields & { projectId: string; createdBy: string }): Promise<string> {
    const [row] = await this.sql<{ id: string }[]>`
      insert into schedules (project_id, pipeline, cron, every, ref, inputs, timezone, overlap, paused, created_by)
      values (${schedule.projectId}, ${schedule.pipeline}, ${schedule.cron}, ${schedule.every}, ${schedule.ref}, ${this.sql.json(schedule.inputs)},
              ${schedule.timezone}, ${schedule.overlap}, ${schedule.paused}, ${schedule.createdBy})
      returning id`;
    return row.id;
  }

  async get(id: string): Promise<ScheduleRow | undefined> {
    const [row] = await this.sql<ScheduleRow[]>`${this.scheduleQuery()} where s.id = ${id}`;
    return row;
  }

  async listForProject(projectId: string): Promise<ScheduleRow[]> {
    return this.sql<ScheduleRow[]>`${this.scheduleQuery()} where s.project_id = ${projectId} order by s.created_at, s.id`;
  }

  async update(id: string, fields: ScheduleFields): Promise<void> {
    await this.sql`
      update schedules set pipeline = ${fields.pipeline}, cron = ${fields.cron}, every = ${fields.every}, ref = ${fields.ref},
             inputs = ${this.sql.json(fields.inputs)}, timezone = ${fields.timezone}, overlap = ${fields.overlap}, paused = ${fields.paused},
             updated_at = now()
      where id = ${id}`;
  }

  async delete(id: string): Promise<boolean> {
    const rows = await this.sql`delete from schedules where id = ${id} returning id`;
    return rows.length > 0;
  }

  /** The latest `limit` runs of each schedule, newest first (the runs_schedule index). */
  async recentRuns(scheduleIds: string[], limit: number): Promise<ScheduleRunRow[]> {
    if (scheduleIds.length === 0) return [];
    return this.sql<ScheduleRunRow[]>`
      select s.id as "scheduleId", r.id, r.number, r.status, r.created_at as "createdAt", r.finished_at as "finishedAt"
      from unnest(${scheduleIds}::text[]) as s(id)
      cross join lateral (
        select id, number, status, created_at, finished_at from runs
        where trigger->>'kind' = 'schedule' and trigger->>'scheduleId' = s.id
        order by id desc limit ${limit}
      ) r
      order by s.id, r.id desc`;
  }

  private scheduleQuery() {
    return this.sql`
      select s.id, s.project_id as "projectId", p.slug as project, s.pipeline, s.cron, s.every, s.ref, s.inputs, s.timezone, s.overlap,
             s.paused, s.created_by as "createdBy", s.created_at as "createdAt", s.updated_at as "updatedAt"
      from schedules s join projects p on p.id = s.project_id`;
  }
}
