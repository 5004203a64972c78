// The Socket.IO contract of the live views, shared by the API gateway, the worker's emitter and the web
// UI. Events say what changed; a client that needs more refetches the REST resource.
//
// Connect to the API origin (path /socket.io) with `auth: { token }` (any API token with read scope).
// Rooms are joined with the `subscribe` request; a project-bound token only gets its project's rooms.
import { z } from 'zod';
import { AgentStatus } from './agents.contract';
import { JobStatus, LogStream, NodeState } from './jobs.contract';
import { RunStatus } from './runs.contract';

export { JobStatus, RunStatus };

/** `runs` (every run of the token's projects), `run:<id>`, `job:<id>`, `queue`, `agents`, `artifacts`. */
export const LiveRoom = z.union(
  [z.enum(['runs', 'queue', 'agents', 'artifacts']), z.templateLiteral(['run:', z.number()]), z.templateLiteral(['job:', z.number()])],
  { error: 'room must be runs, queue, agents, artifacts, run:<id> or job:<id>' },
);
export type LiveRoom = z.infer<typeof LiveRoom>;

/** A run was created or changed status/attempt (rooms `runs`, `run:<id>`). */
export const RunUpdatedEvent = z.object({ runId: z.number(), project: z.string(), pipeline: z.string(), number: z.number(), status: RunStatus, attempt: z.number() });
export type RunUpdatedEvent = z.infer<typeof RunUpdatedEvent>;

/** A job changed (rooms `run:<runId>`, `job:<id>`). */
export const JobUpdatedEvent = z.object({
  jobId: z.number(),
  runId: z.number(),
  attempt: z.number(),
  status: JobStatus,
  try: z.number(),
  agent: z.string().nullable(),
  exitCode: z.number().nullable(),
  reason: z.string().nullable(),
});
export type JobUpdatedEvent = z.infer<typeof JobUpdatedEvent>;

/** One stored log chunk as it streams (its `at` an ISO time). Chunks are never re-numbered; dedupe by seq. */
export const LogChunkEvent = z.object({ seq: z.number(), try: z.number(), stream: LogStream, node: z.string().nullable(), text: z.string(), at: z.string() });
export type LogChunkEvent = z.infer<typeof LogChunkEvent>;

/** New log chunks of a job, in seq order (room `job:<id>`). */
export const LogChunksEvent = z.object({ jobId: z.number(), chunks: z.array(LogChunkEvent) });
export type LogChunksEvent = z.infer<typeof LogChunksEvent>;

/** The set of executing graph nodes and changed node states (room `job:<id>`). */
export const JobNodesEvent = z.object({ jobId: z.number(), activeNodes: z.array(z.string()), nodeStates: z.record(z.string(), NodeState) });
export type JobNodesEvent = z.infer<typeof JobNodesEvent>;

/** `held`: a policy held a job back (a concurrency slot, a retry backoff, an approval) or let it go. */
export const QUEUE_CHANGE_REASONS = ['queued', 'claimed', 'moved', 'cancelled', 'requeued', 'held'] as const;
/** The queue changed (job queued, claimed, moved, cancelled): refetch GET /api/v1/queue (room `queue`). */
export const QueueChangedEvent = z.object({ reason: z.enum(QUEUE_CHANGE_REASONS) });
export type QueueChangedEvent = z.infer<typeof QueueChangedEvent>;

/** An agent registered, changed status or labels, or was deleted (room `agents`). */
export const AgentUpdatedEvent = z.object({ agentId: z.string(), name: z.string(), status: z.union([AgentStatus, z.literal('deleted')]) });
export type AgentUpdatedEvent = z.infer<typeof AgentUpdatedEvent>;

/** An artifact was stored (rooms `artifacts`, `run:<runId>`). */
export const ArtifactCreatedEvent = z.object({
  id: z.string(),
  name: z.string(),
  size: z.number(),
  sha256: z.string(),
  runId: z.number(),
  jobId: z.number(),
  project: z.string(),
  pipeline: z.string(),
});
export type ArtifactCreatedEvent = z.infer<typeof ArtifactCreatedEvent>;

export type ServerToClientEvents = {
  'run.updated': (event: RunUpdatedEvent) => void;
  'job.updated': (event: JobUpdatedEvent) => void;
  'log.chunks': (event: LogChunksEvent) => void;
  'job.nodes': (event: JobNodesEvent) => void;
  'queue.changed': (event: QueueChangedEvent) => void;
  'agent.updated': (event: AgentUpdatedEvent) => void;
  'artifact.created': (event: ArtifactCreatedEvent) => void;
};

/** `afterSeq` (job rooms): the server first replays stored chunks after it, then streams live ones. */
const AFTER_SEQ_RULE = 'afterSeq must be a non-negative integer (the last seq you have)';
export const SubscribeRequest = z.object({
  room: LiveRoom,
  afterSeq: z.number({ error: AFTER_SEQ_RULE }).int(AFTER_SEQ_RULE).min(0, AFTER_SEQ_RULE).optional(),
});
export type SubscribeRequest = z.infer<typeof SubscribeRequest>;

export const SubscribeReply = z.union([z.object({ ok: z.literal(true) }), z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) })]);
export type SubscribeReply = z.infer<typeof SubscribeReply>;

export type ClientToServerEvents = {
  subscribe: (request: SubscribeRequest, reply: (result: SubscribeReply) => void) => void;
  unsubscribe: (request: { room: LiveRoom }, reply?: (result: { ok: true }) => void) => void;
};
