import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ApiError, badRequest, notFound } from '../common/api-error';
import type { Project } from '../projects/projects.repository';
import type { PipelineKind } from '../agents/agent-protocol';
import { pipelinePathProblem } from '../repositories/repository-spec';
import { inferKind, validateDefinition, withGraphInputs, type PipelineDefinition } from './pipeline-spec';
import type { PutPipelineDto } from './pipelines.dto';
import { PipelinesRepository, type PipelineVersion } from './pipelines.repository';

export const PIPELINE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

@Injectable()
export class PipelinesService {
  constructor(private readonly pipelines: PipelinesRepository) {}

  async put(project: Project, name: string, body: PutPipelineDto): Promise<{ name: string; version: number; sha256: string; kind: string }> {
    if (!PIPELINE_NAME.test(name)) throw badRequest(`Pipeline name "${name}" must be 1-100 letters, digits, dot, dash or underscore.`, 'invalid_pipeline_name');
    const source = pipelineSource(project, body);
    const def: PipelineDefinition = {
      kind: body.kind ?? (source.path !== null ? kindOfPath(source.path) : inferKind(source.content)),
      content: source.content,
      path: source.path,
      labels: body.labels ?? [],
      matrix: body.matrix ?? {},
      env: body.env ?? {},
      inputs: body.inputs ?? {},
      timeoutMinutes: body.timeoutMinutes ?? 60,
      jobs: body.jobs ?? null,
    };
    const problems = validateDefinition(def);
    if (problems.length) throw new ApiError(422, 'invalid_pipeline', `Invalid pipeline (${problems.length === 1 ? '1 problem' : `${problems.length} problems`}): ${problems.join('; ')}`, { problems });
    def.inputs = withGraphInputs(def);
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
function pipelineSource(project: Project, body: PutPipelineDto): { content: string; path: string | null } {
  if (body.content !== undefined && body.path !== undefined) throw badRequest('Give either content or path, not both.', 'invalid_pipeline');
  if (body.path !== undefined) {
    const problem = pipelinePathProblem(body.path);
    if (problem) throw badRequest(`Pipeline ${problem}.`, 'invalid_path');
    if (!project.repository) throw new ApiError(422, 'no_repository', `Project ${project.slug} has no repository, so a pipeline cannot name a path in it; set one with PATCH /api/v1/projects/${project.slug}.`);
    return { content: '', path: body.path };
  }
  if (body.content === undefined) throw badRequest('A pipeline needs content (a graph or a script) or a path in the project\'s repository.', 'invalid_pipeline');
  return { content: body.content, path: null };
}

/** `.act` files are graphs, `.sh`/`.bash` scripts; anything else is decided by its content at run time. */
export function kindOfPath(path: string): PipelineKind {
  return /\.act$/i.test(path) ? 'act' : 'script';
}
