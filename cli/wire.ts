// The answers the CLI reads, named once: each is the contract's type of its route. Until a route's schema
// is written (its response still `z.unknown()`), the shape below stands in, so the commands compile
// against what the server sends today; each fallback goes when its route's schema lands.
import type { api } from '../contract';
import type { RouteDef, RouteResponse } from '../contract/http';

/** The route's answer per the contract, or `Fallback` while the contract leaves it unknown. */
type Wire<R extends RouteDef, Fallback> = unknown extends RouteResponse<R> ? Fallback : RouteResponse<R>;

// TODO(contract): delete these fallbacks once runs, jobs and artifacts have their response schemas (and the
// `as RunDetail` … at the calls, which then restate the type the call already has).
type PendingRunJob = { id: number; name: string; status: string; reason: string | null; exitCode: number | null; carriedFromJobId: number | null };
type PendingRunSummary = {
  id: number;
  number: number;
  project: string;
  pipeline: string;
  ref: string;
  commitSha: string | null;
  status: string;
  attempt: number;
  durationMs: number | null;
  trigger: { kind: string; actor: string; [detail: string]: unknown };
  createdAt: string;
};
type PendingRunDetail = PendingRunSummary & { jobs: PendingRunJob[] };
type PendingArtifact = { id: string; name: string; size: number; sha256: string; runId: number; jobId: number; attempt: number; try?: number };

export type RunDetail = Wire<typeof api.runs.get, PendingRunDetail>;
export type RunJob = RunDetail['jobs'][number];
export type TriggeredRun = Wire<typeof api.runs.trigger, PendingRunDetail>;
export type RerunRun = Wire<typeof api.runs.rerun, PendingRunDetail>;
export type RunPage = Wire<typeof api.runs.list, { runs: PendingRunSummary[]; nextCursor: string | null }>;
export type LogPage = Wire<typeof api.jobs.logs, { chunks: { seq: number; stream: string; text: string }[]; nextSeq: number; complete: boolean }>;
export type Artifact = Wire<typeof api.artifacts.get, PendingArtifact>;
export type ArtifactPage = Wire<typeof api.artifacts.list, { artifacts: PendingArtifact[]; nextCursor: string | null }>;
