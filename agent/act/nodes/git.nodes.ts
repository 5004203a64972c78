// Git nodes: clone, checkout, pull, stage, commit, push, and repo-download (the job's repository).
//
// The reference engine does these with go-git; here Debian's git binary does them (agent/git/git.ts), with
// the same observable results where the reference works. Where its Go code cannot work at all the
// sensible git behaviour is used instead, and the comment says so:
// - git-checkout reads its repo input as a pointer type nothing produces, so it always fails there;
// - username/password credentials are looked for as a pointer type too, so they were silently unused;
// - git-stage documents glob patterns, which go-git's Add does not accept;
// - git-commit without author inputs wrote an empty author instead of the configured one.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, normalize, resolve, sep } from 'node:path';
import {
  GitError,
  authMismatch,
  authSecrets,
  cloneRepository,
  currentBranch,
  fetchRevision,
  headCommit,
  listRemoteRefs,
  openRepository,
  runGit,
  splitUrlCredentials,
  type GitAuth,
  type GitCommonOptions,
} from '../../git/git';
import { CancelledError } from '../act-errors';
import { NodeError, NodeFailure, data, describeError, exec, staticPorts, type NodeContext, type NodeDef } from '../act-node-def';
import { GitRepository, typeName } from '../act-values';
import { AccessKeyCredentials, SshCredentials, UserPassCredentials } from './credentials.nodes';

const results = [exec('exec-success'), exec('exec-err')];

/** Credentials from an `auth` input as git auth; none when unset or empty (as the reference treats them). */
function authOf(value: unknown, what: string): GitAuth | undefined {
  if (value === undefined || value === null) return undefined;
  if (value instanceof UserPassCredentials || value instanceof AccessKeyCredentials) {
    const [username, password] = value instanceof UserPassCredentials ? [value.username, value.password] : [value.accessKey, value.accessPassword];
    // A token alone may be given as the user name (https://TOKEN@host), so only both empty mean none.
    return username === '' && password === '' ? undefined : { type: 'basic', username, password };
  }
  if (value instanceof SshCredentials) {
    return { type: 'ssh', privateKey: value.privateKey, passphrase: value.privateKeyPassword || undefined, username: value.username || undefined };
  }
  throw new NodeError(`cannot convert '${typeName(value)}' to credentials at ${what}`);
}

async function authInput(ctx: NodeContext): Promise<GitAuth | undefined> {
  return authOf(await ctx.read('auth'), `input 'auth' of node ${ctx.path}`);
}

/**
 * Options for one git command of a node. Credentials go only to commands that talk to a remote (give
 * `auth` to those alone): a local command has nothing to send them to but the environment's tracing.
 */
function gitOptions(ctx: NodeContext, auth?: GitAuth, secrets: readonly string[] = []): GitCommonOptions {
  return { env: ctx.state.env, signal: ctx.signal, auth, secrets };
}

/** A git failure as this node's failure (exec-err); a cancelled command stops the path instead. */
function failure(what: string, error: unknown): Error {
  if (error instanceof GitError && error.kind === 'cancelled') return new CancelledError();
  if (error instanceof NodeFailure || error instanceof NodeError || error instanceof CancelledError) return error;
  return new NodeFailure(`${what}: ${error instanceof GitError ? error.reason : describeError(error)}`);
}

async function repoInput(ctx: NodeContext): Promise<GitRepository> {
  const value = await ctx.read('repo');
  if (value instanceof GitRepository) return value;
  throw new NodeError(`cannot convert '${typeName(value)}' to a git repository at input 'repo' of node ${ctx.path} (connect the repo output of git-clone)`);
}

/** The working tree of a git-repo value (relative paths are relative to the work directory). */
async function openRepo(ctx: NodeContext, repo: GitRepository): Promise<string> {
  const path = resolve(ctx.host.workDir, repo.path);
  try {
    await openRepository(path, gitOptions(ctx));
    return path;
  } catch (error) {
    throw failure(`failed to open repository at path '${repo.path}'`, error);
  }
}

/** The URL of a configured remote (a remote given as a URL is its own). */
async function remoteUrl(ctx: NodeContext, dir: string, remote: string): Promise<string> {
  try {
    return (await runGit(['remote', 'get-url', '--', remote], { ...gitOptions(ctx), cwd: dir, exactRepository: true })).stdout.trim();
  } catch (error) {
    if (error instanceof GitError && error.kind === 'cancelled') throw new CancelledError();
    return remote;
  }
}

function checkAuthFits(url: string, auth: GitAuth | undefined): void {
  const mismatch = authMismatch(url, auth);
  if (mismatch) throw new NodeFailure(mismatch);
}

/** go-git's short name of a ref: `refs/heads/main` → `main`, `refs/tags/v1` → `v1`, `refs/pull/1/head` → `pull/1/head`. */
function shortRefName(name: string): string {
  for (const prefix of ['refs/heads/', 'refs/tags/', 'refs/remotes/']) if (name.startsWith(prefix)) return name.slice(prefix.length);
  return name.startsWith('refs/') ? name.slice('refs/'.length) : name;
}

/** A ref, branch or revision given by the graph must not be taken for an option of git's. */
function checkRevisionText(text: string, what: string): void {
  if (text.trim() === '') throw new NodeFailure(`${what} is empty`);
  if (text.startsWith('-')) throw new NodeFailure(`${what} '${text}' is not a valid git reference (it starts with '-')`);
}

const gitClone: NodeDef = {
  type: 'core/git-clone@v1',
  ports: staticPorts(
    [
      exec('exec'),
      data('url', 'string'),
      data('directory', 'string'),
      data('ref', 'string', { default: 'main' }),
      data('checkout', 'bool', { default: true }),
      data('only_ref', 'bool'),
      data('depth', 'number'),
      data('auth', 'credentials'),
    ],
    [...results, data('repo', 'git-repo')],
  ),
  async execute(ctx) {
    const givenUrl = await ctx.string('url');
    const directory = await ctx.string('directory');
    const ref = await ctx.string('ref');
    const onlyRef = await ctx.bool('only_ref');
    const checkout = await ctx.bool('checkout');
    const given = await authInput(ctx);
    const depth = await ctx.int('depth');
    if (givenUrl.trim() === '') throw new NodeError("input 'url' is empty: which repository should be cloned?");

    // Credentials in the URL are used (when no auth is connected) but never stored: .git/config gets the bare URL.
    const { url, auth: urlAuth } = splitUrlCredentials(givenUrl);
    const auth = given ?? urlAuth;
    checkAuthFits(url, auth);
    const options = gitOptions(ctx, auth, authSecrets(urlAuth));
    const workDir = ctx.host.workDir;

    // As the reference does: a ref must name one of the remote's refs, by full or short name.
    let branch: string | undefined;
    let otherRef: string | undefined;
    if (ref !== '') {
      let refs;
      try {
        refs = await listRemoteRefs(url, workDir, options);
      } catch (error) {
        // The reference fails the graph here even with exec-err connected; it is the same failure as a
        // failed clone (unreachable, refused credentials), so it goes where a failed clone goes.
        throw failure(`failed to list remote references during clone of '${url}'`, error);
      }
      const match = refs.find((candidate) => shortRefName(candidate.name) === ref || candidate.name === ref);
      if (!match) throw new NodeError(`specified ref '${ref}' does not exist in the remote repository ${url}`);
      const short = shortRefName(match.name);
      if (match.name.startsWith('refs/heads/')) branch = short;
      else if (match.name.startsWith('refs/tags/') && !refs.some((candidate) => candidate.name === `refs/heads/${short}`)) branch = short;
      else if (match.name !== 'HEAD') otherRef = match.name;
    }

    const target = resolve(workDir, directory);
    try {
      await cloneRepository({ url, directory: target, cwd: workDir, branch, depth, singleBranch: onlyRef, noCheckout: !checkout || otherRef !== undefined }, options);
      if (otherRef) {
        // A ref that is neither branch nor tag (refs/pull/1/head): git clone cannot start from it, so fetch it after.
        const at = { cwd: target, exactRepository: true, repository: url };
        await runGit(['fetch', '--quiet', ...(depth > 0 ? [`--depth=${depth}`] : []), 'origin', `+${otherRef}:${otherRef}`], { ...options, ...at });
        if (checkout) await runGit(['checkout', '--quiet', '--detach', otherRef, '--'], { ...gitOptions(ctx, undefined, options.secrets), ...at });
      }
    } catch (error) {
      throw failure(`failed to clone repository '${url}'`, error);
    }
    ctx.set('repo', new GitRepository(directory));
    return 'exec-success';
  },
};

const gitCheckout: NodeDef = {
  type: 'core/git-checkout@v1',
  ports: staticPorts(
    [exec('exec'), data('repo', 'git-repo', { required: true }), data('reference', 'string', { required: true }), data('create', 'bool', { default: false }), data('force', 'bool', { default: false })],
    results,
  ),
  async execute(ctx) {
    const repo = await repoInput(ctx);
    const reference = await ctx.string('reference');
    // The reference ignores unreadable flags (treats them as false).
    const create = await ctx.bool('create').catch(() => false);
    const force = await ctx.bool('force').catch(() => false);
    const dir = await openRepo(ctx, repo);
    checkRevisionText(reference, 'reference');
    // A branch name switches to that branch (one only on the remote gets a local tracking branch, as git
    // does); a tag or commit id detaches HEAD there; create makes a new branch at HEAD and switches to it.
    const args = ['checkout', '--quiet', ...(force ? ['--force'] : []), ...(create ? ['-b', reference] : [reference, '--'])];
    try {
      await runGit(args, { ...gitOptions(ctx), cwd: dir, exactRepository: true });
    } catch (error) {
      throw failure(`failed to perform checkout for reference '${reference}'`, error);
    }
    return 'exec-success';
  },
};

const gitPull: NodeDef = {
  type: 'core/git-pull@v1',
  ports: staticPorts([exec('exec'), data('repo', 'git-repo', { required: true }), data('auth', 'credentials')], results),
  async execute(ctx) {
    const repo = await repoInput(ctx);
    const auth = await authInput(ctx);
    const dir = await openRepo(ctx, repo);
    const at = { ...gitOptions(ctx), cwd: dir, exactRepository: true };
    try {
      const branch = await currentBranch(dir, at);
      if (!branch) throw new NodeFailure('failed to pull changes from remote: HEAD is detached (check out a branch first)');
      const upstreamRemote = (await runGit(['config', '--get', `branch.${branch}.remote`], at).catch(() => ({ stdout: '' }))).stdout.trim();
      const remote = upstreamRemote || 'origin';
      const url = await remoteUrl(ctx, dir, remote);
      checkAuthFits(url, auth);
      // Fast-forward only, as go-git pulls; a branch without upstream pulls its namesake from origin.
      const args = ['pull', '--quiet', '--ff-only', '--no-rebase', ...(upstreamRemote ? [] : ['origin', branch])];
      await runGit(args, { ...at, auth, repository: url });
    } catch (error) {
      throw failure('failed to pull changes from remote', error);
    }
    return 'exec-success';
  },
};

const gitStage: NodeDef = {
  type: 'core/git-stage@v1',
  ports: staticPorts([exec('exec'), data('repo', 'git-repo', { required: true }), data('paths', '[]string')], results),
  async execute(ctx) {
    const repo = await repoInput(ctx);
    const paths = await ctx.strings('paths');
    if (paths.length === 0) throw new NodeError('at least one path must be provided to stage');
    const dir = await openRepo(ctx, repo);
    for (const path of paths) {
      if (path === '') continue;
      try {
        // A pathspec: `.` is everything, and glob patterns (assets/*.jpg) match as the node documents.
        await runGit(['add', '--', path], { ...gitOptions(ctx), cwd: dir, exactRepository: true });
      } catch (error) {
        throw failure(`failed to stage path '${path}'`, error);
      }
    }
    return 'exec-success';
  },
};

const gitCommit: NodeDef = {
  type: 'core/git-commit@v1',
  ports: staticPorts(
    [exec('exec'), data('repo', 'git-repo', { required: true }), data('message', 'string', { required: true }), data('author_name', 'string'), data('author_email', 'string'), data('stage', 'bool')],
    [...results, data('commit_hash', 'string')],
  ),
  async execute(ctx) {
    const repo = await repoInput(ctx);
    const message = await ctx.string('message');
    const authorName = await ctx.string('author_name');
    const authorEmail = await ctx.string('author_email');
    const stage = await ctx.bool('stage');
    const dir = await openRepo(ctx, repo);
    // Each given author field overrides git's configuration, for the committer too (go-git commits
    // with committer = author); the ones not given come from the configuration.
    const identity: Record<string, string> = {};
    if (authorName !== '') Object.assign(identity, { GIT_AUTHOR_NAME: authorName, GIT_COMMITTER_NAME: authorName });
    if (authorEmail !== '') Object.assign(identity, { GIT_AUTHOR_EMAIL: authorEmail, GIT_COMMITTER_EMAIL: authorEmail });
    const at = { ...gitOptions(ctx), cwd: dir, exactRepository: true };
    try {
      // The message is kept exactly as given (go-git does not strip '#' lines or blank lines).
      const args = ['commit', '--quiet', '--cleanup=verbatim', '--allow-empty-message', ...(stage ? ['--all'] : []), '--file=-'];
      await runGit(args, { ...at, input: message, extraEnv: identity });
      ctx.set('commit_hash', await headCommit(dir, at));
    } catch (error) {
      throw failure('failed to create commit', error);
    }
    return 'exec-success';
  },
};

const gitPush: NodeDef = {
  type: 'core/git-push@v1',
  ports: staticPorts(
    [
      exec('exec'),
      data('repo', 'git-repo', { required: true }),
      data('auth', 'credentials'),
      data('remote', 'string', { default: 'origin' }),
      data('branch', 'string'),
      data('tags', 'bool', { default: false }),
      data('force', 'bool', { default: false }),
    ],
    results,
  ),
  async execute(ctx) {
    const repo = await repoInput(ctx);
    const auth = await authInput(ctx);
    const remote = await ctx.string('remote');
    const branch = await ctx.string('branch');
    const tags = await ctx.bool('tags');
    const force = await ctx.bool('force');
    const dir = await openRepo(ctx, repo);
    const at = { ...gitOptions(ctx), cwd: dir, exactRepository: true };
    try {
      checkRevisionText(remote, 'remote');
      // What the reference pushes: every tag (tags wins over branch), else the named branch, else the current one.
      let refspec: string;
      if (tags) refspec = '+refs/tags/*:refs/tags/*';
      else if (branch !== '') {
        checkRevisionText(branch, 'branch');
        refspec = `refs/heads/${branch}:refs/heads/${branch}`;
      } else {
        const current = await currentBranch(dir, at);
        if (!current) throw new NodeFailure(`failed to push changes to remote '${remote}': HEAD is detached (set input 'branch' to choose what to push)`);
        refspec = `refs/heads/${current}:refs/heads/${current}`;
      }
      const url = await remoteUrl(ctx, dir, remote);
      checkAuthFits(url, auth);
      await runGit(['push', '--quiet', ...(force ? ['--force'] : []), '--', remote, refspec], { ...at, auth, repository: url });
    } catch (error) {
      throw failure(`failed to push changes to remote '${remote}'`, error);
    }
    return 'exec-success';
  },
};

/**
 * The reference downloads the job's repository from its orchestrator (an archive or single files, by
 * BUILD_SERVER_URL/BUILD_REPO_ID/BUILD_REPO_TOKEN). A Bellows job's repository is a git repository: it is
 * fetched (one commit, shallow) from BELLOWS_REPOSITORY_URL at BELLOWS_COMMIT_SHA, else BELLOWS_REF, else
 * the remote's HEAD, into a temporary git directory, and the files are written into the work directory
 * at their paths in the repository. No .git is left behind, as with the reference's archive.
 */
const repoDownload: NodeDef = {
  type: 'core/repo-download@v1',
  ports: staticPorts([exec('exec'), data('paths', '[]string', { default: ['*'] })], results),
  async execute(ctx) {
    const env = ctx.state.env;
    // On an agent the job's repository comes with the job (and its credentials); elsewhere from the environment.
    const job = ctx.host.repository;
    const givenUrl = job?.url ?? env.BELLOWS_REPOSITORY_URL ?? '';
    if (givenUrl === '') throw new NodeFailure('repo download needs the job\'s repository: only jobs of projects with a repository have one (or set BELLOWS_REPOSITORY_URL)');
    const paths = await ctx.strings('paths');
    const whole = paths.length === 1 && paths[0] === '*';
    if (!whole) {
      for (const path of paths) {
        const problem = relativePathProblem(path);
        if (problem) throw new NodeFailure(`invalid path ${JSON.stringify(path)}: ${problem}`);
      }
    }
    if (paths.length === 0) return 'exec-success';

    const { url, auth: urlAuth } = splitUrlCredentials(givenUrl);
    const token = env.BELLOWS_REPOSITORY_TOKEN ?? '';
    const auth: GitAuth | undefined = job?.auth ?? (token !== '' ? { type: 'basic', username: env.BELLOWS_REPOSITORY_USERNAME || 'x-access-token', password: token } : urlAuth);
    const local = gitOptions(ctx, undefined, [...authSecrets(auth), ...authSecrets(urlAuth)]);
    // The project's credentials came with the job, not from the graph: the fetch carrying them runs in the
    // agent's own environment, so a graph's GIT_TRACE_CURL, GIT_SSH_COMMAND or proxy never sees them.
    const fetchOptions = { ...local, auth, ...(job?.auth ? { env: process.env } : {}) };
    const revision = job?.commitSha || env.BELLOWS_COMMIT_SHA || env.BELLOWS_REF || 'HEAD';
    const scratch = await mkdtemp(join(tmpdir(), 'bellows-repo-'));
    try {
      const gitDir = join(scratch, 'git');
      await runGit(['init', '--quiet', '--bare', gitDir], { ...local, cwd: scratch });
      const commit = await fetchRevision({ gitDir, url, revision, depth: 1, fallbackRef: job?.ref || env.BELLOWS_REF || undefined }, fetchOptions);
      // Paths are file paths, not patterns (literal pathspecs); `*` alone is the whole tree.
      await runGit([`--git-dir=${gitDir}`, `--work-tree=${ctx.host.workDir}`, '--literal-pathspecs', 'checkout', '--quiet', '--force', commit, '--', ...(whole ? ['.'] : paths)], {
        ...local,
        cwd: ctx.host.workDir,
        repository: url,
      });
    } catch (error) {
      throw failure(`repo download from ${url} failed`, error);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
    return 'exec-success';
  },
};

/** Why a path may not be written (empty, absolute, leaving the work directory), or undefined. */
function relativePathProblem(path: string): string | undefined {
  if (path === '') return 'empty path';
  if (isAbsolute(path)) return 'absolute paths not allowed';
  const cleaned = normalize(path);
  if (cleaned === '..' || cleaned.startsWith(`..${sep}`)) return 'path traversal not allowed';
  return undefined;
}

export const gitNodes: readonly NodeDef[] = [gitClone, gitCheckout, gitPull, gitStage, gitCommit, gitPush, repoDownload];
