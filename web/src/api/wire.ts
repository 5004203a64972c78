// The wire shapes the UI reads: the contract's (contract/*.contract.ts), never written again here.
// Live events are typed by the Socket.IO contract in src/live/live-events.ts.
import type { ActGraphDoc, JobGraph as JobGraphAnswer } from '../../../contract/jobs.contract';

export type { JobStatus, LiveRoom, LogChunkEvent, RunStatus, ServerToClientEvents, ClientToServerEvents, SubscribeReply } from '../../../src/live/live-events';
export type { Agent, AgentList } from '../../../contract/agents.contract';
export type { Artifact, ArtifactList } from '../../../contract/artifacts.contract';
export type { ActGraphDoc, GraphEdge, GraphNode, Job, LogChunk, LogPage, NodeState } from '../../../contract/jobs.contract';
export type { PipelineList, PipelineSummary, PipelineVersion } from '../../../contract/pipelines.contract';
export type { Project, ProjectList } from '../../../contract/projects.contract';
export type { QueueEntry, QueueList } from '../../../contract/queue.contract';
export type { BranchList, GitRef, PipelineFiles, RefList } from '../../../contract/repositories.contract';
export type { Attempt, CancelManyResult, RunDetail, RunList, RunSummary, Trigger } from '../../../contract/runs.contract';

/**
 * GET /jobs/:id/graph. The contract declares `ActGraphDoc` as `z.ZodType<ActGraphDoc>`, whose input
 * side is `unknown`, so its z.input loses the graph's shape: the document's own type is put back.
 */
export type JobGraph = Omit<JobGraphAnswer, 'graph'> & { graph: ActGraphDoc | null };
