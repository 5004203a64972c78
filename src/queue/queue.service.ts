import { Inject, Injectable } from '@nestjs/common';
import type { TokenPrincipal } from '../auth/principal';
import { assertProjectAccess } from '../auth/project-access';
import type { z } from 'zod';
import { encodeQueueCursor, QUEUE_HELD_LIMIT, QUEUE_PAGE_LIMIT, type QueueCursor, type QueueList } from '../../contract/queue.contract';
import { badRequest, conflict, notFound } from '../common/api-error';
import { CONFIG, type Config } from '../config/config';
import { LiveEvents } from '../live/live-events.service';
import { ConcurrencyService } from '../concurrency/concurrency.service';
import { QueueRepository, type HeldJobRow, type QueueEntry } from './queue.repository';

@Injectable()
export class QueueService {
  constructor(
    private readonly queue: QueueRepository,
    private readonly live: LiveEvents,
    private readonly concurrency: ConcurrencyService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async list(principal: TokenPrincipal, page: { cursor: QueueCursor | null; limit: number } = { cursor: null, limit: QUEUE_PAGE_LIMIT.fallback }): Promise<z.output<typeof QueueList>> {
    const result = await this.queue.list({ projectId: principal.projectId, onlineWithinSeconds: this.config.agentLostAfterSeconds, limit: page.limit, after: page.cursor });
    // Held-back jobs come with the first page: they are not in the claim order the cursor walks.
    const held = page.cursor === null ? await this.queue.held(principal.projectId, QUEUE_HELD_LIMIT) : { rows: [], total: 0 };
    const slotReasons = await this.concurrency.waitReasons(held.rows.filter((row) => row.reason === 'concurrency'));
    return {
      jobs: result.entries.map(({ higherPriorityAhead, ...entry }) => ({ ...entry, waitingBecause: explain(entry, higherPriorityAhead) })),
      held: held.rows.map((row) => ({
        id: row.id,
        runId: row.runId,
        runNumber: row.runNumber,
        name: row.name,
        project: row.project,
        pipeline: row.pipeline,
        status: row.status,
        waitingBecause: explainHeld(row, slotReasons.get(row.id) ?? null),
        since: row.since,
        until: row.reason === 'retry_backoff' ? row.retryAt : null,
      })),
      heldTotal: held.total,
      nextCursor: result.next && encodeQueueCursor(result.next),
      total: result.total,
    };
  }

  async move(principal: TokenPrincipal, jobId: number, anchor: { before?: number; after?: number }): Promise<z.output<typeof QueueList>> {
    if ((anchor.before === undefined) === (anchor.after === undefined)) throw badRequest('Give exactly one of beforeJobId or afterJobId.');
    const anchorId = (anchor.before ?? anchor.after)!;
    if (anchorId === jobId) throw badRequest('A job cannot be moved relative to itself.');
    for (const id of [jobId, anchorId]) {
      const job = await this.queue.queuedJob(id);
      if (!job) throw notFound('queued job', id);
      if (principal.projectId !== null) assertProjectAccess(principal, { id: job.projectId, slug: 'that project' });
    }
    if (!(await this.queue.move(jobId, anchorId, anchor.before !== undefined ? 'before' : 'after'))) {
      throw conflict('One of the jobs left the queue while moving; reload the queue and try again.', 'queue_changed');
    }
    this.live.queueChanged('moved');
    return this.list(principal);
  }
}

// Nobody else tells users why a job sits in the queue; a plain sentence does.
export function explain(entry: Omit<QueueEntry, 'higherPriorityAhead'>, higherPriorityAhead: number): string | null {
  if (entry.onlineAgents === 0) return 'No agent is online.';
  if (entry.matchingAgents === 0) {
    return entry.labels.length
      ? `No online agent has all of the labels ${entry.labels.join(', ')}.`
      : 'No online agent can take it.';
  }
  if (entry.idleMatchingAgents === 0) {
    const busy = `Waiting for a matching agent to free up (${entry.matchingAgents} online ${entry.matchingAgents === 1 ? 'matches' : 'match'}, all busy)`;
    // Higher-priority jobs are claimed first whatever their place: say so when there are any.
    return higherPriorityAhead > 0
      ? `${busy}; ${higherPriorityAhead} ${higherPriorityAhead === 1 ? 'job' : 'jobs'} of higher priority than ${entry.priority} go${higherPriorityAhead === 1 ? 'es' : ''} first.`
      : `${busy}.`;
  }
  // An idle matching agent takes it on its next claim (long polls are woken at once).
  return null;
}

/** Why a policy holds a job back, in a sentence (a concurrency wait: the one the run page shows too). */
export function explainHeld(row: Pick<HeldJobRow, 'status' | 'reason' | 'try' | 'maxTries' | 'retryAt' | 'approvers'>, slotReason: string | null): string {
  if (row.status === 'awaiting_approval') {
    return row.approvers.length ? `waiting for approval by ${row.approvers.join(' or ')}` : 'waiting for approval (anyone who may trigger runs can decide)';
  }
  if (row.reason === 'retry_backoff') {
    const at = row.retryAt ? ` at ${row.retryAt.toISOString()}` : '';
    return `try ${row.try} failed; try ${row.try + 1} of ${row.maxTries} starts after its backoff${at}`;
  }
  return slotReason ?? 'waiting for a concurrency slot';
}
