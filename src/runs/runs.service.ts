import { Injectable, Logger } from '@nestjs/common';
import type { z } from 'zod';
import { isTerminal, RUN_STATUSES, type CancelManyResult, type RunDetail, type RunList, type RunSummary, type TriggerRun } from '../../contract/runs.contract';
import type { Job } from '../../contract/jobs.contract';
import type { api } from '../../contract';
import type { RouteBody } from '../../contract/http';
import { assertProjectAccess } from '../auth/project-access';
import type { TokenPrincipal } from '../auth/principal';
import { badRequest, conflict, notFound, unprocessable } from '../common/api-error';
import { withIds } from '../common/log-fields';
import { JobsRepository, type JobRow, type JobTryView } from '../jobs/jobs.repository';
import { slotView } from '../concurrency/concurrency-policy';
import { ConcurrencyService } from '../concurrency/concurrency.service';
import type { ConcurrencySlot } from '../../contract/concurrency.contract';
import { LiveEvents } from '../live/live-events.service';
import { ENV_NAME_PATTERN, resolveInputs } from '../pipelines/pipeline-spec';
import { PipelinesService, checkedInputs } from '../pipelines/pipelines.service';
import { ProjectsService } from '../projects/projects.service';
import type { Project } from '../projects/projects.repository';
import { RepositoriesService, noRepository } from '../repositories/repositories.service';
import type { PipelineVersion } from '../pipelines/pipelines.repository';
import { TemporalService } from '../temporal/temporal.service';
import { baseJobName, blockedByCarried, jobsToRerun, resolveJobKeys } from './rerun-selection';
import { RunsRepository, type AttemptRow, type RunRow, type TriggerInfo } from './runs.repository';

export type RunView = z.output<typeof RunDetail>;

/** A trigger's request; webhooks pass the commit they reported (or none). */
export type TriggerRequest = Omit<z.output<typeof TriggerRun>, 'commitSha'> & { commitSha?: string | null };

@Injectable()
export class RunsService {
  private readonly logger = new Logger('runs');

  constructor(
    private readonly runs: RunsRepository,
    private readonly jobs: JobsRepository,
    private readonly projects: ProjectsService,
    private readonly pipelines: PipelinesService,
    private readonly temporal: TemporalService,
    private readonly live: LiveEvents,
    private readonly repositories: RepositoriesService,
    private readonly concurrency: ConcurrencyService,
  ) {}

  async trigger(
    principal: TokenPrincipal,
    slug: string,
    pipelineName: string,
    request: TriggerRequest,
    trigger: TriggerInfo,
  ): Promise<RunView> {
    return (await this.triggerOnce(principal, slug, pipelineName, request, trigger, null)).run;
  }

  /**
   * Triggers a run at most once per idempotency key: a repeated key (a redelivered webhook, a client
   * retry) answers with the run the first call created, `created: false`, and starts nothing.
   */
  async triggerOnce(
    principal: TokenPrincipal,
    slug: string,
    pipelineName: string,
    request: TriggerRequest,
    trigger: TriggerInfo,
    idempotencyKey: string | null,
  ): Promise<{ run: RunView; created: boolean }> {
    const project = await this.projects.get(principal, slug);
    if (idempotencyKey !== null) {
      // A repeat is answered before the pipeline's current inputs are checked: it asks for nothing new.
      const existing = await this.runs.findByIdempotencyKey(idempotencyKey);
      if (existing !== undefined) return { run: await this.get(principal, existing), created: false };
    }
    const pipeline = await this.pipelines.get(project, pipelineName, null);
    const source = await this.runSource(project, pipeline, request);
    const { inputs, problems } = resolveInputs(source.inputs, request.inputs ?? {});
    for (const [key, value] of Object.entries(request.env ?? {})) {
      if (!ENV_NAME_PATTERN.test(key)) problems.push(`env: "${key}" is not a valid environment variable name`);
      if (typeof value !== 'string') problems.push(`env.${key}: must be a string`);
    }
    if (problems.length) throw unprocessable(`Cannot trigger ${slug}/${pipelineName}: ${problems.join('; ')}`, 'invalid_trigger');
    const { id: runId, created } = await this.runs.create({
      projectId: project.id,
      pipelineId: pipeline.pipelineId,
      pipelineVersion: pipeline.version,
      ref: source.ref,
      commitSha: source.commitSha,
      inputs,
      env: request.env ?? {},
      trigger,
      idempotencyKey,
      pipelineContent: pipeline.path === null ? null : source.content,
      priority: request.priority ?? pipeline.priority,
    });
    // Only the call that created the run starts it; attempt 1's workflow id is run-<id>-attempt-1 either
    // way, and an attempt whose start was lost to a crash is picked up by the attempt starter.
    if (created) {
      this.live.runChanged(runId);
      await this.startAttempt(runId, 1, false);
    }
    return { run: await this.get(principal, runId), created };
  }

  /**
   * What a run runs. In a project with a repository: the commit the ref names now (or the one a webhook
   * reported), and for a repository pipeline the file's content at that commit, checked like a pushed
   * pipeline. Elsewhere: the stored pipeline and the ref as given.
   */
  private async runSource(project: Project, pipeline: PipelineVersion, request: TriggerRequest) {
    if (!project.repository) {
      if (pipeline.path !== null) throw noRepository(project.slug, `but pipeline ${pipeline.name} is a file in one`);
      return { ref: request.ref ?? 'main', commitSha: request.commitSha ?? null, inputs: pipeline.inputs, content: null };
    }
    const source = await this.repositories.runSource(project, request, pipeline.path);
    if (pipeline.path === null || source.content === null) return { ...source, inputs: pipeline.inputs, content: null };
    const definition = { ...pipeline, content: source.content, path: null };
    const inputs = checkedInputs(definition, `${pipeline.path} at ${source.commitSha.slice(0, 12)} (${source.ref}) is not a valid pipeline`);
    return { ...source, inputs };
  }

  async get(principal: TokenPrincipal, runId: number): Promise<RunView> {
    const run = await this.load(principal, runId);
    const [attempts, jobs] = await Promise.all([this.runs.attempts(runId), this.jobs.listForRun(runId)]);
    const current = attempts.find((a) => a.attempt === run.attempt);
    const [tries, slots] = await Promise.all([
      this.jobs.listTries(jobs.map((job) => job.id)),
      this.concurrency.slotsOf(
        { runId, attempt: run.attempt, pipeline: run.pipeline, concurrency: current?.concurrency ?? null },
        jobs.filter((job) => job.attempt === run.attempt),
      ),
    ]);
    return this.view(run, attempts, jobs, tries, slots);
  }

  async list(
    principal: TokenPrincipal,
    filter: { project?: string; pipeline?: string; status?: string; cursor?: string; limit: number },
  ): Promise<z.output<typeof RunList>> {
    let projectId = principal.projectId;
    if (filter.project) {
      const project = await this.projects.get(principal, filter.project);
      projectId = project.id;
    }
    const statuses: readonly string[] = RUN_STATUSES;
    if (filter.status && !statuses.includes(filter.status)) {
      throw badRequest(`status must be one of ${RUN_STATUSES.join(', ')}; got "${filter.status}".`);
    }
    const limit = filter.limit;
    const beforeId = filter.cursor === undefined ? null : Number(filter.cursor);
    if (beforeId !== null && (!Number.isInteger(beforeId) || beforeId < 1)) throw badRequest('cursor is not valid; pass the nextCursor of a previous page.');
    const rows = await this.runs.list({
      projectId,
      pipeline: filter.pipeline ?? null,
      status: (filter.status as z.output<typeof RunSummary>['status'] | undefined) ?? null,
      beforeId,
      limit,
    });
    return {
      runs: rows.map((run) => this.summary(run)),
      nextCursor: rows.length === limit ? String(rows[rows.length - 1].id) : null,
    };
  }

  async cancel(principal: TokenPrincipal, runId: number): Promise<RunView> {
    const run = await this.load(principal, runId);
    if (isTerminal(run.status)) throw conflict(`Run ${runId} already ended ${run.status}; nothing to cancel.`, 'run_finished');
    // Queued jobs end at once in Postgres; the workflow then stops the running ones through their agents.
    await this.jobs.cancelAttempt(runId, run.attempt);
    this.live.attemptJobsChanged(runId, run.attempt);
    this.live.queueChanged('cancelled');
    this.live.runChanged(runId);
    await this.temporal.signalCancel(runId, run.attempt, principal.name);
    return this.get(principal, runId);
  }

  async cancelMany(principal: TokenPrincipal, ids: number[]): Promise<z.output<typeof CancelManyResult>> {
    const cancelled: number[] = [];
    const skipped: { id: number; reason: string }[] = [];
    for (const id of [...new Set(ids)]) {
      try {
        await this.cancel(principal, id);
        cancelled.push(id);
      } catch (error) {
        const body = (error as { getResponse?: () => { error?: { message?: string } } }).getResponse?.();
        skipped.push({ id, reason: body?.error?.message ?? (error as Error).message });
      }
    }
    return { cancelled, skipped };
  }

  /**
   * A new attempt of an ended run: every job, the ones that did not succeed (`failedOnly`), or the
   * `jobs` named and everything that needs them; a partial re-run carries the rest over.
   */
  async rerun(principal: TokenPrincipal, runId: number, request: RouteBody<typeof api.runs.rerun>): Promise<RunView> {
    const failedOnly = request.failedOnly ?? false;
    const run = await this.load(principal, runId);
    if (request.jobs !== undefined && failedOnly) throw unprocessable('Pass either jobs or failedOnly, not both: jobs re-runs the jobs named, failedOnly the ones that did not succeed.', 'invalid_rerun');
    if (request.jobs !== undefined && request.jobs.length === 0) throw unprocessable('jobs must name at least one job to re-run.', 'invalid_rerun');
    if (!isTerminal(run.status)) throw conflict(`Run ${runId} is still ${run.status}; re-run it once it has ended.`, 'run_in_progress');
    if (failedOnly && run.status === 'succeeded') throw conflict(`Run ${runId} succeeded; there are no failed jobs to re-run.`, 'nothing_failed');
    const rerunJobs = request.jobs === undefined ? null : await this.chosenJobs(run, request.jobs);
    const attempt = await this.runs.addAttempt(runId, failedOnly, rerunJobs);
    if (attempt === undefined) throw conflict(`Run ${runId} changed while re-running; try again.`, 'run_in_progress');
    this.live.runChanged(runId);
    await this.startAttempt(runId, attempt, failedOnly);
    return this.get(principal, runId);
  }

  /**
   * The keys `names` stand for in the run's latest attempt (the next one has the same jobs: a run keeps
   * its pipeline version). Refused when a name matches no job, or when a job to re-run needs one that
   * would carry over without having succeeded: it would only be skipped again.
   */
  private async chosenJobs(run: RunRow, names: string[]): Promise<string[]> {
    const latest = (await this.jobs.listForRun(run.id)).filter((job) => job.attempt === run.attempt);
    const { keys, unknown } = resolveJobKeys(latest, names);
    if (unknown.length) {
      const known = [...new Set(latest.flatMap((job) => [baseJobName(job.key), job.key]))];
      const listed = known.length > 20 ? `${known.slice(0, 20).join(', ')}, …` : known.join(', ') || 'none';
      throw unprocessable(`Run ${run.id} has no job ${unknown.map((name) => `"${name}"`).join(', ')} to re-run (its jobs: ${listed}).`, 'unknown_job');
    }
    const previous = new Map(latest.map((job) => [job.key, job.status]));
    const blocked = blockedByCarried(latest, previous, jobsToRerun(latest, previous, { kind: 'jobs', keys }));
    if (blocked.length) {
      const { key, need } = blocked[0];
      throw unprocessable(`Cannot re-run ${key} alone: it needs ${need}, which ended ${previous.get(need)} in attempt ${run.attempt}; re-run ${need} too.`, 'dependency_not_succeeded');
    }
    return keys;
  }

  /** Hands an attempt to Temporal. If Temporal is unreachable the attempt waits in Postgres for the starter. */
  async startAttempt(runId: number, attempt: number, failedOnly: boolean): Promise<void> {
    const run = await this.runs.get(runId);
    if (!run) return;
    try {
      await this.temporal.startAttempt({ runId, attempt, failedOnly, project: run.project, pipeline: run.pipeline, number: run.number });
      await this.runs.markWorkflowStarted(runId, attempt);
    } catch (error) {
      this.logger.warn(withIds(`run stored; its workflow starts when Temporal answers: ${(error as Error).message}`, { runId, attempt }));
    }
  }

  private async load(principal: TokenPrincipal, runId: number): Promise<RunRow> {
    if (!Number.isSafeInteger(runId) || runId < 1) throw badRequest(`"${runId}" is not a run id.`);
    const run = await this.runs.get(runId);
    if (!run) throw notFound('run', runId);
    assertProjectAccess(principal, { id: run.projectId, slug: run.project });
    return run;
  }

  summary(run: RunRow): z.output<typeof RunSummary> {
    return {
      id: run.id,
      number: run.number,
      project: run.project,
      pipeline: run.pipeline,
      pipelineVersion: run.pipelineVersion,
      ref: run.ref,
      commitSha: run.commitSha,
      pipelinePath: run.pipelinePath,
      status: run.status,
      reason: run.reason,
      priority: run.priority,
      attempt: run.attempt,
      durationMs: durationMs(run.startedAt, run.finishedAt),
      trigger: run.trigger,
      createdAt: run.createdAt,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
    };
  }

  /** `slots`: where the current attempt stands in its concurrency groups (earlier attempts' jobs show their group, no standing). */
  view(run: RunRow, attempts: AttemptRow[], jobs: JobRow[], tries: JobTryView[], slots: { run: ConcurrencySlot | null; jobs: Map<number, ConcurrencySlot> }): RunView {
    const jobView = (job: JobRow): z.output<typeof Job> => ({
      id: job.id,
      name: job.name,
      key: job.key,
      kind: job.kind,
      status: job.status,
      reason: job.reason,
      labels: job.labels,
      needs: job.needs,
      matrix: job.matrix,
      agent: job.agent,
      agentId: job.agentId,
      exitCode: job.exitCode,
      try: job.try,
      carriedFromJobId: job.carriedFromJobId,
      retry: job.retry,
      maxTries: job.maxTries,
      retryAt: job.retryAt,
      approvers: job.approvers,
      approval: job.approval,
      outputs: job.outputs,
      concurrency: slots.jobs.get(job.id) ?? (job.concurrency ? slotView(job.concurrency, undefined, run.pipeline) : null),
      queuedAt: job.queuedAt,
      startedAt: job.startedAt,
      finishedAt: job.finishedAt,
      durationMs: durationMs(job.startedAt, job.finishedAt),
      tries: tries.filter((t) => t.jobId === job.id).map(({ jobId: _jobId, ...t }) => t),
    });
    const attemptViews = attempts.map((attempt) => ({
      attempt: attempt.attempt,
      status: attempt.status,
      reason: attempt.reason,
      failedOnly: attempt.failedOnly,
      rerunJobs: attempt.rerunJobs,
      workflowId: attempt.workflowId,
      createdAt: attempt.createdAt,
      startedAt: attempt.startedAt,
      finishedAt: attempt.finishedAt,
      durationMs: durationMs(attempt.startedAt, attempt.finishedAt),
      jobs: jobs.filter((job) => job.attempt === attempt.attempt).map(jobView),
    }));
    return {
      ...this.summary(run),
      inputs: run.inputs,
      env: run.env,
      concurrency: slots.run,
      jobs: attemptViews.find((a) => a.attempt === run.attempt)?.jobs ?? [],
      attempts: attemptViews,
    };
  }
}

function durationMs(startedAt: Date | null, finishedAt: Date | null): number | null {
  if (!startedAt) return null;
  return (finishedAt ?? new Date()).getTime() - startedAt.getTime();
}
