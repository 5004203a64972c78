// Bare mirrors of repositories, one per URL under a root directory — what Buildkite calls git mirrors.
// The server reads pipeline files and refs from its mirrors; an agent checks jobs out of its own.
//
// - Created by `git clone --mirror` into a temporary directory and renamed into place, so a crash
//   never leaves half a mirror where a complete one is expected.
// - Fetched on demand (`fetch --prune`), at most one fetch per mirror at a time in this process (see
//   sync for how callers share one). Across processes, `lock` (the server passes a PostgreSQL advisory
//   lock) serialises the changes; reads need no lock (objects never change).
// - Credentials are per command (see git.ts): nothing of them reaches the mirror's configuration.
// - One set of mirrors per project (ProjectMirrors): a commit fetched with one project's credentials is
//   never served to another project that names the same URL but may not read it.
// - A job's workspace is a repository of its own that borrows the mirror's objects (checkout): the job
//   can change its repository as it likes without reaching the mirror through it.

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GitError, runGit, transportOf, withCatFile, type GitAuth } from './git';

export type MirrorRef = { name: string; kind: 'branch' | 'tag'; commitSha: string };

export type MirrorOptions = {
  /** Runs `work` holding a lock on `key` shared by every process using the same root (the server's advisory lock). */
  lock?: <T>(key: string, work: () => Promise<T>) => Promise<T>;
  /** Limit for a clone or fetch; default 10 minutes. */
  timeoutMs?: number;
};

export type SyncOptions = {
  auth?: GitAuth;
  /** A fetch younger than this is fresh enough (0: fetch now, or join the fetch in flight). */
  maxAgeMs?: number;
  signal?: AbortSignal;
};

const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;

type Mirror = {
  dir: string;
  /** When the last fetch that succeeded started (what it saw is at least that recent). */
  fetchedAt: number;
  /** The fetch running now. */
  inFlight?: Promise<void>;
  /** The one fetch waiting for inFlight to end, for callers that need more than inFlight can see. */
  queued?: Promise<void>;
};

type RefKind = 'branch' | 'tag';

/**
 * The names `ref` may mean, in the order they win: `HEAD` is the default branch, a full `refs/…` name is
 * itself, anything else a branch before a tag of the same name (as git's own rev-parse rules put them).
 */
function refCandidates(ref: string): Array<[string, RefKind]> {
  if (ref === 'HEAD') return [['HEAD', 'branch']];
  if (ref.startsWith('refs/')) return [[ref, ref.startsWith('refs/tags/') ? 'tag' : 'branch']];
  return [
    [`refs/heads/${ref}`, 'branch'],
    [`refs/tags/${ref}`, 'tag'],
  ];
}

const COMMIT_ID = /^[0-9a-f]{7,64}$/i;

/**
 * One GitMirrors per project, under `<root>/<project>`: projects that name the same URL get mirrors of
 * their own, so what one project's credentials fetched is never served to a job of another.
 */
export class ProjectMirrors {
  private readonly byProject = new Map<string, GitMirrors>();

  constructor(
    readonly root: string,
    private readonly options: MirrorOptions = {},
  ) {}

  /** The mirrors of project `projectId` (its immutable id, not the slug a new project could take over). */
  of(projectId: string): GitMirrors {
    let mirrors = this.byProject.get(projectId);
    if (!mirrors) this.byProject.set(projectId, (mirrors = new GitMirrors(join(this.root, projectDirectoryName(projectId)), this.options)));
    return mirrors;
  }
}

/** A project id as one directory name: itself when it is one already (a UUID), a hash of it otherwise. */
function projectDirectoryName(projectId: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(projectId) ? projectId : `id-${createHash('sha256').update(projectId).digest('hex').slice(0, 32)}`;
}

export class GitMirrors {
  private readonly mirrors = new Map<string, Mirror>();

  constructor(
    readonly root: string,
    private readonly options: MirrorOptions = {},
  ) {}

  /** The mirror directory of `url` (it may not exist yet). */
  dirFor(url: string): string {
    return join(this.root, `${createHash('sha256').update(url).digest('hex').slice(0, 32)}.git`);
  }

  /**
   * Makes the mirror exist and be at most `maxAgeMs` old. With a maxAgeMs above 0 a caller joins the
   * fetch in flight (it ends fresher than asked). With 0 the caller needs a fetch that starts after its
   * call (a push it was told about must be seen), which the one in flight did not: the caller waits
   * for it and then for one more, shared by every caller that arrived meanwhile (at most one queued).
   */
  async sync(url: string, options: SyncOptions = {}): Promise<string> {
    const mirror = this.mirrorOf(url);
    const maxAgeMs = options.maxAgeMs ?? 0;
    if (maxAgeMs > 0 && mirror.inFlight) {
      await untilAborted(mirror.inFlight, options.signal, url);
      return mirror.dir;
    }
    if (maxAgeMs > 0 && Date.now() - mirror.fetchedAt < maxAgeMs && (await exists(mirror.dir))) return mirror.dir;
    const fetch = this.fetchAfterNow(url, mirror, options);
    try {
      await untilAborted(fetch, options.signal, url);
    } catch (error) {
      // The shared fetch carried another caller's signal, which fired: that cancels nobody else.
      if (!(error instanceof GitError) || error.kind !== 'cancelled' || options.signal?.aborted) throw error;
      await untilAborted(this.fetchAfterNow(url, mirror, options), options.signal, url);
    }
    return mirror.dir;
  }

  /** A fetch that starts no earlier than now: a new one, or the one queued behind the fetch in flight. */
  private fetchAfterNow(url: string, mirror: Mirror, options: SyncOptions): Promise<void> {
    const start = (): Promise<void> => {
      const started = Date.now();
      const fetch: Promise<void> = this.locked(url, () => this.update(url, mirror.dir, options))
        .then(() => {
          mirror.fetchedAt = Math.max(mirror.fetchedAt, started);
        })
        .finally(() => {
          if (mirror.inFlight === fetch) mirror.inFlight = undefined;
        });
      mirror.inFlight = fetch;
      return fetch;
    };
    if (!mirror.inFlight) return start();
    mirror.queued ??= mirror.inFlight
      .catch(() => undefined)
      .then(() => {
        mirror.queued = undefined;
        return start();
      });
    return mirror.queued;
  }

  /** Whether the mirror of `url` exists yet. */
  async hasMirror(url: string): Promise<boolean> {
    return exists(this.dirFor(url));
  }

  /** Whether the mirror holds commit `sha` already (no network). */
  async hasCommit(url: string, sha: string): Promise<boolean> {
    const dir = this.dirFor(url);
    if (!(await exists(dir))) return false;
    try {
      await runGit(['cat-file', '-e', `${sha}^{commit}`], { cwd: dir, repository: url });
      return true;
    } catch (error) {
      if (error instanceof GitError && error.kind === 'failed') return false;
      throw error;
    }
  }

  /** Makes sure commit `sha` is in the mirror: a fetch when it is not there yet; false if it still is not. */
  async ensureCommit(url: string, sha: string, options: SyncOptions = {}): Promise<boolean> {
    return (await this.hasCommit(url, sha)) || this.fetchCommit(url, sha, options);
  }

  /** Fetches commit `sha`, which the mirror does not hold yet (hasCommit said so); false if it still does not. */
  async fetchCommit(url: string, sha: string, options: SyncOptions = {}): Promise<boolean> {
    if (!COMMIT_ID.test(sha)) return false;
    await this.sync(url, { ...options, maxAgeMs: 0 });
    if (await this.hasCommit(url, sha)) return true;
    // Servers that allow it hand out a commit no ref points to any more (a force-pushed branch).
    try {
      await this.locked(url, () => runGit(['fetch', '--quiet', 'origin', sha], { cwd: this.dirFor(url), repository: url, auth: options.auth, signal: options.signal, timeoutMs: this.timeout }));
    } catch (error) {
      if (!(error instanceof GitError) || error.kind !== 'failed') throw error;
    }
    return this.hasCommit(url, sha);
  }

  /** Branches and tags with the commits they point to (tags peeled), sorted by name. */
  async refs(url: string): Promise<MirrorRef[]> {
    const { stdout } = await runGit(['for-each-ref', '--format=%(refname)%09%(objectname)%09%(*objectname)', 'refs/heads', 'refs/tags'], { cwd: this.dirFor(url), repository: url });
    const refs: MirrorRef[] = [];
    for (const line of stdout.split('\n')) {
      const [refname, object, peeled] = line.split('\t');
      if (!refname) continue;
      const kind = refname.startsWith('refs/heads/') ? 'branch' : 'tag';
      refs.push({ name: refname.replace(/^refs\/(heads|tags)\//, ''), kind, commitSha: peeled || object });
    }
    return refs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The branch the remote's HEAD named when the mirror was made (or undefined for an empty repository). */
  async defaultBranch(url: string): Promise<string | undefined> {
    try {
      const { stdout } = await runGit(['symbolic-ref', '--quiet', 'HEAD'], { cwd: this.dirFor(url), repository: url });
      return stdout.trim().replace(/^refs\/heads\//, '') || undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The commit a ref names: a branch first, then a tag, then a commit id (full or abbreviated), or
   * `HEAD` (the default branch); undefined when it names nothing in the mirror.
   */
  async resolve(url: string, ref: string): Promise<{ commitSha: string; kind: RefKind | 'commit' } | undefined> {
    const dir = this.dirFor(url);
    const candidates: Array<[string, RefKind | 'commit']> = refCandidates(ref);
    if (COMMIT_ID.test(ref)) candidates.push([ref, 'commit']);
    for (const [name, kind] of candidates) {
      try {
        const { stdout } = await runGit(['rev-parse', '--verify', '--quiet', '--end-of-options', `${name}^{commit}`], { cwd: dir, repository: url });
        const commitSha = stdout.trim();
        if (commitSha) return { commitSha, kind };
      } catch (error) {
        if (!(error instanceof GitError) || error.kind !== 'failed') throw error;
      }
    }
    return undefined;
  }

  /**
   * What `ref` (or, without one, the remote's HEAD) names on the remote right now: one `ls-remote`, no
   * pack transfer, so a trigger sees the latest push without fetching. Undefined when it names nothing.
   */
  async remoteRef(url: string, ref: string | undefined, options: SyncOptions = {}): Promise<{ name: string; kind: 'branch' | 'tag'; commitSha: string } | undefined> {
    if (transportOf(url) === 'file') return localRef(fileURLToPath(url), url, ref);
    const patterns = ref === undefined ? ['HEAD'] : refCandidates(ref).flatMap(([name]) => [name, `${name}^{}`]);
    const args = ['ls-remote', ...(ref === undefined ? ['--symref'] : []), '--', url, ...patterns];
    await mkdir(this.root, { recursive: true });
    const { stdout } = await runGit(args, { cwd: this.root, repository: url, auth: options.auth, signal: options.signal, timeoutMs: this.timeout });
    const found = new Map<string, string>();
    let head: string | undefined;
    for (const line of stdout.split('\n')) {
      const [left, name] = line.split('\t');
      if (!name) continue;
      if (left.startsWith('ref: ')) head = left.slice(5);
      else found.set(name, left);
    }
    if (ref === undefined) {
      const sha = found.get('HEAD');
      return sha && head ? { name: head.replace(/^refs\/heads\//, ''), kind: 'branch', commitSha: sha } : undefined;
    }
    // A branch wins over a tag of the same name; an annotated tag names the commit it points at.
    for (const [candidate, kind] of refCandidates(ref)) {
      const sha = found.get(`${candidate}^{}`) ?? found.get(candidate);
      if (sha) return { name: ref, kind, commitSha: sha };
    }
    return undefined;
  }

  /**
   * The commit a branch or tag (or `HEAD`) names in the mirror and a text file at that commit, read by
   * one git process (see withCatFile); undefined when the ref or the file is not there.
   */
  async readAtRef(url: string, ref: string, path: string, maxBytes: number): Promise<{ commitSha: string; kind: RefKind; content: string } | undefined> {
    const candidates = refCandidates(ref);
    // A commit object is its header and message: kilobytes, but a generated message can be long.
    return withCatFile({ cwd: this.dirFor(url), repository: url, maxObjectBytes: 16 * 1024 * 1024 }, async (ask) => {
      for (const [name, kind] of candidates) {
        const commit = await ask(`${name}^{commit}`);
        if (!commit) continue;
        // The file is named by the commit id just read, so it belongs to that commit even if a fetch moves the ref meanwhile.
        const file = await ask(`${commit.oid}:${path}`, maxBytes);
        return file?.type === 'blob' ? { commitSha: commit.oid, kind, content: file.content.toString('utf8') } : undefined;
      }
      return undefined;
    });
  }

  /** A text file at a commit (one `cat-file`); undefined when the mirror has no such commit or file. */
  async readFile(url: string, commitSha: string, path: string, maxBytes: number): Promise<string | undefined> {
    let text: string;
    try {
      text = (await runGit(['cat-file', 'blob', `${commitSha}:${path}`], { cwd: this.dirFor(url), repository: url })).stdout;
    } catch (error) {
      if (error instanceof GitError && error.kind === 'failed') return undefined;
      throw error;
    }
    const size = Buffer.byteLength(text);
    if (size > maxBytes) throw new GitError('cat-file', 'failed', url, `${path} is ${size} bytes; at most ${maxBytes} are read`, null);
    return text;
  }

  /** Files under `dir` at a commit (recursively), as repository paths. */
  async listFiles(url: string, commitSha: string, under: string): Promise<string[]> {
    const { stdout } = await runGit(['ls-tree', '-r', '--name-only', '--full-tree', commitSha, '--', under], { cwd: this.dirFor(url), repository: url });
    return stdout.split('\n').filter((line) => line !== '');
  }

  /**
   * A clean checkout of `commitSha` at `directory` (an empty or missing directory): a repository of its
   * own (`clone --shared`) that reads the mirror's objects through objects/info/alternates and writes its
   * own, with `origin` the repository's URL (no credentials: a job's own push or fetch authenticates as its
   * steps decide) and HEAD detached at the commit, as actions/checkout leaves it. Nothing the job does in
   * its repository (config, hooks, refs, objects) reaches the mirror; a `git worktree` of the mirror would
   * have shared its config and refs with every later job.
   */
  async checkout(url: string, commitSha: string, directory: string, options: Pick<SyncOptions, 'signal'> = {}): Promise<void> {
    if (!COMMIT_ID.test(commitSha)) throw new GitError('checkout', 'failed', url, `"${commitSha}" is not a commit id`, null);
    const local = { repository: url, signal: options.signal, timeoutMs: this.timeout };
    await mkdir(directory, { recursive: true });
    await runGit(['clone', '--shared', '--no-checkout', '--quiet', '--', this.dirFor(url), directory], { cwd: directory, ...local });
    await runGit(['remote', 'set-url', 'origin', url], { cwd: directory, exactRepository: true, ...local });
    await runGit(['checkout', '--quiet', '--detach', commitSha], { cwd: directory, exactRepository: true, ...local });
  }

  private get timeout(): number {
    return this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  private mirrorOf(url: string): Mirror {
    let mirror = this.mirrors.get(url);
    if (!mirror) this.mirrors.set(url, (mirror = { dir: this.dirFor(url), fetchedAt: 0 }));
    return mirror;
  }

  private locked<T>(url: string, work: () => Promise<T>): Promise<T> {
    return this.options.lock ? this.options.lock(this.dirFor(url), work) : work();
  }

  private async update(url: string, dir: string, options: SyncOptions): Promise<void> {
    const common = { repository: url, auth: options.auth, signal: options.signal, timeoutMs: this.timeout };
    if (await exists(dir)) {
      await runGit(['fetch', '--prune', '--quiet', 'origin'], { cwd: dir, ...common });
      return;
    }
    await mkdir(this.root, { recursive: true });
    const partial = `${dir}.partial-${randomBytes(4).toString('hex')}`;
    try {
      await runGit(['clone', '--mirror', '--quiet', '--', url, partial], { cwd: this.root, ...common });
      try {
        await rename(partial, dir);
      } catch (error) {
        // Another process finished the same mirror first: theirs is as good as ours.
        if (!(await exists(dir))) throw error;
      }
    } finally {
      await rm(partial, { recursive: true, force: true });
    }
  }
}

/** `work`, or a 'cancelled' GitError as soon as `signal` fires (the work itself goes on for its other callers). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined, url: string): Promise<T> {
  if (!signal) return work;
  const cancelled = (): GitError => new GitError('fetch', 'cancelled', url, 'cancelled', null);
  if (signal.aborted) return Promise.reject(cancelled());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(cancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * remoteRef for a repository on this machine: its refs read directly (one git process) rather than
 * through the upload-pack protocol (three), as git itself treats local clones specially.
 */
async function localRef(path: string, url: string, ref: string | undefined): Promise<{ name: string; kind: 'branch' | 'tag'; commitSha: string } | undefined> {
  try {
    if (ref === undefined) {
      const { stdout } = await runGit(['log', '-1', '--format=%H %D', 'HEAD', '--'], { cwd: path, repository: url, exactRepository: true });
      const [sha, decorations = ''] = stdout.trim().split(/ (.*)/);
      const branch = /HEAD -> ([^,]+)/.exec(decorations)?.[1];
      return sha && branch ? { name: branch, kind: 'branch', commitSha: sha } : undefined;
    }
    const candidates = refCandidates(ref);
    const { stdout } = await runGit(['for-each-ref', '--format=%(refname)%09%(objectname)%09%(*objectname)', ...candidates.map(([name]) => name)], { cwd: path, repository: url, exactRepository: true });
    const found = new Map(stdout.split('\n').filter(Boolean).map((line) => {
      const [name, object, peeled] = line.split('\t');
      return [name, peeled || object] as const;
    }));
    for (const [name, kind] of candidates) {
      const sha = found.get(name);
      if (sha) return { name: ref, kind, commitSha: sha };
    }
    return undefined;
  } catch (error) {
    // An empty repository has no HEAD commit yet: nothing to name.
    if (error instanceof GitError && error.kind === 'failed' && ref === undefined && /does not have any commits|bad default revision|unknown revision/.test(error.reason)) return undefined;
    throw error;
  }
}
