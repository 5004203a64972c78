import { Inject, Injectable } from '@nestjs/common';
import type { z } from 'zod';
import type { api } from '../../contract';
import type { CreatedHook, Hook, HookList } from '../../contract/hooks.contract';
import type { RouteBody } from '../../contract/http';
import { assertProjectAccess } from '../auth/project-access';
import type { TokenPrincipal } from '../auth/principal';
import { generateToken, hashToken } from '../auth/token-codec';
import { badRequest, notFound } from '../common/api-error';
import { isUuid } from '../common/validation';
import { CONFIG, type Config } from '../config/config';
import { PipelinesService } from '../pipelines/pipelines.service';
import { ProjectsService } from '../projects/projects.service';
import { SecretBox } from '../secrets/secret-box';
import { TokensRepository } from '../tokens/tokens.repository';
import { defaultEvents } from './hook-payloads';
import { HooksRepository, type HookRow } from './hooks.repository';
import { generateHookSecret, standardSecretProblem } from './webhook-signatures';

/** Hooks themselves: creating one (its secret or token shown once), listing, reading, removing, and who may. */
@Injectable()
export class HooksService {
  constructor(
    private readonly hooks: HooksRepository,
    private readonly projects: ProjectsService,
    private readonly pipelines: PipelinesService,
    private readonly tokens: TokensRepository,
    @Inject(CONFIG) private readonly config: Config,
    // The same key as project secrets: HMAC checks need the plain secret, so it is sealed, not hashed.
    private readonly box: SecretBox,
  ) {}

  async create(principal: TokenPrincipal, slug: string, body: RouteBody<typeof api.hooks.create>, requestBaseUrl: string): Promise<z.output<typeof CreatedHook>> {
    const project = await this.projects.get(principal, slug);
    await this.pipelines.get(project, body.pipeline, null);
    let secret: string | null = null;
    let token: { id: string; value: string } | null = null;
    if (body.format === 'token') {
      if (body.secret !== undefined) throw badRequest('Token hooks authenticate with a bearer token, not a secret; leave "secret" out.', 'secret_not_allowed');
      // A dedicated token, bound to this project with the trigger scope only, revoked with the hook.
      const value = generateToken('bel_');
      const record = await this.tokens.insert({ kind: 'api', name: `hook ${slug}/${body.pipeline}`, hash: hashToken(value), scopes: ['trigger'], projectId: project.id });
      token = { id: record.id, value };
    } else {
      if (body.format === 'standard' && body.secret !== undefined) {
        const problem = standardSecretProblem(body.secret);
        if (problem) throw badRequest(`Invalid secret: ${problem}.`, 'invalid_secret');
      }
      secret = body.secret ?? generateHookSecret(body.format);
    }
    const id = await this.hooks.insert({
      projectId: project.id,
      pipeline: body.pipeline,
      format: body.format,
      secretCiphertext: secret === null ? null : this.box.seal(secret),
      tokenId: token?.id ?? null,
      events: body.events ?? defaultEvents(body.format),
      branches: body.branches ?? [],
      description: body.description ?? null,
      createdBy: principal.name,
    });
    const hook = await this.hooks.get(id);
    if (!hook) throw new Error(`hook ${id} vanished after its creation`);
    // Shown once: only the sealed secret and the token's hash are stored.
    return { ...this.view(hook, requestBaseUrl), ...(secret !== null ? { secret } : {}), ...(token ? { token: token.value } : {}) };
  }

  async list(principal: TokenPrincipal, slug: string, requestBaseUrl: string): Promise<z.output<typeof HookList>> {
    const project = await this.projects.get(principal, slug);
    return { hooks: (await this.hooks.listForProject(project.id)).map((hook) => this.view(hook, requestBaseUrl)) };
  }

  async get(principal: TokenPrincipal, hookId: string, requestBaseUrl: string): Promise<z.output<typeof Hook>> {
    return this.view(await this.load(principal, hookId), requestBaseUrl);
  }

  async remove(principal: TokenPrincipal, hookId: string): Promise<void> {
    await this.load(principal, hookId);
    const deleted = await this.hooks.delete(hookId);
    if (!deleted) throw notFound('hook', hookId);
    if (deleted.tokenId) await this.tokens.revoke(deleted.tokenId);
  }

  /** The hook, if it exists and `principal` may see its project (404 otherwise, as for a hook that does not exist). */
  async load(principal: TokenPrincipal, hookId: string): Promise<HookRow> {
    if (!isUuid(hookId)) throw notFound('hook', hookId);
    const hook = await this.hooks.get(hookId);
    if (!hook) throw notFound('hook', hookId);
    assertProjectAccess(principal, { id: hook.projectId, slug: hook.project });
    return hook;
  }

  private view(hook: HookRow, requestBaseUrl: string): z.output<typeof Hook> {
    const base = (this.config.publicUrl ?? requestBaseUrl).replace(/\/+$/, '');
    return {
      id: hook.id,
      url: `${base}/api/v1/hooks/${hook.id}`,
      project: hook.project,
      pipeline: hook.pipeline,
      format: hook.format,
      events: hook.events,
      branches: hook.branches,
      description: hook.description,
      createdBy: hook.createdBy,
      createdAt: hook.createdAt,
    };
  }
}
