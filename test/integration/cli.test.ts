import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRepository, git, type TestRepository } from '../support/git-repository';
import { startStack, type Stack } from '../support/stack';

// Drives the built CLI (dist/cli/main.js) as a user would, against a real API, worker and agent.

type CliResult = { code: number | null; stdout: string; stderr: string };

let stack: Stack;
let home: string;
let work: string;
const cliEntry = path.resolve('dist/cli/main.js');

// A real repository for the `branches` and `run --ref` tests: a bare one served over file://, filled from a clone.
let repo: TestRepository;
let repoRoot: string;
let bare: string;
let clone: string;

function createRepository(): void {
  repo = createTestRepository('app');
  ({ root: repoRoot, bare, clone } = repo);
  const build = (marker: string) => ({ '.bellows/build.sh': `echo "marker ${marker} at $BELLOWS_COMMIT_SHA on $BELLOWS_REF"\n` });
  repo.commit(build('main'), 'main');
  repo.push('main');
  repo.checkout('feature/login');
  repo.commit(build('feature'), 'feature');
  repo.push('feature/login');
  repo.checkout('main');
}

function cli(args: string[], options: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<CliResult> & { kill(): void } {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), NO_COLOR: '1', ...options.env };
  delete env.BELLOWS_URL;
  delete env.BELLOWS_TOKEN;
  Object.assign(env, options.env);
  const child = spawn(process.execPath, [cliEntry, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
  const done = new Promise<CliResult>((resolve) => {
    child.on('exit', (code) => {
      clearTimeout(timer);
      // Let the pipes drain.
      setImmediate(() => resolve({ code, stdout, stderr }));
    });
  });
  return Object.assign(done, { kill: () => child.kill('SIGINT') });
}

function write(name: string, content: string): string {
  const file = path.join(work, name);
  fs.writeFileSync(file, content);
  return file;
}

beforeAll(async () => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'bellows-cli-home-'));
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'bellows-cli-work-'));
  createRepository();
  stack = await startStack({ agents: [{ name: 'cli-agent', labels: 'os=linux' }], env: { BELLOWS_ALLOW_FILE_REPOSITORIES: 'true' } });
  expect((await stack.request('POST', '/api/v1/projects', { body: { slug: 'cli', name: 'CLI' } })).status).toBe(201);
});

afterAll(async () => {
  await stack?.stop();
  fs.rmSync(home, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
  if (repoRoot) fs.rmSync(repoRoot, { recursive: true, force: true });
});

describe('bellows CLI', () => {
  it('logs in, storing the URL and token in a private config file', async () => {
    const refused = await cli(['login', stack.apiUrl, '--token', 'bel_wrong']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('refused the token');

    const ok = await cli(['login', stack.apiUrl, '--token', stack.adminToken]);
    expect(ok.code, ok.stderr).toBe(0);
    const file = path.join(home, '.config', 'bellows', 'config.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ url: stack.apiUrl, token: stack.adminToken });

    // The token may come on stdin, out of shell history.
    const piped = await cli(['login', stack.apiUrl, '--json'], { input: `${stack.adminToken}\n` });
    expect(piped.code, piped.stderr).toBe(0);
    expect(JSON.parse(piped.stdout)).toMatchObject({ url: stack.apiUrl, projects: ['cli'] });
  });

  it('pushes pipelines from files', async () => {
    const build = write(
      'build.sh',
      [
        'echo "building $BELLOWS_REF with $ACT_INPUT_INPUT_GREETING"',
        "printf '\\033[32mgreen text\\033[0m\\n'",
        'printf "report\\n" > "$BELLOWS_ARTIFACTS_DIR/report.txt"',
        'head -c 300000 /dev/urandom > "$BELLOWS_ARTIFACTS_DIR/blob.bin"',
      ].join('\n'),
    );
    const pushed = await cli(['pipeline', 'push', 'cli', build, '--label', 'os=linux']);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stdout).toContain('Pushed cli/build version 1');

    const again = await cli(['pipeline', 'push', 'cli', build, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ project: 'cli', name: 'build', version: 2, kind: 'script' });

    const fail = write('fail.sh', 'echo "about to fail"\nexit 3\n');
    expect((await cli(['pipeline', 'push', 'cli', fail])).code).toBe(0);
    expect((await cli(['pipeline', 'push', 'cli', fail, '--name', 'needs-gpu', '--label', 'gpu=true'])).code).toBe(0);

    const missing = await cli(['pipeline', 'push', 'cli', path.join(work, 'nope.act')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no such file');

    // A broken graph is refused at push: every problem on a line of its own, nothing stored.
    const broken = write(
      'broken.act',
      ['entry: start', 'nodes:', '  - {id: start, type: core/start@v1}', '  - {id: beam, type: core/teleport@v1}', 'connections: []', 'executions:', '  - {src: {node: start, port: exec}, dst: {node: ghost, port: exec}}'].join('\n'),
    );
    const refused = await cli(['pipeline', 'push', 'cli', broken]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Invalid pipeline (2 problems):\n  - content: node beam: unknown node type core/teleport@v1');
    expect(refused.stderr).toContain('\n  - content: node start: execution start.exec → ghost.exec: there is no node ghost');
    expect((await cli(['pipeline', 'push', 'cli', broken, '--json'])).code).toBe(1);
  });

  it('run --follow streams the log live, keeps its colours and exits 0 for a succeeded run', async () => {
    const result = await cli(['run', 'cli/build', '--ref', 'feature/cli', '--input', 'greeting=hello', '--follow'], { env: { NO_COLOR: '1' } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('building feature/cli with hello');
    expect(result.stdout).toContain('\u001b[32mgreen text\u001b[0m');
    expect(result.stdout).toMatch(/── build ──/);
    expect(result.stdout).toContain('✓ build succeeded (exit 0)');
    expect(result.stderr).toMatch(/Run #\d+ of cli\/build \(id \d+\) succeeded/);
  });

  it('run --follow exits 1 for a failing pipeline, and --json prints the final run', async () => {
    const result = await cli(['run', 'cli/fail', '--follow', '--json']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('about to fail');
    const run = JSON.parse(result.stdout) as { status: string; jobs: { exitCode: number }[] };
    expect(run.status).toBe('failed');
    expect(run.jobs[0].exitCode).toBe(3);
  });

  it('lists runs and prints logs as text or JSON', async () => {
    const listed = await cli(['runs', '--project', 'cli', '--json']);
    expect(listed.code).toBe(0);
    const page = JSON.parse(listed.stdout) as { runs: { id: number; pipeline: string; status: string; trigger: { kind: string } }[] };
    expect(page.runs.map((r) => r.pipeline)).toEqual(['fail', 'build']);
    expect(page.runs[0].trigger.kind).toBe('api');

    const table = await cli(['runs', '--status', 'failed']);
    expect(table.stdout).toMatch(/^ID\s+RUN\s+REF\s+STATUS/);
    expect(table.stdout).toContain('cli/fail#1');

    const log = await cli(['logs', String(page.runs[0].id)]);
    expect(log.code).toBe(0);
    expect(log.stdout).toContain('about to fail');
  });

  it('downloads artifacts and verifies their SHA-256; a mismatch is an error', async () => {
    const created = await cli(['run', 'cli/build', '--json']);
    const runId = (JSON.parse(created.stdout) as { id: number }).id;
    const followed = await cli(['logs', String(runId), '--follow']);
    expect(followed.code, followed.stderr).toBe(0);

    const listed = await cli(['artifacts', String(runId), '--json']);
    const artifacts = JSON.parse(listed.stdout) as { name: string; sha256: string; size: number }[];
    expect(artifacts.map((a) => a.name).sort()).toEqual(['blob.bin', 'report.txt']);

    const dir = path.join(work, 'download');
    const downloaded = await cli(['artifacts', String(runId), '--download', dir]);
    expect(downloaded.code, downloaded.stderr).toBe(0);
    expect(downloaded.stdout).toContain('2 artifact(s)');
    for (const artifact of artifacts) {
      const bytes = fs.readFileSync(path.join(dir, artifact.name));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(artifact.sha256);
    }
    expect(fs.readFileSync(path.join(dir, 'report.txt'), 'utf8')).toBe('report\n');

    await stack.sql`update artifacts set sha256 = ${'0'.repeat(64)} where run_id = ${runId} and name = 'report.txt'`;
    const bad = path.join(work, 'bad');
    const mismatch = await cli(['artifacts', String(runId), '--download', bad]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toContain('Checksum mismatch for "report.txt"');
    expect(fs.existsSync(path.join(bad, 'report.txt'))).toBe(false);
    expect(fs.existsSync(path.join(bad, 'report.txt.part'))).toBe(false);
  });

  it('cancels runs; following a run that gets cancelled exits 130', async () => {
    const created = JSON.parse((await cli(['run', 'cli/needs-gpu', '--json'])).stdout) as { id: number };
    const following = cli(['logs', String(created.id), '--follow']);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const cancelled = await cli(['cancel', String(created.id), '999999']);
    expect(cancelled.code).toBe(1);
    expect(cancelled.stdout).toContain(`Run ${created.id} cancelled.`);
    expect(cancelled.stderr).toContain('Run 999999 does not exist.');
    const result = await following;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain('cancelled');
  });

  it('re-runs the failed jobs of a run', async () => {
    const failed = JSON.parse((await cli(['run', 'cli/fail', '--follow', '--json'])).stdout) as { id: number };
    const rerun = await cli(['rerun', String(failed.id), '--failed', '--follow']);
    expect(rerun.code).toBe(1);
    expect(rerun.stdout).toContain('about to fail');
    const run = (await stack.request<{ attempt: number }>('GET', `/api/v1/runs/${failed.id}`)).body;
    expect(run.attempt).toBe(2);
  });

  it('answers mistakes with one sentence and a distinct exit code', async () => {
    const unknown = await cli(['logs', '424242']);
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr.trim()).toBe('bellows: Run 424242 does not exist.');

    const badId = await cli(['logs', 'abc']);
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain('"abc" is not a run id');

    expect((await cli(['run'])).code).toBe(2);
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['run', 'cli/build', '--input', 'novalue'])).code).toBe(2);

    const noPipeline = await cli(['run', 'cli/nope']);
    expect(noPipeline.code).toBe(1);
    expect(noPipeline.stderr).toContain('Pipeline "nope" does not exist in project "cli".');

    const unreachable = await cli(['runs'], { env: { BELLOWS_URL: 'http://127.0.0.1:9', BELLOWS_TOKEN: 'bel_x' } });
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain('Cannot reach the Bellows server at http://127.0.0.1:9');

    // Environment variables win over the config file.
    const envToken = await cli(['runs'], { env: { BELLOWS_URL: stack.apiUrl, BELLOWS_TOKEN: 'bel_revoked' } });
    expect(envToken.code).toBe(1);
    expect(envToken.stderr).toContain('refused the token');
  });
});

describe('bellows CLI on a project with a repository', () => {
  beforeAll(async () => {
    const created = await stack.request('POST', '/api/v1/projects', { body: { slug: 'cli-repo', name: 'CLI repo', repository: { url: `file://${bare}` } } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect((await stack.request('PUT', '/api/v1/projects/cli-repo/pipelines/build', { body: { path: '.bellows/build.sh' } })).status).toBe(200);
  });

  it('branches lists the real branches with short SHAs, the default marked; --json has the full answer', async () => {
    const mainSha = git(clone, 'rev-parse', 'main');
    const featureSha = git(clone, 'rev-parse', 'feature/login');

    const listed = await cli(['branches', 'cli-repo']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/^ {2}BRANCH\s+COMMIT$/),
      expect.stringMatching(new RegExp(`^ {2}feature/login\\s+${featureSha.slice(0, 12)}$`)),
      expect.stringMatching(new RegExp(`^\\* main\\s+${mainSha.slice(0, 12)}$`)),
    ]);

    const json = await cli(['branches', 'cli-repo', '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      project: 'cli-repo',
      defaultBranch: 'main',
      branches: [
        { name: 'feature/login', commitSha: featureSha },
        { name: 'main', commitSha: mainSha },
      ],
    });

    // A branch pushed after the first listing shows up (the server's list is cached for seconds only).
    git(clone, 'push', '--quiet', 'origin', 'main:release/1.0');
    await expect
      .poll(async () => (JSON.parse((await cli(['branches', 'cli-repo', '--json'])).stdout) as { branches: { name: string }[] }).branches.map((b) => b.name), {
        timeout: 30_000,
        interval: 1000,
      })
      .toContain('release/1.0');
  });

  it('branches answers mistakes with one sentence and the usual exit codes', async () => {
    const noRepository = await cli(['branches', 'cli']);
    expect(noRepository).toMatchObject({ code: 1, stdout: '' });
    expect(noRepository.stderr.trim()).toBe('bellows: Project "cli" has no repository; set one with PATCH /api/v1/projects/cli {"repository": {"url": "…"}}.');

    const unknown = await cli(['branches', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe('bellows: Project "nope" does not exist.');

    expect((await cli(['branches'])).code).toBe(2);
    const slashed = await cli(['branches', 'cli-repo/build']);
    expect(slashed.code).toBe(2);
    expect(slashed.stderr).toContain('bellows branches cli-repo');

    // A repository that cannot be read: the server says why, the CLI passes it on.
    const gone = path.join(repoRoot, 'gone.git');
    expect((await stack.request('POST', '/api/v1/projects', { body: { slug: 'cli-gone', name: 'Gone', repository: { url: `file://${gone}` } } })).status).toBe(201);
    const unreadable = await cli(['branches', 'cli-gone', '--json']);
    expect(unreadable).toMatchObject({ code: 1, stdout: '' });
    expect(unreadable.stderr).toMatch(/^bellows: Cannot read repository file:\/\/\S*gone\.git: .+/);

    // Global options may come before the command.
    const globalFirst = await cli(['--url', stack.apiUrl, 'branches', 'cli-repo', '--json']);
    expect(globalFirst.code, globalFirst.stderr).toBe(0);

    const help = await cli(['--help']);
    expect(help.stdout).toContain('bellows branches <project>');
    expect(help.stdout).toContain('run <project>/<pipeline> [--ref <branch|tag|commit>]');
  });

  it('run --ref runs the named branch’s commit and file; the default branch without it; an unknown ref is an error', async () => {
    const featureSha = git(clone, 'rev-parse', 'feature/login');
    const onFeature = await cli(['run', 'cli-repo/build', '--ref', 'feature/login', '--follow']);
    expect(onFeature.code, onFeature.stderr).toBe(0);
    expect(onFeature.stdout).toContain(`marker feature at ${featureSha} on feature/login`);
    expect(onFeature.stderr).toContain(`on feature/login at ${featureSha.slice(0, 12)}`);

    const mainSha = git(clone, 'rev-parse', 'main');
    const onMain = await cli(['run', 'cli-repo/build', '--json']);
    expect(onMain.code, onMain.stderr).toBe(0);
    expect(JSON.parse(onMain.stdout)).toMatchObject({ ref: 'main', commitSha: mainSha, pipelinePath: '.bellows/build.sh' });

    const text = await cli(['run', 'cli-repo/build', '--ref=feature/login']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`queued on feature/login at ${featureSha.slice(0, 12)}: id \\d+`));

    const unknownRef = await cli(['run', 'cli-repo/build', '--ref', 'no-such-branch']);
    expect(unknownRef).toMatchObject({ code: 1, stdout: '' });
    expect(unknownRef.stderr).toMatch(/^bellows: Ref "no-such-branch" does not exist in repository file:\/\/\S+\.\n$/);
  });
});
