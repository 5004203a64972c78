// A project's git repository as the API shows it: branches, refs and the pipeline files under .bellows/.
import { z } from 'zod';
import { defineRoute } from './http';

// TODO(schema): request and response schemas (replace every z.unknown()).
const TODO = z.unknown();

const tag = 'repositories';

export const repositoryRoutes = {
  branches: defineRoute({ method: 'GET', path: '/api/v1/projects/:slug/branches', tag, summary: "The repository's branches and default branch", auth: 'read', status: 200, response: TODO }),
  refs: defineRoute({
    method: 'GET',
    path: '/api/v1/projects/:slug/refs',
    tag,
    summary: 'Branches and tags matching a search',
    auth: 'read',
    status: 200,
    query: z.object({ q: z.string().optional(), kind: z.string().optional(), limit: z.string().optional() }),
    response: TODO,
  }),
  pipelineFiles: defineRoute({ method: 'GET', path: '/api/v1/projects/:slug/pipeline-files', tag, summary: 'Pipeline files under .bellows/ on the default branch', auth: 'read', status: 200, response: TODO }),
};
