// Project secrets: write-only values the agent receives with a claim and masks in every log line.
import { z } from 'zod';
import { defineRoute } from './http';

// TODO(schema): request and response schemas (replace every z.unknown()).
const TODO = z.unknown();

const tag = 'secrets';

export const secretRoutes = {
  put: defineRoute({ method: 'PUT', path: '/api/v1/projects/:slug/secrets/:name', tag, summary: 'Set a secret', auth: 'write', status: 204, body: TODO, response: 'empty' }),
  list: defineRoute({ method: 'GET', path: '/api/v1/projects/:slug/secrets', tag, summary: "A project's secret names (never values)", auth: 'read', status: 200, response: TODO }),
  delete: defineRoute({ method: 'DELETE', path: '/api/v1/projects/:slug/secrets/:name', tag, summary: 'Delete a secret', auth: 'write', status: 204, response: 'empty' }),
};
