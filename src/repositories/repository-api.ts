// The answers of the repository endpoints, as the server sends them and the web UI and CLI read them
// (types only, no imports with runtime code: the web build and the CLI import this file).

import type { PipelineKind } from '../agents/agent-protocol';

/** What a project stores: never a credential, only the name of the project secret that holds it. */
export type RepositoryConfig = { url: string; defaultBranch: string | null; credentialsSecret: string | null };

export type GitRefKind = 'branch' | 'tag';

/** A branch or tag and the commit it points to (an annotated tag: the commit it is on). */
export type GitRef = { name: string; kind: GitRefKind; commitSha: string };

/** GET /api/v1/projects/{slug}/branches */
export type BranchList = { defaultBranch: string | null; branches: { name: string; commitSha: string }[] };

/** GET /api/v1/projects/{slug}/refs?q=&kind=&limit= */
export type RefList = { refs: GitRef[] };

export type PipelineFile = { path: string; kind: PipelineKind };

/** GET /api/v1/projects/{slug}/pipeline-files: the files under .bellows/ on the default branch (`ref`, at `commitSha`). */
export type PipelineFiles = { ref: string; commitSha: string; files: PipelineFile[] };
