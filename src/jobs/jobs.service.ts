import { Injectable } from '@nestjs/common';
import { assertProjectAccess } from '../auth/project-access';
import type { TokenPrincipal } from '../auth/principal';
import type { z } from 'zod';
import { ActGraphDoc, isTerminalJob, type JobGraph, type LogPage } from '../../contract/jobs.contract';
import { conflict, forbidden, notFound } from '../common/api-error';
import { ConcurrencyService } from '../concurrency/concurrency.service';
import { LiveEvents } from '../live/live-events.service';
import { TemporalService } from '../temporal/temporal.service';
import { RunsRepository } from '../runs/runs.repository';
import { JobsRepository, type JobView } from './jobs.repository';
import { nodeStatesFor, parseGraph } from './job-graph';
import { LogsRepository, type StoredChunk } from './logs.repository';

@Injectable()
export class JobsService {
  constructor(
    private readonly jobs: JobsRepository,
    private readonly logChunks: LogsRepository,
    private readonly runs: RunsRepository,
    private readonly temporal: TemporalService,
    private readonly live: LiveEvents,
    private readonly concurrency: ConcurrencyService,
  ) {}

  /**
   * Approves or rejects an approval job. The decision commits first (conditional on the job still
   * awaiting one, so two deciders cannot both win), then the run's workflow is told; a lost signal
   * only delays the run until the workflow's reconcile reads the decision.
   */
  async decide(principal: TokenPrincipal, jobId: number, decision: 'approved' | 'rejected', comment: string | null): Promise<JobView> {
    const job = await this.get(principal, jobId);
    const verdict = approvalVerdict(job, principal.name);
    if (verdict.kind === 'not_approval') throw conflict(`Job ${jobId} is not an approval job; only approval jobs are approved or rejected.`, 'not_an_approval');
    if (verdict.kind === 'not_allowed') throw forbidden(`Only ${verdict.approvers.join(', ')} may decide job ${jobId} ("${job.name}"); this token is "${principal.name}".`);
    if (verdict.kind === 'not_awaiting') throw conflict(`Job ${jobId} ("${job.name}") is ${job.status}, not awaiting approval.`, 'not_awaiting_approval', { status: job.status });
    const decided = await this.jobs.decideApproval(jobId, { decision, by: principal.name, comment });
    if (!decided) {
      const current = await this.get(principal, jobId);
      throw conflict(`Job ${jobId} ("${job.name}") was decided meanwhile: it is ${current.status}.`, 'not_awaiting_approval', { status: current.status });
    }
    this.live.jobsChanged([jobId]);
    this.live.queueChanged('held');
    await this.temporal.signalFinished(decided.runId, decided.attempt, { jobId, try: 0, status: decided.status, exitCode: null });
    return this.get(principal, jobId);
  }

  async get(principal: TokenPrincipal, jobId: number): Promise<JobView> {
    const job = await this.jobs.get(jobId);
    if (!job) throw notFound('job', jobId);
    const run = await this.runs.get(job.runId);
    if (!run) throw notFound('job', jobId);
    assertProjectAccess(principal, { id: run.projectId, slug: run.project });
    if (!job.concurrency) return { ...job, concurrency: null };
    const slots = await this.concurrency.slotsOf({ runId: job.runId, attempt: job.attempt, pipeline: run.pipeline, concurrency: null }, [job]);
    return { ...job, concurrency: slots.jobs.get(job.id) ?? null };
  }

  /** A page of log chunks after `after`; `nextSeq` is the `after` of the next page. */
  async logs(principal: TokenPrincipal, jobId: number, after: number, limit: number): Promise<z.output<typeof LogPage>> {
    const job = await this.get(principal, jobId);
    const chunks = await this.logChunks.read(job.id, after, limit);
    const nextSeq = chunks.length ? chunks[chunks.length - 1].seq : after;
    const drained = chunks.length < limit;
    return { chunks, nextSeq, complete: isTerminalJob(job.status) && drained };
  }

  /** The graph of an `.act` job with what executes now and how each node ended. */
  async graph(principal: TokenPrincipal, jobId: number): Promise<z.output<typeof JobGraph>> {
    const job = await this.get(principal, jobId);
    const state = await this.jobs.graphState(job.id);
    if (state.kind !== 'act') throw notFound('graph for job', `${jobId} (it runs a script, not an .act graph)`);
    const graph = parseGraph(state.content);
    const ended = isTerminalJob(state.status);
    return {
      jobId: job.id,
      status: state.status,
      // YAML that is not a graph document (a hand-edited file) is shown as no graph, not as a broken answer.
      graph: ActGraphDoc.safeParse(graph).data ?? null,
      activeNodes: ended ? [] : state.activeNodes,
      nodeStates: nodeStatesFor(graph, state.nodeStates, ended),
      reportedAt: state.reportedAt,
    };
  }

  async *text(principal: TokenPrincipal, jobId: number): AsyncGenerator<string> {
    const job = await this.get(principal, jobId);
    for await (const page of this.logChunks.readAll(job.id)) yield page.map((chunk: StoredChunk) => chunk.text).join('');
  }
}

export type ApprovalVerdict =
  | { kind: 'may_decide' }
  | { kind: 'not_approval' }
  | { kind: 'not_awaiting' }
  | { kind: 'not_allowed'; approvers: string[] };

/** Who may decide an approval job, and when: the rule the approve and reject endpoints share. */
export function approvalVerdict(job: { kind: string; status: string; approvers: string[] }, tokenName: string): ApprovalVerdict {
  if (job.kind !== 'approval') return { kind: 'not_approval' };
  if (job.approvers.length > 0 && !job.approvers.includes(tokenName)) return { kind: 'not_allowed', approvers: job.approvers };
  if (job.status !== 'awaiting_approval') return { kind: 'not_awaiting' };
  return { kind: 'may_decide' };
}
