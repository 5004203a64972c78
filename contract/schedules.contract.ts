// Schedules: a pipeline run on a cron or an interval, kept as a Temporal Schedule (same id).
import { z } from 'zod';
import { timestamp } from './common';
import { defineRoute } from './http';
import { PIPELINE_NAME } from './pipelines.contract';
import { MAX_REF_LENGTH, RunStatus } from './runs.contract';

/** What happens when a run is due while the previous one is still going (Temporal's overlap policies). */
export const SCHEDULE_OVERLAPS = ['skip', 'buffer_one', 'allow_all', 'cancel_other'] as const;
export const ScheduleOverlap = z.enum(SCHEDULE_OVERLAPS).meta({ id: 'ScheduleOverlap' });
export type ScheduleOverlap = z.input<typeof ScheduleOverlap>;

/** How many of a schedule's latest runs its answers carry. */
export const SCHEDULE_RECENT_RUNS = 5;

const stringRecord = z.record(z.string(), z.string({ error: 'each inputs value must be a string' }), { error: 'inputs must be an object of strings' });

// cron / every / timezone are checked by the service (422 naming the problem): their rules need more than a schema.
const scheduleFields = {
  cron: z.string({ error: 'cron must be a string' }).optional().meta({ example: '0 3 * * 1-5', description: 'A cron expression (minute hour day-of-month month day-of-week); exactly one of cron and every.' }),
  every: z.string({ error: 'every must be a string' }).optional().meta({ example: '15m', description: 'An interval: a number and s, m, h or d ("30s", "15m", "2h"); exactly one of cron and every.' }),
  ref: z.string({ error: 'ref must be a string' }).min(1, `ref must be 1-${MAX_REF_LENGTH} characters`).max(MAX_REF_LENGTH, `ref must be 1-${MAX_REF_LENGTH} characters`).optional(),
  inputs: stringRecord.optional().meta({ example: { target: 'nightly' } }),
  timezone: z.string({ error: 'timezone must be a string' }).optional().meta({ example: 'Europe/Berlin', description: 'An IANA time zone the cron is read in (default UTC).' }),
  overlap: z.enum(SCHEDULE_OVERLAPS, { error: `overlap must be one of: ${SCHEDULE_OVERLAPS.join(', ')}` }).optional().meta({ description: 'When a run is due while the last is still going: skip (default), buffer_one, allow_all, cancel_other.' }),
  paused: z.boolean({ error: 'paused must be a boolean' }).optional(),
};

export const CreateSchedule = z
  .strictObject({
    pipeline: z.string({ error: 'pipeline must be a pipeline name' }).regex(PIPELINE_NAME, 'pipeline must be a pipeline name').meta({ example: 'build' }),
    ...scheduleFields,
  })
  .meta({ id: 'CreateSchedule' });
export type CreateSchedule = z.input<typeof CreateSchedule>;

/** Every field optional; `paused` pauses or resumes. Giving cron replaces every and the other way round. */
export const UpdateSchedule = z
  .strictObject({
    ...scheduleFields,
    ref: scheduleFields.ref.nullable().optional(),
  })
  .meta({ id: 'UpdateSchedule' });
export type UpdateSchedule = z.input<typeof UpdateSchedule>;

export const ScheduleRun = z
  .object({ id: z.number(), number: z.number(), status: RunStatus, createdAt: timestamp, finishedAt: timestamp.nullable() })
  .meta({ id: 'ScheduleRun' });
export type ScheduleRun = z.input<typeof ScheduleRun>;

export const Schedule = z
  .object({
    id: z.string(),
    project: z.string(),
    pipeline: z.string(),
    cron: z.string().nullable(),
    every: z.string().nullable(),
    ref: z.string().nullable(),
    inputs: z.record(z.string(), z.string()),
    timezone: z.string(),
    overlap: ScheduleOverlap,
    paused: z.boolean(),
    /** When Temporal starts the next run; null when paused or when Temporal did not answer. */
    nextRunAt: timestamp.nullable(),
    /** The latest runs this schedule started, newest first. */
    recentRuns: z.array(ScheduleRun),
    createdBy: z.string(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Schedule' });
export type Schedule = z.input<typeof Schedule>;

export const ScheduleList = z.object({ schedules: z.array(Schedule) }).meta({ id: 'ScheduleList' });
export type ScheduleList = z.input<typeof ScheduleList>;

const tag = 'schedules';

export const scheduleRoutes = {
  create: defineRoute({ method: 'POST', path: '/api/v1/projects/:slug/schedules', tag, summary: 'Create a schedule', auth: 'write', status: 201, body: CreateSchedule, response: Schedule }),
  list: defineRoute({ method: 'GET', path: '/api/v1/projects/:slug/schedules', tag, summary: "A project's schedules", auth: 'read', status: 200, response: ScheduleList }),
  get: defineRoute({ method: 'GET', path: '/api/v1/schedules/:scheduleId', tag, summary: 'One schedule, its next run and its latest runs', auth: 'read', status: 200, response: Schedule }),
  update: defineRoute({ method: 'PATCH', path: '/api/v1/schedules/:scheduleId', tag, summary: 'Edit, pause or resume a schedule', auth: 'write', status: 200, body: UpdateSchedule, response: Schedule }),
  delete: defineRoute({ method: 'DELETE', path: '/api/v1/schedules/:scheduleId', tag, summary: 'Delete a schedule (and its Temporal Schedule)', auth: 'write', status: 204, response: 'empty' }),
  trigger: defineRoute({ method: 'POST', path: '/api/v1/schedules/:scheduleId/trigger', tag, summary: 'Start a run of the schedule now', auth: 'trigger', status: 202, response: Schedule }),
};
