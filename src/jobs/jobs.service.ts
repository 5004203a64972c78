import { Injectable } from '@nestjs/common';
import { assertProjectAccess } from '../auth/project-access';
import type { TokenPrincipal } from '../auth/principal';
import type { z } from 'zod';
import { ActGraphDoc, isTerminalJob, type JobGraph, type LogPage } from '../../contract/jobs.contract';
import { notFound } from '../common/api-error';
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
