// Artifacts: files jobs uploaded, with size and SHA-256, searchable across runs.
import { z } from 'zod';
import { defineRoute } from './http';

// TODO(schema): request and response schemas (replace every z.unknown()).
const TODO = z.unknown();

const tag = 'artifacts';

export const artifactRoutes = {
  list: defineRoute({
    method: 'GET',
    path: '/api/v1/artifacts',
    tag,
    summary: 'Artifacts, newest first, filtered',
    auth: 'read',
    status: 200,
    query: z.object({
      q: z.string().optional(),
      project: z.string().optional(),
      pipeline: z.string().optional(),
      runId: z.string().optional(),
      from: z.string().optional(),
      to: z.string().optional(),
      minSize: z.string().optional(),
      maxSize: z.string().optional(),
      cursor: z.string().optional(),
      limit: z.string().optional(),
    }),
    response: TODO,
  }),
  get: defineRoute({ method: 'GET', path: '/api/v1/artifacts/:id', tag, summary: 'One artifact', auth: 'read', status: 200, response: TODO }),
  download: defineRoute({ method: 'GET', path: '/api/v1/artifacts/:id/download', tag, summary: "An artifact's bytes (Range and ETag supported)", auth: 'read', status: 200, response: 'binary' }),
};
