// Pipelines: named, versioned `.act` graphs or scripts, stored or read from the project's repository.
import { z } from 'zod';
import { defineRoute } from './http';

// TODO(schema): request and response schemas (replace every z.unknown()).
const TODO = z.unknown();

const tag = 'pipelines';

export const pipelineRoutes = {
  put: defineRoute({ method: 'PUT', path: '/api/v1/projects/:slug/pipelines/:name', tag, summary: 'Create a pipeline or store a new version', auth: 'write', status: 200, body: TODO, response: TODO }),
  list: defineRoute({ method: 'GET', path: '/api/v1/projects/:slug/pipelines', tag, summary: "A project's pipelines", auth: 'read', status: 200, response: TODO }),
  get: defineRoute({ method: 'GET', path: '/api/v1/projects/:slug/pipelines/:name', tag, summary: 'A pipeline version (the latest unless ?version=)', auth: 'read', status: 200, query: z.object({ version: z.string().optional() }), response: TODO }),
  versions: defineRoute({ method: 'GET', path: '/api/v1/projects/:slug/pipelines/:name/versions', tag, summary: "A pipeline's versions", auth: 'read', status: 200, response: TODO }),
};
