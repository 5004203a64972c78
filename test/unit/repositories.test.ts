// Repository rules (pure) and git mirrors (real git, repositories made by the test).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GitMirrors } from '../../agent/git/git-mirror';
import { checkRepository, credentialsFor, pipelinePathProblem, refProblem } from '../../src/repositories/repository-spec';
import { createTestRepository, git, type TestRepository } from '../support/git-repository';

/** A repository with `main` (a README and .bellows/build.sh, tagged v1) and `feature` (build.sh changed). */
function makeRemote(): { work: string; url: string; main: string; feature: string; repo: TestRepository } {
  const repo = createTestRepository();
  const main = repo.commit({ README: 'main readme\n', '.bellows/build.sh': 'echo main\n' }, 'one');
  git(repo.clone, 'tag', '-a', 'v1', '-m', 'v1');
  repo.push('main', '--tags');
  repo.checkout('feature');
  const feature = repo.commit({ '.bellows/build.sh': 'echo feature\n' }, 'two');
  repo.push('feature');
  return { work: repo.clone, url: repo.url, main, feature, repo };
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
    const mirrors = new GitMirrors(mkdtempSync(join(tmpdir(), 'bellows-mirrors-')));
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
    const mirrors = new GitMirrors(mkdtempSync(join(tmpdir(), 'bellows-mirrors-')));
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
    const mirrors = new GitMirrors(mkdtempSync(join(tmpdir(), 'bellows-mirrors-')));
    expect(await mirrors.remoteRef(remote.url, undefined)).toEqual({ name: 'main', kind: 'branch', commitSha: remote.main });
    expect(await mirrors.remoteRef(remote.url, 'feature')).toEqual({ name: 'feature', kind: 'branch', commitSha: remote.feature });
    expect(await mirrors.remoteRef(remote.url, 'v1')).toEqual({ name: 'v1', kind: 'tag', commitSha: remote.main });
    expect(await mirrors.remoteRef(remote.url, 'refs/heads/main')).toEqual({ name: 'refs/heads/main', kind: 'branch', commitSha: remote.main });
    expect(await mirrors.remoteRef(remote.url, 'nope')).toBeUndefined();
    // Nothing was fetched: the mirror does not even exist yet.
    expect(await mirrors.hasMirror(remote.url)).toBe(false);
  });

  it('fetches new commits, shares one fetch between concurrent callers, and makes one mirror when many ask at once', async () => {
    const remote = makeRemote();
    const root = mkdtempSync(join(tmpdir(), 'bellows-mirrors-'));
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

  it('checks a commit out into a clean worktree, again and again from the same mirror', async () => {
    const remote = makeRemote();
    const mirrors = new GitMirrors(mkdtempSync(join(tmpdir(), 'bellows-mirrors-')));
    const jobs = mkdtempSync(join(tmpdir(), 'bellows-jobs-'));
    expect(await mirrors.ensureCommit(remote.url, remote.feature)).toBe(true);
    const first = join(jobs, 'one');
    await mirrors.checkout(remote.url, remote.feature, first);
    expect(readFileSync(join(first, '.bellows', 'build.sh'), 'utf8')).toBe('echo feature\n');
    expect(git(first, 'rev-parse', 'HEAD')).toBe(remote.feature);
    // The job directory goes away after the job; the next checkout of the same path still works.
    execFileSync('rm', ['-rf', first]);
    await mirrors.checkout(remote.url, remote.main, first);
    expect(readFileSync(join(first, '.bellows', 'build.sh'), 'utf8')).toBe('echo main\n');
    expect(existsSync(join(first, '.git'))).toBe(true);
  });

  it('says so when a commit is not in the repository', async () => {
    const remote = makeRemote();
    const mirrors = new GitMirrors(mkdtempSync(join(tmpdir(), 'bellows-mirrors-')));
    expect(await mirrors.ensureCommit(remote.url, 'f'.repeat(40))).toBe(false);
  });
});
