// The job's code: the run's commit checked out into the job's workspace from this agent's mirror of the
// repository, so only the first job of a repository clones it; later jobs fetch what is new and add a
// worktree (a clean checkout, sharing the mirror's objects).

import { performance } from 'node:perf_hooks';
import type { CheckoutSpec } from '../src/agents/agent-protocol';
import { GitError, authSecrets, redact, splitUrlCredentials } from './git/git';
import type { GitMirrors } from './git/git-mirror';

export type CheckoutResult = { ok: true; ms: number } | { ok: false; error: string };

export async function checkoutWorkspace(
  spec: CheckoutSpec,
  workspaceDir: string,
  mirrors: GitMirrors,
  report: (text: string) => void,
  signal?: AbortSignal,
): Promise<CheckoutResult> {
  const url = splitUrlCredentials(spec.url).url;
  const short = spec.commitSha.slice(0, 12);
  const auth = spec.auth ?? undefined;
  const started = performance.now();
  report(`Checking out ${url} ${spec.ref} at ${short}`);
  try {
    const cached = await mirrors.hasCommit(spec.url, spec.commitSha);
    if (!cached && !(await mirrors.ensureCommit(spec.url, spec.commitSha, { auth, signal }))) {
      return { ok: false, error: `commit ${short} is not in ${url} any more (was ${spec.ref} force-pushed after the run started?)` };
    }
    await mirrors.checkout(spec.url, spec.commitSha, workspaceDir, { signal });
    const ms = Math.round(performance.now() - started);
    report(`Checked out ${short} (${spec.ref}) in ${ms} ms${cached ? ', from this agent\'s mirror' : ''}`);
    return { ok: true, ms };
  } catch (error) {
    const reason = error instanceof GitError ? error.reason : error instanceof Error ? error.message : String(error);
    return { ok: false, error: `checkout of ${url} at ${short} failed: ${redact(reason, authSecrets(auth))}` };
  }
}
