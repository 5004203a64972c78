// Bare mirrors of repositories, one per URL under a root directory — what Buildkite calls git mirrors.
// The server reads pipeline files and refs from its mirrors; an agent checks jobs out of its own.
//
// - Created by `git clone --mirror` into a temporary directory and renamed into place, so a crash
//   never leaves half a mirror where a complete one is expected.
// - Fetched on demand (`fetch --prune`), at most one fetch per mirror at a time in this process, and
//   callers asking while one runs share its result. Across processes, `lock` (the server passes a
//   PostgreSQL advisory lock) serialises the changes; reads need no lock (objects never change).
// - Credentials are per command (see git.ts): nothing of them reaches the mirror's configuration.

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

type Mirror = { dir: string; fetchedAt: number; inFlight?: Promise<void> };

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

  /** Makes the mirror exist and be at most `maxAgeMs` old. */
  async sync(url: string, options: SyncOptions = {}): Promise<string> {
    const mirror = this.mirrorOf(url);
    // Joining a fetch that is running counts as fresh: it started after this call was made.
    if (mirror.inFlight) {
      await mirror.inFlight;
      return mirror.dir;
    }
    if (Date.now() - mirror.fetchedAt < (options.maxAgeMs ?? 0) && (await exists(mirror.dir))) return mirror.dir;
    const started = Date.now();
    mirror.inFlight = this.locked(url, () => this.update(url, mirror.dir, options))
      .then(() => {
        mirror.fetchedAt = started;
      })
      .finally(() => {
        mirror.inFlight = undefined;
      });
    await mirror.inFlight;
    return mirror.dir;
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
    if (await this.hasCommit(url, sha)) return true;
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
  async resolve(url: string, ref: string): Promise<{ commitSha: string; kind: 'branch' | 'tag' | 'commit' } | undefined> {
    const dir = this.dirFor(url);
    const candidates: Array<[string, 'branch' | 'tag' | 'commit']> = ref === 'HEAD'
      ? [['HEAD', 'branch']]
      : ref.startsWith('refs/')
      ? [[ref, ref.startsWith('refs/tags/') ? 'tag' : 'branch']]
      : [
          [`refs/heads/${ref}`, 'branch'],
          [`refs/tags/${ref}`, 'tag'],
        ];
    if (/^[0-9a-f]{7,64}$/i.test(ref)) candidates.push([ref, 'commit']);
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
    const patterns = ref === undefined ? ['HEAD'] : ref.startsWith('refs/') ? [ref, `${ref}^{}`] : [`refs/heads/${ref}`, `refs/tags/${ref}`, `refs/tags/${ref}^{}`];
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
    for (const [candidate, kind] of [[`refs/heads/${ref}`, 'branch'], [`refs/tags/${ref}`, 'tag'], [ref, ref.startsWith('refs/tags/') ? 'tag' : 'branch']] as const) {
      const sha = found.get(`${candidate}^{}`) ?? found.get(candidate);
      if (sha) return { name: ref, kind, commitSha: sha };
    }
    return undefined;
  }

  /**
   * The commit a branch or tag (or `HEAD`) names in the mirror and a text file at that commit, read by
   * one git process (see withCatFile); undefined when the ref or the file is not there.
   */
  async readAtRef(url: string, ref: string, path: string, maxBytes: number): Promise<{ commitSha: string; kind: 'branch' | 'tag'; content: string } | undefined> {
    const candidates: Array<[string, 'branch' | 'tag']> = ref === 'HEAD'
      ? [['HEAD', 'branch']]
      : ref.startsWith('refs/')
      ? [[ref, ref.startsWith('refs/tags/') ? 'tag' : 'branch']]
      : [
          [`refs/heads/${ref}`, 'branch'],
          [`refs/tags/${ref}`, 'tag'],
        ];
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
    if (size > maxBytes) throw new GitError(`${path} is ${size} bytes; at most ${maxBytes} are read`, 'failed', url, `${path} is ${size} bytes, more than the ${maxBytes} a pipeline may have`, null);
    return text;
  }

  /** Files under `dir` at a commit (recursively), as repository paths. */
  async listFiles(url: string, commitSha: string, under: string): Promise<string[]> {
    const { stdout } = await runGit(['ls-tree', '-r', '--name-only', '--full-tree', commitSha, '--', under], { cwd: this.dirFor(url), repository: url });
    return stdout.split('\n').filter((line) => line !== '');
  }

  /** A clean working tree of `commitSha` at `directory` (an empty or missing directory), sharing the mirror's objects. */
  async checkout(url: string, commitSha: string, directory: string, options: SyncOptions = {}): Promise<void> {
    const dir = this.dirFor(url);
    await this.locked(url, async () => {
      // Job directories are removed after each job; their worktree entries go with this.
      await runGit(['worktree', 'prune'], { cwd: dir, repository: url });
      await runGit(['worktree', 'add', '--detach', '--force', '--quiet', directory, commitSha], { cwd: dir, repository: url, signal: options.signal, timeoutMs: this.timeout });
    });
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
    const names = ref.startsWith('refs/') ? [ref] : [`refs/heads/${ref}`, `refs/tags/${ref}`];
    const { stdout } = await runGit(['for-each-ref', '--format=%(refname)%09%(objectname)%09%(*objectname)', ...names], { cwd: path, repository: url, exactRepository: true });
    const found = new Map(stdout.split('\n').filter(Boolean).map((line) => {
      const [name, object, peeled] = line.split('\t');
      return [name, peeled || object] as const;
    }));
    for (const name of names) {
      const sha = found.get(name);
      if (sha) return { name: ref, kind: name.startsWith('refs/tags/') ? 'tag' : 'branch', commitSha: sha };
    }
    return undefined;
  } catch (error) {
    // An empty repository has no HEAD commit yet: nothing to name.
    if (error instanceof GitError && error.kind === 'failed' && ref === undefined && /does not have any commits|bad default revision|unknown revision/.test(error.reason)) return undefined;
    throw error;
  }
}
