// API tokens (people, scripts) and agent registration tokens; shown once, stored hashed.
import { z } from 'zod';
import { timestamp } from './common';
import { defineRoute } from './http';
import { SLUG_PATTERN } from './projects.contract';

/** Ordered: a token with a scope may do everything the lower ones allow. */
export const TOKEN_SCOPES = ['read', 'trigger', 'write', 'admin'] as const;
export const Scope = z.enum(TOKEN_SCOPES).meta({ id: 'Scope' });
export type Scope = z.input<typeof Scope>;

export const MAX_TOKEN_NAME_LENGTH = 100;

const tokenName = z
  .string({ error: 'name must be a string' })
  .min(1, `name must be 1-${MAX_TOKEN_NAME_LENGTH} characters`)
  .max(MAX_TOKEN_NAME_LENGTH, `name must be 1-${MAX_TOKEN_NAME_LENGTH} characters`);

export const CreateToken = z
  .strictObject({
    name: tokenName.meta({ example: 'ci-bot' }),
    scopes: z
      .array(z.enum(TOKEN_SCOPES, { error: `each scope must be one of: ${TOKEN_SCOPES.join(', ')}` }), { error: 'scopes must be a list' })
      .min(1, 'scopes must not be empty')
      .meta({ example: ['trigger'] }),
    project: z
      .string({ error: 'project must be a project slug' })
      .regex(SLUG_PATTERN, 'project must be a project slug')
      .optional()
      .meta({ description: 'Limit the token to one project (its slug).' }),
  })
  .meta({ id: 'CreateToken' });
export type CreateToken = z.input<typeof CreateToken>;

export const Token = z
  .object({ id: z.string(), name: z.string(), scopes: z.array(Scope), project: z.string().nullable(), createdAt: timestamp, lastUsedAt: timestamp.nullable() })
  .meta({ id: 'Token' });
export type Token = z.input<typeof Token>;

/** The token's value is in this answer only: the server keeps its hash. */
export const CreatedToken = Token.extend({ token: z.string() }).meta({ id: 'CreatedToken' });
export type CreatedToken = z.input<typeof CreatedToken>;

export const TokenList = z.object({ tokens: z.array(Token) }).meta({ id: 'TokenList' });
export type TokenList = z.input<typeof TokenList>;

export const CreateAgentToken = z.strictObject({ name: tokenName.meta({ example: 'build-fleet' }) }).meta({ id: 'CreateAgentToken' });
export type CreateAgentToken = z.input<typeof CreateAgentToken>;

export const AgentToken = z.object({ id: z.string(), name: z.string(), createdAt: timestamp, lastUsedAt: timestamp.nullable() }).meta({ id: 'AgentToken' });
export type AgentToken = z.input<typeof AgentToken>;

export const CreatedAgentToken = z.object({ id: z.string(), name: z.string(), createdAt: timestamp, token: z.string() }).meta({ id: 'CreatedAgentToken' });
export type CreatedAgentToken = z.input<typeof CreatedAgentToken>;

export const AgentTokenList = z.object({ tokens: z.array(AgentToken) }).meta({ id: 'AgentTokenList' });
export type AgentTokenList = z.input<typeof AgentTokenList>;

const tag = 'tokens';

export const tokenRoutes = {
  create: defineRoute({ method: 'POST', path: '/api/v1/tokens', tag, summary: 'Create an API token (its secret is shown once)', auth: 'admin', status: 201, body: CreateToken, response: CreatedToken }),
  list: defineRoute({ method: 'GET', path: '/api/v1/tokens', tag, summary: 'API tokens', auth: 'admin', status: 200, response: TokenList }),
  revoke: defineRoute({ method: 'DELETE', path: '/api/v1/tokens/:id', tag, summary: 'Revoke an API token', auth: 'admin', status: 204, response: 'empty' }),
  createAgentToken: defineRoute({ method: 'POST', path: '/api/v1/agent-tokens', tag, summary: 'Create an agent registration token', auth: 'admin', status: 201, body: CreateAgentToken, response: CreatedAgentToken }),
  listAgentTokens: defineRoute({ method: 'GET', path: '/api/v1/agent-tokens', tag, summary: 'Agent registration tokens', auth: 'admin', status: 200, response: AgentTokenList }),
  revokeAgentToken: defineRoute({ method: 'DELETE', path: '/api/v1/agent-tokens/:id', tag, summary: 'Revoke an agent registration token', auth: 'admin', status: 204, response: 'empty' }),
};
