// The wire shapes the UI reads: the contract's (contract/*.contract.ts), never written again here.
// Live events are typed by the Socket.IO contract in src/live/live-events.ts.
import type { RouteDef, RouteResponse } from '../../../contract/http';
import type { api } from '../../../contract/index';

export type { JobStatus, LiveRoom, LogChunkEvent, RunStatus, ServerToClientEvents, ClientToServerEvents, SubscribeReply } from '../../../src/live/live-events';
import type { JobStatus, RunStatus } from '../../../src/live/live-events';
export type { BranchList, GitRef, PipelineFiles, RefList } from '../../../contract/repositories.contract';
export type { Project, ProjectList } from '../../../contract/projects.contract';
export type { PipelineList, PipelineSummary, PipelineVersion } from '../../../contract/pipelines.contract';

/**
 * A route's answer as the contract declares it. `Pending` is used only while the route's response
 * schema is still the `z.unknown()` placeholder: once the schema lands, the contract's type wins.
 */
type Answer<R extends RouteDef, Pending> = unknown extends RouteResponse<R> ? Pending : RouteResponse<R>;

export type RunList = Answer<typeof api.runs.list, PendingRunList>;
export type RunSummary = RunList['runs'][number];
export type RunDetail = Answer<typeof api.runs.get, PendingRunDetail>;
export type Attempt = RunDetail['attempts'][number];
export type Job = RunDetail['jobs'][number];
export type Trigger = NonNullable<RunSummary['trigger']>;
export type CancelManyResult = Answer<typeof api.runs.cancelMany, { cancelled: number[]; skipped: { id: number; reason: string }[] }>;
export type QueueList = Answer<typeof api.queue.list, { jobs: PendingQueueEntry[] }>;
export type QueueEntry = QueueList['jobs'][number];
export type ArtifactList = Answer<typeof api.artifacts.list, { artifacts: PendingArtifact[]; nextCursor: string | null }>;
export type Artifact = ArtifactList['artifacts'][number];
export type AgentList = Answer<typeof api.agents.list, { agents: PendingAgent[] }>;
export type Agent = AgentList['agents'][number];
export type LogPage = Answer<typeof api.jobs.logs, PendingLogPage>;
export type LogChunk = LogPage['chunks'][number];
export type JobGraph = Answer<typeof api.jobs.graph, PendingJobGraph>;
export type NodeState = JobGraph['nodeStates'][string];
export type ActGraphDoc = NonNullable<JobGraph['graph']>;
export type GraphNode = NonNullable<ActGraphDoc['nodes']>[number];
export type GraphEdge = NonNullable<ActGraphDoc['connections']>[number];

// ---- until the runs, jobs, queue, artifacts and agents schemas land (then these go unused) -----------

type PendingTrigger = { kind: 'manual' | 'api' | 'webhook'; actor?: string | null; hookId?: string; event?: string; deliveryId?: string; commitSha?: string };
type PendingRunSummary = {
  id: number;
  number: number;
  project: string;
  pipeline: string;
  pipelineVersion: number;
  ref: string;
  commitSha: string | null;
  pipelinePath: string | null;
  status: RunStatus;
  attempt: number;
  durationMs: number | null;
  trigger: PendingTrigger | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
};
type PendingJob = {
  id: number;
  name: string;
  key: string;
  status: JobStatus;
  reason: string | null;
  labels: string[];
  needs: string[];
  matrix: Record<string, string>;
  agent: string | null;
  exitCode: number | null;
  try: number;
  carriedFromJobId: number | null;
  kind: 'act' | 'script';
  queuedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  tries: { try: number; status: string; agent?: string | null; startedAt?: string | null; finishedAt?: string | null }[];
};
type PendingAttempt = { attempt: number; status: RunStatus; failedOnly: boolean; createdAt: string; startedAt: string | null; finishedAt: string | null; durationMs: number | null; jobs: PendingJob[] };
type PendingRunDetail = PendingRunSummary & { inputs: Record<string, string>; env: Record<string, string>; jobs: PendingJob[]; attempts: PendingAttempt[] };
type PendingRunList = { runs: PendingRunSummary[]; nextCursor: string | null };
type PendingQueueEntry = {
  id: number;
  runId: number;
  runNumber: number;
  name: string;
  project: string;
  pipeline: string;
  labels: string[];
  position: number;
  queuedAt: string;
  matchingAgents: number;
  onlineAgents: number;
  waitingBecause: string | null;
};
type PendingArtifact = {
  id: string;
  name: string;
  size: number;
  sha256: string;
  runId: number;
  runNumber: number;
  jobId: number;
  attempt: number;
  try: number;
  project: string;
  pipeline: string;
  createdAt: string;
  downloadUrl: string;
};
type PendingAgent = { id: string; name: string; labels: string[]; status: 'online' | 'busy' | 'offline'; lastSeenAt: string | null; currentJobId: number | null };
type PendingLogPage = { chunks: { seq: number; try: number; stream: 'stdout' | 'stderr' | 'system'; node: string | null; text: string; at: string }[]; nextSeq: number; complete: boolean };
type PendingPortRef = { node: string; port: string };
type PendingEdge = { src: PendingPortRef; dst: PendingPortRef };
type PendingNode = { id: string; type?: string; position?: { x: number; y: number }; graph?: PendingGraphDoc; inputs?: Record<string, unknown> };
type PendingGraphDoc = { nodes?: PendingNode[]; connections?: PendingEdge[]; executions?: PendingEdge[] };
type PendingJobGraph = { jobId: number; status: JobStatus; graph: PendingGraphDoc | null; activeNodes: string[]; nodeStates: Record<string, 'running' | 'succeeded' | 'failed' | 'skipped'> };
