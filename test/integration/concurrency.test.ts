import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunDetail } from '../../contract/runs.contract';
import { api, startStack, type Stack } from '../support/stack';

// Concurrency groups on the real stack: the slots are rows in Postgres, taken and given back by the
// run-attempt workflows, which tell each other through Temporal signals; a worker killed while a run
// waits for a slot loses neither the slot nor the line.
let stack: Stack;
let dir: string;

/** A job that runs until the test creates its gate file, so a run holds its slot as long as the test needs. */
const gated = (gate: string) => `while [ ! -f ${path.join(dir, gate)} ]; do sleep 0.1; done\necho passed ${gate}\n`;
const open = (gate: string) => writeFileSync(path.join(dir, gate), '');

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'bellows-concurrency-'));
  stack = await startStack({
    agents: [
      { name: 'cc-agent-1', labels: 'pool=cc' },
      { name: 'cc-agent-2', labels: 'pool=cc' },
    ],
  });
  await stack.answered(201, api.projects.create, { body: { slug: 'cc', name: 'Concurrency' } });
});

afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const cli = async (args: string[]) => {
  const env = { ...process.env, BELLOWS_URL: stack.apiUrl, BELLOWS_TOKEN: stack.adminToken, NO_COLOR: '1' };
  const { stdout } = await promisify(execFile)(process.execPath, [path.resolve('dist/cli/main.js'), ...args], { env });
  return stdout;
};
const run = (id: number): Promise<RunDetail> => stack.api.call(api.runs.get, { params: { id } });
const trigger = async (pipeline: string, body: { ref?: string; inputs?: Record<string, string> } = {}) =>
  (await stack.answered(201, api.runs.trigger, { params: { slug: 'cc', name: pipeline }, body })).id;
const ended = (runId: number) => stack.runEnded(runId);
const runningJob = (runId: number) =>
  stack.waitFor(async () => (await run(runId)).jobs.find((job) => job.status === 'running'), { timeoutMs: 60_000, message: `a job of run ${runId} to run` });
const slotState = (runId: number, state: 'waiting' | 'holding') =>
  stack.waitFor(
    async () => {
      const current = await run(runId);
      return current.concurrency?.state === state ? current : null;
    },
    { timeoutMs: 60_000, message: `run ${runId} to be ${state} its concurrency slot` },
  );

it('queues runs of one group in order across kill -9 of the worker, and says who holds the slot', async () => {
  await stack.api.call(api.pipelines.put, {
    params: { slug: 'cc', name: 'deploy' },
    body: { content: gated('deploy'), labels: ['pool=cc'], concurrency: { group: 'deploy-${ref}' } },
  });
  const first = await trigger('deploy');
  await runningJob(first);
  expect((await run(first)).concurrency).toMatchObject({ group: 'deploy-main', limit: 1, onConflict: 'queue', state: 'holding', waitingBecause: null });

  const second = await trigger('deploy');
  const waiting = await slotState(second, 'waiting');
  const firstNumber = (await run(first)).number;
  const sentence = `waiting for concurrency group deploy-main (held by run #${firstNumber})`;
  expect(waiting.concurrency).toMatchObject({ state: 'waiting', position: 1, heldBy: [{ runId: first, jobKey: null }], waitingBecause: sentence });
  expect(waiting.jobs).toMatchObject([{ status: 'waiting', reason: 'concurrency' }]);
  const queue = await stack.api.call(api.queue.list, { query: {} });
  expect(queue.held.find((entry) => entry.runId === second)).toMatchObject({ status: 'waiting', waitingBecause: sentence });
  expect(queue.jobs.some((entry) => entry.runId === second)).toBe(false);
  expect(await cli(['queue'])).toContain(sentence);
  expect(await cli(['logs', String(second)])).toContain(`⏸ ${sentence}`);

  // Another ref is another group: it runs beside the first.
  const other = await trigger('deploy', { ref: 'release' });
  await runningJob(other);
  expect((await run(other)).concurrency).toMatchObject({ group: 'deploy-release', state: 'holding' });

  await stack.killWorker('SIGKILL');
  open('deploy');
  // The first run's job ends while no worker runs; its slot goes back when its workflow is back.
  await stack.waitFor(async () => (await run(first)).jobs[0].status === 'succeeded', { timeoutMs: 60_000, message: 'the first run\'s job to succeed' });
  expect((await run(second)).concurrency?.state).toBe('waiting');
  await stack.startWorker();

  const [a, b, c] = [await ended(first), await ended(second), await ended(other)];
  expect([a.status, b.status, c.status]).toEqual(['succeeded', 'succeeded', 'succeeded']);
  expect(Date.parse(String(b.jobs[0].startedAt))).toBeGreaterThanOrEqual(Date.parse(String(a.jobs[0].finishedAt)));
  expect(b.concurrency).toMatchObject({ state: null, heldBy: [] });
}, 240_000);

it('cancel_in_progress supersedes the run holding the group; the newest runs', async () => {
  await stack.api.call(api.pipelines.put, {
    params: { slug: 'cc', name: 'preview' },
    body: {
      content: gated('preview'),
      labels: ['pool=cc'],
      inputs: { pr: { required: true } },
      concurrency: { group: 'preview-${inputs.pr}', onConflict: 'cancel_in_progress' },
    },
  });
  const older = await trigger('preview', { inputs: { pr: '7' } });
  await runningJob(older);
  const otherPr = await trigger('preview', { inputs: { pr: '8' } });
  await runningJob(otherPr);
  const newer = await trigger('preview', { inputs: { pr: '7' } });

  const superseded = await ended(older);
  expect(superseded).toMatchObject({ status: 'cancelled', reason: 'superseded' });
  expect(await cli(['runs', '--pipeline', 'preview', '--project', 'cc'])).toContain('cancelled (superseded)');
  await runningJob(newer);
  expect((await run(otherPr)).status).toBe('running');
  open('preview');
  expect(await ended(newer)).toMatchObject({ status: 'succeeded', reason: null });
  expect((await ended(otherPr)).status).toBe('succeeded');
}, 180_000);

it('skip ends a run that finds its group full cancelled, reason concurrency_skipped', async () => {
  await stack.api.call(api.pipelines.put, {
    params: { slug: 'cc', name: 'nightly' },
    body: { content: gated('nightly'), labels: ['pool=cc'], concurrency: { group: 'nightly', onConflict: 'skip' } },
  });
  const holder = await trigger('nightly');
  await runningJob(holder);
  const skipped = await ended(await trigger('nightly'));
  expect(skipped).toMatchObject({ status: 'cancelled', reason: 'concurrency_skipped' });
  expect(skipped.jobs).toMatchObject([{ status: 'cancelled', reason: 'concurrency_skipped', try: 0 }]);
  open('nightly');
  expect((await ended(holder)).status).toBe('succeeded');
}, 120_000);

it('a job-level group runs matrix legs one at a time though two agents are idle', async () => {
  const journal = path.join(dir, 'migrate.log');
  await stack.api.call(api.pipelines.put, {
    params: { slug: 'cc', name: 'migrate' },
    body: {
      content: 'true\n',
      labels: ['pool=cc'],
      jobs: [
        { name: 'build', content: 'echo built\n' },
        {
          name: 'migrate',
          needs: ['build'],
          matrix: { shard: ['1', '2', '3'] },
          content: `echo "start $MATRIX_SHARD" >> ${journal}\nsleep 0.5\necho "end $MATRIX_SHARD" >> ${journal}\n`,
          concurrency: { group: 'db-${ref}', limit: 1 },
        },
      ],
    },
  });
  const done = await ended(await trigger('migrate'));
  expect(done.status).toBe('succeeded');
  const lines = readFileSync(journal, 'utf8').trim().split('\n');
  expect(lines).toHaveLength(6);
  // Never two starts in a row: each leg ended before the next began.
  for (let i = 0; i < lines.length; i += 2) {
    expect(lines[i]).toMatch(/^start /);
    expect(lines[i + 1]).toBe(lines[i].replace('start', 'end'));
  }
  expect(done.jobs.find((job) => job.key === 'migrate[shard=1]')?.concurrency).toMatchObject({ group: 'db-main', limit: 1, state: null });
}, 120_000);

it('refuses a bad concurrency declaration with 422 naming each problem', async () => {
  const bad = await stack.request<{ error: { problems: string[] } }>('PUT', '/api/v1/projects/cc/pipelines/bad', {
    body: {
      content: 'true\n',
      inputs: { env: { required: true } },
      concurrency: { group: 'deploy-${inputs.target}-${matrix.os}', limit: 0, onConflict: 'wait' },
      jobs: [{ name: 'gate', kind: 'approval', concurrency: { group: 'x' } }, { name: 'a', concurrency: { group: '${branch}' } }],
    },
  });
  expect(bad.status).toBe(422);
  expect(bad.body.error.problems).toEqual([
    'concurrency.group: ${inputs.target} is not a declared input (declared: env)',
    "concurrency.group: ${matrix.os} is only known to a job's group (a run holds its pipeline's group for all its matrix jobs)",
    'concurrency.limit: an integer from 1 to 1000',
    'concurrency.onConflict: one of queue, cancel_in_progress, skip',
    'jobs[0].concurrency: an approval job runs nothing, so it takes no concurrency',
    'jobs[1].concurrency.group: ${branch} is not a placeholder (known: ${ref}, ${pipeline}, ${inputs.NAME}, ${matrix.KEY})',
  ]);
  // Nothing was stored.
  const missing = await stack.request('GET', '/api/v1/projects/cc/pipelines/bad');
  expect(missing.status).toBe(404);
});
