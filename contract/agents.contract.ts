// Agents as people manage them (list, relabel, remove); what agents themselves call is agent-protocol.
import { z } from 'zod';
import { defineRoute } from './http';

// TODO(schema): request and response schemas (replace every z.unknown()).
const TODO = z.unknown();

const tag = 'agents';

export const agentRoutes = {
  list: defineRoute({ method: 'GET', path: '/api/v1/agents', tag, summary: 'Agents, with status and current job', auth: 'read', status: 200, response: TODO }),
  update: defineRoute({ method: 'PATCH', path: '/api/v1/agents/:id', tag, summary: "Override an agent's labels (null restores its own)", auth: 'admin', status: 200, body: TODO, response: TODO }),
  delete: defineRoute({ method: 'DELETE', path: '/api/v1/agents/:id', tag, summary: 'Remove an agent', auth: 'admin', status: 204, response: 'empty' }),
};
