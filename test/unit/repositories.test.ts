// Repository rules (pure) and git mirrors (real git, repositories made by the test).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GitMirrors, ProjectMirrors } from '../../agent/git/git-mirror';
import { checkRepository, credentialsFor, pipelinePathProblem, refProblem } from '../../src/repositories/repository-spec';
import { startGitHttpServer } from '../support/git-http-server';
import { createTestRepository, git, type TestRepository } from '../support/git-repository';

const leftovers: Array<() => void> = [];
afterAll(() => {
  for (const remove of leftovers) remove();
});

/** A directory for one test, removed when the file's tests are done. */
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  leftovers.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A repository with `main` (a README and .bellows/build.sh, tagged v1) and `feature` (build.sh changed). */
function makeRemote(): { work: string; url: string; main: string; feature: string; repo: TestRepository } {
  const repo = createTestRepository();
  leftovers.push(() => repo.remove());
  const main = repo.commit({ README: 'main readme\n', '.bellows/build.sh': 'echo main\n' }, 'one');
  git(repo.clone, 'tag', '-a', 'v1', '-m', 'v1');
  repo.push('main', '--tags');
  repo.checkout('feature');
  const feature = repo.commit({ '.bellows/build.sh': 'echo feature\n' }, 'two');
  repo.push('feature');
  return { work: repo.clone, url: repo.url, main, feature, repo };
}

/** A one-commit repository served over smart HTTP that only user alice (token s3cret-token) may read. */
async function withPrivateRemote(test: (remote: { url: string; sha: string }) => Promise<void>): Promise<void> {
  const repo = createTestRepository('private');
  leftovers.push(() => repo.remove());
  const sha = repo.commit({ README: 'private\n' }, 'one');
  repo.push('main');
  const server = await startGitHttpServer(repo.root, { alice: 's3cret-token' });
  try {
    await test({ url: `${server.base}/private.git`, sha });
  } finally {
    await server.close();
  }
}

describe('repository rules', () => {
  it('accepts https, ssh, scp-style and git URLs; file:// only where allowed', () => {
    for (const url of ['https://github.com/a/b.git', 'http://127.0.0.1:8080/x.git', 'ssh://git@host/x.git', 'git@github.com:a/b.git', 'git://host/x']) {
      expect(checkRepository({ url }, false), url).toMatchObject({ ok: true, value: { url } });
    }
    expect(checkRepository({ url: 'file:///srv/repo.git' }, false)).toMatchObject({ ok: false, problem: expect.stringContaining('BELLOWS_ALLOW_FILE_REPOSITORIES') });
    expect(checkRepository({ url: 'file:///srv/repo.git' }, true)).toMatchObject({ ok: true });
  });

  it('refuses credentials in the URL, relative paths, odd schemes and bad names', () => {
    expect(checkRepository({ url: 'https://user:tok@host/x.git' }, true)).toMatchObject({ ok: false, problem: expect.stringContaining('credentialsSecret') });
    expect(checkRepository({ url: '/srv/repo' }, true)).toMatchObject({ ok: false });
    expect(checkRepository({ url: 'ftp://host/x' }, true)).toMatchObject({ ok: false });
    expect(checkRepository({ url: '--upload-pack=evil' }, true)).toMatchObject({ ok: false });
    expect(checkRepository({ url: 'https://h/x', defaultBranch: 'a..b' }, true)).toMatchObject({ ok: false, problem: expect.stringContaining('defaultBranch') });
    expect(checkRepository({ url: 'https://h/x', credentialsSecret: 'not-a-name' }, true)).toMatchObject({ ok: false, problem: expect.stringContaining('credentialsSecret') });
  });

  it('keeps pipeline paths inside the repository', () => {
    expect(pipelinePathProblem('.bellows/build.act')).toBeUndefined();
    expect(pipelinePathProblem('ci/x.sh')).toBeUndefined();
    expect(pipelinePathProblem('../x.act')).toMatch(/leaves the repository/);
    expect(pipelinePathProblem('a/../../x')).toMatch(/leaves the repository/);
    expect(pipelinePathProblem('/etc/passwd')).toMatch(/absolute/);
    expect(pipelinePathProblem('a\u0000b')).toMatch(/NUL/);
    expect(pipelinePathProblem('')).toMatch(/non-empty/);
    expect(pipelinePathProblem('dir/')).toMatch(/directory/);
  });

  it('checks refs as git would', () => {
    expect(refProblem('feature/x')).toBeUndefined();
    expect(refProblem('v1.2.3')).toBeUndefined();
    for (const bad of ['-x', 'a..b', 'a b', 'x.lock', 'a:b', 'a~1', '']) expect(refProblem(bad), bad).toBeDefined();
  });

  it('turns a secret into credentials for the URL’s transport', () => {
    expect(credentialsFor('https://h/x', 'tok')).toEqual({ type: 'basic', username: 'x-access-token', password: 'tok' });
    expect(credentialsFor('https://h/x', 'ann:pw')).toEqual({ type: 'basic', username: 'ann', password: 'pw' });
    expect(credentialsFor('git@h:x', '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----')).toMatchObject({ type: 'ssh' });
    expect(credentialsFor('file:///x', 'tok')).toBeUndefined();
    expect(credentialsFor('https://h/x', undefined)).toBeUndefined();
  });
});

describe('git mirrors', () => {
  it('mirrors a repository, lists branches and tags, resolves refs and reads files at a commit', async () => {
    const remote = makeRemote();
    const mirrors = new GitMirrors(tempDir('bellows-mirrors-'));
    await mirrors.sync(remote.url);
    expect(await mirrors.defaultBranch(remote.url)).toBe('main');
    expect(await mirrors.refs(remote.url)).toEqual([
      { name: 'feature', kind: 'branch', commitSha: remote.feature },
      { name: 'main', kind: 'branch', commitSha: remote.main },
      // An annotated tag names the commit it is on, not the tag object.
      { name: 'v1', kind: 'tag', commitSha: remote.main },
    ]);
    expect(await mirrors.resolve(remote.url, 'feature')).toEqual({ commitSha: remote.feature, kind: 'branch' });
    expect(await mirrors.resolve(remote.url, 'v1')).toEqual({ commitSha: remote.main, kind: 'tag' });
    expect(await mirrors.resolve(remote.url, remote.feature.slice(0, 10))).toEqual({ commitSha: remote.feature, kind: 'commit' });
    expect(await mirrors.resolve(remote.url, 'nope')).toBeUndefined();
    expect(await mirrors.readFile(remote.url, remote.main, '.bellows/build.sh', 1024)).toBe('echo main\n');
    expect(await mirrors.readFile(remote.url, remote.feature, '.bellows/build.sh', 1024)).toBe('echo feature\n');
    expect(await mirrors.readFile(remote.url, remote.main, 'missing.act', 1024)).toBeUndefined();
    expect(await mirrors.listFiles(remote.url, remote.main, '.bellows')).toEqual(['.bellows/build.sh']);
  });

  it('reads a ref and a file at its commit in one git process: branches before tags, HEAD, nothing for a missing ref, file or directory', async () => {
    const remote = makeRemote();
    const mirrors = new GitMirrors(tempDir('bellows-mirrors-'));
    await mirrors.sync(remote.url);
    expect(await mirrors.readAtRef(remote.url, 'feature', '.bellows/build.sh', 1024)).toEqual({ commitSha: remote.feature, kind: 'branch', content: 'echo feature\n' });
    expect(await mirrors.readAtRef(remote.url, 'HEAD', '.bellows/build.sh', 1024)).toEqual({ commitSha: remote.main, kind: 'branch', content: 'echo main\n' });
    expect(await mirrors.readAtRef(remote.url, 'v1', 'README', 1024)).toEqual({ commitSha: remote.main, kind: 'tag', content: 'main readme\n' });
    expect(await mirrors.readAtRef(remote.url, 'refs/heads/main', 'README', 1024)).toMatchObject({ commitSha: remote.main });
    expect(await mirrors.readAtRef(remote.url, 'nope', 'README', 1024)).toBeUndefined();
    expect(await mirrors.readAtRef(remote.url, 'main', 'missing.act', 1024)).toBeUndefined();
    expect(await mirrors.readAtRef(remote.url, 'main', '.bellows', 1024)).toBeUndefined();
    expect(await mirrors.readAtRef(remote.url, 'main', 'line\nbreak', 1024)).toBeUndefined();
    // Too large to be a pipeline: refused without reading it into memory.
    await expect(mirrors.readAtRef(remote.url, 'main', 'README', 4)).rejects.toThrow(/12 bytes; at most 4/);
  });

  it('asks the remote what a ref names now, without fetching: branches before tags, annotated tags peeled, HEAD for none', async () => {
    const remote = makeRemote();
    const mirrors = new GitMirrors(tempDir('bellows-mirrors-'));
    expect(await mirrors.remoteRef(remote.url, undefined)).toEqual({ name: 'main', kind: 'branch', commitSha: remote.main });
    expect(await mirrors.remoteRef(remote.url, 'feature')).toEqual({ name: 'feature', kind: 'branch', commitSha: remote.feature });
    expect(await mirrors.remoteRef(remote.url, 'v1')).toEqual({ name: 'v1', kind: 'tag', commitSha: remote.main });
    expect(await mirrors.remoteRef(remote.url, 'refs/heads/main')).toEqual({ name: 'refs/heads/main', kind: 'branch', commitSha: remote.main });
    expect(await mirrors.remoteRef(remote.url, 'nope')).toBeUndefined();
    // Nothing was fetched: the mirror does not even exist yet.
    expect(await mirrors.hasMirror(remote.url)).toBe(false);
  });

  it('fetches new commits, and makes one mirror when many ask at once', async () => {
    const remote = makeRemote();
    const root = tempDir('bellows-mirrors-');
    const mirrors = new GitMirrors(root);
    // Cold: five at once end with one complete mirror and nothing half-made left behind.
    await Promise.all(Array.from({ length: 5 }, () => mirrors.sync(remote.url)));
    expect(readdirSync(root)).toEqual([mirrors.dirFor(remote.url).split('/').pop()]);
    remote.repo.checkout('main');
    const newMain = remote.repo.commit({ README: 'changed\n' }, 'three');
    remote.repo.push('main');
    expect(await mirrors.hasCommit(remote.url, newMain)).toBe(false);
    // A fresh-enough mirror is not fetched again; maxAge 0 is.
    await mirrors.sync(remote.url, { maxAgeMs: 60_000 });
    expect(await mirrors.hasCommit(remote.url, newMain)).toBe(false);
    await mirrors.sync(remote.url, { maxAgeMs: 0 });
    expect((await mirrors.resolve(remote.url, 'main'))?.commitSha).toBe(newMain);
  });

  it('checks a commit out into a clean workspace, again and again from the same mirror', async () => {
    const remote = makeRemote();
    const mirrors = new GitMirrors(tempDir('bellows-mirrors-'));
    const jobs = tempDir('bellows-jobs-');
    expect(await mirrors.ensureCommit(remote.url, remote.feature)).toBe(true);
    const first = join(jobs, 'one');
    await mirrors.checkout(remote.url, remote.feature, first);
    expect(readFileSync(join(first, '.bellows', 'build.sh'), 'utf8')).toBe('echo feature\n');
    expect(git(first, 'rev-parse', 'HEAD')).toBe(remote.feature);
    expect(git(first, 'status', '--porcelain')).toBe('');
    // The job directory goes away after the job; the next checkout of the same path still works.
    execFileSync('rm', ['-rf', first]);
    await mirrors.checkout(remote.url, remote.main, first);
    expect(readFileSync(join(first, '.bellows', 'build.sh'), 'utf8')).toBe('echo main\n');
    expect(existsSync(join(first, '.git'))).toBe(true);
  });

  it('gives each workspace a repository of its own: origin is the clean URL, a push reaches the remote, nothing the job does reaches the mirror', async () => {
    const remote = makeRemote();
    const mirrors = new GitMirrors(tempDir('bellows-mirrors-'));
    const jobs = tempDir('bellows-jobs-');
    await mirrors.sync(remote.url);
    const mirrorDir = mirrors.dirFor(remote.url);
    const snapshot = (): string => [readFileSync(join(mirrorDir, 'config'), 'utf8'), git(mirrorDir, 'for-each-ref', '--format=%(refname) %(objectname)'), git(mirrorDir, 'count-objects', '-v')].join('\n');
    const before = snapshot();

    const one = join(jobs, 'one');
    const two = join(jobs, 'two');
    await mirrors.checkout(remote.url, remote.main, one);
    await mirrors.checkout(remote.url, remote.feature, two);
    expect(git(one, 'remote', 'get-url', 'origin')).toBe(remote.url);
    expect(git(one, 'rev-parse', 'HEAD')).toBe(remote.main);
    expect(git(two, 'rev-parse', 'HEAD')).toBe(remote.feature);

    // A hostile job: its repository's config, hooks, refs and objects rewritten.
    git(one, 'remote', 'set-url', 'origin', '/elsewhere');
    git(one, 'config', 'core.hooksPath', '/tmp/evil-hooks');
    git(one, 'config', '--add', 'remote.origin.fetch', '+refs/heads/*:refs/heads/*');
    git(one, 'update-ref', 'refs/heads/planted', remote.feature);
    execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: one, input: 'planted object\n' });
    expect(snapshot()).toBe(before);
    // The other workspace of the same mirror is untouched by all that.
    expect(git(two, 'remote', 'get-url', 'origin')).toBe(remote.url);
    expect(git(two, 'rev-parse', 'HEAD')).toBe(remote.feature);

    // A job's own push goes to the real remote.
    git(two, 'checkout', '--quiet', '-b', 'from-job');
    writeFileSync(join(two, 'job.txt'), 'made by a job\n');
    git(two, 'add', 'job.txt');
    git(two, 'commit', '--quiet', '-m', 'job');
    git(two, 'push', '--quiet', 'origin', 'from-job');
    expect(git(remote.repo.bare, 'rev-parse', 'refs/heads/from-job')).toBe(git(two, 'rev-parse', 'HEAD'));
    expect(snapshot()).toBe(before);
  });

  it('keeps credentials out of the workspace and the mirror configuration', async () => {
    await withPrivateRemote(async ({ url, sha }) => {
      const mirrors = new GitMirrors(tempDir('bellows-mirrors-'));
      expect(await mirrors.ensureCommit(url, sha, { auth: { type: 'basic', username: 'alice', password: 's3cret-token' } })).toBe(true);
      const workspace = join(tempDir('bellows-jobs-'), 'w');
      await mirrors.checkout(url, sha, workspace);
      expect(git(workspace, 'remote', 'get-url', 'origin')).toBe(url);
      for (const config of [join(workspace, '.git', 'config'), join(mirrors.dirFor(url), 'config')]) {
        const text = readFileSync(config, 'utf8');
        expect(text).not.toContain('s3cret-token');
        expect(text).not.toContain(Buffer.from('alice:s3cret-token').toString('base64'));
      }
    });
  });

  it('keeps one set of mirrors per project: the same URL in two projects is two mirrors, and B must prove access itself', async () => {
    await withPrivateRemote(async ({ url, sha }) => {
      const projects = new ProjectMirrors(tempDir('bellows-mirrors-'));
      const a = projects.of('11111111-aaaa-4aaa-8aaa-111111111111');
      const b = projects.of('22222222-bbbb-4bbb-8bbb-222222222222');
      expect(projects.of('11111111-aaaa-4aaa-8aaa-111111111111')).toBe(a);
      expect(a.dirFor(url)).not.toBe(b.dirFor(url));
      // An id that is no safe directory name still stays under the root.
      expect(projects.of('../../etc').root.startsWith(projects.root + '/')).toBe(true);
      expect(projects.of('../../etc').root).not.toContain('..');

      expect(await a.ensureCommit(url, sha, { auth: { type: 'basic', username: 'alice', password: 's3cret-token' } })).toBe(true);
      expect(await b.hasCommit(url, sha)).toBe(false);
      await expect(b.ensureCommit(url, sha)).rejects.toMatchObject({ kind: 'auth' });
      await expect(b.ensureCommit(url, sha, { auth: { type: 'basic', username: 'alice', password: 'wrong-token' } })).rejects.toMatchObject({ kind: 'auth' });
      expect(await b.hasCommit(url, sha)).toBe(false);
    });
  });

  it('a sync with maxAge 0 that arrives while an older fetch runs waits for one more fetch, shared by all that arrived meanwhile', async () => {
    const remote = makeRemote();
    let fetches = 0;
    let firstFetched: () => void = () => undefined;
    const fetched = new Promise<void>((resolve) => (firstFetched = resolve));
    let releaseFirst: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (releaseFirst = resolve));
    const mirrors = new GitMirrors(tempDir('bellows-mirrors-'), {
      // The first fetch runs git, then holds on until the later callers have arrived.
      lock: async (_key, work) => {
        const number = ++fetches;
        const result = await work();
        if (number === 1) {
          firstFetched();
          await released;
        }
        return result;
      },
    });
    const first = mirrors.sync(remote.url, { maxAgeMs: 0 });
    await fetched;
    remote.repo.checkout('main');
    const pushed = remote.repo.commit({ README: 'pushed while fetching\n' }, 'three');
    remote.repo.push('main');
    const later = [mirrors.sync(remote.url, { maxAgeMs: 0 }), mirrors.sync(remote.url, { maxAgeMs: 0 })];
    releaseFirst();
    await first;
    await Promise.all(later);
    expect((await mirrors.resolve(remote.url, 'main'))?.commitSha).toBe(pushed);
    // One fetch for the first caller, one for both later ones.
    expect(fetches).toBe(2);
  });

  it('says so when a commit is not in the repository', async () => {
    const remote = makeRemote();
    const mirrors = new GitMirrors(tempDir('bellows-mirrors-'));
    expect(await mirrors.ensureCommit(remote.url, 'f'.repeat(40))).toBe(false);
  });
});
