import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ApiError, badRequest, notFound } from '../common/api-error';
import type { Project } from '../projects/projects.repository';
import { inferKind, validateDefinition, withGraphInputs, type PipelineDefinition } from './pipeline-spec';
import type { PutPipelineDto } from './pipelines.dto';
import { PipelinesRepository, type PipelineVersion } from './pipelines.repository';

export const PIPELINE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

@Injectable()
export class PipelinesService {
  constructor(private readonly pipelines: PipelinesRepository) {}

  async put(project: Project, name: string, body: PutPipelineDto): Promise<{ name: string; version: number; sha256: string; kind: string }> {
    if (!PIPELINE_NAME.test(name)) throw badRequest(`Pipeline name "${name}" must be 1-100 letters, digits, dot, dash or underscore.`, 'invalid_pipeline_name');
    const def: PipelineDefinition = {
      kind: body.kind ?? inferKind(body.content),
      content: body.content,
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
    const sha256 = createHash('sha256').update(def.content).digest('hex');
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
