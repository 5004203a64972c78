import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { z } from 'zod';
import type { api } from '../../contract';
import type { RouteBody } from '../../contract/http';
import type { CreatedAgentToken, CreatedToken, Token } from '../../contract/tokens.contract';
import { generateToken, hashToken } from '../auth/token-codec';
import { notFound } from '../common/api-error';
import { CONFIG, type Config } from '../config/config';
import { ProjectsRepository } from '../projects/projects.repository';
import { TokensRepository, type TokenRecord } from './tokens.repository';

export type TokenView = z.output<typeof Token>;

@Injectable()
export class TokensService implements OnApplicationBootstrap {
  private readonly logger = new Logger('tokens');

  constructor(
    private readonly tokens: TokensRepository,
    private readonly projects: ProjectsRepository,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.adminToken) {
      this.logger.warn('BELLOWS_ADMIN_TOKEN is not set: no admin token was ensured.');
      return;
    }
    await this.tokens.ensure({ kind: 'api', name: 'admin', hash: hashToken(this.config.adminToken), scopes: ['admin'] });
  }

  async createApiToken(input: RouteBody<typeof api.tokens.create>): Promise<z.output<typeof CreatedToken>> {
    let projectId: string | null = null;
    if (input.project) {
      const project = await this.projects.findBySlug(input.project);
      if (!project) throw notFound('project', input.project);
      projectId = project.id;
    }
    const token = generateToken('bel_');
    const record = await this.tokens.insert({ kind: 'api', name: input.name, hash: hashToken(token), scopes: [...new Set(input.scopes)], projectId });
    return { ...this.view(record, input.project ?? null), token };
  }

  async createAgentToken(name: string): Promise<z.output<typeof CreatedAgentToken>> {
    const token = generateToken('bela_');
    const record = await this.tokens.insert({ kind: 'agent', name, hash: hashToken(token), scopes: [], projectId: null });
    return { id: record.id, name: record.name, createdAt: record.createdAt, token };
  }

  async list(kind: 'api' | 'agent'): Promise<TokenView[]> {
    const slugs = new Map((await this.projects.list(null)).map((p) => [p.id, p.slug]));
    return (await this.tokens.list(kind)).map((t) => this.view(t, t.projectId ? (slugs.get(t.projectId) ?? null) : null));
  }

  async revoke(id: string): Promise<void> {
    if (!/^[0-9a-f-]{36}$/i.test(id) || !(await this.tokens.revoke(id))) throw notFound('token', id);
  }

  private view(record: TokenRecord, project: string | null): TokenView {
    return { id: record.id, name: record.name, scopes: record.scopes, project, createdAt: record.createdAt, lastUsedAt: record.lastUsedAt };
  }
}
