// The wire contract between the API and agents. Shared by the server and the agent CLI; it imports
// nothing, so the agent can use its rules at run time without pulling in Nest. Defined here and nowhere else: the
// agent's internals take these shapes, never the other way round.

export type PipelineKind = 'act' | 'script';

// The rules both sides check, written once so the agent never accepts what the server then refuses.
/** An agent's name: it names the agent in the UI and its default work directory. */
export const AGENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
export const AGENT_NAME_RULE = '1-100 letters, digits, dot, dash or underscore, starting with a letter or digit';
/** A label an agent offers or a job requires: `name` or `name=value`. */
export const LABEL_PATTERN = /^[A-Za-z0-9_.\-/]{1,64}(=[^,\s]{0,128})?$/;
export const LABEL_RULE = 'name or name=value: a name of 1-64 letters, digits or ._-/, a value without spaces or commas';
/** What one agent may declare (the API refuses more). */
export const MAX_AGENT_LABELS = 100;

export type RegisterRequest = {
  name: string;
  labels: string[];
  hostname?: string;
  os?: string;
  arch?: string;
  version?: string;
};

export type RegisterResponse = {
  agentId: string;
  /** Bearer secret for every later agent call. Shown once; stored hashed. */
  secret: string;
  labels: string[];
  /** Server-side timing hints so agents need no separate configuration. */
  heartbeatIntervalSeconds: number;
  busyHeartbeatIntervalSeconds: number;
};

export type HeartbeatResponse = {
  /** Jobs this agent holds that must stop now (cancelled, timed out, or no longer its own). */
  cancelJobIds: number[];
};

export type ClaimedJob = {
  job: {
    id: number;
    name: string;
    try: number;
    labels: string[];
    timeoutMinutes: number;
  };
  run: {
    id: number;
    number: number;
    attempt: number;
    project: string;
    pipeline: string;
    ref: string;
    commitSha: string | null;
  };
  pipeline: { kind: PipelineKind; content: string; version: number; path: string | null };
  /** The code to check out into the job's workspace first (projects with a repository), at the run's commit. */
  repository: CheckoutSpec | null;
  inputs: Record<string, string>;
  env: Record<string, string>;
  secrets: Record<string, string>;
  matrix: Record<string, string>;
};

/**
 * A project's git credentials, sent with a claim only (never stored by the agent, masked in its logs): a
 * token or password over http(s), or a private key (OpenSSH or PEM text, never a path) over ssh.
 */
export type CheckoutAuth = { type: 'basic'; username: string; password: string } | { type: 'ssh'; privateKey: string };

/**
 * What the agent checks out. `projectId` (immutable, unlike the slug) keys the agent's mirrors: commits
 * fetched with one project's credentials are never served to another project's job. `url` carries no
 * credentials; `auth` does, for this claim only.
 */
export type CheckoutSpec = { projectId: string; url: string; ref: string; commitSha: string; auth: CheckoutAuth | null };

export type LogStream = 'stdout' | 'stderr' | 'system';

export type LogChunkInput = {
  stream: LogStream;
  text: string;
  /** Graph node that produced the text (for `.act` pipelines). */
  node?: string;
  /** ISO time the agent saw the text; the server's clock when absent. */
  at?: string;
};

export type LogBatchRequest = {
  /** Batch number within this try, from 0, strictly consecutive. */
  seq: number;
  chunks: LogChunkInput[];
};

export type LogBatchResponse = {
  /** The next batch seq the server expects (resend from here after a 409). */
  nextSeq: number;
  cancel: boolean;
};

export type NodeState = 'running' | 'succeeded' | 'failed' | 'skipped';

/** Sent debounced (~250 ms) while a graph runs, and once with an empty set at the end. */
export type ActiveNodesRequest = { active: string[]; states?: Record<string, NodeState> };

export type FinishRequest = { status: 'succeeded' | 'failed'; exitCode: number | null; error?: string };

export type ArtifactUploadResponse = { id: string; name: string; size: number; sha256: string };

/**
 * Agents keep one Socket.IO connection to this namespace (same path as the live views) and send
 * log batches over it: no HTTP request per batch, so a line reaches viewers sooner. The handshake
 * carries the agent secret (`auth: { secret }`). POST …/jobs/:id/logs stays the fallback whenever
 * the connection is down; batch numbers make a batch sent both ways count once.
 */
export const AGENT_STREAM_NAMESPACE = '/agents';

export type StreamedLogBatch = LogBatchRequest & { jobId: number };

/** The acknowledgement: exactly what the REST endpoint would have answered, status included. */
export type StreamReply = { status: number; body: unknown };

export type AgentStreamClientEvents = { logs: (batch: StreamedLogBatch, ack: (reply: StreamReply) => void) => void };

// ---- routes ----------------------------------------------------------------------------------------

/** Where the agent API lives; the server's controller is mounted here. */
export const AGENT_API_PREFIX = 'api/v1/agents';

/**
 * Every route of the agent API, relative to AGENT_API_PREFIX: the server's controller declares its
 * handlers from this table (a test checks each method and path against Nest's metadata) and clients
 * build their paths with agentPath, so the two cannot drift apart.
 */
export const AGENT_ROUTES = {
  register: { method: 'POST', path: 'register' },
  heartbeat: { method: 'POST', path: 'heartbeat' },
  signOff: { method: 'POST', path: 'sign-off' },
  claim: { method: 'POST', path: 'claim' },
  start: { method: 'POST', path: 'jobs/:id/start' },
  logs: { method: 'POST', path: 'jobs/:id/logs' },
  nodes: { method: 'POST', path: 'jobs/:id/nodes' },
  uploadArtifact: { method: 'PUT', path: 'jobs/:id/artifacts/:name' },
  downloadArtifact: { method: 'GET', path: 'jobs/:id/artifacts/:name' },
  release: { method: 'POST', path: 'jobs/:id/release' },
  finish: { method: 'POST', path: 'jobs/:id/finish' },
} as const;

export type AgentRoute = keyof typeof AGENT_ROUTES;

/**
 * A route's path under the API base (`/agents/jobs/7/finish`), its `:id` and `:name` filled in (the
 * name encoded) and `query` appended; `prefix` gives the full path from the server's root instead.
 */
export function agentPath(
  route: AgentRoute,
  params: { id?: number; name?: string } = {},
  query: Record<string, string | number | undefined> = {},
  prefix = '/agents',
): string {
  const path = AGENT_ROUTES[route].path.replace(/:(id|name)\b/g, (_, key: 'id' | 'name') => {
    const value = params[key];
    if (value === undefined) throw new Error(`agent route ${route} needs :${key}`);
    return encodeURIComponent(String(value));
  });
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) search.set(key, String(value));
  const text = search.toString();
  return `${prefix}/${path}${text ? `?${text}` : ''}`;
}
