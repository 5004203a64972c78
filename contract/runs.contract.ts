// Runs: one execution of a pipeline, its attempts and their jobs.
import { z } from 'zod';
import { numericId, pageLimit, priority, stringMap, timestamp } from './common';
import { ConcurrencySlot } from './concurrency.contract';
import { defineRoute } from './http';
import { Job } from './jobs.contract';

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export const RunStatus = z.enum(RUN_STATUSES).meta({ id: 'RunStatus' });
export type RunStatus = z.infer<typeof RunStatus>;

/** The statuses a run (or an attempt) ends with; only an ended run may be re-run. */
export const TERMINAL_RUN_STATUSES = ['succeeded', 'failed', 'cancelled'] as const satisfies readonly RunStatus[];
export const isTerminal = (status: RunStatus): boolean => (TERMINAL_RUN_STATUSES as readonly RunStatus[]).includes(status);

export const TRIGGER_KINDS = ['manual', 'api', 'webhook', 'schedule'] as const;

/** Who or what started a run; webhook runs also name the hook, event, delivery and commit; schedule runs their schedule. */
export const Trigger = z
  .looseObject({
    kind: z.enum(TRIGGER_KINDS),
    actor: z.string().nullable().optional(),
    hookId: z.string().optional(),
    event: z.string().nullable().optional(),
    deliveryId: z.string().optional(),
    commitSha: z.string().nullable().optional(),
    scheduleId: z.string().optional(),
  })
  .meta({ id: 'Trigger' });
export type Trigger = z.input<typeof Trigger>;

export const RunSummary = z
  .object({
    id: z.number(),
    number: z.number(),
    project: z.string(),
    pipeline: z.string(),
    pipelineVersion: z.number(),
    ref: z.string(),
    commitSha: z.string().nullable(),
    /** The repository file the run's pipeline was read from, at commitSha. */
    pipelinePath: z.string().nullable().meta({ description: "The repository file the run's pipeline was read from, at commitSha." }),
    status: RunStatus,
    /** Why a policy ended the run as it did: `superseded` (a newer run of its concurrency group cancelled it) or `concurrency_skipped`; null otherwise. */
    reason: z.string().nullable().meta({ description: 'Why a policy ended the run as it did: `superseded` or `concurrency_skipped`; null otherwise.' }),
    /** Its jobs' place in the queue: higher first (the pipeline's, or the trigger's override). */
    priority: z.number().meta({ description: "Its jobs' place in the queue: higher first (the pipeline's, or the trigger's override)." }),
    attempt: z.number(),
    durationMs: z.number().nullable(),
    trigger: Trigger.nullable(),
    createdAt: timestamp,
    startedAt: timestamp.nullable(),
    finishedAt: timestamp.nullable(),
  })
  .meta({ id: 'RunSummary' });
export type RunSummary = z.input<typeof RunSummary>;

export const Attempt = z
  .object({
    attempt: z.number(),
    status: RunStatus,
    /** Why a policy ended this attempt: `superseded`, `concurrency_skipped`; null otherwise. */
    reason: z.string().nullable(),
    failedOnly: z.boolean(),
    /** The job keys this attempt was asked to re-run (what needs them re-ran too); null when it was not a chosen-jobs re-run. */
    rerunJobs: z
      .array(z.string())
      .nullable()
      .meta({ description: 'The job keys this attempt was asked to re-run (what needs them re-ran too); null when it was not a chosen-jobs re-run.' }),
    workflowId: z.string(),
    createdAt: timestamp,
    startedAt: timestamp.nullable(),
    finishedAt: timestamp.nullable(),
    durationMs: z.number().nullable(),
    jobs: z.array(Job),
  })
  .meta({ id: 'Attempt' });
export type Attempt = z.input<typeof Attempt>;

/** `jobs` are the current attempt's. */
export const RunDetail = RunSummary.extend({
  inputs: stringMap,
  env: stringMap,
  /** The current attempt's slot of its pipeline's concurrency group; null when the pipeline declares none. */
  concurrency: ConcurrencySlot.nullable(),
  jobs: z.array(Job),
  attempts: z.array(Attempt),
}).meta({ id: 'RunDetail' });
export type RunDetail = z.input<typeof RunDetail>;

export const RunList = z
  .object({ runs: z.array(RunSummary), nextCursor: z.string().nullable().meta({ description: 'The `cursor` of the next page; null on the last.' }) })
  .meta({ id: 'RunList' });
export type RunList = z.input<typeof RunList>;

export const MAX_REF_LENGTH = 255;
export const COMMIT_SHA_PATTERN = /^[0-9a-f]{7,64}$/i;

const stringRecord = (field: string) =>
  z.record(z.string(), z.string({ error: `each ${field} value must be a string` }), { error: `${field} must be an object of strings` });

export const TriggerRun = z
  .strictObject({
    ref: z
      .string({ error: 'ref must be a string' })
      .min(1, `ref must be 1-${MAX_REF_LENGTH} characters`)
      .max(MAX_REF_LENGTH, `ref must be 1-${MAX_REF_LENGTH} characters`)
      .optional()
      .meta({ example: 'main', description: "Branch, tag or commit; defaults to the repository's default branch (projects without a repository: main)." }),
    commitSha: z.string({ error: 'commitSha must be a hex commit id' }).regex(COMMIT_SHA_PATTERN, 'commitSha must be a hex commit id').optional().meta({ example: '9fceb02d0ae598e95dc970b74767f19372d61af8' }),
    inputs: stringRecord('inputs').optional().meta({ example: { name: 'world' } }),
    env: stringRecord('env').optional().meta({ example: { DEPLOY_TARGET: 'staging' } }),
    priority: priority.optional().meta({ description: "Overrides the pipeline's priority for this run (higher goes first).", example: 10 }),
  })
  .meta({ id: 'TriggerRun' });
export type TriggerRun = z.input<typeof TriggerRun>;

/** As many as a pipeline may have jobs. */
export const MAX_RERUN_JOBS = 500;

export const Rerun = z
  .strictObject({
    failedOnly: z.boolean({ error: 'failedOnly must be a boolean' }).optional().meta({ description: 'Re-run only the jobs that did not succeed, and what depends on them.' }),
    // An empty list, unknown names and the mix with failedOnly are refused by the service (422), which knows the run's jobs.
    jobs: z
      .array(z.string({ error: 'each job must be a job key or name' }), { error: 'jobs must be a list of job keys or names' })
      .max(MAX_RERUN_JOBS, `jobs must hold at most ${MAX_RERUN_JOBS} names`)
      .optional()
      .meta({
        description:
          'Re-run only these jobs and everything that needs them; the rest carry over with their results. Each is a job key (`test[os=linux]`) or a job name, meaning all of its matrix expansions.',
        example: ['build'],
      }),
  })
  .meta({ id: 'Rerun' });
export type Rerun = z.input<typeof Rerun>;

export const MAX_BULK_CANCEL = 500;

export const CancelRuns = z
  .strictObject({
    ids: z
      .array(z.number({ error: 'each id must be a positive integer' }).int('each id must be a positive integer').min(1, 'each id must be a positive integer'), { error: 'ids must be a list' })
      .min(1, 'ids must not be empty')
      .max(MAX_BULK_CANCEL, `ids must hold at most ${MAX_BULK_CANCEL} runs`)
      .meta({ example: [12, 13] }),
  })
  .meta({ id: 'CancelRuns' });
export type CancelRuns = z.input<typeof CancelRuns>;

export const CancelManyResult = z
  .object({ cancelled: z.array(z.number()), skipped: z.array(z.object({ id: z.number(), reason: z.string() })) })
  .meta({ id: 'CancelManyResult' });
export type CancelManyResult = z.input<typeof CancelManyResult>;

/** Runs are listed 50 at a time by default, at most 200. */
const RunListQuery = z.object({
  project: z.string().optional(),
  pipeline: z.string().optional(),
  // Checked by the service (400 bad_request naming the statuses), as before the contract.
  status: z.string().optional().meta({ description: `One of ${RUN_STATUSES.join(', ')}.` }),
  cursor: z.string().optional().meta({ description: 'The nextCursor of the previous page.' }),
  limit: pageLimit(50, 200),
});

const tag = 'runs';
const params = z.object({ id: numericId('run') });

export const runRoutes = {
  trigger: defineRoute({
    method: 'POST',
    path: '/api/v1/projects/:slug/pipelines/:name/runs',
    tag,
    summary: 'Trigger a run',
    auth: 'trigger',
    status: 201,
    headers: { 'X-Bellows-Trigger': '`manual` when a person started the run (the web UI sends it).' },
    body: TriggerRun,
    response: RunDetail,
  }),
  list: defineRoute({
    method: 'GET',
    path: '/api/v1/runs',
    tag,
    summary: 'Runs, newest first',
    auth: 'read',
    status: 200,
    query: RunListQuery,
    response: RunList,
  }),
  get: defineRoute({ method: 'GET', path: '/api/v1/runs/:id', tag, summary: 'A run with its attempts and jobs', auth: 'read', status: 200, params, response: RunDetail }),
  cancelMany: defineRoute({ method: 'POST', path: '/api/v1/runs/cancel', tag, summary: 'Cancel several runs', auth: 'write', status: 200, body: CancelRuns, response: CancelManyResult }),
  cancel: defineRoute({ method: 'POST', path: '/api/v1/runs/:id/cancel', tag, summary: 'Cancel a run', auth: 'write', status: 200, params, response: RunDetail }),
  rerun: defineRoute({ method: 'POST', path: '/api/v1/runs/:id/rerun', tag, summary: 'Re-run as a new attempt', auth: 'write', status: 201, params, body: Rerun, response: RunDetail }),
};
