// Pure rules for project repositories: which URLs are accepted, which pipeline paths and refs are
// well-formed, and how a project secret becomes git credentials. Unit-tested without git or a database.

import { posix } from 'node:path';
import type { z } from 'zod';
import type { RepositoryInput as RepositoryInputSchema } from '../../contract/projects.contract';
import type { RepositoryConfig } from '../../contract/repositories.contract';
import { SECRET_NAME } from '../../contract/secrets.contract';
import { splitUrlCredentials, transportOf, type GitAuth } from '../../agent/git/git';

export type { RepositoryConfig } from '../../contract/repositories.contract';

/** As a request body gives it: checked field by field, since JSON may hold anything there. */
export type RepositoryInput = z.output<typeof RepositoryInputSchema>;

export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string };

const MAX_URL_LENGTH = 2048;

/**
 * https://, http://, ssh://, scp-style (git@host:path), git:// and — only where the server allows local
 * repositories (`BELLOWS_ALLOW_FILE_REPOSITORIES=true`, as `npm start` does) — file:// URLs.
 */
export function checkRepository(input: RepositoryInput, allowFileUrls: boolean): Checked<RepositoryConfig> {
  if (input.defaultBranch !== undefined && typeof input.defaultBranch !== 'string') return { ok: false, problem: 'repository.defaultBranch must be a string' };
  if (input.credentialsSecret !== undefined && typeof input.credentialsSecret !== 'string') return { ok: false, problem: 'repository.credentialsSecret must be a string (the name of a project secret)' };
  const url = typeof input.url === 'string' ? input.url.trim() : '';
  if (url === '') return { ok: false, problem: 'repository.url is required' };
  if (url.length > MAX_URL_LENGTH) return { ok: false, problem: `repository.url is longer than ${MAX_URL_LENGTH} characters` };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\s]/.test(url)) return { ok: false, problem: 'repository.url contains spaces or control characters' };
  if (url.startsWith('-')) return { ok: false, problem: 'repository.url must not start with "-"' };
  if (splitUrlCredentials(url).auth) {
    return { ok: false, problem: 'repository.url contains credentials; store them in a project secret and name it in repository.credentialsSecret' };
  }
  const transport = transportOf(url);
  if (transport === 'other' || transport === 'local') {
    return { ok: false, problem: 'repository.url must be an https://, http://, ssh://, git:// or file:// URL, or scp-style user@host:path' };
  }
  if (transport === 'file') {
    if (!allowFileUrls) return { ok: false, problem: 'file:// repositories are not allowed on this server (set BELLOWS_ALLOW_FILE_REPOSITORIES=true to allow local repositories)' };
    if (!/^file:\/\/\//.test(url)) return { ok: false, problem: 'a file:// repository URL needs an absolute path (file:///path/to/repo)' };
  }
  if (input.defaultBranch !== undefined) {
    const problem = refProblem(input.defaultBranch);
    if (problem) return { ok: false, problem: `repository.defaultBranch: ${problem}` };
  }
  if (input.credentialsSecret !== undefined) {
    if (!SECRET_NAME.test(input.credentialsSecret)) return { ok: false, problem: `repository.credentialsSecret must name a project secret (${SECRET_NAME.source})` };
    // Nothing would use them: refusing now beats an "authentication required" at the first run.
    if (transport === 'git' || transport === 'file') return { ok: false, problem: `repository.credentialsSecret cannot be used with a ${transport}:// URL, which takes no credentials; use an https:// or ssh URL` };
  }
  return { ok: true, value: { url, defaultBranch: input.defaultBranch ?? null, credentialsSecret: input.credentialsSecret ?? null } };
}

/** A pipeline file's path inside the repository: relative, with no way out of it. */
export function pipelinePathProblem(path: string): string | undefined {
  if (typeof path !== 'string' || path === '') return 'path must be a non-empty relative path inside the repository';
  if (path.includes('\u0000')) return 'path must not contain NUL characters';
  if (path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path)) return `path "${path}" is absolute; give it relative to the repository root`;
  if (path.includes('\\')) return `path "${path}" contains a backslash; use forward slashes`;
  if (path.split('/').some((segment) => segment === '..')) return `path "${path}" leaves the repository ("..")`;
  const normalised = posix.normalize(path);
  if (normalised === '.' || normalised.endsWith('/')) return `path "${path}" names a directory, not a file`;
  return undefined;
}

/** The reasons `git check-ref-format` would give, for refs a user types (branches, tags, commit ids). */
export function refProblem(ref: string): string | undefined {
  if (typeof ref !== 'string' || ref.trim() === '') return 'a ref is required';
  if (ref.length > 255) return 'a ref is at most 255 characters';
  if (ref.startsWith('-')) return `"${ref}" must not start with "-"`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f~^:?*[\\]/.test(ref)) return `"${ref}" contains a character git does not allow in ref names`;
  if (ref.includes('..') || ref.includes('@{') || ref.includes('//')) return `"${ref}" contains "..", "@{" or "//"`;
  if (ref.endsWith('/') || ref.endsWith('.') || ref.endsWith('.lock') || ref.startsWith('/')) return `"${ref}" is not a valid ref name`;
  return undefined;
}

/** A full commit id (SHA-1, or SHA-256 for repositories that use it), as git prints it. */
export const FULL_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/**
 * A project secret as git credentials: for http(s) a token (sent as user x-access-token, which GitHub,
 * GitLab and Gitea accept) or `user:password`; for ssh a private key. Other transports take none, and a
 * secret that does not fit the URL gives none (credentialsProblem says why).
 */
export function credentialsFor(url: string, secret: string | undefined): GitAuth | undefined {
  if (secret === undefined || secret === '' || credentialsProblem(url, secret)) return undefined;
  const transport = transportOf(url);
  if (transport === 'http') {
    const colon = secret.indexOf(':');
    return colon > 0 ? { type: 'basic', username: secret.slice(0, colon), password: secret.slice(colon + 1) } : { type: 'basic', username: 'x-access-token', password: secret };
  }
  if (transport === 'ssh') return { type: 'ssh', privateKey: secret.endsWith('\n') ? secret : `${secret}\n` };
  return undefined;
}

/** Why a secret's value cannot be the credentials of `url` (never quoting the value), or undefined. */
export function credentialsProblem(url: string, secret: string): string | undefined {
  const transport = transportOf(url);
  const isKey = secret.includes('PRIVATE KEY');
  // A private key would otherwise be sent as a password, and a token handed to ssh as a key file.
  if (transport === 'http' && isKey) return 'it holds a private key, but the repository URL is http(s): store a token or user:password, or use an ssh URL';
  if (transport === 'ssh' && !isKey) return 'the repository URL is ssh, which needs a private key (OpenSSH or PEM), and the secret holds something else';
  return undefined;
}

/** The repository's address as it may be shown: user info dropped, even if something slipped in. */
export function displayUrl(url: string): string {
  return splitUrlCredentials(url).url;
}
