// Shapes of the REST answers the UI reads (see README "API overview"). Dates arrive as ISO strings.
export type { JobStatus, LiveRoom, LogChunkEvent, RunStatus, ServerToClientEvents, ClientToServerEvents, SubscribeReply } from '../../../src/live/live-events';
import type { JobStatus, RunStatus } from '../../../src/live/live-events';

export type NodeState = 'running' | 'succeeded' | 'failed' | 'skipped';

export type { BranchList, GitRef, PipelineFiles, RefList } from '../../../src/repositories/repository-api';
import type { RepositoryConfig } from '../../../src/repositories/repository-api';

/** A project's git repository; `defaultBranch` null means the repository's own (its HEAD). */
export type ProjectRepository = RepositoryConfig;

export type Project = { id: string; slug: string; name: string; createdAt: string; repository: ProjectRepository | null };

/** `path` is set for a pipeline that is a file of the project's repository (read at each run's commit). */
export type PipelineSummary = { id: string; name: string; latestVersion: number; kind: string; path: string | null; createdAt: string; updatedAt: string };

export type InputDefinition = { description?: string; default?: string; required?: boolean };

export type PipelineDetail = {
  name: string;
  version: number;
  kind: string;
  content: string;
  path: string | null;
  labels: string[];
  inputs: Record<string, InputDefinition>;
  sha256: string;
  createdAt: string;
};

export type Trigger = { kind: 'manual' | 'api' | 'webhook'; actor?: string | null; hookId?: string; event?: string; deliveryId?: string; commitSha?: string };

export type RunSummary = {
  id: number;
  number: number;
  project: string;
  pipeline: string;
  pipelineVersion: number;
  ref: string;
  commitSha: string | null;
  /** The repository file the run's pipeline was read from, at commitSha. */
  pipelinePath: string | null;
  status: RunStatus;
  attempt: number;
  durationMs: number | null;
  trigger: Trigger | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
};

export type JobTry = { try: number; status: string; agent?: string | null; startedAt?: string | null; finishedAt?: string | null };

export type Job = {
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
  /** In a failed-only re-run, the previous attempt's job this one stands in for (it succeeded there and did not run again). */
  carriedFromJobId: number | null;
  /** Script jobs have no graph: the UI never asks for one. */
  kind: 'act' | 'script';
  queuedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  tries: JobTry[];
};

export type Attempt = {
  attempt: number;
  status: RunStatus;
  failedOnly: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  jobs: Job[];
};

export type RunDetail = RunSummary & { inputs: Record<string, string>; env: Record<string, string>; jobs: Job[]; attempts: Attempt[] };

export type RunList = { runs: RunSummary[]; nextCursor: string | null };

export type QueueEntry = {
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

export type Artifact = {
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

export type Agent = { id: string; name: string; labels: string[]; status: 'online' | 'busy' | 'offline'; lastSeenAt: string | null; currentJobId: number | null };

export type LogChunk = { seq: number; try: number; stream: 'stdout' | 'stderr' | 'system'; node: string | null; text: string; at: string };

export type LogPage = { chunks: LogChunk[]; nextSeq: number; complete: boolean };

export type PortRef = { node: string; port: string };
export type GraphEdge = { src: PortRef; dst: PortRef };
export type GraphNode = { id: string; type?: string; position?: { x: number; y: number }; graph?: ActGraphDoc; inputs?: Record<string, unknown> };
/** The `.act` document as the API parsed it from YAML; every field may be missing in a malformed graph. */
export type ActGraphDoc = { nodes?: GraphNode[]; connections?: GraphEdge[]; executions?: GraphEdge[] };

export type JobGraph = { jobId: number; status: JobStatus; graph: ActGraphDoc | null; activeNodes: string[]; nodeStates: Record<string, NodeState> };
