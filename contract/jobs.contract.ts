// Jobs: one unit an agent runs, its graph with live node states, and its log.
import { z } from 'zod';
import { numericId, pageLimit, stringMap, timestamp } from './common';
import { ConcurrencySlot } from './concurrency.contract';
import { defineRoute } from './http';
import { JOB_KINDS, JobRetry } from './pipelines.contract';

/** Every status a job passes through: `waiting` for its needs, `queued` for an agent, then running to an end (an approval job: `awaiting_approval` for a decision). */
export const JOB_STATUSES = ['waiting', 'queued', 'running', 'awaiting_approval', 'succeeded', 'failed', 'cancelled', 'skipped'] as const;
export const JobStatus = z.enum(JOB_STATUSES).meta({ id: 'JobStatus' });
export type JobStatus = z.infer<typeof JobStatus>;

/** The statuses a job never leaves. */
export const TERMINAL_JOB_STATUSES = ['succeeded', 'failed', 'cancelled', 'skipped'] as const satisfies readonly JobStatus[];
export const isTerminalJob = (status: JobStatus): status is (typeof TERMINAL_JOB_STATUSES)[number] => (TERMINAL_JOB_STATUSES as readonly JobStatus[]).includes(status);

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

/** One try of a job: each claim by an agent is a try (a lost agent's job is tried again). */
export const JobTry = z
  .object({
    try: z.number(),
    agentId: z.string().nullable(),
    agent: z.string().nullable(),
    status: z.string(),
    reason: z.string().nullable(),
    exitCode: z.number().nullable(),
    claimedAt: timestamp,
    startedAt: timestamp.nullable(),
    finishedAt: timestamp.nullable(),
  })
  .meta({ id: 'JobTry' });
export type JobTry = z.input<typeof JobTry>;

export const JobKind = z.enum(JOB_KINDS).meta({ id: 'JobKind' });
export type JobKind = z.infer<typeof JobKind>;

export const APPROVAL_DECISIONS = ['approved', 'rejected', 'timed_out'] as const;
/** How an approval job was decided; `by` is the deciding token's name (null for a timeout). */
export const Approval = z
  .object({ decision: z.enum(APPROVAL_DECISIONS), by: z.string().nullable(), at: timestamp, comment: z.string().nullable() })
  .meta({ id: 'Approval' });
export type Approval = z.input<typeof Approval>;
export type ApprovalDecision = (typeof APPROVAL_DECISIONS)[number];

export const MAX_APPROVAL_COMMENT = 2000;
export const DecideApproval = z
  .strictObject({
    comment: z.string({ error: 'comment must be a string' }).max(MAX_APPROVAL_COMMENT, `comment must be at most ${MAX_APPROVAL_COMMENT} characters`).optional(),
  })
  .meta({ id: 'DecideApproval' });
export type DecideApproval = z.input<typeof DecideApproval>;

const jobFields = {
  id: z.number(),
  name: z.string(),
  key: z.string(),
  /** Script and approval jobs have no graph: the UI never asks for one. */
  kind: JobKind,
  status: JobStatus,
  reason: z.string().nullable(),
  labels: z.array(z.string()),
  needs: z.array(z.string()),
  matrix: stringMap,
  agentId: z.string().nullable(),
  agent: z.string().nullable(),
  exitCode: z.number().nullable(),
  try: z.number(),
  /** In a failed-only re-run, the previous attempt's job this one stands in for (it succeeded there and did not run again). */
  carriedFromJobId: z.number().nullable(),
  /** The job's automatic-retry policy, as its pipeline declared it. */
  retry: JobRetry.nullable(),
  /** Tries the job may take in all (its retry policy's, else the server's lost-agent limit). */
  maxTries: z.number(),
  /** While the job waits out a retry backoff (reason `retry_backoff`): when its next try is queued. */
  retryAt: timestamp.nullable(),
  /** Approval jobs: token names that may decide (empty: anyone with trigger scope). */
  approvers: z.array(z.string()),
  /** Approval jobs, once decided. */
  approval: Approval.nullable(),
  /** What the job wrote to $BELLOWS_OUTPUT (values holding a secret are masked); needing jobs receive them. */
  outputs: stringMap,
  /** The job's own concurrency group (null when it declares none), and where it stands in it. */
  concurrency: ConcurrencySlot.nullable(),
  queuedAt: timestamp.nullable(),
  startedAt: timestamp.nullable(),
  finishedAt: timestamp.nullable(),
};

/** A job as a run's detail lists it, with its tries. */
export const Job = z.object({ ...jobFields, durationMs: z.number().nullable(), tries: z.array(JobTry) }).meta({ id: 'Job' });
export type Job = z.input<typeof Job>;

/** A job on its own (GET /jobs/:id): which run and attempt it belongs to. */
export const JobRecord = z.object({ ...jobFields, runId: z.number(), attempt: z.number(), createdAt: timestamp }).meta({ id: 'JobRecord' });
export type JobRecord = z.input<typeof JobRecord>;

export const LogChunk = z
  .object({ seq: z.number(), try: z.number(), stream: LogStream, node: z.string().nullable(), text: z.string(), at: timestamp })
  .meta({ id: 'LogChunk' });
export type LogChunk = z.input<typeof LogChunk>;

export const LogPage = z
  .object({
    chunks: z.array(LogChunk),
    /** The `after` of the next page. */
    nextSeq: z.number().meta({ description: 'The `after` of the next page.' }),
    /** The job ended and every chunk was read. */
    complete: z.boolean().meta({ description: 'The job ended and every chunk was read.' }),
  })
  .meta({ id: 'LogPage' });
export type LogPage = z.input<typeof LogPage>;

export const PortRef = z.looseObject({ node: z.string(), port: z.string() }).meta({ id: 'PortRef' });
export type PortRef = z.input<typeof PortRef>;
export const GraphEdge = z.looseObject({ src: PortRef, dst: PortRef }).meta({ id: 'GraphEdge' });
export type GraphEdge = z.input<typeof GraphEdge>;

export type GraphNode = { id: string; type?: string; position?: { x: number; y: number }; graph?: ActGraphDoc; inputs?: Record<string, unknown>; [field: string]: unknown };
/** The `.act` document as the API parsed it from YAML (fields the view does not read pass through). */
export type ActGraphDoc = { nodes?: GraphNode[]; connections?: GraphEdge[]; executions?: GraphEdge[]; [field: string]: unknown };

export const GraphNode: z.ZodType<GraphNode, GraphNode> = z
  .looseObject({
    id: z.string(),
    type: z.string().optional(),
    position: z.looseObject({ x: z.number(), y: z.number() }).optional(),
    get graph() {
      return ActGraphDoc.optional();
    },
    inputs: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'GraphNode' });

export const ActGraphDoc: z.ZodType<ActGraphDoc, ActGraphDoc> = z
  .looseObject({
    nodes: z.array(GraphNode).optional(),
    connections: z.array(GraphEdge).optional(),
    executions: z.array(GraphEdge).optional(),
  })
  .meta({ id: 'ActGraphDoc' });

export const JobGraph = z
  .object({
    jobId: z.number(),
    status: JobStatus,
    /** null when the pipeline's text is not a graph document. */
    graph: ActGraphDoc.nullable().meta({ description: "null when the pipeline's text is not a graph document." }),
    activeNodes: z.array(z.string()),
    nodeStates: z.record(z.string(), NodeState),
    reportedAt: timestamp.nullable(),
  })
  .meta({ id: 'JobGraph' });
export type JobGraph = z.input<typeof JobGraph>;

/** `?after=`: chunks with a seq greater than this (0: from the start). */
const afterSeq = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    if (raw === undefined) return 0;
    const after = Number(raw);
    if (/^[0-9]+$/.test(raw) && Number.isSafeInteger(after)) return after;
    ctx.addIssue({ code: 'custom', message: `after must be a non-negative integer; got "${raw}"` });
    return z.NEVER;
  })
  .meta({ description: 'Return chunks with seq greater than this.' });

export const MAX_LOG_PAGE = 10_000;

const tag = 'jobs';
const params = z.object({ id: numericId('job') });

export const jobRoutes = {
  get: defineRoute({ method: 'GET', path: '/api/v1/jobs/:id', tag, summary: 'One job', auth: 'read', status: 200, params, response: JobRecord }),
  approve: defineRoute({ method: 'POST', path: '/api/v1/jobs/:id/approve', tag, summary: 'Approve an approval job (it succeeds; the jobs needing it go on)', auth: 'trigger', status: 200, params, body: DecideApproval, response: JobRecord }),
  reject: defineRoute({ method: 'POST', path: '/api/v1/jobs/:id/reject', tag, summary: 'Reject an approval job (it fails with reason rejected)', auth: 'trigger', status: 200, params, body: DecideApproval, response: JobRecord }),
  graph: defineRoute({ method: 'GET', path: '/api/v1/jobs/:id/graph', tag, summary: "A job's graph and the nodes executing now", auth: 'read', status: 200, params, response: JobGraph }),
  logs: defineRoute({
    method: 'GET',
    path: '/api/v1/jobs/:id/logs',
    tag,
    summary: "A page of a job's log (chunks after ?after=)",
    auth: 'read',
    status: 200,
    params,
    query: z.object({
      after: afterSeq,
      limit: pageLimit(1000, MAX_LOG_PAGE),
      format: z.enum(['json', 'text'], { error: 'format must be json or text' }).optional().meta({ description: '`text`: the whole log as plain text (see logText).' }),
    }),
    response: LogPage,
  }),
  logText: defineRoute({
    method: 'GET',
    path: '/api/v1/jobs/:id/logs',
    tag,
    summary: "A job's whole log as plain text (?format=text)",
    auth: 'read',
    status: 200,
    params,
    query: z.object({ format: z.literal('text') }),
    response: 'text',
  }),
};
