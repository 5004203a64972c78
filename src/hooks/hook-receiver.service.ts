import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HttpException, Inject, Injectable, Logger } from '@nestjs/common';
import type { z } from 'zod';
import type { DeliveryResult, Redelivery } from '../../contract/hooks.contract';
import { hasScope, type TokenPrincipal } from '../auth/principal';
import { hashToken } from '../auth/token-codec';
import { ApiError, conflict, notFound, type ErrorBody } from '../common/api-error';
import { isUuid } from '../common/validation';
import { CONFIG, type Config } from '../config/config';
import { RunsService } from '../runs/runs.service';
import { SecretBox } from '../secrets/secret-box';
import { TokensRepository } from '../tokens/tokens.repository';
import { decide, type HookFormat } from './hook-payloads';
import { HookDeliveryLog, deliveryView } from './hook-delivery-log.service';
import { HooksRepository, type DeliveryVerdict, type HookRow } from './hooks.repository';
import { HooksService } from './hooks.service';
import { verifyGithubSignature, verifyStandardSignature } from './webhook-signatures';

/** A request to POST /api/v1/hooks/{id}, as the HTTP layer saw it: the raw bytes, or none when over the limit. */
export type IncomingDelivery = { hookId: string; body: Buffer | null; bodyBytes: number; headers: IncomingHttpHeaders };

/** The HTTP answer to a delivery; error answers carry the API's usual `{error: {code, message}}` body. */
export type DeliveryAnswer = { status: number; body: z.output<typeof DeliveryResult> | ErrorBody };

type Outcome = DeliveryAnswer & { verdict: DeliveryVerdict; reason: string | null; runId: number | null };

/** Bodies above this are still processed but not kept, so they cannot be redelivered. */
export const MAX_STORED_BODY_BYTES = 1024 * 1024;

// Kept with each delivery so it can be processed again. Signatures and Authorization are never stored:
// a redelivery is authorised by the operator asking for it, and only deliveries verified on arrival qualify.
const KEPT_HEADERS = [
  'content-type',
  'user-agent',
  'x-github-event',
  'x-github-delivery',
  'x-github-hook-id',
  'webhook-id',
  'webhook-timestamp',
  'idempotency-key',
  'x-bellows-event',
];

/** Processing deliveries: verify the origin, filter, map to a trigger (once per delivery id), and log every outcome. */
@Injectable()
export class HookReceiver {
  private readonly logger = new Logger('hooks');

  constructor(
    private readonly hooks: HooksRepository,
    private readonly hookAccess: HooksService,
    private readonly log: HookDeliveryLog,
    private readonly runs: RunsService,
    private readonly tokens: TokensRepository,
    @Inject(CONFIG) private readonly config: Config,
    private readonly box: SecretBox,
  ) {}

  /**
   * Processes a stored delivery again, under its original delivery id: one that already started a run
   * answers with that run (use rerun for a new attempt); one that failed or was filtered out may start one now.
   * Only deliveries that proved their origin on arrival qualify, so a forged request can never be replayed into a run.
   */
  async redeliver(principal: TokenPrincipal, hookId: string, id: number): Promise<z.output<typeof Redelivery>> {
    const hook = await this.hookAccess.load(principal, hookId);
    const original = await this.log.find(hookId, id);
    if (!original) throw notFound('delivery', id);
    if (!original.verified) {
      throw conflict(`Delivery ${id} was rejected (${original.reason ?? 'not verified'}); only verified deliveries can be redelivered.`, 'delivery_not_verified');
    }
    if (!original.body) throw conflict(`Delivery ${id} was larger than ${MAX_STORED_BODY_BYTES} bytes and its body was not kept.`, 'body_not_kept');
    const headers = original.headers;
    const ids = this.identify(hook, headers);
    const outcome = await this.process(hook, original.body, headers, ids.event, ids.deliveryId ?? original.deliveryId ?? randomUUID(), principal.name);
    const newId = await this.log.record(hook, {
      ...outcome,
      deliveryId: ids.deliveryId ?? original.deliveryId,
      event: outcome.event,
      verified: true,
      headers,
      body: original.body,
      bodyBytes: original.bodyBytes,
      redeliveryOf: original.id,
      redeliveredBy: principal.name,
    });
    const row = await this.log.find(hookId, newId);
    return { delivery: row ? deliveryView(row) : null, response: { status: outcome.status, body: outcome.body } };
  }

  /** Verifies, filters and maps one delivery; every outcome, accepted or not, lands in the delivery log. */
  async receive(incoming: IncomingDelivery): Promise<DeliveryAnswer> {
    if (!isUuid(incoming.hookId)) return errorAnswer(404, 'hook_not_found', `No hook "${incoming.hookId}" exists.`);
    const hook = await this.hooks.get(incoming.hookId);
    if (!hook) return errorAnswer(404, 'hook_not_found', `No hook "${incoming.hookId}" exists.`);

    const headers = keptHeaders(incoming.headers);
    const { event, deliveryId } = this.identify(hook, headers);
    const base = { deliveryId, event, headers, bodyBytes: incoming.bodyBytes, redeliveryOf: null, redeliveredBy: null };
    const body = incoming.body;
    if (body === null) {
      const answer = errorAnswer(413, 'payload_too_large', `Request body exceeds the limit of ${this.config.maxJsonBodyBytes} bytes.`);
      await this.log.record(hook, { ...base, ...answer, verdict: 'rejected', verified: false, reason: 'body too large', runId: null, body: null });
      return answer;
    }
    const stored = body.length <= MAX_STORED_BODY_BYTES ? body : null;

    const verdict = await this.verify(hook, body, incoming.headers);
    if (verdict) {
      await this.log.record(hook, { ...base, ...verdict, verdict: 'rejected', verified: false, reason: errorMessage(verdict.body), runId: null, body: stored });
      return verdict;
    }
    if (deliveryId !== null && deliveryId.length > 200) {
      const answer = errorAnswer(400, 'invalid_delivery_id', 'The delivery id must be at most 200 characters.');
      await this.log.record(hook, { ...base, ...answer, verdict: 'failed', verified: true, reason: errorMessage(answer.body), runId: null, body: stored });
      return answer;
    }
    if (hook.format === 'github' && deliveryId === null) {
      const answer = errorAnswer(400, 'missing_delivery_id', 'The X-GitHub-Delivery header is missing; it is what makes a delivery run only once.');
      await this.log.record(hook, { ...base, ...answer, verdict: 'failed', verified: true, reason: errorMessage(answer.body), runId: null, body: stored });
      return answer;
    }
    // Token deliveries without an Idempotency-Key are taken as distinct requests, each its own run.
    const outcome = await this.process(hook, body, headers, event, deliveryId ?? randomUUID(), null);
    await this.log.record(hook, { ...base, ...outcome, deliveryId: outcome.deliveryId, event: outcome.event, verified: true, body: stored });
    return { status: outcome.status, body: outcome.body };
  }

  private async process(
    hook: HookRow,
    raw: Buffer,
    headers: Record<string, string>,
    headerEvent: string | null,
    deliveryId: string,
    redeliveredBy: string | null,
  ): Promise<Outcome & { event: string | null; deliveryId: string }> {
    const parsed = parseBody(raw, headers['content-type']);
    if (!parsed.ok) return { ...errorAnswer(400, 'malformed_json', parsed.reason), verdict: 'failed', reason: parsed.reason, runId: null, event: headerEvent, deliveryId };
    const payload = parsed.value;
    // Standard Webhooks and token payloads name their event in the body.
    const event = headerEvent ?? bodyEvent(hook.format, payload);
    const deliveryIdOf = hook.format === 'token' ? (headers['idempotency-key'] ?? bodyDeliveryId(payload) ?? deliveryId) : deliveryId;
    const done = (outcome: Outcome) => ({ ...outcome, event, deliveryId: deliveryIdOf });

    const decision = decide(hook.format, event, payload, { events: hook.events, branches: hook.branches });
    if (decision.kind === 'ping') return done({ status: 200, body: { ok: true, event: 'ping', message: 'pong' }, verdict: 'skipped', reason: 'ping', runId: null });
    if (decision.kind === 'skip') return done({ status: 200, body: { skipped: decision.reason, deliveryId: deliveryIdOf }, verdict: 'skipped', reason: decision.reason, runId: null });
    if (decision.kind === 'invalid') return done({ ...errorAnswer(400, 'invalid_payload', decision.reason), verdict: 'failed', reason: decision.reason, runId: null });

    const principal: TokenPrincipal = { kind: 'token', tokenId: `hook:${hook.id}`, name: `hook ${hook.id}`, scopes: ['trigger'], projectId: hook.projectId };
    try {
      const { run, created } = await this.runs.triggerOnce(
        principal,
        hook.project,
        hook.pipeline,
        { ref: decision.ref, commitSha: decision.commitSha, inputs: decision.inputs },
        {
          kind: 'webhook',
          actor: decision.actor ?? `hook ${hook.id}`,
          hookId: hook.id,
          format: hook.format,
          event,
          deliveryId: deliveryIdOf,
          commitSha: decision.commitSha,
          ...(redeliveredBy ? { redeliveredBy } : {}),
        },
        `hook:${hook.id}:${deliveryIdOf}`,
      );
      return done({
        status: created ? 201 : 200,
        body: {
          runId: run.id,
          number: run.number,
          project: run.project,
          pipeline: run.pipeline,
          ref: run.ref,
          commitSha: run.commitSha,
          status: run.status,
          deliveryId: deliveryIdOf,
          duplicate: !created,
        },
        verdict: created ? 'accepted' : 'duplicate',
        reason: created ? null : 'delivery already processed',
        runId: run.id,
      });
    } catch (error) {
      if (error instanceof HttpException) {
        const body = error.getResponse() as ErrorBody;
        return done({ status: error.getStatus(), body, verdict: 'failed', reason: errorMessage(body), runId: null });
      }
      this.logger.error(`hook ${hook.id} delivery ${deliveryIdOf}: ${(error as Error).message}`);
      return done({ ...errorAnswer(500, 'internal', 'Internal server error.'), verdict: 'failed', reason: 'internal error', runId: null });
    }
  }

  /** Null when the delivery proves its origin; otherwise the 401/403 answer that says why not. */
  private async verify(hook: HookRow, body: Buffer, headers: IncomingHttpHeaders): Promise<DeliveryAnswer | null> {
    if (hook.format === 'token') return this.verifyToken(hook, headers.authorization);
    const secret = this.box.open(hook.secretCiphertext ?? '');
    const result =
      hook.format === 'github'
        ? verifyGithubSignature(secret, body, header(headers, 'x-hub-signature-256'))
        : verifyStandardSignature(
            secret,
            body,
            { id: header(headers, 'webhook-id'), timestamp: header(headers, 'webhook-timestamp'), signature: header(headers, 'webhook-signature') },
            Date.now() / 1000,
          );
    return result.ok ? null : errorAnswer(401, result.code, result.reason);
  }

  private async verifyToken(hook: HookRow, authorization: string | undefined): Promise<DeliveryAnswer | null> {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (!bearer) return errorAnswer(401, 'missing_token', 'Token hooks need an "Authorization: Bearer <token>" header with a trigger-scoped token.');
    const token = await this.tokens.findActiveByHash(hashToken(bearer));
    if (!token || token.kind !== 'api') return errorAnswer(401, 'invalid_token', 'Invalid or revoked token.');
    const principal: TokenPrincipal = { kind: 'token', tokenId: token.id, name: token.name, scopes: token.scopes, projectId: token.projectId };
    if (!hasScope(principal, 'trigger')) return errorAnswer(403, 'forbidden', `This token lacks the "trigger" scope (it has: ${token.scopes.join(', ') || 'none'}).`);
    if (token.projectId !== null && token.projectId !== hook.projectId) {
      return errorAnswer(403, 'forbidden', `This token is limited to another project and cannot trigger "${hook.project}".`);
    }
    void this.tokens.touch(token.id);
    return null;
  }

  private identify(hook: HookRow, headers: Record<string, string>): { event: string | null; deliveryId: string | null } {
    if (hook.format === 'github') return { event: headers['x-github-event'] ?? null, deliveryId: headers['x-github-delivery'] ?? null };
    if (hook.format === 'standard') return { event: null, deliveryId: headers['webhook-id'] ?? null };
    return { event: headers['x-bellows-event'] ?? null, deliveryId: headers['idempotency-key'] ?? null };
  }
}

function errorAnswer(status: number, code: string, message: string): DeliveryAnswer {
  return { status, body: new ApiError(status, code, message).getResponse() as ErrorBody };
}

function errorMessage(body: DeliveryAnswer['body']): string | null {
  const error = (body as Partial<ErrorBody>).error;
  return error ? `${error.code}: ${error.message}` : null;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function keptHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = header(headers, name);
    if (value !== undefined) kept[name] = value.slice(0, 500);
  }
  return kept;
}

type Parsed = { ok: true; value: unknown } | { ok: false; reason: string };

// GitHub can send JSON or a form with the JSON in "payload"; both are signed over the bytes as sent.
function parseBody(raw: Buffer, contentType: string | undefined): Parsed {
  let text = raw.toString('utf8');
  if ((contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    const payload = new URLSearchParams(text).get('payload');
    if (payload === null) return { ok: false, reason: 'A form-encoded delivery needs a "payload" field holding JSON.' };
    text = payload;
  }
  if (text.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, reason: `Request body is not valid JSON: ${(error as Error).message}` };
  }
}

function bodyEvent(format: HookFormat, payload: unknown): string | null {
  if (typeof payload !== 'object' || payload === null) return null;
  const record = payload as Record<string, unknown>;
  const value = format === 'standard' ? record.type : record.event;
  return typeof value === 'string' ? value : format === 'token' ? 'trigger' : null;
}

function bodyDeliveryId(payload: unknown): string | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const record = payload as Record<string, unknown>;
  const value = record.idempotencyKey ?? record.deliveryId;
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
