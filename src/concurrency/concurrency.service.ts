import { Injectable } from '@nestjs/common';
import type { ConcurrencySlot, ResolvedConcurrency } from '../../contract/concurrency.contract';
import type { ClaimOwner } from './concurrency-policy';
import { slotView } from './concurrency-policy';
import { ConcurrencyRepository, type ClaimStanding } from './concurrency.repository';

/** Where runs and jobs stand in their concurrency groups, for the run page, the job view and the queue. */
@Injectable()
export class ConcurrencyService {
  constructor(private readonly concurrency: ConcurrencyRepository) {}

  /**
   * The slots of one attempt (its pipeline's group and its jobs' own), in one query. `pipeline` is the
   * run's, so holders of the same pipeline read "run #41".
   */
  async slotsOf(
    attempt: { runId: number; attempt: number; pipeline: string; concurrency: ResolvedConcurrency | null },
    jobs: { id: number; attempt: number; concurrency: ResolvedConcurrency | null; status: string }[],
  ): Promise<{ run: ConcurrencySlot | null; jobs: Map<number, ConcurrencySlot> }> {
    const owners: ClaimOwner[] = [];
    if (attempt.concurrency) owners.push({ runId: attempt.runId, attempt: attempt.attempt, jobId: null });
    for (const job of jobs) if (job.concurrency) owners.push({ runId: attempt.runId, attempt: job.attempt, jobId: job.id });
    const standings = await this.concurrency.standings(owners);
    const find = (jobId: number | null, attemptNumber: number): ClaimStanding | undefined =>
      standings.find((standing) => standing.attempt === attemptNumber && (standing.jobId ?? null) === jobId);
    const jobSlots = new Map<number, ConcurrencySlot>();
    for (const job of jobs) if (job.concurrency) jobSlots.set(job.id, slotView(job.concurrency, find(job.id, job.attempt), attempt.pipeline));
    return { run: attempt.concurrency ? slotView(attempt.concurrency, find(null, attempt.attempt), attempt.pipeline) : null, jobs: jobSlots };
  }

  /** Why each of these jobs waits for a slot (its own group's, else its run's), for the queue's held list. */
  async waitReasons(jobs: { id: number; runId: number; attempt: number; pipeline: string; concurrency: ResolvedConcurrency | null; runConcurrency: ResolvedConcurrency | null }[]): Promise<Map<number, string>> {
    const owners = jobs.flatMap((job): ClaimOwner[] => [
      ...(job.concurrency ? [{ runId: job.runId, attempt: job.attempt, jobId: job.id }] : []),
      ...(job.runConcurrency ? [{ runId: job.runId, attempt: job.attempt, jobId: null }] : []),
    ]);
    const standings = await this.concurrency.standings(owners);
    const reasons = new Map<number, string>();
    for (const job of jobs) {
      const own = standings.find((s) => s.runId === job.runId && s.attempt === job.attempt && s.jobId === job.id);
      const run = standings.find((s) => s.runId === job.runId && s.attempt === job.attempt && s.jobId === null);
      const [declared, standing] = run?.state === 'waiting' ? [job.runConcurrency, run] : [job.concurrency, own];
      if (!declared) continue;
      const reason = slotView(declared, standing, job.pipeline).waitingBecause;
      if (reason) reasons.set(job.id, reason);
    }
    return reasons;
  }
}
