import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GitError,
  authMismatch,
  cloneRepository,
  currentBranch,
  fetchRevision,
  headCommit,
  listRemoteRefs,
  openRepository,
  runGit,
  splitUrlCredentials,
  transportOf,
  useScratchRoot,
} from '../../agent/git/git';
import { redact } from '../../agent/secret-masker';
import { gitWith, isolatedGitEnv, makeSeededRemote, type SeededRemote } from '../support/git-repository';
import { waitUntil } from './act-test-host';

const scratch = mkdtempSync(join(tmpdir(), 'git-test-'));
const home = join(scratch, 'home');
mkdirSync(home);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const env = isolatedGitEnv(home);
const git = gitWith(env);
const makeRemote = (name: string): SeededRemote => makeSeededRemote(env, scratch, name);

/**
 * Whether process `pid` has ended. A killed grandchild may linger as a zombie until its new parent
 * reaps it, and signal 0 still reaches a zombie, so /proc's state (Z) is what says it is dead.
 */
function processGone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').startsWith('Z');
  } catch {
    return true;
  }
}

const rejection = async (promise: Promise<unknown>): Promise<GitError> => {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(GitError);
  return error as GitError;
};

describe('credentials in text and URLs', () => {
  it('redact removes http(s) user-info, other URLs’ passwords and given secrets', () => {
    expect(redact('fatal: unable to access https://alice:t0ken@example.test/r.git/')).toBe('fatal: unable to access https://***@example.test/r.git/');
    expect(redact('see http://ghp_abcdef@example.test/x')).toBe('see http://***@example.test/x');
    expect(redact('ssh://git:hunter2@host/repo and git@host:repo')).toBe('ssh://git:***@host/repo and git@host:repo');
    expect(redact('https://example.test:8443/path@v1 stays')).toBe('https://example.test:8443/path@v1 stays');
    expect(redact('token s3cret-value and s3cret-value', ['s3cret-value', 'ab'])).toBe('token *** and ***');
  });

  it('splitUrlCredentials takes user-info out of http(s) URLs, decoded', () => {
    expect(splitUrlCredentials('https://alice:p%40ss@example.test/r.git')).toEqual({ url: 'https://example.test/r.git', auth: { type: 'basic', username: 'alice', password: 'p@ss' } });
    expect(splitUrlCredentials('https://TOKEN@example.test/r.git')).toEqual({ url: 'https://example.test/r.git', auth: { type: 'basic', username: 'TOKEN', password: '' } });
    expect(splitUrlCredentials('git@example.test:org/r.git')).toEqual({ url: 'git@example.test:org/r.git' });
    expect(splitUrlCredentials('https://example.test/r.git')).toEqual({ url: 'https://example.test/r.git' });
  });

  it('transportOf follows git’s URL rules, and authMismatch refuses the wrong kind of credentials', () => {
    expect(transportOf('https://h/r')).toBe('http');
    expect(transportOf('git@github.com:org/r.git')).toBe('ssh');
    expect(transportOf('ssh://git@h/r')).toBe('ssh');
    expect(transportOf('file:///srv/r.git')).toBe('file');
    expect(transportOf('/srv/r.git')).toBe('local');
    expect(transportOf('../r.git')).toBe('local');
    expect(authMismatch('git@h:r.git', { type: 'basic', username: 'u', password: 'p' })).toMatch(/http\(s\) only/);
    expect(authMismatch('https://u:p@h/r', { type: 'ssh', privateKey: 'k' })).toMatch(/ssh only.*https:\/\/\*\*\*@h\/r/);
    expect(authMismatch('https://h/r', { type: 'basic', username: 'u', password: 'p' })).toBeUndefined();
    expect(authMismatch('file:///r', { type: 'ssh', privateKey: 'k' })).toBeUndefined();
  });
});

describe('runGit', () => {
  let remote: ReturnType<typeof makeRemote>;
  beforeAll(() => {
    remote = makeRemote('run');
  });

  it('ignores inherited variables that point git elsewhere, and returns its output', async () => {
    const repo = join(scratch, 'isolated');
    await cloneRepository({ url: remote.url, directory: repo, cwd: scratch }, { env });
    const hostile = { ...env, GIT_DIR: remote.bare, GIT_WORK_TREE: scratch, GIT_INDEX_FILE: join(scratch, 'nope') };
    expect((await runGit(['rev-parse', 'HEAD'], { cwd: repo, env: hostile })).stdout.trim()).toBe(remote.second);
    expect(await openRepository(repo, { env: hostile })).toBe(repo);
  });

  it('exactRepository refuses a directory inside a repository instead of using the parent one', async () => {
    const repo = join(scratch, 'exact');
    await cloneRepository({ url: remote.url, directory: repo, cwd: scratch }, { env });
    mkdirSync(join(repo, 'sub'));
    const error = await rejection(openRepository(join(repo, 'sub'), { env }));
    expect(error.kind).toBe('failed');
    expect(error.message).toContain(join(repo, 'sub'));
    expect(error.reason).toMatch(/not a git repository/);
    const missing = await rejection(openRepository(join(scratch, 'does-not-exist'), { env }));
    expect(missing.reason).toMatch(/does not exist/);
  });

  it('names the repository and git’s reason, with the credentials redacted', async () => {
    // A port nothing listens on any more.
    const closed = createServer();
    const port = await new Promise<number>((done) => closed.listen(0, '127.0.0.1', () => done((closed.address() as AddressInfo).port)));
    await new Promise((done) => closed.close(done));
    const error = await rejection(listRemoteRefs(`https://alice:sup3r-secret@127.0.0.1:${port}/nothing.git`, scratch, { env, auth: { type: 'basic', username: 'bob', password: 'an0ther-secret' } }));
    expect(error.repository).toBe(`https://***@127.0.0.1:${port}/nothing.git`);
    expect(error.message).toContain(`https://***@127.0.0.1:${port}/nothing.git`);
    expect(error.message).toMatch(/unable to access|Failed to connect|Could not connect/);
    expect(error.message).not.toMatch(/sup3r-secret|an0ther-secret/);
  });

  it('ends a command at its timeout, process group and all', async () => {
    const pidFile = join(scratch, 'timeout.pid');
    const error = await rejection(runGit(['-c', `alias.hang=!echo $$ > ${pidFile}; sleep 60`, 'hang'], { cwd: scratch, env, timeoutMs: 500, killGraceMs: 500 }));
    expect(error.kind).toBe('timeout');
    expect(error.message).toMatch(/timed out after 500 ms/);
    await waitUntil(() => processGone(Number(readFileSync(pidFile, 'utf8'))), 10_000);
  });

  it('stops when its AbortSignal aborts', async () => {
    const pidFile = join(scratch, 'abort.pid');
    const controller = new AbortController();
    const running = rejection(runGit(['-c', `alias.hang=!echo $$ > ${pidFile}; sleep 60`, 'hang'], { cwd: scratch, env, signal: controller.signal, killGraceMs: 500 }));
    await waitUntil(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 10_000);
    controller.abort();
    const error = await running;
    expect(error.kind).toBe('cancelled');
    await waitUntil(() => processGone(Number(readFileSync(pidFile, 'utf8'))), 10_000);
  });

  it('stops when its AbortSignal aborts while the command is being prepared', async () => {
    const controller = new AbortController();
    // runGit checks the signal, then prepares the environment asynchronously: the abort lands in between.
    const running = rejection(runGit(['-c', 'alias.hang=!sleep 60', 'hang'], { cwd: scratch, env, signal: controller.signal, killGraceMs: 500 }));
    controller.abort();
    expect((await running).kind).toBe('cancelled');
  });

  it('reports nothing-to-commit by git’s own words', async () => {
    const repo = join(scratch, 'clean');
    await cloneRepository({ url: remote.url, directory: repo, cwd: scratch }, { env });
    const error = await rejection(runGit(['commit', '--quiet', '--file=-'], { cwd: repo, env, input: 'nothing' }));
    expect(error.reason).toBe('nothing to commit, working tree clean');
  });
});

describe('clone, refs and fetch', () => {
  let remote: ReturnType<typeof makeRemote>;
  beforeAll(() => {
    remote = makeRemote('clone');
  });

  it('listRemoteRefs lists HEAD, branches and tags', async () => {
    const refs = await listRemoteRefs(remote.url, scratch, { env });
    expect(refs[0]).toEqual({ name: 'HEAD', sha: remote.second });
    expect(refs).toContainEqual({ name: 'refs/heads/dev', sha: remote.first });
    expect(refs).toContainEqual({ name: 'refs/tags/v1', sha: remote.first });
  });

  it('cloneRepository: a branch, shallow, other branches kept unless singleBranch', async () => {
    const wide = join(scratch, 'wide');
    await cloneRepository({ url: remote.url, directory: wide, cwd: scratch, branch: 'dev', depth: 1 }, { env });
    expect(await currentBranch(wide, { env })).toBe('dev');
    expect(git(wide, 'rev-list', '--count', 'HEAD')).toBe('1');
    expect(git(wide, 'branch', '-r')).toContain('origin/main');
    const narrow = join(scratch, 'narrow');
    await cloneRepository({ url: remote.bare, directory: narrow, cwd: scratch, depth: 1, singleBranch: true }, { env });
    expect(git(narrow, 'rev-list', '--count', 'HEAD')).toBe('1');
    expect(git(narrow, 'branch', '-r')).not.toContain('origin/dev');
    expect(await headCommit(narrow, { env })).toBe(remote.second);
  });

  it('fetchRevision fetches one commit by id, or a branch, into a bare git directory', async () => {
    const gitDir = join(scratch, 'fetch.git');
    git(scratch, 'init', '--quiet', '--bare', gitDir);
    expect(await fetchRevision({ gitDir, url: remote.url, revision: remote.first, depth: 1 }, { env })).toBe(remote.first);
    expect(await fetchRevision({ gitDir, url: remote.url, revision: 'main', depth: 1 }, { env })).toBe(remote.second);
    const error = await rejection(fetchRevision({ gitDir, url: remote.url, revision: 'no-such-branch' }, { env }));
    expect(error.reason).toMatch(/couldn't find remote ref/);
  });
});

describe('ssh keys', () => {
  /**
   * A stand-in for ssh, first on PATH: it records how git called it and what the key file held, asks the
   * askpass program when there is one, and runs the remote command locally (as sshd would run it).
   */
  function fakeSsh(): { env: Record<string, string>; log: string } {
    const bin = mkdtempSync(join(scratch, 'bin-'));
    const log = join(bin, 'log');
    const script = [
      '#!/bin/bash',
      'all="$*"; key=""; user=""',
      'while [ $# -gt 1 ]; do case "$1" in -i) key="$2"; shift 2;; -l) user="$2"; shift 2;; -o|-p) shift 2;; *) shift;; esac; done',
      `{ echo "ARGS $all"; echo "KEYFILE $key"; echo "KEY $(cat "$key")"; echo "USER $user"; if [ -n "$SSH_ASKPASS" ]; then echo "PASS $("$SSH_ASKPASS")"; fi; } >> ${log}`,
      'exec sh -c "$1"',
    ].join('\n');
    writeFileSync(join(bin, 'ssh'), `${script}\n`);
    chmodSync(join(bin, 'ssh'), 0o755);
    return { env: { ...env, PATH: `${bin}:${env.PATH}` }, log };
  }

  it('hands the key to ssh in a temporary file that is gone afterwards', async () => {
    const remote = makeRemote('ssh');
    const ssh = fakeSsh();
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----';
    const target = join(scratch, 'over-ssh');
    await cloneRepository({ url: `ssh://git@fake.test${remote.bare}`, directory: target, cwd: scratch }, { env: ssh.env, auth: { type: 'ssh', privateKey: key } });
    expect(await headCommit(target, { env })).toBe(remote.second);
    const log = readFileSync(ssh.log, 'utf8');
    expect(log).toContain('-o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new');
    expect(log).toContain('-o BatchMode=yes');
    expect(log).toContain(`KEY ${key}\n`);
    const keyFile = /KEYFILE (\S+)/.exec(log)?.[1] ?? '';
    expect(keyFile).not.toBe('');
    expect(existsSync(keyFile)).toBe(false);
    expect(readFileSync(join(target, '.git', 'config'), 'utf8')).not.toContain('not-a-real-key');
  });

  it('an inherited GIT_SSH_COMMAND or GIT_SSH never gets the key: the key’s own ssh command wins', async () => {
    const remote = makeRemote('ssh-inherited');
    const ssh = fakeSsh();
    const marker = join(mkdtempSync(join(scratch, 'marker-')), 'ran');
    const thief = join(mkdtempSync(join(scratch, 'thief-')), 'thief');
    writeFileSync(thief, `#!/bin/sh\necho "$@" > ${marker}\nexit 1\n`);
    chmodSync(thief, 0o755);
    const hostile = { ...ssh.env, GIT_SSH_COMMAND: thief, GIT_SSH: thief, GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'core.sshCommand', GIT_CONFIG_VALUE_0: thief };
    const refs = await listRemoteRefs(`fake.test:${remote.bare}`, scratch, { env: hostile, auth: { type: 'ssh', privateKey: 'KEY-material' } });
    expect(refs[0].sha).toBe(remote.second);
    expect(readFileSync(ssh.log, 'utf8')).toContain('KEY KEY-material');
    expect(existsSync(marker)).toBe(false);
  });

  it('gives ssh the passphrase through askpass, and the login name with -l', async () => {
    const remote = makeRemote('ssh-pass');
    const ssh = fakeSsh();
    const refs = await listRemoteRefs(`fake.test:${remote.bare}`, scratch, { env: ssh.env, auth: { type: 'ssh', privateKey: 'KEY', passphrase: 'open sesame', username: 'deploy' } });
    expect(refs[0].sha).toBe(remote.second);
    const log = readFileSync(ssh.log, 'utf8');
    expect(log).toContain('PASS open sesame');
    expect(log).toContain('USER deploy');
    expect(log).toContain('PreferredAuthentications=publickey');
    expect(log).not.toContain('BatchMode');
  });
});

describe('ssh scratch files', () => {
  const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----';

  it('keeps the key 0600 and the askpass program in a 0700 directory while ssh runs, and removes them when the command is cancelled', async () => {
    const root = join(mkdtempSync(join(scratch, 'scratch-root-')), 'git-scratch');
    await useScratchRoot(root);
    // A server that takes the connection and never answers: ssh waits for its banner.
    let connected = false;
    const silent = createServer(() => void (connected = true));
    const port = await new Promise<number>((done) => silent.listen(0, '127.0.0.1', () => done((silent.address() as AddressInfo).port)));
    try {
      const controller = new AbortController();
      const running = rejection(listRemoteRefs(`ssh://git@127.0.0.1:${port}/repo.git`, scratch, { env, signal: controller.signal, killGraceMs: 500, auth: { type: 'ssh', privateKey: key, passphrase: 'open sesame' } }));
      await waitUntil(() => connected, 10_000);
      expect(statSync(root).mode & 0o777).toBe(0o700);
      const [dir] = readdirSync(root);
      expect(statSync(join(root, dir)).mode & 0o777).toBe(0o700);
      expect(statSync(join(root, dir, 'key')).mode & 0o777).toBe(0o600);
      expect(statSync(join(root, dir, 'passphrase')).mode & 0o777).toBe(0o600);
      expect(statSync(join(root, dir, 'askpass')).mode & 0o777).toBe(0o700);
      controller.abort();
      expect((await running).kind).toBe('cancelled');
      expect(readdirSync(root)).toEqual([]);
    } finally {
      silent.close();
    }
  });

  it('removes them after a failed command', async () => {
    const root = join(mkdtempSync(join(scratch, 'scratch-root-')), 'git-scratch');
    await useScratchRoot(root);
    const closed = createServer();
    const port = await new Promise<number>((done) => closed.listen(0, '127.0.0.1', () => done((closed.address() as AddressInfo).port)));
    await new Promise((done) => closed.close(done));
    const error = await rejection(listRemoteRefs(`ssh://git@127.0.0.1:${port}/repo.git`, scratch, { env, auth: { type: 'ssh', privateKey: key } }));
    expect(error.kind).toBe('failed');
    expect(error.message).not.toContain('not-a-real-key');
    expect(readdirSync(root)).toEqual([]);
  });
});

