import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PutPipeline } from '../../contract/pipelines.contract';
import type { RunDetail, RunStatus, TriggerRun } from '../../contract/runs.contract';
import { api, startStack, type Stack } from '../support/stack';

let stack: Stack;

async function putPipeline(name: string, body: PutPipeline): Promise<void> {
  await stack.api.call(api.pipelines.put, { params: { slug: 'core', name }, body });
}

async function trigger(pipeline: string, body: TriggerRun = {}): Promise<RunDetail> {
  return stack.answered(201, api.runs.trigger, { params: { slug: 'core', name: pipeline }, body });
}

async function getRun(id: number): Promise<RunDetail> {
  return stack.api.call(api.runs.get, { params: { id } });
}

async function waitForStatus(id: number, statuses: RunStatus[], timeoutMs = 60_000): Promise<RunDetail> {
  return stack.waitFor(
    async () => {
      const run = await getRun(id);
      return statuses.includes(run.status) ? run : null;
    },
    { timeoutMs, message: `run ${id} to reach ${statuses.join('/')}` },
  );
}

async function logText(jobId: number): Promise<string> {
  return (await stack.api.raw(api.jobs.logText, { params: { id: jobId }, query: { format: 'text' } })).text();
}

beforeAll(async () => {
  stack = await startStack({ agents: [{ name: 'linux-1', labels: 'os=linux' }] });
  await stack.answered(201, api.projects.create, { body: { slug: 'core', name: 'Core' } });
  expect((await stack.api.raw(api.secrets.put, { params: { slug: 'core', name: 'DEPLOY_TOKEN' }, body: { value: 'tok-s3cret-123' } })).status).toBe(204);
});

afterAll(async () => {
  await stack?.stop();
});

describe('a script run end to end', () => {
  it('is claimed, streams logs with secrets masked, uploads artifacts and succeeds', async () => {
    await putPipeline('build', {
      content: [
        'echo "building $BELLOWS_PROJECT #$BELLOWS_RUN_ID on ref $BELLOWS_REF with greeting $ACT_INPUT_INPUT_GREETING"',
        'echo "token is $ACT_INPUT_SECRET_DEPLOY_TOKEN"',
        'echo "to stderr" >&2',
        'echo "mode=$MODE"',
        'printf "built\\n" > "$BELLOWS_ARTIFACTS_DIR/report.txt"',
        'mkdir -p "$BELLOWS_ARTIFACTS_DIR/nested" && head -c 100000 /dev/zero > "$BELLOWS_ARTIFACTS_DIR/nested/blob.bin"',
      ].join('\n'),
      labels: ['os=linux'],
      env: { MODE: 'release' },
      inputs: { greeting: { default: 'hi' } },
    });
    const queued = await trigger('build', { ref: 'feature/x', inputs: { greeting: 'hello' } });
    expect(queued).toMatchObject({ number: 1, attempt: 1 });
    expect(['queued', 'running']).toContain(queued.status);

    const run = await waitForStatus(queued.id, ['succeeded', 'failed', 'cancelled']);
    expect(run.status).toBe('succeeded');
    expect(run.durationMs).toBeGreaterThan(0);
    expect(run.jobs).toHaveLength(1);
    expect(run.jobs[0]).toMatchObject({ status: 'succeeded', exitCode: 0, agent: 'linux-1', try: 1 });

    const text = await logText(run.jobs[0].id);
    expect(text).toContain(`building core #${run.id} on ref feature/x with greeting hello`);
    expect(text).toContain('token is ***');
    expect(text).toContain('to stderr');
    expect(text).toContain('mode=release');
    const stored = await stack.sql<{ text: string }[]>`select text from log_chunks where job_id = ${run.jobs[0].id}`;
    expect(stored.map((row) => row.text).join('')).not.toContain('tok-s3cret-123');

    const page = await stack.api.call(api.jobs.logs, { params: { id: run.jobs[0].id }, query: { after: '0', limit: '2' } });
    expect(page.chunks.map((c) => c.seq)).toEqual([1, 2]);
    expect(page.nextSeq).toBe(2);
    expect(page.complete).toBe(false);
    const rest = await stack.api.call(api.jobs.logs, { params: { id: run.jobs[0].id }, query: { after: String(page.nextSeq) } });
    expect(rest.chunks[0].seq).toBe(3);
    expect(rest.complete).toBe(true);

    const { artifacts } = await stack.api.call(api.artifacts.list, { query: { runId: String(run.id) } });
    expect(artifacts.map((a) => a.name).sort()).toEqual(['nested/blob.bin', 'report.txt']);
    const report = artifacts.find((a) => a.name === 'report.txt')!;
    expect(report).toMatchObject({ size: 6, sha256: createHash('sha256').update('built\n').digest('hex') });
    const download = await stack.request<string>('GET', report.downloadUrl);
    expect(download.status).toBe(200);
    expect(download.body).toBe('built\n');
    expect(download.headers.etag).toBe(`"${report.sha256}"`);
    expect(download.headers['content-disposition']).toContain('report.txt');
    const partial = await stack.request<string>('GET', report.downloadUrl, { headers: { range: 'bytes=1-3' } });
    expect(partial.status).toBe(206);
    expect(partial.body).toBe('uil');
    expect(partial.headers['content-range']).toBe('bytes 1-3/6');
    const blob = artifacts.find((a) => a.name === 'nested/blob.bin')!;
    expect(blob).toMatchObject({ size: 100000, sha256: createHash('sha256').update(Buffer.alloc(100000)).digest('hex') });

    // The pipeline filter matches part of the name, in any case.
    const byPipeline = (pipeline: string) => stack.api.call(api.artifacts.list, { query: { runId: String(run.id), pipeline } });
    expect((await byPipeline('UIL')).artifacts).toHaveLength(2);
    expect((await byPipeline('deploy')).artifacts).toHaveLength(0);
    const runs = await stack.api.call(api.runs.list, { query: { project: 'core', pipeline: 'Bui' } });
    expect(runs.runs.map((r) => r.id)).toContain(run.id);
  });

  it('fails with the exit code of a failing script', async () => {
    await putPipeline('broken', { content: 'echo compiling\nexit 3\n' });
    const run = await waitForStatus((await trigger('broken')).id, ['succeeded', 'failed', 'cancelled']);
    expect(run.status).toBe('failed');
    expect(run.jobs[0]).toMatchObject({ status: 'failed', exitCode: 3, reason: 'exit_code' });
    expect(await logText(run.jobs[0].id)).toContain('compiling');
  });

  it('runs matrix jobs and respects needs between jobs', async () => {
    await putPipeline('fanout', {
      content: 'echo "job $MATRIX_NODE"',
      jobs: [
        { name: 'test', matrix: { node: ['20', '22'] } },
        { name: 'deploy', needs: ['test'], content: 'echo deploying' },
      ],
    });
    const run = await waitForStatus((await trigger('fanout')).id, ['succeeded', 'failed']);
    expect(run.status).toBe('succeeded');
    expect(run.jobs.map((j) => j.name)).toEqual(['test (20)', 'test (22)', 'deploy']);
    const [a, b, deploy] = await stack.sql<{ started: Date; finished: Date }[]>`
      select started_at as started, finished_at as finished from jobs where run_id = ${run.id} order by id`;
    expect(deploy.started.getTime()).toBeGreaterThanOrEqual(Math.max(a.finished.getTime(), b.finished.getTime()));
    expect(await logText(run.jobs[1].id)).toContain('job 22');
  });
});

describe('cancel', () => {
  it('cancels a queued run at once', async () => {
    await putPipeline('needs-gpu', { content: 'echo never', labels: ['gpu=true'] });
    const run = await trigger('needs-gpu');
    await stack.waitFor(async () => (await getRun(run.id)).jobs[0]?.status === 'queued', { message: 'job queued' });
    const cancelled = await stack.api.call(api.runs.cancel, { params: { id: run.id } });
    expect(cancelled.jobs[0].status).toBe('cancelled');
    const done = await waitForStatus(run.id, ['cancelled', 'failed', 'succeeded']);
    expect(done.status).toBe('cancelled');
    const again = await stack.request<{ error: { code: string } }>('POST', `/api/v1/runs/${run.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('run_finished');
  });

  it('stops a running job and its whole process tree; the run ends cancelled, not failed', async () => {
    // Durations no other test uses: the check below reads every process on the machine.
    await putPipeline('sleepy', { content: 'echo started-$BELLOWS_JOB_ID\n(sleep 317; echo orphan) &\nsleep 313\n' });
    const run = await trigger('sleepy');
    const running = await stack.waitFor(
      async () => {
        const current = await getRun(run.id);
        return current.status === 'running' && (await logText(current.jobs[0].id)).includes('started-') ? current : null;
      },
      { message: 'job running' },
    );
    await stack.api.call(api.runs.cancel, { params: { id: run.id } });
    const done = await waitForStatus(run.id, ['cancelled', 'failed', 'succeeded'], 30_000);
    expect(done.status).toBe('cancelled');
    expect(done.jobs[0].status).toBe('cancelled');
    expect(await logText(running.jobs[0].id)).toContain('started-');
    // The run is recorded cancelled once the agent reports (or after the cancel grace); its processes
    // are gone within seconds: a SIGKILLed process on a loaded machine may take a moment to exit.
    const { execSync } = await import('node:child_process');
    await stack.waitFor(() => !/^sleep 31[37]$/m.test(execSync('ps -eo args').toString()), {
      timeoutMs: 30_000,
      message: 'no `sleep 313` or `sleep 317` of the cancelled job left',
    });
    expect(await logText(running.jobs[0].id)).not.toContain('orphan');
  });

  it('bulk-cancels several runs and reports the ones it skipped', async () => {
    const first = await trigger('needs-gpu');
    const second = await trigger('needs-gpu');
    const res = await stack.api.call(api.runs.cancelMany, { body: { ids: [first.id, second.id, 999999] } });
    expect(res.cancelled.sort()).toEqual([first.id, second.id].sort());
    expect(res.skipped).toEqual([{ id: 999999, reason: 'No run "999999" exists.' }]);
    for (const id of [first.id, second.id]) expect((await waitForStatus(id, ['cancelled'])).status).toBe('cancelled');
  });
});

describe('re-run', () => {
  it('re-runs everything as attempt 2 and keeps attempt 1 readable', async () => {
    const run = await waitForStatus((await trigger('broken')).id, ['failed']);
    const rerun = await stack.answered(201, api.runs.rerun, { params: { id: run.id }, body: {} });
    expect(rerun.attempt).toBe(2);
    const after = await waitForStatus(run.id, ['failed', 'succeeded']);
    expect(after.attempt).toBe(2);
    expect(after.attempts.map((a) => [a.attempt, a.status])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
    ]);
    const firstJob = after.attempts[0].jobs[0];
    expect(firstJob.id).not.toBe(after.attempts[1].jobs[0].id);
    expect(await logText(firstJob.id)).toContain('compiling');
  });

  it('re-runs only failed jobs and their dependents; the rest carry over', async () => {
    await putPipeline('flaky', {
      content: 'echo ok',
      jobs: [
        { name: 'lint', content: 'echo lint-$BELLOWS_ATTEMPT' },
        { name: 'test', content: 'echo test-$BELLOWS_ATTEMPT; [ "$BELLOWS_ATTEMPT" -ge 2 ]' },
        { name: 'deploy', needs: ['test'], content: 'echo deploy-$BELLOWS_ATTEMPT' },
      ],
    });
    const first = await waitForStatus((await trigger('flaky')).id, ['failed', 'succeeded']);
    expect(first.status).toBe('failed');
    expect(first.jobs.map((j) => [j.key, j.status])).toEqual([
      ['lint', 'succeeded'],
      ['test', 'failed'],
      ['deploy', 'skipped'],
    ]);

    const conflict = await stack.request('POST', `/api/v1/runs/${(await trigger('build')).id}/rerun`, { body: { failedOnly: true } });
    expect(conflict.status).toBe(409);

    await stack.answered(201, api.runs.rerun, { params: { id: first.id }, body: { failedOnly: true } });
    const second = await waitForStatus(first.id, ['failed', 'succeeded']);
    expect(second.status).toBe('succeeded');
    const [lint, test, deploy] = second.attempts[1].jobs;
    expect(lint).toMatchObject({ key: 'lint', status: 'succeeded', carriedFromJobId: first.jobs[0].id });
    expect(test).toMatchObject({ key: 'test', status: 'succeeded', carriedFromJobId: null });
    expect(deploy).toMatchObject({ key: 'deploy', status: 'succeeded' });
    expect(await logText(test.id)).toContain('test-2');
    expect(await logText(deploy.id)).toContain('deploy-2');
    expect(await logText(first.jobs[1].id)).toContain('test-1');
  });
});
