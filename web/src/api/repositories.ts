// Naming a pipeline after a repository file, and defining it: the project page's "Run…" on a file of
// .bellows/ that no pipeline names yet. (Reads of the repository are queries in ./queries.)
import { api, client } from './client';
import { PIPELINE_NAME } from '../../../contract/pipelines.contract';

/** Defines (or re-versions) pipeline `name` as the repository file `path`. */
export function defineRepositoryPipeline(slug: string, name: string, path: string) {
  return client.call(api.pipelines.put, { params: { slug, name }, body: { path } });
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
