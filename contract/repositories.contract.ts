// A project's git repository as the API shows it: branches, refs and the pipeline files under .bellows/.
import { z } from 'zod';
import { pageLimit } from './common';
import { defineRoute } from './http';
import { PipelineKind } from './pipelines.contract';

/** What a project stores: never a credential, only the name of the project secret that holds it. */
export const RepositoryConfig = z
  .object({ url: z.string(), defaultBranch: z.string().nullable(), credentialsSecret: z.string().nullable() })
  .meta({ id: 'RepositoryConfig' });
export type RepositoryConfig = z.input<typeof RepositoryConfig>;

export const GIT_REF_KINDS = ['branch', 'tag'] as const;
export const GitRefKind = z.enum(GIT_REF_KINDS).meta({ id: 'GitRefKind' });
export type GitRefKind = z.input<typeof GitRefKind>;

/** A branch or tag and the commit it points to (an annotated tag: the commit it is on). */
export const GitRef = z.object({ name: z.string(), kind: GitRefKind, commitSha: z.string() }).meta({ id: 'GitRef' });
export type GitRef = z.input<typeof GitRef>;

export const BranchList = z
  .object({ defaultBranch: z.string().nullable(), branches: z.array(z.object({ name: z.string(), commitSha: z.string() })) })
  .meta({ id: 'BranchList' });
export type BranchList = z.input<typeof BranchList>;

export const RefList = z.object({ refs: z.array(GitRef) }).meta({ id: 'RefList' });
export type RefList = z.input<typeof RefList>;

export const PipelineFile = z.object({ path: z.string(), kind: PipelineKind }).meta({ id: 'PipelineFile' });
export type PipelineFile = z.input<typeof PipelineFile>;

/** The files under .bellows/ on the default branch (`ref`, at `commitSha`). */
export const PipelineFiles = z.object({ ref: z.string(), commitSha: z.string(), files: z.array(PipelineFile) }).meta({ id: 'PipelineFiles' });
export type PipelineFiles = z.input<typeof PipelineFiles>;

export const REF_LIST_LIMIT = { fallback: 100, max: 1000 } as const;

export const RefQuery = z.object({
  q: z.string().optional().meta({ description: 'Part of a branch or tag name (case-insensitive).' }),
  kind: z.enum(GIT_REF_KINDS, { error: (issue) => `kind must be "branch" or "tag"; got "${String(issue.input)}".` }).optional(),
  limit: pageLimit(REF_LIST_LIMIT.fallback, REF_LIST_LIMIT.max),
});

const tag = 'repositories';

export const repositoryRoutes = {
  branches: defineRoute({ method: 'GET', path: '/api/v1/projects/:slug/branches', tag, summary: "The repository's branches and default branch", auth: 'read', status: 200, response: BranchList }),
  refs: defineRoute({ method: 'GET', path: '/api/v1/projects/:slug/refs', tag, summary: 'Branches and tags matching a search', auth: 'read', status: 200, query: RefQuery, response: RefList }),
  pipelineFiles: defineRoute({ method: 'GET', path: '/api/v1/projects/:slug/pipeline-files', tag, summary: 'Pipeline files under .bellows/ on the default branch', auth: 'read', status: 200, response: PipelineFiles }),
};
