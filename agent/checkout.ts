// The job's code: the run's commit checked out into the job's workspace from this agent's mirror of the
// repository (one per project and URL), so only the first job of a repository clones it; later jobs
// fetch what is new and make their workspace a repository of its own that borrows the mirror's objects.

import { performance } from 'node:perf_hooks';
import type { CheckoutSpec } from '../contract/agent-protocol.contract';
import { GitError, authSecrets, splitUrlCredentials } from './git/git';
import type { ProjectMirrors } from './git/git-mirror';
import { redact } from './secret-masker';

/** `cancelled`: the job's signal fired (cancel or timeout) while checking out. */
export type CheckoutResult = { ok: true; ms: number } | { ok: false; cancelled: boolean; error: string };

/**
 * The checkout with its URL free of credentials from here on (the server sends none there, but whatever a
 * URL carries becomes `auth` when no other is given, so it reaches no log, mirror config or workspace).
 */
export function withoutUrlCredentials(spec: CheckoutSpec | null): CheckoutSpec | null {
  if (!spec) return null;
  const { url, auth } = splitUrlCredentials(spec.url);
  return { ...spec, url, auth: spec.auth ?? auth ?? null };
}

/** Checks `spec` out into `workspaceDir`; `spec.url` carries no credentials (withoutUrlCredentials took them out). */
export async function checkoutWorkspace(
  spec: CheckoutSpec,
  workspaceDir: string,
  projects: ProjectMirrors,
  report: (text: string) => void,
  signal?: AbortSignal,
): Promise<CheckoutResult> {
  const { url } = spec;
  const short = spec.commitSha.slice(0, 12);
  const auth = spec.auth ?? undefined;
  // Without the project a mirror could be shared with another project's jobs: refuse rather than guess.
  if (spec.projectId === '') return { ok: false, cancelled: false, error: `checkout of ${url} refused: the server named no project for it` };
  const mirrors = projects.of(spec.projectId);
  const started = performance.now();
  report(`Checking out ${url} ${spec.ref} at ${short}`);
  try {
    const cached = await mirrors.hasCommit(url, spec.commitSha);
    if (!cached && !(await mirrors.fetchCommit(url, spec.commitSha, { auth, signal }))) {
      return { ok: false, cancelled: false, error: `commit ${short} is not in ${url} any more (was ${spec.ref} force-pushed after the run started?)` };
    }
    await mirrors.checkout(url, spec.commitSha, workspaceDir, { signal });
    const ms = Math.round(performance.now() - started);
    report(`Checked out ${short} (${spec.ref}) in ${ms} ms${cached ? ", from this agent's mirror" : ''}`);
    return { ok: true, ms };
  } catch (error) {
    if (signal?.aborted || (error instanceof GitError && error.kind === 'cancelled')) return { ok: false, cancelled: true, error: `checkout of ${url} at ${short} cancelled` };
    const reason = error instanceof GitError ? error.reason : error instanceof Error ? error.message : String(error);
    return { ok: false, cancelled: false, error: `checkout of ${url} at ${short} failed: ${redact(reason, authSecrets(auth))}` };
  }
}
