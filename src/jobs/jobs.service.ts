import { Injectable } from '@nestjs/common';
import { assertProjectAccess } from '../auth/project-access';
import type { TokenPrincipal } from '../auth/principal';
import { badRequest, notFound } from '../common/api-error';
import { RunsRepository } from '../runs/runs.repository';
import { JobsRepository, type JobView } from './jobs.repository';
import { nodeStatesFor, parseGraph } from './job-graph';
import { LogsRepository, type StoredChunk } from './logs.repository';

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'skipped']);

@Injectable()
export class JobsService {
  constructor(
    private readonly jobs: JobsRepository,
    private readonly logChunks: LogsRepository,
    private readonly runs: RunsRepository,
  ) {}

  async get(principal: TokenPrincipal, jobId: number): Promise<JobView> {
    const job = await this.jobs.get(jobId);
    if (!job) throw notFound('job', jobId);
    const run = await this.runs.get(job.runId);
    if (!run) throw notFound('job', jobId);
    assertProjectAccess(principal, { id: run.projectId, slug: run.project });
    return job;
  }

  /** A page of log chunks after `after`; `nextSeq` is the `after` of the next page. */
  async logs(principal: TokenPrincipal, jobId: number, afterRaw?: string, limitRaw?: string) {
    const job = await this.get(principal, jobId);
    const after = afterRaw === undefined ? 0 : Number(afterRaw);
    if (!Number.isSafeInteger(after) || after < 0) throw badRequest(`after must be a non-negative integer; got "${afterRaw}".`);
    const limit = limitRaw === undefined ? 1000 : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10000) throw badRequest('limit must be an integer from 1 to 10000.');
    const chunks = await this.logChunks.read(job.id, after, limit);
    const nextSeq = chunks.length ? chunks[chunks.length - 1].seq : after;
    const drained = chunks.length < limit;
    return { chunks, nextSeq, complete: TERMINAL.has(job.status) && drained };
  }

  /** The graph of an `.act` job with what executes now and how each node ended. */
  async graph(principal: TokenPrincipal, jobId: number) {
    const job = await this.get(principal, jobId);
    const state = await this.jobs.graphState(job.id);
    if (state.kind !== 'act') throw notFound('graph for job', `${jobId} (it runs a script, not an .act graph)`);
    const graph = parseGraph(state.content);
    const ended = TERMINAL.has(state.status);
    return {
      jobId: job.id,
      status: state.status,
      graph,
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
