// The queue: jobs waiting for an agent, in the order agents will claim them.
import { z } from 'zod';
import { timestamp } from './common';
import { defineRoute } from './http';

export const QueueEntry = z
  .object({
    id: z.number(),
    runId: z.number(),
    runNumber: z.number(),
    name: z.string(),
    project: z.string(),
    pipeline: z.string(),
    labels: z.array(z.string()),
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

export const QueueList = z.object({ jobs: z.array(QueueEntry) }).meta({ id: 'QueueList' });
export type QueueList = z.input<typeof QueueList>;

const jobRef = (field: string) =>
  z.number({ error: `${field} must be a job id (a positive integer)` }).int(`${field} must be a job id (a positive integer)`).min(1, `${field} must be a job id (a positive integer)`);

/** Exactly one of beforeJobId or afterJobId (the service answers 400 otherwise). */
export const MoveJob = z
  .strictObject({ jobId: jobRef('jobId'), beforeJobId: jobRef('beforeJobId').optional(), afterJobId: jobRef('afterJobId').optional() })
  .meta({ id: 'MoveJob', description: 'Exactly one of beforeJobId or afterJobId.' });
export type MoveJob = z.input<typeof MoveJob>;

const tag = 'queue';

export const queueRoutes = {
  list: defineRoute({ method: 'GET', path: '/api/v1/queue', tag, summary: 'Queued jobs in claim order, with why each waits', auth: 'read', status: 200, response: QueueList }),
  move: defineRoute({ method: 'POST', path: '/api/v1/queue/move', tag, summary: 'Move a queued job before or after another', auth: 'write', status: 200, body: MoveJob, response: QueueList }),
};
