import { Inject, Injectable, Logger } from '@nestjs/common';
import { ScheduleNotFoundError, type ScheduleHandle } from '@temporalio/client';
import type { z } from 'zod';
import type { api } from '../../contract';
import type { RouteBody } from '../../contract/http';
import { SCHEDULE_RECENT_RUNS, type Schedule, type ScheduleList } from '../../contract/schedules.contract';
import { temporalScheduleIdFor, type ScheduledRunInput } from '../../workflows/messages';
import type { scheduledRunWorkflow } from '../../workflows/scheduled-run.workflow';
import { assertProjectAccess } from '../auth/project-access';
import type { TokenPrincipal } from '../auth/principal';
import { ApiError, notFound, unprocessable } from '../common/api-error';
import { isUuid } from '../common/validation';
import { CONFIG, type Config } from '../config/config';
import { PipelinesService } from '../pipelines/pipelines.service';
import { ProjectsService } from '../projects/projects.service';
import { TemporalService } from '../temporal/temporal.service';
import { temporalOverlap, timingProblems } from './schedule-spec';
import { SchedulesRepository, type ScheduleFields, type ScheduleRow, type ScheduleRunRow } from './schedules.repository';

export type ScheduleView = z.output<typeof Schedule>;

const temporalUnavailable = (what: string, error: unknown) =>
  new ApiError(503, 'temporal_unavailable', `Temporal did not ${what}: ${(error as Error).message}. Nothing was changed; try again.`);

/** gRPC INVALID_ARGUMENT: Temporal refused the spec (a cron our own check let through). */
function invalidArgument(error: unknown): string | null {
  for (let cause: unknown = error; cause; cause = (cause as { cause?: unknown }).cause) {
    if ((cause as { code?: unknown }).code === 3) return (cause as Error).message;
  }
  return null;
}

/**
 * Schedules: the row in Postgres says what a firing runs; the Temporal Schedule with the id
 * schedule-<id> says when, and is paused, resumed and triggered there (so the Temporal UI shows the truth).
 * Temporal is changed first on every write: if it refuses, Postgres is left as it was (a create removes its row).
 */
@Injectable()
export class SchedulesService {
  private readonly logger = new Logger('schedules');

  constructor(
    private readonly schedules: SchedulesRepository,
    private readonly projects: ProjectsService,
    private readonly pipelines: PipelinesService,
    private readonly temporal: TemporalService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async create(principal: TokenPrincipal, slug: string, body: RouteBody<typeof api.schedules.create>): Promise<ScheduleView> {
    const project = await this.projects.get(principal, slug);
    const fields: ScheduleFields = {
      pipeline: body.pipeline,
      cron: body.cron ?? null,
      every: body.every ?? null,
      ref: body.ref ?? null,
      inputs: body.inputs ?? {},
      timezone: body.timezone ?? 'UTC',
      overlap: body.overlap ?? 'skip',
      paused: body.paused ?? false,
    };
    this.check(fields, `Cannot create the schedule of ${slug}/${body.pipeline}`);
    await this.pipelines.get(project, body.pipeline, null);
    // The row first: its id names the Temporal Schedule, and a firing that comes before the row would find nothing.
    const id = await this.schedules.insert({ ...fields, projectId: project.id, createdBy: principal.name });
    try {
      await this.temporal.client.schedule.create<typeof scheduledRunWorkflow>({
        scheduleId: temporalScheduleIdFor(id),
        spec: this.spec(fields),
        action: {
          type: 'startWorkflow',
          workflowType: 'scheduledRunWorkflow',
          taskQueue: this.config.taskQueue,
          // Temporal appends the firing's time to this id: one workflow (and one run) per firing.
          workflowId: `${temporalScheduleIdFor(id)}-run`,
          args: [{ scheduleId: id } satisfies ScheduledRunInput],
        },
        policies: { overlap: temporalOverlap(fields.overlap), catchupWindow: '1 minute' },
        state: { paused: fields.paused, note: `Bellows schedule ${slug}/${body.pipeline}` },
        memo: { project: slug, pipeline: body.pipeline },
      });
    } catch (error) {
      await this.schedules.delete(id);
      const refused = invalidArgument(error);
      if (refused) throw unprocessable(`Cannot create the schedule of ${slug}/${body.pipeline}: Temporal refused it: ${refused}`, 'invalid_schedule');
      throw temporalUnavailable('create the schedule', error);
    }
    return this.get(principal, id);
  }

  async list(principal: TokenPrincipal, slug: string): Promise<z.output<typeof ScheduleList>> {
    const project = await this.projects.get(principal, slug);
    const rows = await this.schedules.listForProject(project.id);
    return { schedules: await this.views(rows) };
  }

  async get(principal: TokenPrincipal, id: string): Promise<ScheduleView> {
    const [view] = await this.views([await this.load(principal, id)]);
    return view;
  }

  async update(principal: TokenPrincipal, id: string, body: RouteBody<typeof api.schedules.update>): Promise<ScheduleView> {
    const row = await this.load(principal, id);
    // Giving one of cron and every replaces the other.
    const timingGiven = body.cron !== undefined || body.every !== undefined;
    const fields: ScheduleFields = {
      pipeline: row.pipeline,
      cron: timingGiven ? (body.cron ?? null) : row.cron,
      every: timingGiven ? (body.every ?? null) : row.every,
      ref: body.ref === undefined ? row.ref : body.ref,
      inputs: body.inputs ?? row.inputs,
      timezone: body.timezone ?? row.timezone,
      overlap: body.overlap ?? row.overlap,
      paused: body.paused ?? row.paused,
    };
    this.check(fields, `Cannot change schedule ${id}`);
    try {
      // One update: spec, overlap and pause state change together or not at all.
      await this.handle(id).update((previous) => ({
        ...previous,
        spec: this.spec(fields),
        policies: { ...previous.policies, overlap: temporalOverlap(fields.overlap) },
        // Without `paused` in the body, the pause state stays whatever Temporal has (the Temporal UI may have changed it).
        state: body.paused === undefined ? previous.state : { ...previous.state, paused: body.paused, note: `${body.paused ? 'paused' : 'resumed'} by ${principal.name}` },
      }));
    } catch (error) {
      if (error instanceof ScheduleNotFoundError) throw this.lostInTemporal(id);
      const refused = invalidArgument(error);
      if (refused) throw unprocessable(`Cannot change schedule ${id}: Temporal refused it: ${refused}`, 'invalid_schedule');
      throw temporalUnavailable('change the schedule', error);
    }
    await this.schedules.update(id, fields);
    return this.get(principal, id);
  }

  async remove(principal: TokenPrincipal, id: string): Promise<void> {
    await this.load(principal, id);
    try {
      await this.handle(id).delete();
    } catch (error) {
      // Already gone from Temporal (a reset dev cluster): the row is all that is left to delete.
      if (!(error instanceof ScheduleNotFoundError)) throw temporalUnavailable('delete the schedule', error);
    }
    await this.schedules.delete(id);
  }

  /** Starts a firing now, even while one is going or the schedule is paused: a person asked for it. */
  async trigger(principal: TokenPrincipal, id: string): Promise<ScheduleView> {
    await this.load(principal, id);
    try {
      await this.handle(id).trigger('ALLOW_ALL');
    } catch (error) {
      if (error instanceof ScheduleNotFoundError) throw this.lostInTemporal(id);
      throw temporalUnavailable('trigger the schedule', error);
    }
    return this.get(principal, id);
  }

  private check(fields: ScheduleFields, context: string): void {
    const problems = timingProblems(fields);
    if (problems.length) throw unprocessable(`${context}: ${problems.join('; ')}`, 'invalid_schedule');
  }

  private spec(fields: ScheduleFields) {
    return fields.cron !== null
      ? { cronExpressions: [fields.cron], timezone: fields.timezone }
      : { intervals: [{ every: fields.every as string }], timezone: fields.timezone };
  }

  private handle(id: string): ScheduleHandle {
    return this.temporal.client.schedule.getHandle(temporalScheduleIdFor(id));
  }

  private lostInTemporal(id: string): ApiError {
    return new ApiError(409, 'schedule_missing_in_temporal', `Schedule ${id} is missing from Temporal (was its cluster reset?); delete it and create it again.`);
  }

  private async load(principal: TokenPrincipal, id: string): Promise<ScheduleRow> {
    if (!isUuid(id)) throw notFound('schedule', id);
    const row = await this.schedules.get(id);
    if (!row) throw notFound('schedule', id);
    assertProjectAccess(principal, { id: row.projectId, slug: row.project });
    return row;
  }

  private async views(rows: ScheduleRow[]): Promise<ScheduleView[]> {
    const [runs, live] = await Promise.all([this.schedules.recentRuns(rows.map((row) => row.id), SCHEDULE_RECENT_RUNS), Promise.all(rows.map((row) => this.temporalState(row)))]);
    const byId = new Map<string, ScheduleRunRow[]>();
    for (const run of runs) byId.set(run.scheduleId, [...(byId.get(run.scheduleId) ?? []), run]);
    return rows.map((row, i) => ({
      id: row.id,
      project: row.project,
      pipeline: row.pipeline,
      cron: row.cron,
      every: row.every,
      ref: row.ref,
      inputs: row.inputs,
      timezone: row.timezone,
      overlap: row.overlap,
      paused: live[i].paused,
      nextRunAt: live[i].nextRunAt,
      recentRuns: (byId.get(row.id) ?? []).map(({ id, number, status, createdAt, finishedAt }) => ({ id, number, status, createdAt, finishedAt })),
      createdBy: row.createdBy,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    }));
  }

  /**
   * Temporal's own pause state and next action time: a schedule paused or resumed in the Temporal UI shows
   * as such here. A listing still answers (the stored state, no next time) when Temporal does not.
   */
  private async temporalState(row: ScheduleRow): Promise<{ paused: boolean; nextRunAt: Date | null }> {
    try {
      const description = await this.handle(row.id).describe();
      const paused = description.state.paused;
      return { paused, nextRunAt: paused ? null : (description.info.nextActionTimes[0] ?? null) };
    } catch (error) {
      this.logger.warn(`schedule ${row.id}: no state from Temporal: ${(error as Error).message}`);
      return { paused: row.paused, nextRunAt: null };
    }
  }
}
