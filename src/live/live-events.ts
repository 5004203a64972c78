// The Socket.IO contract of the live views, shared by the API gateway, the worker's emitter and
// the web UI. Events say what changed; a client that needs more refetches the REST resource.
//
// Connect to the API origin (path /socket.io) with `auth: { token }` (any API token with read scope).
// Rooms are joined with the `subscribe` request; a project-bound token only gets its project's rooms.

import type { LogStream, NodeState } from '../agents/agent-protocol';

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type JobStatus = 'waiting' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'skipped';

/** `runs` (every run of the token's projects), `run:<id>`, `job:<id>`, `queue`, `agents`, `artifacts`. */
export type LiveRoom = 'runs' | 'queue' | 'agents' | 'artifacts' | `run:${number}` | `job:${number}`;

export type LogChunkEvent = { seq: number; try: number; stream: LogStream; node: string | null; text: string; at: string };

export type ServerToClientEvents = {
  /** A run was created or changed status/attempt (rooms `runs`, `run:<id>`). */
  'run.updated': (event: { runId: number; project: string; pipeline: string; number: number; status: RunStatus; attempt: number }) => void;
  /** A job changed (rooms `run:<runId>`, `job:<id>`). */
  'job.updated': (event: { jobId: number; runId: number; attempt: number; status: JobStatus; try: number; agent: string | null; exitCode: number | null; reason: string | null }) => void;
  /** New log chunks of a job, in seq order (room `job:<id>`). Chunks are never re-numbered; dedupe by seq. */
  'log.chunks': (event: { jobId: number; chunks: LogChunkEvent[] }) => void;
  /** The set of executing graph nodes and changed node states (room `job:<id>`). */
  'job.nodes': (event: { jobId: number; activeNodes: string[]; nodeStates: Record<string, NodeState> }) => void;
  /** The queue changed (job queued, claimed, moved, cancelled): refetch GET /api/v1/queue (room `queue`). */
  'queue.changed': (event: { reason: 'queued' | 'claimed' | 'moved' | 'cancelled' | 'requeued' }) => void;
  /** An agent registered, changed status or labels, or was deleted (room `agents`). */
  'agent.updated': (event: { agentId: string; name: string; status: 'online' | 'busy' | 'offline' | 'deleted' }) => void;
  /** An artifact was stored (rooms `artifacts`, `run:<runId>`). */
  'artifact.created': (event: { id: string; name: string; size: number; sha256: string; runId: number; jobId: number; project: string; pipeline: string }) => void;
};

/** `afterSeq` (job rooms): the server first replays stored chunks after it, then streams live ones. */
export type SubscribeRequest = { room: LiveRoom; afterSeq?: number };
export type SubscribeReply = { ok: true } | { ok: false; error: { code: string; message: string } };

export type ClientToServerEvents = {
  subscribe: (request: SubscribeRequest, reply: (result: SubscribeReply) => void) => void;
  unsubscribe: (request: { room: LiveRoom }, reply?: (result: { ok: true }) => void) => void;
};
