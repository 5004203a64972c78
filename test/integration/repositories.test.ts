// Pipelines from repositories, end to end: real git (repositories made here, over file:// and over smart
// HTTP with Basic auth), the real API, worker and agent.

import { createHmac, randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http-server';
import { createTestRepository, git } from '../support/git-repository';
import type { ErrorBody } from '../../contract/http';
import type { PutPipeline } from '../../contract/pipelines.contract';
import { isTerminal, type RunDetail, type TriggerRun } from '../../contract/runs.contract';
import { api, startStack, type Stack } from '../support/stack';

const TOKEN = 'ghp-test-7d3f0a91c2e84b56';

let stack: Stack;
let http: GitHttpServer;
const repo = createTestRepository('web');
const { root, bare, clone: work } = repo;

/** A build script that shows what it runs on: its branch's marker, the checkout's HEAD and README. */
function buildScript(marker: string): string {
  return `echo "marker ${marker}"\necho "head $(git rev-parse HEAD)"\necho "readme $(cat README)"\necho "cwd-is-workspace $([ "$(pwd)" = "$BELLOWS_WORKSPACE" ] && echo yes)"\n`;
}

async function request<T>(method: string, path: string, body?: unknown) {
  return stack.request<T>(method, path, body === undefined ? {} : { body });
}

async function putPipeline(project: string, name: string, body: PutPipeline): Promise<void> {
  await stack.api.call(api.pipelines.put, { params: { slug: project, name }, body });
}

async function trigger(project: string, pipeline: string, body: TriggerRun = {}): Promise<RunDetail> {
  return stack.answered(201, api.runs.trigger, { params: { slug: project, name: pipeline }, body });
}

async function finished(id: number): Promise<RunDetail> {
  return stack.waitFor(
    async () => {
      const run = await stack.api.call(api.runs.get, { params: { id } });
      return isTerminal(run.status) ? run : null;
    },
    { timeoutMs: 90_000, message: `run ${id} to end` },
  );
}

/** Files under `dir` containing `text` (grep exits 1 when there are none). */
function filesMentioning(text: string, dir: string): string[] {
  try {
    return execFileSync('grep', ['-rlF', text, dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
  } catch (error) {
    if ((error as { status?: number }).status === 1) return [];
    throw error;
  }
}

/** The mirrors (bare `*.git` directories) under `root`, however deep: agents and the server keep one per project and repository. */
function mirrorsUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name.endsWith('.git'))
    .map((entry) => join(entry.parentPath, entry.name));
}

async function log(run: RunDetail): Promise<string> {
  return (await stack.api.raw(api.jobs.logText, { params: { id: run.jobs[0].id }, query: { format: 'text' } })).text();
}

beforeAll(async () => {
  const graph = 'entry: start\nnodes:\n  - {id: start, type: core/start@v1}\n  - {id: say, type: core/print@v1, inputs: {"values[0]": "graph at ${{ env.BELLOWS_COMMIT_SHA }}"}}\nconnections: []\nexecutions:\n  - {src: {node: start, port: exec}, dst: {node: say, port: exec}}\n';
  repo.commit({ README: 'main readme', '.bellows/build.sh': buildScript('main'), '.bellows/graph.act': graph }, 'main');
  repo.push('main');
  repo.checkout('feature/x');
  repo.commit({ README: 'feature readme', '.bellows/build.sh': buildScript('feature') }, 'feature');
  repo.push('feature/x');
  repo.checkout('main');
  http = await startGitHttpServer(root, { 'x-access-token': TOKEN });

  stack = await startStack({ agents: [{ name: 'repo-agent', labels: 'os=linux' }], env: { BELLOWS_ALLOW_FILE_REPOSITORIES: 'true' } });
  await stack.answered(201, api.projects.create, { body: { slug: 'web', name: 'Web', repository: { url: `file://${bare}` } } });
  await putPipeline('web', 'build', { path: '.bellows/build.sh' });
});

afterAll(async () => {
  await stack?.stop();
  await http?.close();
});

describe('projects with a repository', () => {
  it('list the repository’s real branches with their commits, and tags under refs', async () => {
    // Before the first listing: lists are cached for 10 s, so a tag pushed after it would not show yet.
    git(work, 'tag', 'feature-tag');
    repo.push('feature-tag');
    const branches = await stack.api.call(api.repositories.branches, { params: { slug: 'web' } });
    expect(branches).toEqual({
      defaultBranch: 'main',
      branches: [
        { name: 'feature/x', commitSha: git(work, 'rev-parse', 'feature/x') },
        { name: 'main', commitSha: git(work, 'rev-parse', 'main') },
      ],
    });
    const refs = await stack.api.call(api.repositories.refs, { params: { slug: 'web' }, query: { q: 'FEAT' } });
    expect(refs.refs.map((ref) => ref.name)).toEqual(['feature-tag', 'feature/x']);
    const onlyBranches = await stack.api.call(api.repositories.refs, { params: { slug: 'web' }, query: { q: 'feat', kind: 'branch' } });
    expect(onlyBranches.refs.map((ref) => ref.name)).toEqual(['feature/x']);
    const tags = await stack.api.call(api.repositories.refs, { params: { slug: 'web' }, query: { q: 'feat', kind: 'tag' } });
    expect(tags.refs).toEqual([{ name: 'feature-tag', kind: 'tag', commitSha: git(work, 'rev-parse', 'main') }]);
    expect((await request<ErrorBody>('GET', '/api/v1/projects/web/refs?kind=commit')).status).toBe(400);
    const files = await stack.api.call(api.repositories.pipelineFiles, { params: { slug: 'web' } });
    expect(files.files).toEqual([
      { path: '.bellows/build.sh', kind: 'script' },
      { path: '.bellows/graph.act', kind: 'act' },
    ]);
  });

  it('run each branch’s own file on a checkout of the recorded commit, in the job’s workspace', async () => {
    const mainSha = git(work, 'rev-parse', 'main');
    const featureSha = git(work, 'rev-parse', 'feature/x');
    const [onMain, onFeature] = await Promise.all([trigger('web', 'build'), trigger('web', 'build', { ref: 'feature/x' })]);
    expect(onMain).toMatchObject({ ref: 'main', commitSha: mainSha, pipelinePath: '.bellows/build.sh' });
    expect(onFeature).toMatchObject({ ref: 'feature/x', commitSha: featureSha });
    const mainLog = await log(await finished(onMain.id));
    const featureLog = await log(await finished(onFeature.id));
    expect(mainLog).toContain('marker main');
    expect(mainLog).toContain(`head ${mainSha}`);
    expect(mainLog).toContain('readme main readme');
    expect(mainLog).toContain('cwd-is-workspace yes');
    expect(mainLog).toMatch(new RegExp(`Checking out file://\\S+ main at ${mainSha.slice(0, 12)}`));
    expect(mainLog).toMatch(/Checked out \w{12} \(main\) in \d+ ms/);
    expect(featureLog).toContain('marker feature');
    expect(featureLog).toContain(`head ${featureSha}`);
    // The second job of the repository on this agent used its mirror: one mirror, and it says so.
    expect(mirrorsUnder(join(stack.agents[0].workDir, 'git-mirrors'))).toHaveLength(1);
    expect(`${mainLog}\n${featureLog}`).toContain("from this agent's mirror");
  });

  it('a .act graph from the repository runs too, and a re-run runs the same commit and content', async () => {
    await putPipeline('web', 'graph', { path: '.bellows/graph.act' });
    const first = await finished((await trigger('web', 'graph')).id);
    expect(first.status).toBe('succeeded');
    expect(await log(first)).toContain(`graph at ${first.commitSha}`);
    // main moves on; the re-run keeps the run's commit.
    repo.commit({ README: 'moved on' }, 'later');
    repo.push('main');
    await stack.answered(201, api.runs.rerun, { params: { id: first.id }, body: {} });
    const again = await stack.waitFor(async () => {
      const run = await stack.api.call(api.runs.get, { params: { id: first.id } });
      return run.attempt === 2 && run.status === 'succeeded' ? run : null;
    });
    expect(again.commitSha).toBe(first.commitSha);
    expect(await log(again)).toContain(`graph at ${first.commitSha}`);
  });

  it('a trigger right after a push runs the pushed file, not what the server’s mirror last saw', async () => {
    // The server's mirror has main from the runs before; the remote moves on without it hearing.
    const before = (await finished((await trigger('web', 'build')).id)).commitSha;
    const moved = repo.commit({ '.bellows/build.sh': buildScript('main-2') }, 'build script changed');
    repo.push('main');
    expect(moved).not.toBe(before);
    const run = await finished((await trigger('web', 'build')).id);
    expect(run).toMatchObject({ status: 'succeeded', commitSha: moved });
    const text = await log(run);
    expect(text).toContain('marker main-2');
    expect(text).toContain(`head ${moved}`);
  });

  it('records the full commit id for an abbreviated or upper-case one', async () => {
    const sha = git(work, 'rev-parse', 'feature/x');
    const run = await trigger('web', 'build', { ref: 'feature/x', commitSha: sha.slice(0, 10).toUpperCase() });
    expect(run.commitSha).toBe(sha);
    expect((await finished(run.id)).status).toBe('succeeded');
  });

  it('a push webhook runs the pushed commit', async () => {
    const hook = await stack.answered(201, api.hooks.create, { params: { slug: 'web' }, body: { pipeline: 'build', format: 'github' } });
    if (!hook.secret) throw new Error('a github hook is created with its signing secret');
    repo.checkout('feature/x');
    const pushed = repo.commit({ README: 'pushed readme' }, 'pushed');
    // The branch moves on before the delivery arrives: the run is of the pushed commit, not the tip.
    repo.commit({ README: 'tip readme' }, 'after the push');
    repo.push('feature/x');
    repo.checkout('main');
    const body = JSON.stringify({ ref: 'refs/heads/feature/x', after: pushed, before: '0'.repeat(40), deleted: false, pusher: { name: 'octocat' } });
    const signature = `sha256=${createHmac('sha256', hook.secret).update(body).digest('hex')}`;
    // Raw: a delivery is signed bytes without a bearer token.
    const delivery = await stack.request<{ runId: number }>('POST', `/api/v1/hooks/${hook.id}`, {
      token: null,
      rawBody: body,
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': signature },
    });
    expect(delivery.status, JSON.stringify(delivery.body)).toBe(201);
    const run = await finished(delivery.body.runId);
    expect(run).toMatchObject({ status: 'succeeded', ref: 'feature/x', commitSha: pushed });
    const text = await log(run);
    expect(text).toContain('readme pushed readme');
    expect(text).toContain(`head ${pushed}`);
  });

  it('a branch force-pushed after the trigger still runs the recorded commit, or says plainly that it is gone', async () => {
    // Labels no agent has yet keep the runs queued while their branches move.
    await putPipeline('web', 'late', { path: '.bellows/build.sh', labels: ['stage=late'] });
    await putPipeline('web', 'later', { path: '.bellows/build.sh', labels: ['stage=later'] });
    const forcePush = (branch: string, readme: string): { recorded: string; replace(): void } => {
      repo.checkout(branch);
      const recorded = repo.commit({ README: readme }, 'to be replaced');
      repo.push(branch);
      repo.checkout('main');
      return {
        recorded,
        replace: () => {
          repo.checkout(branch);
          git(work, 'reset', '--quiet', '--hard', 'main');
          repo.commit({ README: 'after force push' }, 'replacement');
          repo.push('--force', branch);
          repo.checkout('main');
        },
      };
    };

    // Still on the server: git hands out a commit no ref names any more.
    const volatile = forcePush('volatile', 'before force push');
    const kept = await trigger('web', 'late', { ref: 'volatile' });
    expect(kept.commitSha).toBe(volatile.recorded);
    volatile.replace();
    await stack.startAgent({ name: 'late-agent', labels: 'stage=late' });
    const ran = await finished(kept.id);
    const ranLog = await log(ran);
    expect(ran.status, ranLog).toBe('succeeded');
    expect(ranLog).toContain(`head ${volatile.recorded}`);
    expect(ranLog).toContain('readme before force push');

    // Garbage-collected on the server: the job fails, naming the commit.
    const gone = forcePush('doomed', 'about to vanish');
    const lost = await trigger('web', 'later', { ref: 'doomed' });
    expect(lost.commitSha).toBe(gone.recorded);
    gone.replace();
    git(bare, 'reflog', 'expire', '--expire=now', '--all');
    git(bare, 'gc', '--quiet', '--prune=now');
    await stack.startAgent({ name: 'later-agent', labels: 'stage=later' });
    const failed = await finished(lost.id);
    expect(failed.status).toBe('failed');
    expect(await log(failed)).toContain(`commit ${gone.recorded.slice(0, 12)} is not in`);
  });

  it('answer clearly for a missing file, an unknown ref, a path outside the repository and two cold triggers at once', async () => {
    await putPipeline('web', 'missing', { path: '.bellows/none.act' });
    const missing = await request<ErrorBody>('POST', '/api/v1/projects/web/pipelines/missing/runs', {});
    expect(missing.status).toBe(422);
    expect(missing.body.error).toMatchObject({ code: 'pipeline_file_missing', message: expect.stringContaining('.bellows/none.act does not exist at commit') });
    const unknown = await request<ErrorBody>('POST', '/api/v1/projects/web/pipelines/build/runs', { ref: 'no-such-branch' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error).toMatchObject({ code: 'unknown_ref', message: expect.stringContaining('"no-such-branch"') });
    for (const path of ['../etc/passwd', '/etc/passwd', 'a/../../b']) {
      const bad = await request<ErrorBody>('PUT', '/api/v1/projects/web/pipelines/evil', { path });
      expect(bad.status, path).toBe(400);
      expect(bad.body.error.code).toBe('invalid_path');
    }
    // A fresh project on the same repository has mirrors of its own: two triggers at once on a cold one.
    const two = await stack.answered(201, api.projects.create, { body: { slug: 'web-two', name: 'Web 2', repository: { url: `file://${bare}` } } });
    const serverMirrors = join(stack.logDir, 'data', 'git-mirrors', two.id);
    expect(mirrorsUnder(join(stack.logDir, 'data', 'git-mirrors')).filter((dir) => dir.startsWith(serverMirrors))).toEqual([]);
    await putPipeline('web-two', 'build', { path: '.bellows/build.sh' });
    const both = await Promise.all([trigger('web-two', 'build'), trigger('web-two', 'build')]);
    expect(both[0].commitSha).toBe(git(work, 'rev-parse', 'main'));
    expect(both[1].commitSha).toBe(both[0].commitSha);
    expect(mirrorsUnder(serverMirrors)).toHaveLength(1);
    for (const run of both) expect((await finished(run.id)).status).toBe('succeeded');
  });
});

describe('a repository over https with credentials', () => {
  const url = (): string => `${http.base}/web.git`;

  beforeAll(async () => {
    await stack.answered(201, api.projects.create, { body: { slug: 'private', name: 'Private', repository: { url: url(), credentialsSecret: 'GIT_TOKEN' } } });
    await putPipeline('private', 'build', { path: '.bellows/build.sh', labels: ['os=linux'] });
  });

  it('refuses missing, wrong or unfit credentials with a clear error that never shows them', async () => {
    expect((await request('DELETE', '/api/v1/projects/private/secrets/GIT_TOKEN')).status).toBeLessThan(500);
    const unset = await request<ErrorBody>('GET', '/api/v1/projects/private/branches');
    expect(unset.status).toBe(422);
    expect(unset.body.error.code).toBe('credentials_missing');
    expect((await stack.api.raw(api.secrets.put, { params: { slug: 'private', name: 'GIT_TOKEN' }, body: { value: 'wrong-token-123456' } })).status).toBe(204);
    const wrong = await request<ErrorBody>('GET', '/api/v1/projects/private/branches');
    expect(wrong.status).toBe(422);
    expect(wrong.body.error.code).toBe('repository_auth_failed');
    expect(wrong.body.error.message).toContain(url());
    expect(wrong.body.error.message).toContain('authentication failed');
    expect(JSON.stringify(wrong.body)).not.toContain('wrong-token-123456');
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';
    expect((await stack.api.raw(api.secrets.put, { params: { slug: 'private', name: 'GIT_TOKEN' }, body: { value: key } })).status).toBe(204);
    const unfit = await request<ErrorBody>('POST', '/api/v1/projects/private/pipelines/build/runs', {});
    expect(unfit.status).toBe(422);
    expect(unfit.body.error).toMatchObject({ code: 'credentials_mismatch', message: expect.stringContaining('private key') });
    expect(JSON.stringify(unfit.body)).not.toContain('b3BlbnNzaC1rZXktdjEAAAAA');
  });

  it('lists branches and runs checkouts with the right token, which no log, URL or file shows', async () => {
    expect((await stack.api.raw(api.secrets.put, { params: { slug: 'private', name: 'GIT_TOKEN' }, body: { value: TOKEN } })).status).toBe(204);
    const branches = await stack.api.call(api.repositories.branches, { params: { slug: 'private' } });
    const featureSha = git(work, 'rev-parse', 'feature/x');
    expect(branches.branches).toContainEqual({ name: 'feature/x', commitSha: featureSha });
    const first = await finished((await trigger('private', 'build', { ref: 'feature/x' })).id);
    const second = await finished((await trigger('private', 'build', { ref: 'feature/x' })).id);
    const texts = [await log(first), await log(second)];
    for (const [i, run] of [first, second].entries()) {
      expect(run, texts[i]).toMatchObject({ status: 'succeeded', commitSha: featureSha });
      expect(texts[i]).toContain(`head ${featureSha}`);
    }
    // The second checkout over https came out of the agent's mirror of this project.
    expect(texts[1]).toContain("from this agent's mirror");
    const project = await stack.api.call(api.projects.get, { params: { slug: 'private' } });
    expect(JSON.stringify(project)).not.toContain(TOKEN);
    // Nothing the stack keeps on disk (logs, the server's and the agents' mirrors and workspaces, their
    // .git/config files) holds the token or its Basic-auth form.
    expect(filesMentioning(TOKEN, stack.logDir)).toEqual([]);
    expect(filesMentioning(Buffer.from(`x-access-token:${TOKEN}`).toString('base64'), stack.logDir)).toEqual([]);
  });

  it('another project naming the same private repository gets nothing without its own credentials', async () => {
    // The token-holding project's mirrors have every commit; this one must still prove access.
    await stack.answered(201, api.projects.create, { body: { slug: 'intruder', name: 'Intruder', repository: { url: url() } } });
    await putPipeline('intruder', 'build', { path: '.bellows/build.sh', labels: ['os=linux'] });
    const sha = git(work, 'rev-parse', 'feature/x');
    const branches = await request<ErrorBody>('GET', '/api/v1/projects/intruder/branches');
    expect(branches.status).toBe(422);
    expect(branches.body.error.code).toBe('repository_auth_failed');
    const pinned = await request<ErrorBody>('POST', '/api/v1/projects/intruder/pipelines/build/runs', { ref: 'feature/x', commitSha: sha });
    expect(pinned.status).toBe(422);
    expect(pinned.body.error.code).toBe('repository_auth_failed');
  });
});
