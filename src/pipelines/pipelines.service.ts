import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { z } from 'zod';
import type { api } from '../../contract';
import type { RouteBody } from '../../contract/http';
import { PIPELINE_NAME, PIPELINE_NAME_RULE, TIMEOUT_MINUTES, type PipelinePut } from '../../contract/pipelines.contract';
import { PRIORITY } from '../../contract/common';
import { ApiError, badRequest, notFound } from '../common/api-error';
import type { Project } from '../projects/projects.repository';
import { noRepository } from '../repositories/repositories.service';
import { pipelinePathProblem } from '../repositories/repository-spec';
import { inferKind, kindOfPath, validateDefinition, withGraphInputs, type InputDefinition, type PipelineDefinition } from './pipeline-spec';
import { PipelinesRepository, type PipelineVersion } from './pipelines.repository';

type PutPipelineBody = RouteBody<typeof api.pipelines.put>;

@Injectable()
export class PipelinesService {
  constructor(private readonly pipelines: PipelinesRepository) {}

  async put(project: Project, name: string, body: PutPipelineBody): Promise<z.output<typeof PipelinePut>> {
    if (!PIPELINE_NAME.test(name)) throw badRequest(`Pipeline name "${name}" must be ${PIPELINE_NAME_RULE}.`, 'invalid_pipeline_name');
    const source = pipelineSource(project, body);
    // The body schema only checks that matrix, env, inputs and jobs are objects (lists): what is in
    // them is checked below, all at once, so one 422 names every problem.
    const def = {
      kind: body.kind ?? (source.path !== null ? kindOfPath(source.path) : inferKind(source.content)),
      content: source.content,
      path: source.path,
      labels: body.labels ?? [],
      matrix: body.matrix ?? {},
      env: body.env ?? {},
      inputs: body.inputs ?? {},
      timeoutMinutes: body.timeoutMinutes ?? TIMEOUT_MINUTES.fallback,
      priority: body.priority ?? PRIORITY.fallback,
      concurrency: body.concurrency ?? null,
      jobs: body.jobs ?? null,
    } as PipelineDefinition;
    def.inputs = checkedInputs(def, 'Invalid pipeline');
    // A repository pipeline's versions differ by their definition; its content has a digest per run.
    const sha256 = createHash('sha256').update(def.path === null ? def.content : `path:${def.path}`).digest('hex');
    const { version } = await this.pipelines.addVersion(project.id, name, def, sha256);
    return { name, version, sha256, kind: def.kind };
  }

  list(project: Project) {
    return this.pipelines.list(project.id);
  }

  async get(project: Project, name: string, version: number | null): Promise<PipelineVersion> {
    const found = await this.pipelines.findVersion(project.id, name, version);
    if (!found) throw notFound('pipeline', version ? `${name}@${version}` : name);
    return found;
  }

  async versions(project: Project, name: string) {
    const latest = await this.get(project, name, null);
    return this.pipelines.listVersions(latest.pipelineId);
  }
}

/** Exactly one of `content` (stored) and `path` (a file of the project's repository). */
function pipelineSource(project: Project, body: PutPipelineBody): { content: string; path: string | null } {
  if (body.content !== undefined && body.path !== undefined) throw badRequest('Give either content or path, not both.', 'invalid_pipeline');
  if (body.path !== undefined) {
    const problem = pipelinePathProblem(body.path);
    if (problem) throw badRequest(`Pipeline ${problem}.`, 'invalid_path');
    if (!project.repository) throw noRepository(project.slug, 'so a pipeline cannot name a path in it');
    return { content: '', path: body.path };
  }
  if (body.content === undefined) throw badRequest('A pipeline needs content (a graph or a script) or a path in the project\'s repository.', 'invalid_pipeline');
  return { content: body.content, path: null };
}

/**
 * A definition's inputs (with those its graph reads) once it is valid; otherwise the 422 that lists
 * every problem (`summary` is the sentence without them, for clients that print one per line).
 */
export function checkedInputs(def: PipelineDefinition, subject: string): Record<string, InputDefinition> {
  const problems = validateDefinition(def);
  if (problems.length) {
    const summary = `${subject} (${problems.length === 1 ? '1 problem' : `${problems.length} problems`})`;
    throw new ApiError(422, 'invalid_pipeline', `${summary}: ${problems.join('; ')}`, { problems, summary });
  }
  return withGraphInputs(def);
}
