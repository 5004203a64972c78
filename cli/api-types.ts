// The parts of the API's answers the CLI reads (see the OpenAPI document at /api/docs-json).

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export type RunJob = {
  id: number;
  name: string;
  status: string;
  reason: string | null;
  exitCode: number | null;
  carriedFromJobId: number | null;
};

export type RunSummary = {
  id: number;
  number: number;
  project: string;
  pipeline: string;
  ref: string;
  commitSha: string | null;
  /** The repository file a repository pipeline was read from, at commitSha. */
  pipelinePath: string | null;
  status: RunStatus;
  attempt: number;
  durationMs: number | null;
  trigger: { kind: string; actor: string; [detail: string]: unknown };
  createdAt: string;
};

export type RunDetail = RunSummary & { jobs: RunJob[]; attempts: { attempt: number; status: string; jobs: RunJob[] }[] };

export type LogPage = { chunks: { seq: number; stream: string; text: string }[]; nextSeq: number; complete: boolean };

export type { BranchList } from '../src/repositories/repository-api';

export type Artifact = { id: string; name: string; size: number; sha256: string; runId: number; jobId: number; attempt: number; downloadUrl: string };

export const TERMINAL: readonly string[] = ['succeeded', 'failed', 'cancelled'];

export const isTerminal = (status: string): boolean => TERMINAL.includes(status);
