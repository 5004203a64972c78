import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Request } from 'express';
import type { AgentPrincipal, Principal, Scope, TokenPrincipal } from './principal';

export type AuthRequirement =
  | { kind: 'public' }
  | { kind: 'token'; scope: Scope }
  | { kind: 'agent' }
  | { kind: 'registration' };

export const AUTH_REQUIREMENT = 'bellows:auth';

export const Public = () => SetMetadata(AUTH_REQUIREMENT, { kind: 'public' } satisfies AuthRequirement);
export const RequireScope = (scope: Scope) => SetMetadata(AUTH_REQUIREMENT, { kind: 'token', scope } satisfies AuthRequirement);
export const AgentOnly = () => SetMetadata(AUTH_REQUIREMENT, { kind: 'agent' } satisfies AuthRequirement);
export const RegistrationOnly = () => SetMetadata(AUTH_REQUIREMENT, { kind: 'registration' } satisfies AuthRequirement);

export type AuthenticatedRequest = Request & { principal?: Principal };

export const CurrentToken = createParamDecorator((_: unknown, ctx: ExecutionContext): TokenPrincipal => {
  const principal = ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (principal?.kind !== 'token') throw new Error('CurrentToken used on a route without token auth');
  return principal;
});

export const CurrentAgent = createParamDecorator((_: unknown, ctx: ExecutionContext): AgentPrincipal => {
  const principal = ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (principal?.kind !== 'agent') throw new Error('CurrentAgent used on a route without agent auth');
  return principal;
});

export const CurrentRegistration = createParamDecorator((_: unknown, ctx: ExecutionContext) => {
  const principal = ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (principal?.kind !== 'registration') throw new Error('CurrentRegistration used on a route without registration auth');
  return principal;
});
