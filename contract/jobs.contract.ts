// Jobs: one unit an agent runs, its graph with live node states, and its log.
import { z } from 'zod';
import { defineRoute } from './http';

// TODO(schema): request and response schemas (replace every z.unknown()).
const TODO = z.unknown();

const tag = 'jobs';

export const jobRoutes = {
  get: defineRoute({ method: 'GET', path: '/api/v1/jobs/:id', tag, summary: 'One job', auth: 'read', status: 200, response: TODO }),
  graph: defineRoute({ method: 'GET', path: '/api/v1/jobs/:id/graph', tag, summary: "A job's graph and the nodes executing now", auth: 'read', status: 200, response: TODO }),
  logs: defineRoute({
    method: 'GET',
    path: '/api/v1/jobs/:id/logs',
    tag,
    summary: "A page of a job's log (chunks after ?after=)",
    auth: 'read',
    status: 200,
    query: z.object({ after: z.string().optional(), limit: z.string().optional() }),
    response: TODO,
  }),
  logText: defineRoute({
    method: 'GET',
    path: '/api/v1/jobs/:id/logs',
    tag,
    summary: "A job's whole log as plain text (?format=text)",
    auth: 'read',
    status: 200,
    query: z.object({ format: z.literal('text') }),
    response: 'text',
  }),
};
