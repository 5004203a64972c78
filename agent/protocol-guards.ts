// Shape checks for server replies: the agent trusts the contract but must not crash deep inside a job
// on a malformed field, so replies are validated once, at the edge.

import type { CheckoutSpec, ClaimedJob, HeartbeatResponse, LogBatchResponse, RegisterResponse } from '../src/agents/agent-protocol';
import { isRecord } from './api-client';
import { splitUrlCredentials } from './git/git';

export function parseRegisterResponse(body: unknown): RegisterResponse | undefined {
  if (!isRecord(body)) return undefined;
  const { agentId, secret, labels, heartbeatIntervalSeconds, busyHeartbeatIntervalSeconds } = body;
  if (typeof agentId !== 'string' || typeof secret !== 'string' || secret === '') return undefined;
  return {
    agentId,
    secret,
    labels: isStringArray(labels) ? labels : [],
    heartbeatIntervalSeconds: positiveOr(heartbeatIntervalSeconds, 15),
    busyHeartbeatIntervalSeconds: positiveOr(busyHeartbeatIntervalSeconds, 1),
  };
}

export function parseHeartbeatResponse(body: unknown): HeartbeatResponse {
  const ids = isRecord(body) && Array.isArray(body.cancelJobIds) ? body.cancelJobIds : [];
  return { cancelJobIds: ids.filter((id): id is number => typeof id === 'number') };
}

export function parseLogBatchResponse(body: unknown): LogBatchResponse | undefined {
  if (!isRecord(body) || typeof body.nextSeq !== 'number') return undefined;
  return { nextSeq: body.nextSeq, cancel: body.cancel === true };
}

/** `nextSeq` from a 409 `log_seq_mismatch` body: `{error: {code, message, nextSeq}}`. */
export function mismatchNextSeq(body: unknown): number | undefined {
  if (!isRecord(body)) return undefined;
  const error = body.error;
  if (isRecord(error) && typeof error.nextSeq === 'number') return error.nextSeq;
  return typeof body.nextSeq === 'number' ? body.nextSeq : undefined;
}

export function parseClaimedJob(body: unknown): ClaimedJob | undefined {
  if (!isRecord(body) || !isRecord(body.job) || !isRecord(body.run) || !isRecord(body.pipeline)) return undefined;
  const { job, run, pipeline } = body;
  if (typeof job.id !== 'number' || typeof run.id !== 'number') return undefined;
  if (pipeline.kind !== 'act' && pipeline.kind !== 'script') return undefined;
  if (typeof pipeline.content !== 'string') return undefined;
  return {
    job: {
      id: job.id,
      name: typeof job.name === 'string' ? job.name : `job-${job.id}`,
      try: numberOr(job.try, 1),
      labels: isStringArray(job.labels) ? job.labels : [],
      timeoutMinutes: numberOr(job.timeoutMinutes, 0),
    },
    run: {
      id: run.id,
      number: numberOr(run.number, 0),
      attempt: numberOr(run.attempt, 1),
      project: stringOr(run.project),
      pipeline: stringOr(run.pipeline),
      ref: stringOr(run.ref),
      commitSha: typeof run.commitSha === 'string' ? run.commitSha : null,
    },
    pipeline: { kind: pipeline.kind, content: pipeline.content, version: numberOr(pipeline.version, 0), path: typeof pipeline.path === 'string' ? pipeline.path : null },
    repository: parseCheckout(body.repository),
    inputs: stringRecord(body.inputs),
    env: stringRecord(body.env),
    secrets: stringRecord(body.secrets),
    matrix: stringRecord(body.matrix),
  };
}

/**
 * The checkout, its URL without credentials from here on (the server sends none there, but whatever a URL
 * carries becomes `auth` when no other is given, so it reaches no log, mirror config or workspace). A
 * missing projectId stays '' for checkoutWorkspace to refuse: a job is better failed than run unchecked-out.
 */
function parseCheckout(value: unknown): CheckoutSpec | null {
  if (!isRecord(value) || typeof value.url !== 'string' || typeof value.commitSha !== 'string') return null;
  const auth = value.auth;
  const { url, auth: urlAuth } = splitUrlCredentials(value.url);
  let parsed: CheckoutSpec['auth'] = urlAuth ?? null;
  if (isRecord(auth) && auth.type === 'basic' && typeof auth.username === 'string' && typeof auth.password === 'string') parsed = { type: 'basic', username: auth.username, password: auth.password };
  if (isRecord(auth) && auth.type === 'ssh' && typeof auth.privateKey === 'string') parsed = { type: 'ssh', privateKey: auth.privateKey };
  return { projectId: stringOr(value.projectId), url, ref: stringOr(value.ref), commitSha: value.commitSha, auth: parsed };
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function stringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(value)) return out;
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === 'string') out[key] = item;
    else if (typeof item === 'number' || typeof item === 'boolean') out[key] = String(item);
  }
  return out;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function positiveOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && value > 0 ? value : fallback;
}

function stringOr(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
