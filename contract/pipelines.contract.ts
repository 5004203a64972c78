// Pipelines: named, versioned `.act` graphs or scripts, stored or read from the project's repository.
import { z } from 'zod';
import { priority, timestamp } from './common';
import { ConcurrencyDefinition } from './concurrency.contract';
import { defineRoute } from './http';

/** The rule for pipeline names: the API refuses any other, and the web UI names pipelines it derives from repository files by it. */
export const PIPELINE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
export const PIPELINE_NAME_RULE = '1-100 letters, digits, dot, dash or underscore';
export const MAX_PIPELINE_CONTENT_LENGTH = 2 * 1024 * 1024;
export const MAX_PIPELINE_PATH_LENGTH = 1024;
export const TIMEOUT_MINUTES = { min: 1, max: 4320, fallback: 60 } as const;

export const PIPELINE_KINDS = ['act', 'script'] as const;
export const PipelineKind = z.enum(PIPELINE_KINDS).meta({ id: 'PipelineKind' });
export type PipelineKind = z.input<typeof PipelineKind>;

export const MatrixValue = z.union([z.string(), z.number(), z.boolean()]);
export type MatrixValue = z.input<typeof MatrixValue>;

export const InputDefinition = z
  .object({
    description: z.string().optional(),
    default: z.string().optional(),
    required: z.boolean().optional(),
    /** Found in the graph rather than declared: required, but does not make the pipeline's inputs a closed list. */
    fromGraph: z.boolean().optional(),
  })
  .meta({ id: 'InputDefinition' });
export type InputDefinition = z.input<typeof InputDefinition>;

/** Tries in all a retry policy may ask for: enough for flaky infrastructure, not a retry loop. */
export const RETRY_MAX_TRIES = { min: 2, max: 10 } as const;
export const RETRY_BACKOFF_SECONDS = { max: 3600 } as const;

/** A job's automatic retries (checked in full by the pipeline validator, which names every problem). */
export const JobRetry = z
  .object({
    exitCodes: z.array(z.number()).optional().meta({ description: 'Exit codes that retry; with neither this nor `reasons`, any failure retries.', example: [75] }),
    reasons: z.array(z.enum(['agent_lost', 'timeout'])).optional().meta({ description: 'Server-side failures that retry.' }),
    maxTries: z.number().meta({ description: `Tries in all, the first included (${RETRY_MAX_TRIES.min}-${RETRY_MAX_TRIES.max}).`, example: 3 }),
    backoffSeconds: z.number().optional().meta({ description: 'Pause before each new try (a durable timer).', default: 0 }),
  })
  .meta({ id: 'JobRetry' });
export type JobRetry = z.output<typeof JobRetry>;

/** What a job of a pipeline is: a graph or a script an agent runs, or a human approval gate no agent runs. */
export const JOB_KINDS = ['act', 'script', 'approval'] as const;

export const JobDefinition = z
  .object({
    name: z.string(),
    kind: z.enum(JOB_KINDS).optional(),
    content: z.string().optional(),
    labels: z.array(z.string()).optional(),
    needs: z.array(z.string()).optional(),
    matrix: z.record(z.string(), z.array(MatrixValue)).optional(),
    env: z.record(z.string(), z.string()).optional(),
    timeoutMinutes: z.number().optional(),
    retry: JobRetry.optional(),
    /** Approval jobs: token names that may decide; anyone with trigger scope when empty or absent. */
    approvers: z.array(z.string()).optional(),
    /** A slot this job (each matrix leg on its own) takes while it runs. */
    concurrency: ConcurrencyDefinition.optional(),
  })
  .meta({ id: 'JobDefinition' });
export type JobDefinition = z.input<typeof JobDefinition>;

const objectOf = (field: string) => z.record(z.string(), z.unknown(), { error: `${field} must be an object` });

/**
 * A pipeline as pushed. matrix, env, inputs and jobs are only required to be objects (lists) here: the
 * server checks what is in them all at once and answers 422 invalid_pipeline naming every problem.
 */
export const PutPipeline = z
  .strictObject({
    content: z
      .string({ error: 'content must be a string' })
      .max(MAX_PIPELINE_CONTENT_LENGTH, `content must be at most ${MAX_PIPELINE_CONTENT_LENGTH} characters`)
      .optional()
      .meta({ description: 'A `.act` graph (YAML) or a shell script. Give this or `path`.', example: 'echo hello\n' }),
    path: z
      .string({ error: 'path must be a string' })
      .max(MAX_PIPELINE_PATH_LENGTH, `path must be at most ${MAX_PIPELINE_PATH_LENGTH} characters`)
      .optional()
      .meta({ description: "The pipeline's file in the project's repository (relative to its root), read at each run's commit. Give this or `content`.", example: '.bellows/build.act' }),
    kind: z.enum(PIPELINE_KINDS, { error: `kind must be one of: ${PIPELINE_KINDS.join(', ')}` }).optional().meta({ description: 'Inferred from the content when absent.' }),
    labels: z.array(z.string({ error: 'each label must be a string' }), { error: 'labels must be a list of strings' }).optional().meta({ description: 'Labels an agent must have to run the jobs.', example: ['os=linux'] }),
    matrix: objectOf('matrix').optional().meta({ description: 'One job per combination: each key a list of values.', example: { node: ['20', '22'] } }),
    env: objectOf('env').optional().meta({ example: { NODE_ENV: 'test' } }),
    inputs: objectOf('inputs').optional().meta({ example: { name: { required: true, description: 'who to greet' } } }),
    timeoutMinutes: z
      .number({ error: 'timeoutMinutes must be a number' })
      .int(`timeoutMinutes must be an integer from ${TIMEOUT_MINUTES.min} to ${TIMEOUT_MINUTES.max}`)
      .min(TIMEOUT_MINUTES.min, `timeoutMinutes must be an integer from ${TIMEOUT_MINUTES.min} to ${TIMEOUT_MINUTES.max}`)
      .max(TIMEOUT_MINUTES.max, `timeoutMinutes must be an integer from ${TIMEOUT_MINUTES.min} to ${TIMEOUT_MINUTES.max}`)
      .optional()
      .meta({ default: TIMEOUT_MINUTES.fallback }),
    priority: priority.optional().meta({ default: 0, description: "Its runs' place in the queue: higher first, then queue order. A trigger may override it." }),
    concurrency: objectOf('concurrency')
      .optional()
      .meta({ description: 'A slot of a concurrency group each run takes before any of its jobs is queued, and keeps until it ends.', example: { group: 'deploy-${ref}', onConflict: 'queue' } }),
    jobs: z
      .array(z.unknown(), { error: 'jobs must be a list' })
      .optional()
      .meta({ description: 'Several jobs with `needs` between them; each may override content, labels, matrix, env.' }),
  })
  .meta({ id: 'PutPipeline' });
export type PutPipeline = z.input<typeof PutPipeline>;

export const PipelinePut = z.object({ name: z.string(), version: z.number(), sha256: z.string(), kind: PipelineKind }).meta({ id: 'PipelinePut' });
export type PipelinePut = z.input<typeof PipelinePut>;

export const PipelineSummary = z
  .object({ id: z.string(), name: z.string(), latestVersion: z.number(), kind: PipelineKind, path: z.string().nullable(), createdAt: timestamp, updatedAt: timestamp })
  .meta({ id: 'PipelineSummary' });
export type PipelineSummary = z.input<typeof PipelineSummary>;

export const PipelineList = z.object({ pipelines: z.array(PipelineSummary) }).meta({ id: 'PipelineList' });
export type PipelineList = z.input<typeof PipelineList>;

/** What a version stores, as checked when it was pushed. */
export const PipelineDefinition = z.object({
  kind: PipelineKind,
  /** Stored content; empty for a repository pipeline, whose content is read at each run's commit. */
  content: z.string(),
  /** A repository pipeline's file, relative to the repository root. */
  path: z.string().nullable(),
  labels: z.array(z.string()),
  matrix: z.record(z.string(), z.array(MatrixValue)),
  env: z.record(z.string(), z.string()),
  inputs: z.record(z.string(), InputDefinition),
  timeoutMinutes: z.number(),
  priority: z.number(),
  /** The group each run of this version takes a slot of; null when it declares none. */
  concurrency: ConcurrencyDefinition.nullable(),
  jobs: z.array(JobDefinition).nullable(),
});

export const PipelineVersion = PipelineDefinition.extend({ name: z.string(), version: z.number(), sha256: z.string(), createdAt: timestamp }).meta({ id: 'PipelineVersion' });
export type PipelineVersion = z.input<typeof PipelineVersion>;

export const PipelineVersionSummary = z.object({ version: z.number(), sha256: z.string(), kind: PipelineKind, createdAt: timestamp }).meta({ id: 'PipelineVersionSummary' });
export type PipelineVersionSummary = z.input<typeof PipelineVersionSummary>;

export const PipelineVersionList = z.object({ versions: z.array(PipelineVersionSummary) }).meta({ id: 'PipelineVersionList' });
export type PipelineVersionList = z.input<typeof PipelineVersionList>;

export const PipelineVersionQuery = z.object({
  version: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return null;
      const version = Number(raw);
      if (Number.isInteger(version) && version >= 1) return version;
      ctx.addIssue({ code: 'custom', message: `version must be a positive integer, got "${raw}".` });
      return z.NEVER;
    })
    .meta({ description: 'A version number; the latest when absent.' }),
});

const tag = 'pipelines';

export const pipelineRoutes = {
  put: defineRoute({ method: 'PUT', path: '/api/v1/projects/:slug/pipelines/:name', tag, summary: 'Create a pipeline or store a new version', auth: 'write', status: 200, body: PutPipeline, response: PipelinePut }),
  list: defineRoute({ method: 'GET', path: '/api/v1/projects/:slug/pipelines', tag, summary: "A project's pipelines", auth: 'read', status: 200, response: PipelineList }),
  get: defineRoute({ method: 'GET', path: '/api/v1/projects/:slug/pipelines/:name', tag, summary: 'A pipeline version (the latest unless ?version=)', auth: 'read', status: 200, query: PipelineVersionQuery, response: PipelineVersion }),
  versions: defineRoute({ method: 'GET', path: '/api/v1/projects/:slug/pipelines/:name/versions', tag, summary: "A pipeline's versions", auth: 'read', status: 200, response: PipelineVersionList }),
};
