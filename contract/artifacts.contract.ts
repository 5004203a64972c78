// Artifacts: files jobs uploaded, with size and SHA-256, searchable across runs.
import { z } from 'zod';
import { countParam, dateParam, pageLimit, timestamp } from './common';
import { defineRoute } from './http';

export const Artifact = z
  .object({
    id: z.string(),
    name: z.string(),
    size: z.number(),
    sha256: z.string(),
    runId: z.number(),
    runNumber: z.number(),
    jobId: z.number(),
    attempt: z.number(),
    try: z.number(),
    project: z.string(),
    pipeline: z.string(),
    createdAt: timestamp,
    downloadUrl: z.string(),
  })
  .meta({ id: 'Artifact' });
export type Artifact = z.input<typeof Artifact>;

export const ArtifactList = z
  .object({ artifacts: z.array(Artifact), nextCursor: z.string().nullable().meta({ description: 'The `cursor` of the next page; null on the last.' }) })
  .meta({ id: 'ArtifactList' });
export type ArtifactList = z.input<typeof ArtifactList>;

// The filters stay strings here: the service parses them and names the one it cannot read.

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
      q: z.string().optional().meta({ description: 'Substring of the artifact name (case-insensitive).' }),
      project: z.string().optional(),
      pipeline: z.string().optional(),
      runId: countParam('runId'),
      from: dateParam('from'),
      to: dateParam('to'),
      minSize: countParam('minSize').meta({ description: 'Bytes.' }),
      maxSize: countParam('maxSize').meta({ description: 'Bytes.' }),
      cursor: z.string().optional().meta({ description: 'The `nextCursor` of the previous page.' }),
      limit: pageLimit(50, 200),
    }),
    response: ArtifactList,
  }),
  get: defineRoute({ method: 'GET', path: '/api/v1/artifacts/:id', tag, summary: 'One artifact', auth: 'read', status: 200, response: Artifact }),
  download: defineRoute({ method: 'GET', path: '/api/v1/artifacts/:id/download', tag, summary: "An artifact's bytes (Range and ETag supported)", auth: 'read', status: 200, response: 'binary' }),
};
