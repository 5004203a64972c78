import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { forbidden, unauthorized } from '../common/api-error';
import { AgentsService } from '../agents/agents.service';
import { TokensRepository } from '../tokens/tokens.repository';
import { AUTH_REQUIREMENT, AuthenticatedRequest, AuthRequirement } from './auth.decorators';
import { hasScope } from './principal';
import { hashToken } from './token-codec';

// Every route declares who may call it; a route that forgets is admin-only rather than open.
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokensRepository,
    private readonly agents: AgentsService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const requirement = this.reflector.getAllAndOverride<AuthRequirement | undefined>(AUTH_REQUIREMENT, [
      context.getHandler(),
      context.getClass(),
    ]) ?? { kind: 'token', scope: 'admin' };
    if (requirement.kind === 'public') return true;

    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const bearer = bearerOf(request.headers.authorization);
    if (!bearer) throw unauthorized('Missing "Authorization: Bearer <token>" header.');
    if (requirement.kind === 'agent') {
      const agent = await this.agents.principalForSecret(bearer);
      if (!agent) throw unauthorized('Unknown agent secret; register the agent again.');
      request.principal = agent;
      return true;
    }

    const token = await this.tokens.findActiveByHash(hashToken(bearer));
    if (!token) throw unauthorized('Invalid or revoked token.');
    if (requirement.kind === 'registration') {
      if (token.kind !== 'agent') throw forbidden('Agents register with an agent token (POST /api/v1/agent-tokens).');
      request.principal = { kind: 'registration', tokenId: token.id, name: token.name };
      return true;
    }
    if (token.kind !== 'api') throw forbidden('Agent tokens can only register agents.');
    const principal = { kind: 'token' as const, tokenId: token.id, name: token.name, scopes: token.scopes, projectId: token.projectId };
    if (!hasScope(principal, requirement.scope)) {
      throw forbidden(`This token lacks the "${requirement.scope}" scope (it has: ${token.scopes.join(', ') || 'none'}).`);
    }
    request.principal = principal;
    void this.tokens.touch(token.id);
    return true;
  }
}

function bearerOf(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
