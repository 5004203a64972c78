// Projects: the unit of access (a token may be bound to one), with an optional git repository.
import { z } from 'zod';
import { defineRoute } from './http';

// TODO(schema): request and response schemas (replace every z.unknown()).
const TODO = z.unknown();

const tag = 'projects';

export const projectRoutes = {
  create: defineRoute({ method: 'POST', path: '/api/v1/projects', tag, summary: 'Create a project', auth: 'write', status: 201, body: TODO, response: TODO }),
  list: defineRoute({ method: 'GET', path: '/api/v1/projects', tag, summary: 'List the projects this token may see', auth: 'read', status: 200, response: TODO }),
  get: defineRoute({ method: 'GET', path: '/api/v1/projects/:slug', tag, summary: 'One project', auth: 'read', status: 200, response: TODO }),
  update: defineRoute({ method: 'PATCH', path: '/api/v1/projects/:slug', tag, summary: 'Rename a project or change its repository', auth: 'write', status: 200, body: TODO, response: TODO }),
};
