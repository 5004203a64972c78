// The wire shapes the UI reads: the contract's (contract/*.contract.ts), never written again here.
// Live events are typed by the Socket.IO contract in contract/live.contract.ts.
export type { JobStatus, LiveRoom, LogChunkEvent, RunStatus, ServerToClientEvents, ClientToServerEvents, SubscribeReply } from '../../../contract/live.contract';
export type { Agent, AgentList } from '../../../contract/agents.contract';
export type { Artifact, ArtifactList } from '../../../contract/artifacts.contract';
export type { ActGraphDoc, GraphEdge, GraphNode, Job, JobGraph, JobKind, LogChunk, LogPage, NodeState } from '../../../contract/jobs.contract';
export type { PipelineList, PipelineSummary, PipelineVersion } from '../../../contract/pipelines.contract';
export type { Project, ProjectList } from '../../../contract/projects.contract';
export type { HeldEntry, QueueEntry, QueueList } from '../../../contract/queue.contract';
export type { BranchList, GitRef, PipelineFiles, RefList } from '../../../contract/repositories.contract';
export type { Attempt, CancelManyResult, RunDetail, RunList, RunSummary, Trigger } from '../../../contract/runs.contract';
