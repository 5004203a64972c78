// API tokens (people, scripts) and agent registration tokens; shown once, stored hashed.
import { z } from 'zod';
import { defineRoute } from './http';

// TODO(schema): request and response schemas (replace every z.unknown()).
const TODO = z.unknown();

const tag = 'tokens';

export const tokenRoutes = {
  create: defineRoute({ method: 'POST', path: '/api/v1/tokens', tag, summary: 'Create an API token (its secret is shown once)', auth: 'admin', status: 201, body: TODO, response: TODO }),
  list: defineRoute({ method: 'GET', path: '/api/v1/tokens', tag, summary: 'API tokens', auth: 'admin', status: 200, response: TODO }),
  revoke: defineRoute({ method: 'DELETE', path: '/api/v1/tokens/:id', tag, summary: 'Revoke an API token', auth: 'admin', status: 204, response: 'empty' }),
  createAgentToken: defineRoute({ method: 'POST', path: '/api/v1/agent-tokens', tag, summary: 'Create an agent registration token', auth: 'admin', status: 201, body: TODO, response: TODO }),
  listAgentTokens: defineRoute({ method: 'GET', path: '/api/v1/agent-tokens', tag, summary: 'Agent registration tokens', auth: 'admin', status: 200, response: TODO }),
  revokeAgentToken: defineRoute({ method: 'DELETE', path: '/api/v1/agent-tokens/:id', tag, summary: 'Revoke an agent registration token', auth: 'admin', status: 204, response: 'empty' }),
};
