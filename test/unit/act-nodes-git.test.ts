import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http-server';
import { gitWith, isolatedGitEnv, makeSeededRemote, type SeededRemote } from '../support/git-repository';
import { actYaml, fakeHost, runText, type FakeHost, type TestEdge, type TestNode } from './act-test-host';

const scratch = mkdtempSync(join(tmpdir(), 'act-git-'));
const home = join(scratch, 'home');
mkdirSync(home);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A bare machine: no global or system git configuration; the identity comes from the environment. */
const env = isolatedGitEnv(home, { name: 'Job Identity', email: 'job@example.test' });
const git = gitWith(env);

type Remote = SeededRemote;

let remoteCount = 0;

/** A bare remote: main has two commits (tag v1 on the first), dev sits at the first. */
const makeRemote = (root = scratch, name = `remote-${++remoteCount}`): Remote => makeSeededRemote(env, scratch, name, root);

function gitHost(extraEnv: Record<string, string> = {}, secrets: Record<string, string> = {}): FakeHost {
  return fakeHost({ env: { ...env, ...extraEnv }, secrets });
}

async function run(host: FakeHost, nodes: TestNode[], executions: TestEdge[], connections: TestEdge[] = []): Promise<string> {
  const result = await runText(actYaml(nodes, executions, connections), host);
  expect(result, host.text()).toEqual({ status: 'succeeded', exitCode: 0 });
  return host.text();
}

const clone = (inputs: Record<string, unknown>): TestNode => ({ id: 'clone', type: 'core/git-clone@v1', inputs });
const print = (id: string, value: unknown = null): TestNode => ({ id, type: 'core/print@v1', inputs: { 'values[0]': value } });

describe('git-clone', () => {
  let remote: Remote;
  beforeAll(() => {
    remote = makeRemote();
  });

  it('clones ref main by default and outputs the repo with its directory as given', async () => {
    const host = gitHost();
    await run(host, [clone({ url: remote.url, directory: 'src/one' }), print('out')], [['start.exec', 'clone.exec'], ['clone.exec-success', 'out.exec']], [['clone.repo', 'out.values[0]']]);
    expect(host.text('out')).toBe('{src/one}\n');
    const dir = join(host.workDir, 'src', 'one');
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('two\n');
    expect(git(dir, 'symbolic-ref', '--short', 'HEAD')).toBe('main');
  });

  it('clones a branch shallowly; only_ref leaves the other branches out', async () => {
    const host = gitHost();
    await run(
      host,
      [clone({ url: remote.url, directory: 'wide', ref: 'dev', depth: 1 }), { id: 'narrow', type: 'core/git-clone@v1', inputs: { url: remote.url, directory: 'narrow', ref: 'refs/heads/dev', depth: '1', only_ref: true } }],
      [['start.exec', 'clone.exec'], ['clone.exec-success', 'narrow.exec']],
    );
    const wide = join(host.workDir, 'wide');
    expect(git(wide, 'symbolic-ref', '--short', 'HEAD')).toBe('dev');
    expect(git(wide, 'rev-list', '--count', 'HEAD')).toBe('1');
    expect(git(wide, 'branch', '-r')).toContain('origin/main');
    const narrow = join(host.workDir, 'narrow');
    expect(git(narrow, 'rev-parse', 'HEAD')).toBe(remote.first);
    expect(git(narrow, 'branch', '-r')).not.toContain('origin/main');
  });

  it('a tag is checked out detached; checkout false writes no files', async () => {
    const host = gitHost();
    await run(
      host,
      [clone({ url: remote.url, directory: 'tagged', ref: 'v1' }), { id: 'bare', type: 'core/git-clone@v1', inputs: { url: remote.bare, directory: 'unchecked', checkout: false } }],
      [['start.exec', 'clone.exec'], ['clone.exec-success', 'bare.exec']],
    );
    const tagged = join(host.workDir, 'tagged');
    expect(git(tagged, 'rev-parse', 'HEAD')).toBe(remote.first);
    expect(() => execFileSync('git', ['symbolic-ref', '-q', 'HEAD'], { cwd: tagged, env })).toThrow();
    expect(existsSync(join(host.workDir, 'unchecked', '.git'))).toBe(true);
    expect(existsSync(join(host.workDir, 'unchecked', 'a.txt'))).toBe(false);
  });

  it('a ref the remote does not have fails the graph, even with exec-err connected (as in the reference)', async () => {
    const host = gitHost();
    const text = actYaml([clone({ url: remote.url, directory: 'x', ref: 'nope' }), print('err', 'handled')], [['start.exec', 'clone.exec'], ['clone.exec-err', 'err.exec']]);
    const result = await runText(text, host);
    expect(result.status).toBe('failed');
    expect(host.text()).toContain("specified ref 'nope' does not exist in the remote repository");
    expect(host.text('err')).toBe('');
  });

  it('cloning into a directory that is not empty continues on exec-err with git’s reason', async () => {
    const host = gitHost();
    mkdirSync(join(host.workDir, 'taken'));
    writeFileSync(join(host.workDir, 'taken', 'file'), 'x');
    await run(host, [clone({ url: remote.url, directory: 'taken' }), print('err', 'handled')], [['start.exec', 'clone.exec'], ['clone.exec-err', 'err.exec']]);
    expect(host.text('err')).toBe('handled\n');
    expect(host.text()).toMatch(/failed to clone repository 'file:\/\/.*': destination path '.*taken' already exists and is not an empty directory/);
  });

  it('an unreachable remote continues on exec-err; an empty url fails the graph', async () => {
    const host = gitHost();
    await run(host, [clone({ url: join(scratch, 'missing.git'), directory: 'x' }), print('err', 'handled')], [['start.exec', 'clone.exec'], ['clone.exec-err', 'err.exec']]);
    expect(host.text()).toMatch(/failed to list remote references during clone of '.*missing\.git'/);
    const empty = gitHost();
    expect((await runText(actYaml([clone({ url: '' })], [['start.exec', 'clone.exec']]), empty)).status).toBe('failed');
    expect(empty.text()).toContain("input 'url' is empty");
  });
});

describe('git-checkout', () => {
  let remote: Remote;
  beforeAll(() => {
    remote = makeRemote();
  });

  it('switches to a branch the clone has only as origin/dev, then creates a new branch there', async () => {
    const host = gitHost();
    await run(
      host,
      [
        clone({ url: remote.url, directory: 'repo' }),
        { id: 'dev', type: 'core/git-checkout@v1', inputs: { reference: 'dev' } },
        { id: 'feature', type: 'core/git-checkout@v1', inputs: { reference: 'feature', create: true } },
      ],
      [['start.exec', 'clone.exec'], ['clone.exec-success', 'dev.exec'], ['dev.exec-success', 'feature.exec']],
      [['clone.repo', 'dev.repo'], ['clone.repo', 'feature.repo']],
    );
    const dir = join(host.workDir, 'repo');
    expect(git(dir, 'symbolic-ref', '--short', 'HEAD')).toBe('feature');
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(remote.first);
    expect(git(dir, 'rev-parse', '--abbrev-ref', 'dev@{upstream}')).toBe('origin/dev');
  });

  it('a commit id detaches HEAD; force discards local changes; an unknown reference goes to exec-err', async () => {
    const host = gitHost();
    await run(
      host,
      [
        clone({ url: remote.url, directory: 'repo' }),
        { id: 'dirty', type: 'core/run@v1', inputs: { script: 'echo local > repo/a.txt' } },
        { id: 'sha', type: 'core/git-checkout@v1', inputs: { reference: remote.first, force: true } },
        { id: 'bad', type: 'core/git-checkout@v1', inputs: { reference: 'no-such-thing' } },
        print('err', 'handled'),
      ],
      [['start.exec', 'clone.exec'], ['clone.exec-success', 'dirty.exec'], ['dirty.exec-success', 'sha.exec'], ['sha.exec-success', 'bad.exec'], ['bad.exec-err', 'err.exec']],
      [['clone.repo', 'sha.repo'], ['clone.repo', 'bad.repo']],
    );
    const dir = join(host.workDir, 'repo');
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(remote.first);
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('one\n');
    expect(host.text('err')).toBe('handled\n');
    expect(host.text()).toContain("failed to perform checkout for reference 'no-such-thing'");
  });
});

describe('git-stage, git-commit, git-push, git-pull', () => {
  it('stages paths and globs, commits with the given author (hash = HEAD), pushes to the bare remote', async () => {
    const remote = makeRemote();
    const host = gitHost();
    await run(
      host,
      [
        clone({ url: remote.url, directory: 'repo' }),
        { id: 'edit', type: 'core/run@v1', inputs: { script: 'cd repo && mkdir -p src && echo new > new.txt && echo x > src/x.go && echo y > src/y.txt' } },
        { id: 'stage', type: 'core/git-stage@v1', inputs: { paths: ['new.txt', 'src/*.go', ''] } },
        { id: 'commit', type: 'core/git-commit@v1', inputs: { message: '#42 add files\n\nbody', author_name: 'Ada Graph', author_email: 'ada@example.test' } },
        { id: 'push', type: 'core/git-push@v1' },
        print('out'),
      ],
      [['start.exec', 'clone.exec'], ['clone.exec-success', 'edit.exec'], ['edit.exec-success', 'stage.exec'], ['stage.exec-success', 'commit.exec'], ['commit.exec-success', 'push.exec'], ['push.exec-success', 'out.exec']],
      [['clone.repo', 'stage.repo'], ['clone.repo', 'commit.repo'], ['clone.repo', 'push.repo'], ['commit.commit_hash', 'out.values[0]']],
    );
    const dir = join(host.workDir, 'repo');
    const hash = host.text('out').trim();
    expect(hash).toMatch(/^[0-9a-f]{40}$/);
    expect(hash).toBe(git(dir, 'rev-parse', 'HEAD'));
    expect(git(dir, 'show', '--no-patch', '--format=%an <%ae>|%cn <%ce>|%B', hash)).toBe('Ada Graph <ada@example.test>|Ada Graph <ada@example.test>|#42 add files\n\nbody');
    expect(git(dir, 'show', '--name-only', '--format=', hash).split('\n').sort()).toEqual(['new.txt', 'src/x.go']);
    expect(git(remote.bare, 'rev-parse', 'main')).toBe(hash);
  });

  it('commit with stage commits modified tracked files, with the configured identity; nothing to commit goes to exec-err', async () => {
    const remote = makeRemote();
    const host = gitHost();
    await run(
      host,
      [
        clone({ url: remote.url, directory: 'repo' }),
        { id: 'edit', type: 'core/run@v1', inputs: { script: 'echo changed > repo/a.txt' } },
        { id: 'commit', type: 'core/git-commit@v1', inputs: { message: 'all tracked', stage: true } },
        { id: 'again', type: 'core/git-commit@v1', inputs: { message: 'nothing' } },
        print('err', 'handled'),
      ],
      [['start.exec', 'clone.exec'], ['clone.exec-success', 'edit.exec'], ['edit.exec-success', 'commit.exec'], ['commit.exec-success', 'again.exec'], ['again.exec-err', 'err.exec']],
      [['clone.repo', 'commit.repo'], ['clone.repo', 'again.repo']],
    );
    const dir = join(host.workDir, 'repo');
    expect(git(dir, 'show', '--no-patch', '--format=%an|%s')).toBe('Job Identity|all tracked');
    expect(git(dir, 'status', '--porcelain')).toBe('');
    expect(host.text('err')).toBe('handled\n');
    expect(host.text()).toContain('failed to create commit: nothing to commit, working tree clean');
  });

  it('stage: a path that matches nothing goes to exec-err; no paths at all fails the graph', async () => {
    const remote = makeRemote();
    const host = gitHost();
    await run(
      host,
      [clone({ url: remote.url, directory: 'repo' }), { id: 'stage', type: 'core/git-stage@v1', inputs: { paths: ['missing.txt'] } }, print('err', 'handled')],
      [['start.exec', 'clone.exec'], ['clone.exec-success', 'stage.exec'], ['stage.exec-err', 'err.exec']],
      [['clone.repo', 'stage.repo']],
    );
    expect(host.text()).toMatch(/failed to stage path 'missing.txt': pathspec 'missing.txt' did not match any files/);
    const none = gitHost();
    const text = actYaml(
      [clone({ url: remote.url, directory: 'repo' }), { id: 'stage', type: 'core/git-stage@v1', inputs: { paths: [] } }, print('err', 'handled')],
      [['start.exec', 'clone.exec'], ['clone.exec-success', 'stage.exec'], ['stage.exec-err', 'err.exec']],
      [['clone.repo', 'stage.repo']],
    );
    expect((await runText(text, none)).status).toBe('failed');
    expect(none.text()).toContain('at least one path must be provided to stage');
    expect(none.text('err')).toBe('');
  });

  it('push: a non-fast-forward is rejected (exec-err) until force; tags pushes the tags; branch names the branch', async () => {
    const remote = makeRemote();
    const host = gitHost();
    await run(
      host,
      [
        clone({ url: remote.url, directory: 'repo' }),
        { id: 'rewrite', type: 'core/run@v1', inputs: { script: 'cd repo && git reset -q --hard HEAD~1 && echo other > b.txt && git add b.txt && git commit -qm rewritten && git tag v2 && git branch side' } },
        { id: 'push', type: 'core/git-push@v1' },
        print('rejected', 'rejected'),
        { id: 'force', type: 'core/git-push@v1', inputs: { force: true } },
        { id: 'tags', type: 'core/git-push@v1', inputs: { tags: true } },
        { id: 'side', type: 'core/git-push@v1', inputs: { branch: 'side', remote: 'origin' } },
      ],
      [
        ['start.exec', 'clone.exec'],
        ['clone.exec-success', 'rewrite.exec'],
        ['rewrite.exec-success', 'push.exec'],
        ['push.exec-err', 'rejected.exec'],
        ['rejected.exec', 'force.exec'],
        ['force.exec-success', 'tags.exec'],
        ['tags.exec-success', 'side.exec'],
      ],
      [['clone.repo', 'push.repo'], ['clone.repo', 'force.repo'], ['clone.repo', 'tags.repo'], ['clone.repo', 'side.repo']],
    );
    const head = git(join(host.workDir, 'repo'), 'rev-parse', 'HEAD');
    expect(host.text('rejected')).toBe('rejected\n');
    expect(host.text()).toMatch(/failed to push changes to remote 'origin': .*rejected/);
    expect(git(remote.bare, 'rev-parse', 'main')).toBe(head);
    expect(git(remote.bare, 'rev-parse', 'v2')).toBe(head);
    expect(git(remote.bare, 'rev-parse', 'side')).toBe(head);
  });

  it('pull fast-forwards to a commit pushed to the remote meanwhile', async () => {
    const remote = makeRemote();
    const other = join(scratch, `other-${remoteCount}`);
    const host = gitHost();
    const script = `git clone -q ${remote.url} ${other} && cd ${other} && echo later > later.txt && git add later.txt && git commit -qm later && git push -q origin main`;
    await run(
      host,
      [
        clone({ url: remote.url, directory: 'repo' }),
        { id: 'elsewhere', type: 'core/run@v1', inputs: { script } },
        { id: 'pull', type: 'core/git-pull@v1' },
        { id: 'again', type: 'core/git-pull@v1' },
      ],
      [['start.exec', 'clone.exec'], ['clone.exec-success', 'elsewhere.exec'], ['elsewhere.exec-success', 'pull.exec'], ['pull.exec-success', 'again.exec']],
      [['clone.repo', 'pull.repo'], ['clone.repo', 'again.repo']],
    );
    const dir = join(host.workDir, 'repo');
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(git(remote.bare, 'rev-parse', 'main'));
    expect(readFileSync(join(dir, 'later.txt'), 'utf8')).toBe('later\n');
  });

  it('a repo input that is not a repository goes to exec-err; a string is not a git-repo', async () => {
    const host = gitHost();
    mkdirSync(join(host.workDir, 'plain'));
    // git-clone into a fresh directory, then that directory's .git removed: the repo value now names no repository.
    const remote = makeRemote();
    await run(
      host,
      [
        clone({ url: remote.url, directory: 'gone' }),
        { id: 'unmake', type: 'core/run@v1', inputs: { script: 'rm -rf gone/.git' } },
        { id: 'pull', type: 'core/git-pull@v1' },
        print('err', 'handled'),
      ],
      [['start.exec', 'clone.exec'], ['clone.exec-success', 'unmake.exec'], ['unmake.exec-success', 'pull.exec'], ['pull.exec-err', 'err.exec']],
      [['clone.repo', 'pull.repo']],
    );
    expect(host.text()).toMatch(/failed to open repository at path 'gone': .*not a git repository/);
    const typed = gitHost();
    expect((await runText(actYaml([{ id: 'pull', type: 'core/git-pull@v1', inputs: { repo: 'plain' } }], [['start.exec', 'pull.exec']]), typed)).status).toBe('failed');
    expect(typed.text()).toContain("cannot convert 'string' to a git repository");
  });
});

// ---- smart HTTP with Basic auth --------------------------------------------------------------------

const USER = 'alice';
const TOKEN = 'tok-8f3a9c71e2b54d06';
const WRONG = 'wrong-5d1e7b22c9';

describe('git over smart HTTP with Basic credentials', () => {
  const root = mkdtempSync(join(scratch, 'http-root-'));
  let http: GitHttpServer;
  let remote: Remote;
  beforeAll(async () => {
    remote = makeRemote(root, 'private');
    http = await startGitHttpServer(root, { [USER]: TOKEN }, { PATH: env.PATH, HOME: home });
  });
  afterAll(() => http.close());

  const credentials: TestNode = { id: 'cred', type: 'core/credentials-userpass@v1', inputs: { username: 'GIT_USER', password: 'GIT_TOKEN' } };

  function expectNoToken(host: FakeHost, dir: string, ...tokens: string[]): void {
    const config = readFileSync(join(dir, '.git', 'config'), 'utf8');
    const encoded = tokens.map((token) => Buffer.from(`${USER}:${token}`).toString('base64'));
    for (const secret of [...tokens, ...encoded]) {
      expect(config).not.toContain(secret);
      expect(host.text()).not.toContain(secret);
    }
  }

  it('clones and pushes with a UserPassCredentials token that is never stored', async () => {
    const host = gitHost({}, { GIT_USER: USER, GIT_TOKEN: TOKEN });
    await run(
      host,
      [
        credentials,
        clone({ url: `${http.base}/private.git`, directory: 'repo' }),
        { id: 'edit', type: 'core/run@v1', inputs: { script: 'echo pushed > repo/pushed.txt' } },
        { id: 'commit', type: 'core/git-commit@v1', inputs: { message: 'over http' } },
        { id: 'stage', type: 'core/git-stage@v1', inputs: { paths: ['.'] } },
        { id: 'push', type: 'core/git-push@v1' },
      ],
      [['start.exec', 'clone.exec'], ['clone.exec-success', 'edit.exec'], ['edit.exec-success', 'stage.exec'], ['stage.exec-success', 'commit.exec'], ['commit.exec-success', 'push.exec']],
      [['cred.credential', 'clone.auth'], ['cred.credential', 'push.auth'], ['clone.repo', 'stage.repo'], ['clone.repo', 'commit.repo'], ['clone.repo', 'push.repo']],
    );
    const dir = join(host.workDir, 'repo');
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('two\n');
    expect(git(dir, 'remote', 'get-url', 'origin')).toBe(`${http.base}/private.git`);
    expect(git(remote.bare, 'log', '-1', '--format=%s')).toBe('over http');
    expectNoToken(host, dir, TOKEN);
  });

  it('a wrong token fails clearly on exec-err, and no token appears anywhere', async () => {
    const host = gitHost({}, { GIT_USER: USER, GIT_TOKEN: WRONG });
    await run(
      host,
      [credentials, clone({ url: `${http.base}/private.git`, directory: 'repo', ref: '' }), print('err', 'handled')],
      [['start.exec', 'clone.exec'], ['clone.exec-err', 'err.exec']],
      [['cred.credential', 'clone.auth']],
    );
    expect(host.text('err')).toBe('handled\n');
    expect(host.text()).toContain(`failed to clone repository '${http.base}/private.git': authentication failed: the server rejected the credentials given`);
    expect(host.text()).not.toContain(WRONG);
    expect(host.text()).not.toContain(Buffer.from(`${USER}:${WRONG}`).toString('base64'));
    expect(existsSync(join(host.workDir, 'repo'))).toBe(false);
  });

  it('without credentials the error says they are needed', async () => {
    const host = gitHost();
    await run(host, [clone({ url: `${http.base}/private.git`, directory: 'repo' }), print('err', 'handled')], [['start.exec', 'clone.exec'], ['clone.exec-err', 'err.exec']]);
    expect(host.text()).toContain('authentication required: the server asks for credentials and none were given');
  });

  it('credentials in the URL are used but stored nowhere, and redacted from errors', async () => {
    const host = gitHost();
    const authority = http.base.replace('http://', '');
    await run(host, [clone({ url: `http://${USER}:${TOKEN}@${authority}/private.git`, directory: 'repo' })], [['start.exec', 'clone.exec']]);
    const dir = join(host.workDir, 'repo');
    expect(git(dir, 'remote', 'get-url', 'origin')).toBe(`${http.base}/private.git`);
    expectNoToken(host, dir, TOKEN);

    const wrong = gitHost();
    await run(wrong, [clone({ url: `http://${USER}:${WRONG}@${authority}/private.git`, directory: 'repo' }), print('err', 'handled')], [['start.exec', 'clone.exec'], ['clone.exec-err', 'err.exec']]);
    expect(wrong.text('err')).toBe('handled\n');
    expect(wrong.text()).toContain('authentication failed');
    expect(wrong.text()).not.toContain(WRONG);
  });

  it('access-key credentials work as username/password; credentials of the wrong kind for the URL go to exec-err', async () => {
    const host = gitHost({}, { KEY: USER, SECRET: TOKEN });
    await run(
      host,
      [
        { id: 'cred', type: 'core/credentials-accesskey@v1', inputs: { access_key: 'KEY', access_password: 'SECRET' } },
        clone({ url: `${http.base}/private.git`, directory: 'repo', ref: 'dev' }),
        { id: 'wrong', type: 'core/git-clone@v1', inputs: { url: 'git@example.test:org/private.git', directory: 'other' } },
        print('err', 'handled'),
      ],
      [['start.exec', 'clone.exec'], ['clone.exec-success', 'wrong.exec'], ['wrong.exec-err', 'err.exec']],
      [['cred.credential', 'clone.auth'], ['cred.credential', 'wrong.auth']],
    );
    expect(git(join(host.workDir, 'repo'), 'rev-parse', 'HEAD')).toBe(remote.first);
    expect(host.text('err')).toBe('handled\n');
    expect(host.text()).toContain('username/password credentials work over http(s) only, and git@example.test:org/private.git is an ssh URL');
    expectNoToken(host, join(host.workDir, 'repo'), TOKEN);
  });

  it('repo-download fetches the job’s commit over HTTP with BELLOWS_REPOSITORY_TOKEN', async () => {
    const host = gitHost({ BELLOWS_REPOSITORY_URL: `${http.base}/private.git`, BELLOWS_REPOSITORY_USERNAME: USER, BELLOWS_REPOSITORY_TOKEN: TOKEN, BELLOWS_COMMIT_SHA: remote.first });
    await run(host, [{ id: 'dl', type: 'core/repo-download@v1' }], [['start.exec', 'dl.exec']]);
    expect(readFileSync(join(host.workDir, 'a.txt'), 'utf8')).toBe('one\n');
    expect(host.text()).not.toContain(TOKEN);
  });

  it('repo-download fetches with the job’s credentials in the agent’s environment: a graph’s trace file and proxy never see them', async () => {
    // A proxy that forwards to the git server and records what passes through it.
    const seen: string[] = [];
    const proxy = createHttpServer((req, res) => {
      seen.push(JSON.stringify(req.headers));
      const forward = httpRequest(req.url ?? '', { method: req.method, headers: req.headers }, (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
      });
      req.pipe(forward);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const trace = join(mkdtempSync(join(scratch, 'trace-')), 'curl.log');
      const globalConfig = join(mkdtempSync(join(scratch, 'global-')), 'gitconfig');
      writeFileSync(globalConfig, `[http]\n\tproxy = http://127.0.0.1:${(proxy.address() as AddressInfo).port}\n`);
      const host = fakeHost({
        env: { ...env, GIT_TRACE_CURL: trace, GIT_TRACE_REDACT: '0', GIT_CURL_VERBOSE: '1', GIT_CONFIG_GLOBAL: globalConfig },
        repository: { url: `${http.base}/private.git`, ref: 'main', commitSha: remote.first, auth: { type: 'basic', username: USER, password: TOKEN } },
      });
      await run(host, [{ id: 'dl', type: 'core/repo-download@v1' }], [['start.exec', 'dl.exec']]);
      expect(readFileSync(join(host.workDir, 'a.txt'), 'utf8')).toBe('one\n');
      const encoded = Buffer.from(`${USER}:${TOKEN}`).toString('base64');
      const traced = existsSync(trace) ? readFileSync(trace, 'utf8') : '';
      for (const text of [traced, seen.join('\n'), host.text()]) {
        expect(text).not.toContain(TOKEN);
        expect(text).not.toContain(encoded);
      }
      // The graph's configuration was not used at all for that fetch.
      expect(seen).toEqual([]);
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });
});

describe('repo-download', () => {
  let remote: Remote;
  beforeAll(() => {
    remote = makeRemote();
  });

  it('writes the job’s commit into the work directory, with no .git left behind', async () => {
    const host = gitHost({ BELLOWS_REPOSITORY_URL: remote.url, BELLOWS_COMMIT_SHA: remote.first, BELLOWS_REF: 'main' });
    await run(host, [{ id: 'dl', type: 'core/repo-download@v1' }], [['start.exec', 'dl.exec']]);
    expect(readFileSync(join(host.workDir, 'a.txt'), 'utf8')).toBe('one\n');
    expect(readFileSync(join(host.workDir, 'docs', 'guide.md'), 'utf8')).toBe('# guide\n');
    expect(existsSync(join(host.workDir, '.git'))).toBe(false);
  });

  it('without a commit id takes BELLOWS_REF; selected paths only, at their paths', async () => {
    const host = gitHost({ BELLOWS_REPOSITORY_URL: remote.url, BELLOWS_REF: 'main' });
    await run(host, [{ id: 'dl', type: 'core/repo-download@v1', inputs: { paths: ['docs/guide.md'] } }], [['start.exec', 'dl.exec']]);
    expect(readFileSync(join(host.workDir, 'docs', 'guide.md'), 'utf8')).toBe('# guide\n');
    expect(existsSync(join(host.workDir, 'a.txt'))).toBe(false);
  });

  it('a missing repository, an escaping path or a path not in the repository go to exec-err', async () => {
    const cases: Array<[Record<string, string>, string[], RegExp]> = [
      [{}, ['*'], /repo download needs the job's repository/],
      [{ BELLOWS_REPOSITORY_URL: remote.url }, ['../outside'], /invalid path "..\/outside": path traversal not allowed/],
      [{ BELLOWS_REPOSITORY_URL: remote.url }, ['/etc/passwd'], /invalid path "\/etc\/passwd": absolute paths not allowed/],
      [{ BELLOWS_REPOSITORY_URL: remote.url }, ['nothing-here.txt'], /repo download from file:.* failed: pathspec 'nothing-here.txt' did not match/],
    ];
    for (const [extra, paths, message] of cases) {
      const host = gitHost(extra);
      await run(host, [{ id: 'dl', type: 'core/repo-download@v1', inputs: { paths } }, print('err', 'handled')], [['start.exec', 'dl.exec'], ['dl.exec-err', 'err.exec']]);
      expect(host.text('err'), paths.join()).toBe('handled\n');
      expect(host.text()).toMatch(message);
    }
  });
});

describe('ssh key credentials', () => {
  it('clone over ssh uses the key from credentials-ssh through a temporary key file', async () => {
    // A stand-in for ssh first on PATH: records its arguments and the key, then runs the remote command here.
    const bin = mkdtempSync(join(scratch, 'bin-'));
    const log = join(bin, 'log');
    const script = [
      '#!/bin/bash',
      'all="$*"; key=""',
      'while [ $# -gt 1 ]; do case "$1" in -i) key="$2"; shift 2;; -o|-l|-p) shift 2;; *) shift;; esac; done',
      `{ echo "ARGS $all"; echo "KEYFILE $key"; echo "KEY $(cat "$key")"; } >> ${log}`,
      'exec sh -c "$1"',
    ].join('\n');
    writeFileSync(join(bin, 'ssh'), `${script}\n`);
    chmodSync(join(bin, 'ssh'), 0o755);
    const keyPath = join(scratch, 'id_test');
    writeFileSync(keyPath, '-----BEGIN OPENSSH PRIVATE KEY-----\nkey-material-for-test\n-----END OPENSSH PRIVATE KEY-----\n');
    const remote = makeRemote();
    const host = gitHost({ PATH: `${bin}:${env.PATH}` });
    await run(
      host,
      [{ id: 'cred', type: 'core/credentials-ssh@v1', inputs: { private_key: keyPath, username: 'deploy' } }, clone({ url: `ssh://git@fake.test${remote.bare}`, directory: 'repo' })],
      [['start.exec', 'clone.exec']],
      [['cred.credential', 'clone.auth']],
    );
    expect(git(join(host.workDir, 'repo'), 'rev-parse', 'HEAD')).toBe(remote.second);
    const recorded = readFileSync(log, 'utf8');
    expect(recorded).toContain('key-material-for-test');
    expect(recorded).toMatch(/-l deploy .*git@fake\.test/);
    expect(existsSync(/KEYFILE (\S+)/.exec(recorded)?.[1] ?? keyPath)).toBe(false);
    expect(readFileSync(join(host.workDir, 'repo', '.git', 'config'), 'utf8')).not.toContain('key-material');
  });
});
