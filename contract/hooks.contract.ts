// Webhooks: a project's hooks, the deliveries they received and what each became.
import { z } from 'zod';
import { numericId, pageLimit, stringMap, timestamp } from './common';
import { defineRoute, ErrorBody } from './http';
import { PIPELINE_NAME } from './pipelines.contract';

/** github: X-Hub-Signature-256 HMAC; standard: Standard Webhooks; token: a trigger-scoped bearer token. */
export const HOOK_FORMATS = ['github', 'standard', 'token'] as const;
export const HookFormat = z.enum(HOOK_FORMATS).meta({ id: 'HookFormat' });
export type HookFormat = z.input<typeof HookFormat>;

export const HOOK_SECRET_LENGTH = { min: 16, max: 256 } as const;
export const MAX_HOOK_FILTERS = 50;
export const MAX_HOOK_EVENT_LENGTH = 100;
export const MAX_HOOK_BRANCH_LENGTH = 255;
export const MAX_HOOK_DESCRIPTION_LENGTH = 500;
export const DELIVERY_LIST_LIMIT = { fallback: 50, max: 200 } as const;

const globs = (field: string, maxLength: number) =>
  z
    .array(
      z
        .string({ error: `each of ${field} must be a string` })
        .min(1, `each of ${field} must be 1-${maxLength} characters`)
        .max(maxLength, `each of ${field} must be 1-${maxLength} characters`),
      { error: `${field} must be a list of strings` },
    )
    .max(MAX_HOOK_FILTERS, `${field} must list at most ${MAX_HOOK_FILTERS} patterns`);

export const CreateHook = z
  .strictObject({
    pipeline: z
      .string({ error: 'pipeline must be a pipeline name' })
      .regex(PIPELINE_NAME, 'pipeline must be a pipeline name')
      .meta({ example: 'build', description: 'The pipeline every accepted delivery runs.' }),
    format: z.enum(HOOK_FORMATS, { error: `format must be one of: ${HOOK_FORMATS.join(', ')}` }).meta({
      description: 'github: X-Hub-Signature-256 HMAC; standard: Standard Webhooks (webhook-id/-timestamp/-signature); token: a trigger-scoped bearer token.',
    }),
    secret: z
      .string({ error: 'secret must be a string' })
      .min(HOOK_SECRET_LENGTH.min, `secret must be ${HOOK_SECRET_LENGTH.min}-${HOOK_SECRET_LENGTH.max} characters`)
      .max(HOOK_SECRET_LENGTH.max, `secret must be ${HOOK_SECRET_LENGTH.min}-${HOOK_SECRET_LENGTH.max} characters`)
      .optional()
      .meta({ description: 'HMAC secret (github: any string of 16+ characters; standard: whsec_<base64 of 24-64 bytes>). Generated when absent; returned once.' }),
    events: globs('events', MAX_HOOK_EVENT_LENGTH)
      .optional()
      .meta({ example: ['push'], description: 'Events that start a run (globs). Default: github ["push"], others all.' }),
    branches: globs('branches', MAX_HOOK_BRANCH_LENGTH)
      .optional()
      .meta({ example: ['main', 'release/*'], description: 'Branch or tag globs that start a run; empty means all.' }),
    description: z
      .string({ error: 'description must be a string' })
      .max(MAX_HOOK_DESCRIPTION_LENGTH, `description must be at most ${MAX_HOOK_DESCRIPTION_LENGTH} characters`)
      .optional()
      .meta({ example: 'GitHub pushes of acme/web' }),
  })
  .meta({ id: 'CreateHook' });
export type CreateHook = z.input<typeof CreateHook>;

export const Hook = z
  .object({
    id: z.string(),
    /** Where the sender delivers to. */
    url: z.string(),
    project: z.string(),
    pipeline: z.string(),
    format: HookFormat,
    events: z.array(z.string()),
    branches: z.array(z.string()),
    description: z.string().nullable(),
    createdBy: z.string(),
    createdAt: timestamp,
  })
  .meta({ id: 'Hook' });
export type Hook = z.input<typeof Hook>;

/** The secret (signed formats) or token (token hooks) is in this answer only. */
export const CreatedHook = Hook.extend({ secret: z.string().optional(), token: z.string().optional() }).meta({ id: 'CreatedHook' });
export type CreatedHook = z.input<typeof CreatedHook>;

export const HookList = z.object({ hooks: z.array(Hook) }).meta({ id: 'HookList' });
export type HookList = z.input<typeof HookList>;

export const DELIVERY_VERDICTS = ['accepted', 'duplicate', 'skipped', 'rejected', 'failed'] as const;
export const DeliveryVerdict = z.enum(DELIVERY_VERDICTS).meta({ id: 'DeliveryVerdict' });
export type DeliveryVerdict = z.input<typeof DeliveryVerdict>;

export const HookDelivery = z
  .object({
    id: z.number(),
    deliveryId: z.string().nullable(),
    event: z.string().nullable(),
    verdict: DeliveryVerdict,
    verified: z.boolean(),
    reason: z.string().nullable(),
    runId: z.number().nullable(),
    responseCode: z.number(),
    bodyBytes: z.number(),
    bodyKept: z.boolean(),
    headers: stringMap,
    redeliveryOf: z.number().nullable(),
    redeliveredBy: z.string().nullable(),
    receivedAt: timestamp,
  })
  .meta({ id: 'HookDelivery' });
export type HookDelivery = z.input<typeof HookDelivery>;

export const HookDeliveryDetail = HookDelivery.extend({ body: z.string().nullable() }).meta({ id: 'HookDeliveryDetail' });
export type HookDeliveryDetail = z.input<typeof HookDeliveryDetail>;

export const HookDeliveryList = z.object({ deliveries: z.array(HookDelivery), nextCursor: z.string().nullable() }).meta({ id: 'HookDeliveryList' });
export type HookDeliveryList = z.input<typeof HookDeliveryList>;

export const DeliveryQuery = z.object({
  cursor: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return null;
      const beforeId = Number(raw);
      if (Number.isSafeInteger(beforeId) && beforeId >= 1) return beforeId;
      ctx.addIssue({ code: 'custom', message: 'cursor is not valid; pass the nextCursor of a previous page.' });
      return z.NEVER;
    })
    .meta({ description: 'The nextCursor of the previous page.' }),
  limit: pageLimit(DELIVERY_LIST_LIMIT.fallback, DELIVERY_LIST_LIMIT.max),
});

/** A delivery that started a run (201), or named one an earlier delivery with its id started (200, duplicate). */
export const DeliveryTriggered = z
  .object({
    runId: z.number(),
    number: z.number(),
    project: z.string(),
    pipeline: z.string(),
    ref: z.string(),
    commitSha: z.string().nullable(),
    status: z.string(),
    deliveryId: z.string(),
    duplicate: z.boolean(),
  })
  .meta({ id: 'DeliveryTriggered' });
export const DeliveryPong = z.object({ ok: z.literal(true), event: z.literal('ping'), message: z.literal('pong') }).meta({ id: 'DeliveryPong' });
/** Filtered out by the hook's events or branches: the reason, and nothing run. */
export const DeliverySkipped = z.object({ skipped: z.string(), deliveryId: z.string() }).meta({ id: 'DeliverySkipped' });

export const DeliveryResult = z.union([DeliveryTriggered, DeliveryPong, DeliverySkipped]).meta({ id: 'DeliveryResult' });
export type DeliveryResult = z.input<typeof DeliveryResult>;

export const Redelivery = z
  .object({
    /** The new log entry (null only if it was pruned at once). */
    delivery: HookDelivery.nullable(),
    /** What the sender would have been answered. */
    response: z.object({ status: z.number(), body: z.union([DeliveryResult, ErrorBody]) }),
  })
  .meta({ id: 'Redelivery' });
export type Redelivery = z.input<typeof Redelivery>;

const hookParams = z.object({ hookId: z.string(), id: numericId('delivery') });

const tag = 'webhooks';

export const hookRoutes = {
  create: defineRoute({ method: 'POST', path: '/api/v1/projects/:slug/hooks', tag, summary: 'Create a webhook (its secret is shown once)', auth: 'write', status: 201, body: CreateHook, response: CreatedHook }),
  list: defineRoute({ method: 'GET', path: '/api/v1/projects/:slug/hooks', tag, summary: "A project's webhooks", auth: 'read', status: 200, response: HookList }),
  deliver: defineRoute({
    method: 'POST',
    path: '/api/v1/hooks/:hookId',
    tag,
    summary: 'Receive a delivery',
    description: '201 run started; 200 duplicate, skipped or ping; 401 bad signature. The body is kept as sent: signatures cover its bytes.',
    auth: 'public',
    status: 201,
    body: 'raw',
    response: DeliveryResult,
  }),
  get: defineRoute({ method: 'GET', path: '/api/v1/hooks/:hookId', tag, summary: 'One webhook', auth: 'read', status: 200, response: Hook }),
  delete: defineRoute({ method: 'DELETE', path: '/api/v1/hooks/:hookId', tag, summary: 'Delete a webhook', auth: 'write', status: 204, response: 'empty' }),
  deliveries: defineRoute({ method: 'GET', path: '/api/v1/hooks/:hookId/deliveries', tag, summary: "A webhook's deliveries, newest first", auth: 'read', status: 200, query: DeliveryQuery, response: HookDeliveryList }),
  delivery: defineRoute({ method: 'GET', path: '/api/v1/hooks/:hookId/deliveries/:id', tag, summary: 'One delivery, with its headers and body', auth: 'read', status: 200, params: hookParams, response: HookDeliveryDetail }),
  redeliver: defineRoute({ method: 'POST', path: '/api/v1/hooks/:hookId/deliveries/:id/redeliver', tag, summary: 'Process a delivery again', auth: 'write', status: 200, params: hookParams, response: Redelivery }),
};
