// Runs: one execution of a pipeline, its attempts and their jobs.
import { z } from 'zod';
import { defineRoute } from './http';

// TODO(schema): request and response schemas (replace every z.unknown()).
const TODO = z.unknown();

const tag = 'runs';

export const runRoutes = {
  trigger: defineRoute({
    method: 'POST',
    path: '/api/v1/projects/:slug/pipelines/:name/runs',
    tag,
    summary: 'Trigger a run',
    auth: 'trigger',
    status: 201,
    headers: { 'X-Bellows-Trigger': '`manual` when a person started the run (the web UI sends it).' },
    body: TODO,
    response: TODO,
  }),
  list: defineRoute({
    method: 'GET',
    path: '/api/v1/runs',
    tag,
    summary: 'Runs, newest first',
    auth: 'read',
    status: 200,
    query: z.object({ project: z.string().optional(), pipeline: z.string().optional(), status: z.string().optional(), cursor: z.string().optional(), limit: z.string().optional() }),
    response: TODO,
  }),
  get: defineRoute({ method: 'GET', path: '/api/v1/runs/:id', tag, summary: 'A run with its attempts and jobs', auth: 'read', status: 200, response: TODO }),
  cancelMany: defineRoute({ method: 'POST', path: '/api/v1/runs/cancel', tag, summary: 'Cancel several runs', auth: 'write', status: 200, body: TODO, response: TODO }),
  cancel: defineRoute({ method: 'POST', path: '/api/v1/runs/:id/cancel', tag, summary: 'Cancel a run', auth: 'write', status: 200, response: TODO }),
  rerun: defineRoute({ method: 'POST', path: '/api/v1/runs/:id/rerun', tag, summary: 'Re-run as a new attempt', auth: 'write', status: 201, body: TODO, response: TODO }),
};
