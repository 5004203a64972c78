// The queue: jobs waiting for an agent, in the order agents will claim them.
import { z } from 'zod';
import { pageLimit, timestamp } from './common';
import { defineRoute } from './http';

/** Which job, of which run: what every queue row starts with. */
const jobOfRun = {
  id: z.number(),
  runId: z.number(),
  runNumber: z.number(),
  name: z.string(),
  project: z.string(),
  pipeline: z.string(),
};

export const QueueEntry = z
  .object({
    ...jobOfRun,
    labels: z.array(z.string()),
    /** Higher goes first; within one priority, queue order (the one dragging changes). */
    priority: z.number().meta({ description: 'Higher goes first; within one priority, queue order.' }),
    /** 1 for the job the next matching agent claims. */
    position: z.number().meta({ description: 'From 1: the order agents claim in.' }),
    queuedAt: timestamp,
    matchingAgents: z.number(),
    /** Matching agents not running a job now. */
    idleMatchingAgents: z.number().meta({ description: 'Matching agents not running a job now.' }),
    onlineAgents: z.number(),
    /** Why the job has not been claimed yet, in a sentence; null when an idle agent matches. */
    waitingBecause: z.string().nullable().meta({ description: 'Why the job has not been claimed yet; null when an idle agent matches.' }),
  })
  .meta({ id: 'QueueEntry' });
export type QueueEntry = z.input<typeof QueueEntry>;

/** Most held-back jobs one answer lists (oldest first); `heldTotal` counts them all. */
export const QUEUE_HELD_LIMIT = 200;

/** A job a policy keeps out of the queue for now: a concurrency slot, a retry backoff or a person's approval. */
export const HeldEntry = z
  .object({
    ...jobOfRun,
    status: z.enum(['waiting', 'awaiting_approval']),
    /** Why it is held, in a sentence; the same one the run page shows. */
    waitingBecause: z.string().meta({ example: 'waiting for concurrency group deploy-main (held by run #41)' }),
    /** When it was held back: the retry's next try, or when its wait began. */
    since: timestamp,
    /** The backoff's end, for a job waiting out a retry backoff. */
    until: timestamp.nullable(),
  })
  .meta({ id: 'HeldEntry' });
export type HeldEntry = z.input<typeof HeldEntry>;

export const QueueList = z
  .object({
    jobs: z.array(QueueEntry),
    /** Jobs not in the queue yet because a policy holds them back, oldest first (the first page only). */
    held: z.array(HeldEntry).meta({ description: `Jobs a policy holds back (concurrency, retry backoff, approval), oldest first; the first page only, at most ${QUEUE_HELD_LIMIT}.` }),
    heldTotal: z.number(),
    nextCursor: z.string().nullable().meta({ description: 'The `cursor` of the next page; null on the last.' }),
    /** Every queued job the caller may see, not just this page. */
    total: z.number().meta({ description: 'Queued jobs the caller may see, on every page.' }),
  })
  .meta({ id: 'QueueList' });
export type QueueList = z.input<typeof QueueList>;

/** 100 per page by default: one screen, and ten thousand queued jobs answer in milliseconds (docs/performance.md). */
export const QUEUE_PAGE_LIMIT = { fallback: 100, max: 500 } as const;

/** Where a page starts: just after the job at (priority, queue rank, id), the keyset the claim orders by. */
export type QueueCursor = { priority: number; rank: number; id: number };

export function encodeQueueCursor(cursor: QueueCursor): string {
  return `${cursor.priority}.${cursor.rank}.${cursor.id}`;
}

const CURSOR_MESSAGE = 'cursor is not valid; pass the nextCursor of a previous page.';

export const QueueListQuery = z.object({
  cursor: z
    .string()
    .optional()
    .transform((raw, ctx): QueueCursor | null => {
      if (raw === undefined) return null;
      const match = /^(-?[0-9]{1,4})\.(-?[0-9]{1,18})\.([1-9][0-9]{0,17})$/.exec(raw);
      const cursor = match && { priority: Number(match[1]), rank: Number(match[2]), id: Number(match[3]) };
      if (cursor && Number.isSafeInteger(cursor.rank) && Number.isSafeInteger(cursor.id)) return cursor;
      ctx.addIssue({ code: 'custom', message: CURSOR_MESSAGE });
      return z.NEVER;
    })
    .meta({ description: 'The nextCursor of the previous page. A page starts after that job\'s place, so a claim or a reorder in between neither fails nor repeats the page.' }),
  limit: pageLimit(QUEUE_PAGE_LIMIT.fallback, QUEUE_PAGE_LIMIT.max),
});

const jobRef = (field: string) =>
  z.number({ error: `${field} must be a job id (a positive integer)` }).int(`${field} must be a job id (a positive integer)`).min(1, `${field} must be a job id (a positive integer)`);

/** Exactly one of beforeJobId or afterJobId (the service answers 400 otherwise). */
export const MoveJob = z
  .strictObject({ jobId: jobRef('jobId'), beforeJobId: jobRef('beforeJobId').optional(), afterJobId: jobRef('afterJobId').optional() })
  .meta({ id: 'MoveJob', description: 'Exactly one of beforeJobId or afterJobId.' });
export type MoveJob = z.input<typeof MoveJob>;

const tag = 'queue';

export const queueRoutes = {
  list: defineRoute({
    method: 'GET',
    path: '/api/v1/queue',
    tag,
    summary: 'Queued jobs in claim order, with why each waits (a page at a time)',
    auth: 'read',
    status: 200,
    query: QueueListQuery,
    response: QueueList,
  }),
  move: defineRoute({ method: 'POST', path: '/api/v1/queue/move', tag, summary: 'Move a queued job before or after another', auth: 'write', status: 200, body: MoveJob, response: QueueList }),
};
