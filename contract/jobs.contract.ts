// Jobs: one unit an agent runs, its graph with live node states, and its log.
import { z } from 'zod';
import { defineRoute } from './http';

/** Every status a job passes through: `waiting` for its needs, `queued` for an agent, then running to an end. */
export const JOB_STATUSES = ['waiting', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'skipped'] as const;
export const JobStatus = z.enum(JOB_STATUSES).meta({ id: 'JobStatus' });
export type JobStatus = z.infer<typeof JobStatus>;

/** The statuses a job never leaves. */
export const TERMINAL_JOB_STATUSES = ['succeeded', 'failed', 'cancelled', 'skipped'] as const satisfies readonly JobStatus[];
export const isTerminalJob = (status: JobStatus): boolean => (TERMINAL_JOB_STATUSES as readonly JobStatus[]).includes(status);

/** The state of one graph node of an `.act` job. */
export const NODE_STATES = ['running', 'succeeded', 'failed', 'skipped'] as const;
export const NodeState = z.enum(NODE_STATES).meta({ id: 'NodeState' });
export type NodeState = z.infer<typeof NodeState>;

export const LOG_STREAMS = ['stdout', 'stderr', 'system'] as const;
export const LogStream = z.enum(LOG_STREAMS).meta({ id: 'LogStream' });
export type LogStream = z.infer<typeof LogStream>;

export const PIPELINE_KINDS = ['act', 'script'] as const;
export const PipelineKind = z.enum(PIPELINE_KINDS).meta({ id: 'PipelineKind' });
export type PipelineKind = z.infer<typeof PipelineKind>;

// TODO(schema): request and response schemas (replace every z.unknown()).
const TODO = z.unknown();

const tag = 'jobs';

export const jobRoutes = {
  get: defineRoute({ method: 'GET', path: '/api/v1/jobs/:id', tag, summary: 'One job', auth: 'read', status: 200, response: TODO }),
  graph: defineRoute({ method: 'GET', path: '/api/v1/jobs/:id/graph', tag, summary: "A job's graph and the nodes executing now", auth: 'read', status: 200, response: TODO }),
  logs: defineRoute({
    method: 'GET',
    path: '/api/v1/jobs/:id/logs',
    tag,
    summary: "A page of a job's log (chunks after ?after=)",
    auth: 'read',
    status: 200,
    query: z.object({ after: z.string().optional(), limit: z.string().optional() }),
    response: TODO,
  }),
  logText: defineRoute({
    method: 'GET',
    path: '/api/v1/jobs/:id/logs',
    tag,
    summary: "A job's whole log as plain text (?format=text)",
    auth: 'read',
    status: 200,
    query: z.object({ format: z.literal('text') }),
    response: 'text',
  }),
};
