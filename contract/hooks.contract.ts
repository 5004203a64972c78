// Webhooks: a project's hooks, the deliveries they received and what each became.
import { z } from 'zod';
import { defineRoute } from './http';

// TODO(schema): request and response schemas (replace every z.unknown()).
const TODO = z.unknown();

const tag = 'webhooks';

export const hookRoutes = {
  create: defineRoute({ method: 'POST', path: '/api/v1/projects/:slug/hooks', tag, summary: 'Create a webhook (its secret is shown once)', auth: 'write', status: 201, body: TODO, response: TODO }),
  list: defineRoute({ method: 'GET', path: '/api/v1/projects/:slug/hooks', tag, summary: "A project's webhooks", auth: 'read', status: 200, response: TODO }),
  deliver: defineRoute({
    method: 'POST',
    path: '/api/v1/hooks/:hookId',
    tag,
    summary: 'Receive a delivery',
    description: '201 run started; 200 duplicate, skipped or ping; 401 bad signature. The body is kept as sent: signatures cover its bytes.',
    auth: 'public',
    status: 201,
    body: 'raw',
    response: TODO,
  }),
  get: defineRoute({ method: 'GET', path: '/api/v1/hooks/:hookId', tag, summary: 'One webhook', auth: 'read', status: 200, response: TODO }),
  delete: defineRoute({ method: 'DELETE', path: '/api/v1/hooks/:hookId', tag, summary: 'Delete a webhook', auth: 'write', status: 204, response: 'empty' }),
  deliveries: defineRoute({
    method: 'GET',
    path: '/api/v1/hooks/:hookId/deliveries',
    tag,
    summary: "A webhook's deliveries, newest first",
    auth: 'read',
    status: 200,
    query: z.object({ cursor: z.string().optional(), limit: z.string().optional() }),
    response: TODO,
  }),
  delivery: defineRoute({ method: 'GET', path: '/api/v1/hooks/:hookId/deliveries/:id', tag, summary: 'One delivery, with its headers and body', auth: 'read', status: 200, response: TODO }),
  redeliver: defineRoute({ method: 'POST', path: '/api/v1/hooks/:hookId/deliveries/:id/redeliver', tag, summary: 'Process a delivery again', auth: 'write', status: 200, response: TODO }),
};
