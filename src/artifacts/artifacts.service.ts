import type { z } from 'zod';
import type { Artifact, ArtifactList } from '../../contract/artifacts.contract';
import type { ArtifactUploadResponse } from '../../contract/agent-protocol.contract';
import type { api } from '../../contract';
import type { RouteQuery } from '../../contract/http';
import { createHash, randomUUID } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { assertProjectAccess } from '../auth/project-access';
import type { AgentPrincipal, TokenPrincipal } from '../auth/principal';
import { badRequest, notFound, tooLarge, unprocessable } from '../common/api-error';
import { CONFIG, type Config } from '../config/config';
import { AgentsService } from '../agents/agents.service';
import { LiveEvents } from '../live/live-events.service';
import { ProjectsService } from '../projects/projects.service';
import { ARTIFACT_STORAGE, type ArtifactStorage } from './artifact-storage';
import { ArtifactsRepository, type ArtifactRow } from './artifacts.repository';

export type ArtifactView = ReturnType<ArtifactsService['view']>;

class UploadTooLarge extends Error {}

@Injectable()
export class ArtifactsService {
  constructor(
    private readonly artifacts: ArtifactsRepository,
    private readonly agents: AgentsService,
    private readonly projects: ProjectsService,
    private readonly live: LiveEvents,
    @Inject(ARTIFACT_STORAGE) private readonly storage: ArtifactStorage,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** Streams the body to storage while measuring and hashing it; nothing is recorded unless it all arrived intact. */
  async upload(agent: AgentPrincipal, jobId: number, name: string, body: Readable, expectedSha256: string | undefined, declaredLength: number | null): Promise<z.output<typeof ArtifactUploadResponse>> {
    validateName(name);
    if (expectedSha256 !== undefined && !/^[0-9a-f]{64}$/i.test(expectedSha256)) throw badRequest('X-Checksum-Sha256 must be 64 hex characters.');
    if (declaredLength !== null && declaredLength > this.config.maxArtifactBytes) {
      throw tooLarge(`Artifact "${name}" is ${declaredLength} bytes; the limit is ${this.config.maxArtifactBytes}.`);
    }
    const job = await this.agents.owned(agent, jobId);
    const id = randomUUID();
    const storageKey = `${job.runId}/${id}`;
    const hash = createHash('sha256');
    let size = 0;
    const limit = this.config.maxArtifactBytes;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        if (size > limit) return callback(new UploadTooLarge());
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    try {
      await this.storage.write(storageKey, body.pipe(meter));
    } catch (error) {
      if (error instanceof UploadTooLarge) throw tooLarge(`Artifact "${name}" exceeds the limit of ${limit} bytes.`);
      throw badRequest(`Upload of "${name}" was interrupted: ${(error as Error).message}`, 'upload_interrupted');
    }
    const sha256 = hash.digest('hex');
    if (expectedSha256 && expectedSha256.toLowerCase() !== sha256) {
      await this.storage.remove(storageKey);
      throw unprocessable(`Artifact "${name}" arrived with SHA-256 ${sha256}, not the ${expectedSha256} announced.`, 'checksum_mismatch');
    }
    const stored = await this.artifacts.upsert({ id, runId: job.runId, jobId: job.id, attempt: job.attempt, try: job.try, name, size, sha256, storageKey });
    if (stored.replacedKey) await this.storage.remove(stored.replacedKey);
    this.live.artifactCreated(stored.id);
    return { id: stored.id, name, size, sha256 };
  }

  /** For `core/artifact-download@v1`: an artifact of the same run as the agent's job. */
  /** An artifact of the job's run, or (`run` given) of another run of the same project. */
  async findForAgent(agent: AgentPrincipal, jobId: number, name: string, run?: string): Promise<ArtifactRow> {
    validateName(name);
    const job = await this.agents.owned(agent, jobId);
    const runId = run === undefined || run === '' ? job.runId : intParam(run, 'run', 1);
    const row = await this.artifacts.findInRun(runId, name);
    // Another project's run is reported exactly like a missing artifact: agents see only their project.
    if (!row || row.projectId !== job.projectId) throw notFound('artifact', `${name}" in run "${runId}`);
    return row;
  }

  async list(principal: TokenPrincipal, query: RouteQuery<typeof api.artifacts.list>): Promise<z.output<typeof ArtifactList>> {
    let projectId = principal.projectId;
    if (query.project) projectId = (await this.projects.get(principal, query.project)).id;
    const { limit } = query;
    const rows = await this.artifacts.list({
      projectId,
      q: query.q || null,
      pipeline: query.pipeline || null,
      runId: query.runId ?? null,
      from: query.from ?? null,
      to: query.to ?? null,
      minSize: query.minSize ?? null,
      maxSize: query.maxSize ?? null,
      cursor: decodeCursor(query.cursor),
      limit,
    });
    const last = rows[rows.length - 1];
    return {
      artifacts: rows.map((row) => this.view(row)),
      nextCursor: rows.length === limit ? Buffer.from(`${last.createdAt.toISOString()}|${last.id}`).toString('base64url') : null,
    };
  }

  async get(principal: TokenPrincipal, id: string): Promise<ArtifactRow> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw notFound('artifact', id);
    const row = await this.artifacts.get(id);
    if (!row) throw notFound('artifact', id);
    assertProjectAccess(principal, { id: row.projectId, slug: row.project });
    return row;
  }

  open(row: ArtifactRow, range?: { start: number; end: number }): Promise<Readable> {
    return this.storage.read(row.storageKey, range);
  }

  view(row: ArtifactRow): z.output<typeof Artifact> {
    const base = this.config.publicUrl ?? '';
    return {
      id: row.id,
      name: row.name,
      size: row.size,
      sha256: row.sha256,
      runId: row.runId,
      runNumber: row.runNumber,
      jobId: row.jobId,
      attempt: row.attempt,
      try: row.try,
      project: row.project,
      pipeline: row.pipeline,
      createdAt: row.createdAt,
      downloadUrl: `${base}/api/v1/artifacts/${row.id}/download`,
    };
  }
}

function validateName(name: string): void {
  const bad =
    name.length === 0 ||
    name.length > 255 ||
    name.startsWith('/') ||
    name.includes('\0') ||
    name.includes('\\') ||
    name.split('/').some((part) => part === '' || part === '.' || part === '..');
  if (bad) throw badRequest(`"${name}" is not a valid artifact name: use a relative path without "..", empty parts or backslashes.`, 'invalid_artifact_name');
}

function intParam(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw badRequest(`${name} must be a non-negative integer; got "${raw}".`);
  return value;
}

function decodeCursor(raw: string | undefined): { createdAt: Date; id: string } | null {
  if (!raw) return null;
  const [at, id] = Buffer.from(raw, 'base64url').toString().split('|');
  const createdAt = new Date(at);
  if (!id || Number.isNaN(createdAt.getTime()) || !/^[0-9a-f-]{36}$/i.test(id)) throw badRequest('cursor is not valid; pass the nextCursor of a previous page.');
  return { createdAt, id };
}
