// A project's git repository as the UI reads it: branches, refs (branches and tags) by name, and the
// pipeline files under .bellows/; and defining a pipeline that is one of those files.
import { api, query } from './client';
import { PIPELINE_NAME } from '../../../src/pipelines/pipeline-name';
import type { BranchList, GitRef, PipelineFiles, RefList } from './types';

const projectPath = (slug: string) => `projects/${encodeURIComponent(slug)}`;

export function fetchBranches(slug: string): Promise<BranchList> {
  return api<BranchList>(`${projectPath(slug)}/branches`);
}

/** Branches and tags whose name contains `q` (ignoring case). */
export async function searchRefs(slug: string, q: string, kind?: GitRef['kind'], limit = 100): Promise<GitRef[]> {
  return (await api<RefList>(`${projectPath(slug)}/refs${query({ q, kind, limit })}`)).refs;
}

export function fetchPipelineFiles(slug: string): Promise<PipelineFiles> {
  return api<PipelineFiles>(`${projectPath(slug)}/pipeline-files`);
}

/** Defines (or re-versions) pipeline `name` as the repository file `path`. */
export function defineRepositoryPipeline(slug: string, name: string, path: string): Promise<{ name: string; version: number; kind: string }> {
  return api(`${projectPath(slug)}/pipelines/${encodeURIComponent(name)}`, { method: 'PUT', body: { path } });
}

/**
 * The pipeline name a repository file gets: its file name without the extension, reduced to what the
 * API accepts (letters, digits, `_`, `.`, `-`; starting with a letter or digit; at most 100 characters).
 */
export function pipelineNameForFile(path: string): string {
  const file = path.split('/').pop() ?? path;
  const stem = file.includes('.') && !file.startsWith('.') ? file.slice(0, file.lastIndexOf('.')) : file;
  const name = stem
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 100)
    .replace(/[-.]+$/, '');
  return PIPELINE_NAME.test(name) ? name : 'pipeline';
}

/** `base`, or `base-2`, `base-3`… when `taken` already has it (a different pipeline must not be overwritten). */
export function freePipelineName(base: string, taken: Set<string>): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const suffix = `-${n}`;
    const candidate = `${base.slice(0, 100 - suffix.length)}${suffix}`;
    if (!taken.has(candidate)) return candidate;
  }
}
