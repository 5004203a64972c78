import type { Scope } from '../../contract/tokens.contract';

export type { Scope };

export type TokenPrincipal = {
  kind: 'token';
  tokenId: string;
  name: string;
  scopes: Scope[];
  projectId: string | null;
};

export type AgentPrincipal = { kind: 'agent'; agentId: string; name: string; labels: string[] };

export type RegistrationPrincipal = { kind: 'registration'; tokenId: string; name: string };

export type Principal = TokenPrincipal | AgentPrincipal | RegistrationPrincipal;

// Scopes are ordered: a token with a scope may do everything the lower ones allow.
const RANK: Record<Scope, number> = { read: 0, trigger: 1, write: 2, admin: 3 };

export function hasScope(principal: TokenPrincipal, needed: Scope): boolean {
  return principal.scopes.some((scope) => RANK[scope] >= RANK[needed]);
}
