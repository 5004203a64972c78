import { Body, Controller, Param } from '@nestjs/common';
import { api } from '../../contract';
import type { RouteBody, RouteResult } from '../../contract/http';
import { bodyOf, Route } from '../common/contract-route';
import { TokensService } from './tokens.service';

const routes = api.tokens;

@Controller()
export class TokensController {
  constructor(private readonly tokens: TokensService) {}

  @Route(routes.create)
  create(@Body(bodyOf(routes.create)) body: RouteBody<typeof routes.create>): Promise<RouteResult<typeof routes.create>> {
    return this.tokens.createApiToken(body);
  }

  @Route(routes.list)
  async list(): Promise<RouteResult<typeof routes.list>> {
    return { tokens: await this.tokens.list('api') };
  }

  @Route(routes.revoke)
  async revoke(@Param('id') id: string): Promise<void> {
    await this.tokens.revoke(id);
  }

  @Route(routes.createAgentToken)
  createAgentToken(@Body(bodyOf(routes.createAgentToken)) body: RouteBody<typeof routes.createAgentToken>): Promise<RouteResult<typeof routes.createAgentToken>> {
    return this.tokens.createAgentToken(body.name);
  }

  @Route(routes.listAgentTokens)
  async listAgentTokens(): Promise<RouteResult<typeof routes.listAgentTokens>> {
    return { tokens: (await this.tokens.list('agent')).map(({ id, name, createdAt, lastUsedAt }) => ({ id, name, createdAt, lastUsedAt })) };
  }

  @Route(routes.revokeAgentToken)
  async revokeAgentToken(@Param('id') id: string): Promise<void> {
    await this.tokens.revoke(id);
  }
}
