// The wire contract between the API and agents: what an agent sends and what it is answered. Shared by
// the server and the agent CLI (it imports only zod and the contract, never Nest), so the agent checks
// the same rules the server enforces and never accepts what the server then refuses.
import { z } from 'zod';
import { numericId, Ok, stringMap } from './common';
import { defineRoute } from './http';
import { JobStatus, LogStream, NodeState, PipelineKind } from './jobs.contract';

export { LogStream, NodeState, PipelineKind };

// ---- limits ----------------------------------------------------------------------------------------

/** An agent's name: it names the agent in the UI and its default work directory. */
export const AGENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
export const AGENT_NAME_RULE = '1-100 letters, digits, dot, dash or underscore, starting with a letter or digit';
/** A label an agent offers or a job requires: `name` or `name=value`. */
export const LABEL_PATTERN = /^[A-Za-z0-9_.\-/]{1,64}(=[^,\s]{0,128})?$/;
export const LABEL_RULE = 'name or name=value: a name of 1-64 letters, digits or ._-/, a value without spaces or commas';
/** What one agent may declare (the API refuses more). */
export const MAX_AGENT_LABELS = 100;
/** One log chunk's text. */
export const MAX_LOG_CHUNK_BYTES = 1024 * 1024;
/** Chunks in one log batch. */
export const MAX_LOG_BATCH_CHUNKS = 10_000;
/** A graph node id in a log chunk (nested: group-id/child-id). */
export const MAX_NODE_ID_LENGTH = 300;
/** Graph nodes one report may name as executing. */
export const MAX_ACTIVE_NODES = 1000;
export const MAX_FINISH_ERROR_LENGTH = 4000;
/** How long a claim may wait for a job (seconds), and how long when the agent does not say. */
export const MAX_CLAIM_WAIT_SECONDS = 60;
export const DEFAULT_CLAIM_WAIT_SECONDS = 30;

/** A job output's name (`KEY=VALUE` in $BELLOWS_OUTPUT): usable as a shell variable name's tail. */
export const OUTPUT_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const OUTPUT_KEY_RULE = 'a letter or underscore, then letters, digits or underscores';
/** All of one job's outputs together (keys plus values, UTF-8): they travel in every dependent's claim. */
export const MAX_OUTPUTS_BYTES = 1024 * 1024;

/** The byte size MAX_OUTPUTS_BYTES bounds: the agent checks it before sending, the server again. */
export function outputsSize(outputs: Record<string, string>): number {
  let bytes = 0;
  for (const [key, value] of Object.entries(outputs)) bytes += utf8Length(key) + utf8Length(value);
  return bytes;
}

// The contract may use nothing but zod (no Buffer in the browser build): UTF-8 length by code point.
function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/** A job's outputs, as the agent reports them at finish. */
export const JobOutputs = z
  .record(
    z.string().regex(OUTPUT_KEY_PATTERN, `each output name must be ${OUTPUT_KEY_RULE}`),
    z.string({ error: 'each output value must be a string' }),
    {
      error: (issue) =>
        issue.code === 'invalid_key' ? `each output name must be ${OUTPUT_KEY_RULE} (got "${String(issue.input)}")` : issue.code === 'invalid_type' ? 'outputs must be an object of strings' : undefined,
    },
  )
  .refine((outputs) => outputsSize(outputs) <= MAX_OUTPUTS_BYTES, `outputs must be at most ${MAX_OUTPUTS_BYTES} bytes in all`)
  .meta({ id: 'JobOutputs' });

const LABEL_MESSAGE = `each label must be ${LABEL_RULE}`;

/** A list of agent labels (declared by the agent or set by an admin). */
export const agentLabels = z
  .array(z.string({ error: LABEL_MESSAGE }).regex(LABEL_PATTERN, LABEL_MESSAGE), { error: 'labels must be a list' })
  .max(MAX_AGENT_LABELS, `labels must hold at most ${MAX_AGENT_LABELS} labels`);

const optionalText = (field: string, max: number) =>
  z
    .string({ error: `${field} must be a string` })
    .max(max, `${field} must be at most ${max} characters`)
    .optional();

// ---- registration and heartbeat --------------------------------------------------------------------

export const RegisterRequest = z
  .strictObject({
    name: z.string({ error: `name must be ${AGENT_NAME_RULE}` }).regex(AGENT_NAME_PATTERN, `name must be ${AGENT_NAME_RULE}`).meta({ example: 'build-1' }),
    labels: agentLabels.meta({ example: ['os=linux', 'arch=x64'] }),
    hostname: optionalText('hostname', 255),
    os: optionalText('os', 64),
    arch: optionalText('arch', 64),
    version: optionalText('version', 64),
  })
  .meta({ id: 'RegisterRequest' });
export type RegisterRequest = z.input<typeof RegisterRequest>;

export const RegisterResponse = z
  .object({
    agentId: z.string(),
    /** Bearer secret for every later agent call. Shown once; stored hashed. */
    secret: z.string().meta({ description: 'Bearer secret for every later agent call. Shown once; stored hashed.' }),
    labels: z.array(z.string()),
    /** Server-side timing hints so agents need no separate configuration. */
    heartbeatIntervalSeconds: z.number(),
    busyHeartbeatIntervalSeconds: z.number(),
    /**
     * How long a claimed job's lease lasts without a heartbeat: past it the server queues the job
     * again, so an agent that could not renew for this long must stop the job itself.
     */
    leaseSeconds: z.number().meta({ description: 'How long a job lease lasts without a heartbeat; an agent that cannot renew it for this long stops the job.' }),
  })
  .meta({ id: 'RegisterResponse' });
export type RegisterResponse = z.input<typeof RegisterResponse>;

export const HeartbeatRequest = z
  .strictObject({
    jobId: z.number({ error: 'jobId must be a positive integer' }).int('jobId must be a positive integer').min(1, 'jobId must be a positive integer').optional().meta({ description: 'The job the agent is running, if any.' }),
  })
  .meta({ id: 'HeartbeatRequest' });
export type HeartbeatRequest = z.input<typeof HeartbeatRequest>;

export const HeartbeatResponse = z
  .object({
    /** Jobs this agent holds that must stop now (cancelled, timed out, or no longer its own). */
    cancelJobIds: z.array(z.number()).meta({ description: 'Jobs this agent holds that must stop now (cancelled, timed out, or no longer its own).' }),
  })
  .meta({ id: 'HeartbeatResponse' });
export type HeartbeatResponse = z.input<typeof HeartbeatResponse>;

// ---- a claimed job ---------------------------------------------------------------------------------

/**
 * A project's git credentials, sent with a claim only (never stored by the agent, masked in its logs): a
 * token or password over http(s), or a private key (OpenSSH or PEM text, never a path) over ssh.
 */
export const CheckoutAuth = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('basic'), username: z.string(), password: z.string() }),
    z.object({ type: z.literal('ssh'), privateKey: z.string() }),
  ])
  .meta({ id: 'CheckoutAuth' });
export type CheckoutAuth = z.input<typeof CheckoutAuth>;

/**
 * What the agent checks out. `projectId` (immutable, unlike the slug) keys the agent's mirrors: commits
 * fetched with one project's credentials are never served to another project's job. `url` carries no
 * credentials; `auth` does, for this claim only.
 */
export const CheckoutSpec = z
  .object({ projectId: z.string(), url: z.string(), ref: z.string(), commitSha: z.string(), auth: CheckoutAuth.nullable() })
  .meta({ id: 'CheckoutSpec' });
export type CheckoutSpec = z.input<typeof CheckoutSpec>;

export const ClaimedJob = z
  .object({
    job: z.object({ id: z.number(), name: z.string(), try: z.number(), labels: z.array(z.string()), timeoutMinutes: z.number() }),
    run: z.object({
      id: z.number(),
      number: z.number(),
      attempt: z.number(),
      project: z.string(),
      pipeline: z.string(),
      ref: z.string(),
      commitSha: z.string().nullable(),
    }),
    pipeline: z.object({ kind: PipelineKind, content: z.string(), version: z.number(), path: z.string().nullable() }),
    /** The code to check out into the job's workspace first (projects with a repository), at the run's commit. */
    repository: CheckoutSpec.nullable(),
    inputs: stringMap,
    env: stringMap,
    secrets: stringMap,
    matrix: stringMap,
    /**
     * The outputs of the jobs this one needs, by job name (a matrix job's legs merged in key order).
     * Optional so an agent keeps working against a server from before job outputs.
     */
    needs: z.record(z.string(), z.object({ outputs: stringMap })).optional(),
  })
  .meta({ id: 'ClaimedJob' });
export type ClaimedJob = z.input<typeof ClaimedJob>;

export const ClaimQuery = z.object({
  wait: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return DEFAULT_CLAIM_WAIT_SECONDS;
      const seconds = Number(raw);
      if (raw.trim() !== '' && Number.isFinite(seconds) && seconds >= 0 && seconds <= MAX_CLAIM_WAIT_SECONDS) return seconds;
      ctx.addIssue({ code: 'custom', message: `wait must be a number of seconds from 0 to ${MAX_CLAIM_WAIT_SECONDS}` });
      return z.NEVER;
    })
    .meta({ description: `Seconds to wait for a job, 0-${MAX_CLAIM_WAIT_SECONDS} (default ${DEFAULT_CLAIM_WAIT_SECONDS}).` }),
});

// ---- logs, nodes, finish ---------------------------------------------------------------------------

export const LogChunkInput = z
  .strictObject({
    stream: z.enum(LogStream.options, { error: `stream must be one of: ${LogStream.options.join(', ')}` }),
    text: z.string({ error: 'text must be a string' }).max(MAX_LOG_CHUNK_BYTES, `text must be at most ${MAX_LOG_CHUNK_BYTES} characters`),
    /** Graph node that produced the text (for `.act` pipelines). */
    node: z
      .string({ error: 'node must be a string' })
      .min(1, `node must be 1-${MAX_NODE_ID_LENGTH} characters`)
      .max(MAX_NODE_ID_LENGTH, `node must be 1-${MAX_NODE_ID_LENGTH} characters`)
      .optional()
      .meta({ description: 'Graph node that produced the text (for `.act` pipelines).' }),
    /** ISO time the agent saw the text; the server's clock when absent. */
    at: z.iso
      .datetime({ offset: true, error: 'at must be an ISO 8601 time' })
      .optional()
      .meta({ description: "ISO time the agent saw the text; the server's clock when absent." }),
  })
  .meta({ id: 'LogChunkInput' });
export type LogChunkInput = z.input<typeof LogChunkInput>;

export const LogBatchRequest = z
  .strictObject({
    /** Batch number within this try, from 0, strictly consecutive. */
    seq: z.number({ error: 'seq must be an integer from 0' }).int('seq must be an integer from 0').min(0, 'seq must be an integer from 0').meta({ description: 'Batch number within the try, from 0, consecutive.' }),
    chunks: z.array(LogChunkInput, { error: 'chunks must be a list' }).max(MAX_LOG_BATCH_CHUNKS, `chunks must hold at most ${MAX_LOG_BATCH_CHUNKS} chunks`),
  })
  .meta({ id: 'LogBatchRequest' });
export type LogBatchRequest = z.input<typeof LogBatchRequest>;

export const LogBatchResponse = z
  .object({
    /** The next batch seq the server expects (resend from here after a 409). */
    nextSeq: z.number().meta({ description: 'The next batch seq the server expects (resend from here after a 409).' }),
    cancel: z.boolean(),
  })
  .meta({ id: 'LogBatchResponse' });
export type LogBatchResponse = z.input<typeof LogBatchResponse>;

/** Sent debounced (~250 ms) while a graph runs, and once with an empty set at the end. */
export const ActiveNodesRequest = z
  .strictObject({
    active: z
      .array(z.string({ error: 'each active node must be a string' }), { error: 'active must be a list' })
      .max(MAX_ACTIVE_NODES, `active must hold at most ${MAX_ACTIVE_NODES} nodes`)
      .meta({ description: 'Ids of the graph nodes executing now (nested: group-id/child-id).' }),
    states: z
      .record(z.string(), z.enum(NodeState.options, { error: `each node state must be one of: ${NodeState.options.join(', ')}` }), { error: 'states must be an object' })
      .optional()
      .meta({ description: 'Node states that changed since the last report.' }),
  })
  .meta({ id: 'ActiveNodesRequest' });
export type ActiveNodesRequest = z.input<typeof ActiveNodesRequest>;

export const ActiveNodesResponse = z.object({ cancel: z.boolean() }).meta({ id: 'ActiveNodesResponse' });
export type ActiveNodesResponse = z.input<typeof ActiveNodesResponse>;

export const FINISH_STATUSES = ['succeeded', 'failed'] as const;

export const FinishRequest = z
  .strictObject({
    status: z.enum(FINISH_STATUSES, { error: `status must be one of: ${FINISH_STATUSES.join(', ')}` }),
    exitCode: z.number({ error: 'exitCode must be an integer or null' }).int('exitCode must be an integer or null').nullable().optional(),
    error: optionalText('error', MAX_FINISH_ERROR_LENGTH),
    /** What the job wrote to $BELLOWS_OUTPUT; absent from agents that predate job outputs. */
    outputs: JobOutputs.optional(),
  })
  .meta({ id: 'FinishRequest' });
export type FinishRequest = z.input<typeof FinishRequest>;

/** The job's status after the finish: the agent's, or the one it had already ended with (cancelled). */
export const FinishResponse = z.object({ status: JobStatus }).meta({ id: 'FinishResponse' });
export type FinishResponse = z.input<typeof FinishResponse>;

export const ArtifactUploadResponse = z
  .object({ id: z.string(), name: z.string(), size: z.number(), sha256: z.string() })
  .meta({ id: 'ArtifactUploadResponse' });
export type ArtifactUploadResponse = z.input<typeof ArtifactUploadResponse>;

// ---- the agent stream (Socket.IO) ------------------------------------------------------------------

/**
 * Agents keep one Socket.IO connection to this namespace (same path as the live views) and send
 * log batches over it: no HTTP request per batch, so a line reaches viewers sooner. The handshake
 * carries the agent secret (`auth: { secret }`). POST …/jobs/:id/logs stays the fallback whenever
 * the connection is down; batch numbers make a batch sent both ways count once.
 */
export const AGENT_STREAM_NAMESPACE = '/agents';

/** A log batch over the agent stream: the REST body plus the job, which REST has in the path. */
export const StreamedLogBatch = LogBatchRequest.extend({
  jobId: z.number({ error: 'jobId must be a positive integer' }).int('jobId must be a positive integer').min(1, 'jobId must be a positive integer'),
}).meta({ id: 'StreamedLogBatch' });
export type StreamedLogBatch = z.input<typeof StreamedLogBatch>;

/** The acknowledgement: exactly what the REST endpoint would have answered, status included. */
export const StreamReply = z.object({ status: z.number().int(), body: z.unknown() }).meta({ id: 'StreamReply' });
export type StreamReply = z.infer<typeof StreamReply>;

export type AgentStreamClientEvents = { logs: (batch: StreamedLogBatch, ack: (reply: StreamReply) => void) => void };

// ---- routes ----------------------------------------------------------------------------------------

const tag = 'agent protocol';
const base = '/api/v1/agents';
const jobParams = z.object({ id: numericId('job') });
const artifactParams = z.object({ id: numericId('job'), name: z.string() });

export const agentProtocolRoutes = {
  register: defineRoute({
    method: 'POST',
    path: `${base}/register`,
    tag,
    summary: 'Register (with a registration token); answers the agent secret',
    auth: 'registration',
    status: 201,
    body: RegisterRequest,
    response: RegisterResponse,
  }),
  heartbeat: defineRoute({ method: 'POST', path: `${base}/heartbeat`, tag, summary: 'Heartbeat; answers the jobs to stop', auth: 'agent', status: 200, body: HeartbeatRequest, response: HeartbeatResponse }),
  signOff: defineRoute({ method: 'POST', path: `${base}/sign-off`, tag, summary: 'Going offline', auth: 'agent', status: 204, response: 'empty' }),
  claim: defineRoute({
    method: 'POST',
    path: `${base}/claim`,
    tag,
    summary: 'Long-poll for a job: 200 with the job, 204 when none came within ?wait= seconds',
    auth: 'agent',
    status: 200,
    query: ClaimQuery,
    response: ClaimedJob,
  }),
  start: defineRoute({ method: 'POST', path: `${base}/jobs/:id/start`, tag, summary: 'The job started', auth: 'agent', status: 200, params: jobParams, response: Ok }),
  logs: defineRoute({
    method: 'POST',
    path: `${base}/jobs/:id/logs`,
    tag,
    summary: 'Append a log batch (the fallback of the agent stream)',
    auth: 'agent',
    status: 200,
    params: jobParams,
    body: LogBatchRequest,
    response: LogBatchResponse,
  }),
  nodes: defineRoute({
    method: 'POST',
    path: `${base}/jobs/:id/nodes`,
    tag,
    summary: 'The graph nodes executing now',
    auth: 'agent',
    status: 200,
    params: jobParams,
    body: ActiveNodesRequest,
    response: ActiveNodesResponse,
  }),
  uploadArtifact: defineRoute({
    method: 'PUT',
    path: `${base}/jobs/:id/artifacts/:name`,
    tag,
    summary: 'Upload an artifact (streamed body, X-Checksum-Sha256)',
    auth: 'agent',
    // 200, as the agent has always been answered (a second upload of the name replaces the first).
    status: 200,
    headers: { 'X-Checksum-Sha256': 'The SHA-256 of the body (hex); the upload is refused when the bytes differ.' },
    params: artifactParams,
    body: 'binary',
    response: ArtifactUploadResponse,
  }),
  downloadArtifact: defineRoute({
    method: 'GET',
    path: `${base}/jobs/:id/artifacts/:name`,
    tag,
    summary: 'Download an artifact of this run (or of ?run=)',
    auth: 'agent',
    status: 200,
    params: artifactParams,
    query: z.object({ run: z.string().optional().meta({ description: "Another run's id: an artifact of a run of the same project." }) }),
    response: 'binary',
  }),
  release: defineRoute({ method: 'POST', path: `${base}/jobs/:id/release`, tag, summary: 'Give a claimed job back to the queue', auth: 'agent', status: 200, params: jobParams, response: Ok }),
  finish: defineRoute({
    method: 'POST',
    path: `${base}/jobs/:id/finish`,
    tag,
    summary: 'The job ended',
    auth: 'agent',
    status: 200,
    params: jobParams,
    body: FinishRequest,
    response: FinishResponse,
  }),
};
