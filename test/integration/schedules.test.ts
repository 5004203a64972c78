import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Client, Connection, ScheduleNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminal, type RunDetail, type RunList } from '../../contract/runs.contract';
import type { Schedule } from '../../contract/schedules.contract';
import { temporalScheduleIdFor, type ScheduledRunResult } from '../../workflows/messages';
import { api, startStack, type Stack } from '../support/stack';

let stack: Stack;
let connection: Connection;
let temporal: Client;

beforeAll(async () => {
  stack = await startStack();
  connection = await Connection.connect({ address: stack.temporalAddress });
  temporal = new Client({ connection, namespace: stack.namespace });
  await stack.answered(201, api.projects.create, { body: { slug: 's', name: 'Schedules' } });
  await stack.startAgent({ name: 'sched-agent', labels: 'pool=sched' });
});

afterAll(async () => {
  await connection?.close();
  await stack?.stop();
});

async function put(name: string, content: string) {
  await stack.api.call(api.pipelines.put, { params: { slug: 's', name }, body: { content, labels: ['pool=sched'] } });
}

const create = (body: Record<string, unknown>) => stack.request<Schedule & { error?: { code: string; message: string } }>('POST', '/api/v1/projects/s/schedules', { body });
const getSchedule = (id: string) => stack.api.call(api.schedules.get, { params: { scheduleId: id } });
const describeInTemporal = (id: string) => temporal.schedule.getHandle(temporalScheduleIdFor(id)).describe();

/**
 * A pipeline's runs, oldest first, from the runs list (what every client sees). Each test's pipeline
 * has one schedule and nothing else starts it, so the tests can check what the runs say of their trigger.
 */
async function runsOf(pipeline: string): Promise<RunList['runs']> {
  const list = await stack.api.call(api.runs.list, { query: { project: 's', pipeline, limit: '200' } });
  return list.runs.reverse();
}

const finished = (id: number): Promise<RunDetail> => stack.runEnded(id);

/** The scheduled-run workflows Temporal started for this schedule, as its describe lists them. */
async function firedWorkflowIds(scheduleId: string): Promise<string[]> {
  const description = await describeInTemporal(scheduleId);
  return description.info.recentActions.map((action) => action.action.workflow.workflowId);
}

describe('schedule validation', () => {
  it.each([
    [{ pipeline: 'quick', cron: '61 * * * *' }, /cron "61 \* \* \* \*": minute 61 is outside 0-59/],
    [{ pipeline: 'quick', cron: 'every day' }, /cron "every day" must have 5 fields/],
    [{ pipeline: 'quick', every: '5 minutes' }, /every "5 minutes" is not an interval/],
    [{ pipeline: 'quick', cron: '0 3 * * *', timezone: 'Mars/Olympus' }, /timezone "Mars\/Olympus" is not an IANA time zone/],
    [{ pipeline: 'quick', cron: '0 3 * * *', every: '1h' }, /give exactly one of cron and every/],
    [{ pipeline: 'quick' }, /give exactly one of cron and every/],
  ])('refuses %j with a 422 naming the problem', async (body, message) => {
    await put('quick', 'echo quick');
    const response = await create(body);
    expect(response.status).toBe(422);
    expect(response.body.error?.code).toBe('invalid_schedule');
    expect(response.body.error?.message).toMatch(message);
  });

  it('refuses an unknown overlap and an unknown pipeline', async () => {
    // A value outside the body schema is the contract's 400, like every other route's.
    const overlap = await create({ pipeline: 'quick', every: '1h', overlap: 'sometimes' });
    expect(overlap.status).toBe(400);
    expect(overlap.body.error?.message).toMatch(/overlap must be one of: skip, buffer_one, allow_all, cancel_other/);
    expect((await create({ pipeline: 'nope', every: '1h' })).status).toBe(404);
  });
});

describe('schedules on Temporal', () => {
  it('creates a Temporal Schedule, runs on trigger with trigger kind schedule, pauses, resumes and deletes it', async () => {
    await put('nightly', 'echo "nightly $BELLOWS_REF"');
    const created = await create({ pipeline: 'nightly', cron: '0 3 * * *', timezone: 'Europe/Berlin', ref: 'release' });
    expect(created.status).toBe(201);
    const schedule = created.body;
    expect(schedule).toMatchObject({ pipeline: 'nightly', cron: '0 3 * * *', every: null, timezone: 'Europe/Berlin', overlap: 'skip', paused: false, recentRuns: [] });
    expect(schedule.nextRunAt).not.toBeNull();
    const described = await describeInTemporal(schedule.id);
    expect(described.spec.timezone).toBe('Europe/Berlin');
    expect(described.policies.overlap).toBe('SKIP');
    expect(described.state.paused).toBe(false);

    await stack.answered(202, api.schedules.trigger, { params: { scheduleId: schedule.id } });
    const [run] = await stack.waitFor(async () => {
      const runs = await runsOf('nightly');
      return runs.length ? runs : null;
    }, { timeoutMs: 60_000, message: 'the triggered run' });
    expect(run.trigger).toMatchObject({ kind: 'schedule', scheduleId: schedule.id });
    expect(run.ref).toBe('release');
    expect((await finished(run.id)).status).toBe('succeeded');
    const after = await getSchedule(schedule.id);
    expect(after.recentRuns.map((r) => r.id)).toEqual([run.id]);

    const paused = await stack.answered(200, api.schedules.update, { params: { scheduleId: schedule.id }, body: { paused: true } });
    expect(paused).toMatchObject({ paused: true, nextRunAt: null });
    expect((await describeInTemporal(schedule.id)).state.paused).toBe(true);
    const resumed = await stack.answered(200, api.schedules.update, { params: { scheduleId: schedule.id }, body: { paused: false, cron: '30 4 * * 1', overlap: 'buffer_one' } });
    expect(resumed).toMatchObject({ paused: false, cron: '30 4 * * 1', overlap: 'buffer_one' });
    const changed = await describeInTemporal(schedule.id);
    expect(changed.state.paused).toBe(false);
    expect(changed.policies.overlap).toBe('BUFFER_ONE');
    const badEdit = await stack.request<{ error: { message: string } }>('PATCH', `/api/v1/schedules/${schedule.id}`, { body: { timezone: 'Nowhere/Land' } });
    expect(badEdit.status).toBe(422);
    expect(badEdit.body.error.message).toMatch(/timezone "Nowhere\/Land"/);

    // Paused in Temporal itself (the Temporal UI does this): Bellows shows it.
    await temporal.schedule.getHandle(temporalScheduleIdFor(schedule.id)).pause('from the Temporal UI');
    expect(await getSchedule(schedule.id)).toMatchObject({ paused: true, nextRunAt: null });
    await stack.answered(200, api.schedules.update, { params: { scheduleId: schedule.id }, body: { paused: false } });
    expect((await describeInTemporal(schedule.id)).state.paused).toBe(false);

    const listed = await stack.api.call(api.schedules.list, { params: { slug: 's' } });
    expect(listed.schedules.map((s) => s.id)).toContain(schedule.id);

    await stack.answered(204, api.schedules.delete, { params: { scheduleId: schedule.id } });
    await expect(describeInTemporal(schedule.id)).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expect((await stack.request('GET', `/api/v1/schedules/${schedule.id}`)).status).toBe(404);
  });

  it('fires on its own on an interval', async () => {
    await put('ticker', 'echo tick');
    const { body: schedule, status } = await create({ pipeline: 'ticker', every: '2s' });
    expect(status).toBe(201);
    const runs = await stack.waitFor(async () => {
      const found = await runsOf('ticker');
      return found.length >= 2 ? found : null;
    }, { timeoutMs: 60_000, message: 'two runs fired by the interval' });
    expect(runs.every((run) => run.trigger?.kind === 'schedule' && run.trigger.scheduleId === schedule.id)).toBe(true);
    expect(new Set(runs.map((run) => run.id)).size).toBe(runs.length);
    await stack.answered(204, api.schedules.delete, { params: { scheduleId: schedule.id } });
  });

  it('cancel_other: a new firing cancels the run of the one still going', async () => {
    await put('long', 'echo long-start\nsleep 120\n');
    const { body: schedule } = await create({ pipeline: 'long', every: '4s', overlap: 'cancel_other' });
    const runs = await stack.waitFor(async () => {
      const found = await runsOf('long');
      return found.length >= 2 && found[0].status === 'cancelled' ? found : null;
    }, { timeoutMs: 90_000, message: 'the first run cancelled by the next firing' });
    expect(runs.map((run) => run.trigger)).toEqual(runs.map(() => expect.objectContaining({ kind: 'schedule', scheduleId: schedule.id })));
    if (process.env.BELLOWS_RECORD_HISTORIES === '1') {
      const [first] = await firedWorkflowIds(schedule.id);
      const handle = temporal.workflow.getHandle(first);
      await stack.waitFor(async () => (await handle.describe()).status.name === 'CANCELLED', { timeoutMs: 30_000, message: 'the first firing to end cancelled' });
      fs.writeFileSync(path.resolve('test/fixtures/histories/scheduled-run-cancel-other.json'), historyToJSON(await handle.fetchHistory()));
    }
    await stack.answered(200, api.schedules.update, { params: { scheduleId: schedule.id }, body: { paused: true } });
    await stack.answered(204, api.schedules.delete, { params: { scheduleId: schedule.id } });
    // The schedule is gone; its last run is left to whoever started it, so end it here.
    for (const run of await runsOf('long')) if (!isTerminal(run.status)) await stack.request('POST', `/api/v1/runs/${run.id}/cancel`);
  });

  it('creates exactly one run and waits for it when the worker is killed (SIGKILL) before and during the firing', async () => {
    await put('crashy', 'echo crash-one\nsleep 4\necho crash-two\n');
    const { body: schedule } = await create({ pipeline: 'crashy', cron: '0 0 1 1 *' });
    // No worker at all when the firing starts: Temporal holds the workflow until one comes back.
    await stack.killWorker('SIGKILL');
    await stack.answered(202, api.schedules.trigger, { params: { scheduleId: schedule.id } });
    const [workflowId] = await stack.waitFor(async () => {
      const ids = await firedWorkflowIds(schedule.id);
      return ids.length ? ids : null;
    }, { timeoutMs: 30_000, message: 'the firing workflow' });
    expect(await runsOf('crashy')).toEqual([]);
    await stack.startWorker();
    const running = await stack.waitFor(async () => {
      const [run] = await runsOf('crashy');
      return run?.status === 'running' ? run : null;
    }, { timeoutMs: 60_000, message: 'the scheduled run to be running' });
    // The workflow is now waiting on the run: kill its worker again.
    await stack.killWorker('SIGKILL');
    await stack.startWorker();
    expect((await finished(running.id)).status).toBe('succeeded');
    const result = (await temporal.workflow.getHandle(workflowId).result()) as ScheduledRunResult;
    expect(result).toEqual({ runId: running.id, status: 'succeeded' });
    expect((await runsOf('crashy')).map((run) => run.id)).toEqual([running.id]);
    // BELLOWS_RECORD_HISTORIES=1 keeps this firing's history for test/unit/workflow-replay.test.ts.
    if (process.env.BELLOWS_RECORD_HISTORIES === '1') {
      const history = await temporal.workflow.getHandle(workflowId).fetchHistory();
      fs.writeFileSync(path.resolve('test/fixtures/histories/scheduled-run-worker-killed.json'), historyToJSON(history));
    }
    await stack.answered(204, api.schedules.delete, { params: { scheduleId: schedule.id } });
  });
});

/** The built CLI, as a user runs it, against this stack. */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', BELLOWS_URL: stack.apiUrl, BELLOWS_TOKEN: stack.adminToken };
  const child = spawn(process.execPath, [path.resolve('dist/cli/main.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('orphaned Temporal Schedules', () => {
  it('removes the Temporal Schedule when its Bellows schedule went with its project', async () => {
    await stack.answered(201, api.projects.create, { body: { slug: 'doomed', name: 'Doomed' } });
    await stack.api.call(api.pipelines.put, { params: { slug: 'doomed', name: 'p' }, body: { content: 'echo p', labels: ['pool=sched'] } });
    const schedule = await stack.answered(201, api.schedules.create, { params: { slug: 'doomed' }, body: { pipeline: 'p', cron: '0 0 1 1 *' } });
    // As a project delete does (on delete cascade), behind the API's back.
    await stack.sql`delete from schedules where id = ${schedule.id}`;
    await temporal.schedule.getHandle(temporalScheduleIdFor(schedule.id)).trigger();
    await stack.waitFor(
      () => describeInTemporal(schedule.id).then(() => false, (error: unknown) => error instanceof ScheduleNotFoundError),
      { timeoutMs: 60_000, message: 'the orphaned Temporal Schedule to be deleted' },
    );
  });
});

describe('bellows schedule', () => {
  it('creates, lists, shows, pauses, resumes, triggers and deletes; mistakes are one sentence and a non-zero exit', async () => {
    await put('cli-sched', 'echo from-cli');
    const created = await cli(['schedule', 'create', 's/cli-sched', '--cron', '15 2 * * *', '--input', 'k=v', '--json']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const schedule = JSON.parse(created.stdout) as Schedule;
    expect(schedule).toMatchObject({ pipeline: 'cli-sched', cron: '15 2 * * *', inputs: { k: 'v' } });

    const listed = await cli(['schedule', 'list', 's']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`${schedule.id}\\s+cli-sched\\s+cron 15 2 \\* \\* \\*\\s+active`));

    expect((await cli(['schedule', 'pause', schedule.id])).stdout).toBe(`Schedule ${schedule.id} paused.\n`);
    expect((await describeInTemporal(schedule.id)).state.paused).toBe(true);
    expect((await cli(['schedule', 'show', schedule.id])).stdout).toMatch(/state:\s+paused/);
    expect((await cli(['schedule', 'resume', schedule.id])).stdout).toMatch(/resumed; next run/);
    expect((await describeInTemporal(schedule.id)).state.paused).toBe(false);

    expect((await cli(['schedule', 'trigger', schedule.id])).code).toBe(0);
    const [run] = await stack.waitFor(async () => {
      const runs = await runsOf('cli-sched');
      return runs.length ? runs : null;
    }, { timeoutMs: 60_000, message: 'the run the CLI triggered' });
    await finished(run.id);
    expect((await cli(['schedule', 'show', schedule.id])).stdout).toMatch(new RegExp(`#${run.number} succeeded \\(run ${run.id}\\)`));

    const bad = await cli(['schedule', 'create', 's/cli-sched', '--cron', '0 25 * * *']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/hour 25 is outside 0-23/);
    const both = await cli(['schedule', 'create', 's/cli-sched', '--cron', '0 3 * * *', '--every', '1h']);
    expect(both).toMatchObject({ code: 2, stderr: 'bellows: Give exactly one of --cron and --every.\n' });

    expect((await cli(['schedule', 'delete', schedule.id])).stdout).toBe(`Schedule ${schedule.id} deleted.\n`);
    await expect(describeInTemporal(schedule.id)).rejects.toBeInstanceOf(ScheduleNotFoundError);
    const gone = await cli(['schedule', 'show', schedule.id]);
    expect(gone).toMatchObject({ code: 1, stderr: `bellows: Schedule "${schedule.id}" does not exist.\n` });
  });
});
