import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunDetail } from '../../contract/runs.contract';
import { api, startStack, type Stack } from '../support/stack';

// Approval gates on the real stack: the decision is a conditional write in Postgres, the timeout a
// workflow timer; the Temporal worker killed while a run waits for a person loses neither.
let stack: Stack;
let releaseManager: string;
let intern: string;

beforeAll(async () => {
  stack = await startStack({ agents: [{ name: 'gate-agent', labels: 'pool=gate' }] });
  await stack.answered(201, api.projects.create, { body: { slug: 'ap', name: 'Approvals' } });
  const token = async (name: string) => {
    const created = await stack.request<{ token: string }>('POST', '/api/v1/tokens', { body: { name, scopes: ['trigger'] } });
    expect(created.status).toBe(201);
    return created.body.token;
  };
  releaseManager = await token('release-manager');
  intern = await token('intern');
  await stack.api.call(api.pipelines.put, {
    params: { slug: 'ap', name: 'ship' },
    body: {
      content: 'true\n',
      labels: ['pool=gate'],
      jobs: [
        { name: 'build', content: 'echo built\n' },
        { name: 'production', kind: 'approval', needs: ['build'], approvers: ['release-manager'] },
        { name: 'deploy', needs: ['production'], content: 'echo deployed\n' },
      ],
    },
  });
});

afterAll(async () => {
  await stack?.stop();
});

const run = (id: number): Promise<RunDetail> => stack.api.call(api.runs.get, { params: { id } });
const job = async (runId: number, key: string) => (await run(runId)).jobs.find((candidate) => candidate.key === key)!;
const ended = (runId: number) => stack.runEnded(runId);
const awaiting = (runId: number) =>
  stack.waitFor(async () => ((await job(runId, 'production')).status === 'awaiting_approval' ? job(runId, 'production') : null), {
    timeoutMs: 60_000,
    message: `run ${runId}'s gate to await approval`,
  });

it('waits for an approver across kill -9 of the worker, refuses anyone else with 403, then deploys', async () => {
  const started = await stack.answered(201, api.runs.trigger, { params: { slug: 'ap', name: 'ship' }, body: {} });
  const gate = await awaiting(started.id);
  expect(gate).toMatchObject({ kind: 'approval', approvers: ['release-manager'], approval: null, agent: null });
  expect(await job(started.id, 'deploy')).toMatchObject({ status: 'waiting' });
  const queue = await stack.api.call(api.queue.list, { query: {} });
  expect(queue.held.find((entry) => entry.id === gate.id)).toMatchObject({ status: 'awaiting_approval', waitingBecause: 'waiting for approval by release-manager' });

  await stack.killWorker('SIGKILL');
  const refused = await stack.request<{ error: { code: string; message: string } }>('POST', `/api/v1/jobs/${gate.id}/approve`, { token: intern, body: {} });
  expect(refused.status).toBe(403);
  expect(refused.body.error.message).toContain('Only release-manager may decide');

  // Decided while no worker runs: the decision is stored, and the workflow learns it when it is back.
  const approved = await stack.request<{ status: string; approval: { decision: string; by: string; comment: string } }>('POST', `/api/v1/jobs/${gate.id}/approve`, {
    token: releaseManager,
    body: { comment: 'ship it' },
  });
  expect(approved.status).toBe(200);
  expect(approved.body).toMatchObject({ status: 'succeeded', approval: { decision: 'approved', by: 'release-manager', comment: 'ship it' } });
  const again = await stack.request<{ error: { code: string } }>('POST', `/api/v1/jobs/${gate.id}/reject`, { token: releaseManager, body: {} });
  expect(again.status).toBe(409);
  expect(again.body.error.code).toBe('not_awaiting_approval');

  await stack.startWorker();
  const done = await ended(started.id);
  expect(done.status).toBe('succeeded');
  expect(done.jobs.map((j) => [j.key, j.status])).toEqual([
    ['build', 'succeeded'],
    ['production', 'succeeded'],
    ['deploy', 'succeeded'],
  ]);

  // Re-running only deploy carries the gate over with the decision that let it pass.
  await stack.answered(201, api.runs.rerun, { params: { id: started.id }, body: { jobs: ['deploy'] } });
  const secondAttempt = await stack.runEnded(started.id, { attempt: 2 });
  expect(secondAttempt.status).toBe('succeeded');
  expect(secondAttempt.jobs.find((j) => j.key === 'production')).toMatchObject({
    status: 'succeeded',
    reason: 'carried_over',
    approval: { decision: 'approved', by: 'release-manager', comment: 'ship it' },
  });
}, 180_000);

it('fails the gate with reason rejected and skips what needs it', async () => {
  const started = await stack.answered(201, api.runs.trigger, { params: { slug: 'ap', name: 'ship' }, body: {} });
  const gate = await awaiting(started.id);
  const rejected = await stack.request('POST', `/api/v1/jobs/${gate.id}/reject`, { token: releaseManager, body: { comment: 'not on a Friday' } });
  expect(rejected.status).toBe(200);
  const done = await ended(started.id);
  expect(done.status).toBe('failed');
  expect(done.jobs.find((j) => j.key === 'production')).toMatchObject({
    status: 'failed',
    reason: 'rejected',
    approval: { decision: 'rejected', by: 'release-manager', comment: 'not on a Friday' },
  });
  expect(done.jobs.find((j) => j.key === 'deploy')).toMatchObject({ status: 'skipped', reason: 'dependency_failed' });
});

it('refuses approving a job that is no approval (409) and a bad approval definition (422)', async () => {
  const started = await stack.answered(201, api.runs.trigger, { params: { slug: 'ap', name: 'ship' }, body: {} });
  const build = await stack.waitFor(async () => (await run(started.id)).jobs.find((j) => j.key === 'build'), { message: 'the build job' });
  const notGate = await stack.request<{ error: { code: string } }>('POST', `/api/v1/jobs/${build.id}/approve`, { body: {} });
  expect(notGate.status).toBe(409);
  expect(notGate.body.error.code).toBe('not_an_approval');
  await stack.api.call(api.runs.cancel, { params: { id: started.id } });

  const bad = await stack.request<{ error: { problems: string[] } }>('PUT', '/api/v1/projects/ap/pipelines/ship', {
    body: { content: 'true\n', jobs: [{ name: 'gate', kind: 'approval', content: 'echo no', approvers: [] }] },
  });
  expect(bad.status).toBe(422);
  expect(bad.body.error.problems).toEqual([
    'jobs[0].content: an approval job runs nothing, so it takes no content',
    'jobs[0].approvers: a non-empty list of token names',
  ]);
});

it('bellows approve decides the run\'s gate; with nothing awaiting, approve and reject exit non-zero with a sentence', async () => {
  const cli = async (args: string[], token: string) => {
    const env = { ...process.env, BELLOWS_URL: stack.apiUrl, BELLOWS_TOKEN: token, NO_COLOR: '1' };
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [path.resolve('dist/cli/main.js'), ...args], { env });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };
  const started = await stack.answered(201, api.runs.trigger, { params: { slug: 'ap', name: 'ship' }, body: {} });
  await awaiting(started.id);
  const denied = await cli(['approve', String(started.id)], intern);
  expect(denied.code).not.toBe(0);
  expect(denied.stderr).toContain('Only release-manager may decide');
  const approved = await cli(['approve', String(started.id), '--job', 'production', '--comment', 'looks good'], releaseManager);
  expect(approved).toMatchObject({ code: 0 });
  expect(approved.stdout).toContain('production of run');
  expect(approved.stdout).toContain('approved: looks good');
  const nothing = await cli(['reject', String(started.id)], releaseManager);
  expect(nothing.code).not.toBe(0);
  expect(nothing.stderr).toContain('nothing in run');
  expect((await ended(started.id)).status).toBe('succeeded');
});
