import crypto from 'node:crypto';
import path from 'node:path';
import { Client, Connection, WorkflowContinuedAsNewError, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { runAttemptWorkflow } from '../../workflows/run-attempt.workflow';
import { cancelSignal, jobClaimedSignal, jobFinishedSignal, jobLostSignal, jobsQuery, type JobFinished, type RunAttemptInput } from '../../workflows/messages';
import { createFakeRunActivities, type FakeRunActivities } from '../support/fake-run-activities';
import { claimNamespace } from '../support/stack';

// The run-attempt workflow's rules against fake activities on the suite's Temporal dev server: no
// API, agent or Postgres, and every timer the workflow takes from its input or from createJobs is
// set to a fraction of a second, so a job timeout or a cancel grace costs under a second, not minutes.

type RunHandle = WorkflowHandleWithFirstExecutionRunId<typeof runAttemptWorkflow>;

// One hour: timers a test does not exercise must never fire during it.
const NEVER_SECONDS = 3600;
const baseInput: RunAttemptInput = {
  runId: 1,
  attempt: 1,
  failedOnly: false,
  maxTries: 2,
  reconcileSeconds: NEVER_SECONDS,
  cancelGraceSeconds: NEVER_SECONDS,
};
// A broken rule leaves the workflow waiting forever: give up on it after 60 s, with its jobs in the
// message, before vitest's own timeout. The slowest test takes about 2.5 s on an idle machine (the dev
// server fires timers up to a second late); the margin is for a CI machine with both cores busy, where
// the deadline must never be what a healthy run meets.
const BODY_DEADLINE_MS = 60_000;
const TEST_TIMEOUT_MS = 75_000;

let namespace: string;
let bundle: WorkflowBundle;
let workerConnection: NativeConnection;
let clientConnection: Connection;
let client: Client;

beforeAll(async () => {
  const address = inject('temporalAddress');
  // Each test file runs in its own process (pool: forks); the default INFO logger prints every worker state change.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  namespace = claimNamespace();
  // Bundled once (about 2 s of webpack); a Worker on the ready bundle starts in well under a second.
  const quiet = () => undefined;
  bundle = await bundleWorkflowCode({
    workflowsPath: path.resolve('workflows/index.ts'),
    logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: (message) => process.stderr.write(`${message}\n`) },
  });
  workerConnection = await NativeConnection.connect({ address });
  clientConnection = await Connection.connect({ address });
  client = new Client({ connection: clientConnection, namespace });
});

afterAll(async () => {
  await workerConnection?.close();
  await clientConnection?.close();
});

/** Runs `body` against a fresh worker on its own task queue, so tests share nothing but the server. */
async function withWorkflow<T>(fake: FakeRunActivities, input: Partial<RunAttemptInput>, body: (handle: RunHandle) => Promise<T>): Promise<T> {
  const taskQueue = `run-workflow-${crypto.randomBytes(6).toString('hex')}`;
  const worker = await Worker.create({ connection: workerConnection, namespace, taskQueue, workflowBundle: bundle, activities: fake.activities });
  return worker.runUntil(async () => {
    const handle = await client.workflow.start<typeof runAttemptWorkflow>('runAttemptWorkflow', {
      taskQueue,
      workflowId: `${taskQueue}-attempt`,
      args: [{ ...baseInput, ...input }],
    });
    try {
      return await within(body(handle), BODY_DEADLINE_MS, async () => `workflow still running, jobs ${JSON.stringify(await handle.query(jobsQuery))}`);
    } catch (error) {
      await handle.terminate('test failed').catch(() => undefined);
      throw error;
    }
  });
}

async function within<T>(work: Promise<T>, ms: number, describeStall: () => Promise<string>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      describeStall().then(
        (description) => reject(new Error(`not done within ${ms} ms: ${description}`)),
        (error: unknown) => reject(new Error(`not done within ${ms} ms (and the workflow could not be queried: ${String(error)})`)),
      );
    }, ms);
  });
  try {
    return await Promise.race([work, stalled]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What the workflow's last timer asked for, in ms: a duration it derived from its input, not when
 * the server fired it. Workflow time moves a few ms between setting a deadline and arming its
 * timer when a local activity sits in between, so callers accept that much less.
 */
async function lastTimerMs(handle: RunHandle): Promise<number> {
  const history = await handle.fetchHistory();
  const timers = (history.events ?? []).flatMap((event) => (event.timerStartedEventAttributes ? [tsToMs(event.timerStartedEventAttributes.startToFireTimeout)] : []));
  return timers.at(-1) ?? Number.NaN;
}

// A timer armed for `ms` after its deadline was set, give or take the few ms of workflow time above.
const expectTimerFor = async (handle: RunHandle, ms: number): Promise<void> => {
  const armed = await lastTimerMs(handle);
  expect(armed).toBeLessThanOrEqual(ms);
  expect(armed).toBeGreaterThan(ms - 50);
};

/** An agent claims a queued job and the API signals it, as the claim endpoint does. */
async function claimAndSignal(fake: FakeRunActivities, handle: RunHandle, key: string): Promise<{ jobId: number; try: number }> {
  const claimed = fake.claim(key);
  await handle.signal(jobClaimedSignal, { ...claimed, agentId: 'fake-agent' });
  return claimed;
}

describe('run-attempt workflow with fake activities', () => {
  it(
    'fails a claimed job with reason timeout once its timeoutMinutes pass without a finish',
    async () => {
      // 0.005 minutes = 300 ms: the deadline is claim time + timeoutMinutes, whatever the unit's size.
      const fake = createFakeRunActivities([{ key: 'build', timeoutMinutes: 0.005 }]);
      const result = await withWorkflow(fake, {}, async (handle) => {
        await fake.called('enqueueJobs');
        const claimed = await claimAndSignal(fake, handle, 'build');
        const outcome = await handle.result();
        expect(fake.inputsOf('failRunningJob')).toEqual([{ jobId: claimed.jobId, try: claimed.try, reason: 'timeout' }]);
        // The deadline's timer: 0.005 min = 300 ms after the claim.
        await expectTimerFor(handle, 300);
        return outcome;
      });
      expect(result.status).toBe('failed');
      expect(result.jobs).toEqual([{ id: 1, key: 'build', status: 'failed', try: 1 }]);
      // The timer, not the reconcile backstop, ended it.
      expect(fake.inputsOf('loadJobStates')).toEqual([]);
      expect(fake.inputsOf('finalizeAttempt')).toEqual([{ runId: 1, attempt: 1, status: 'failed' }]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'reconciles a finish whose signal never arrived from the job states it loads',
    async () => {
      const fake = createFakeRunActivities([{ key: 'build' }, { key: 'deploy', needs: ['build'] }]);
      const result = await withWorkflow(fake, { reconcileSeconds: 0.2 }, async (handle) => {
        await fake.called('enqueueJobs');
        await claimAndSignal(fake, handle, 'build');
        // Committed by the finish endpoint, but the API died before signalling.
        fake.finish('build', 'succeeded');
        // Reconcile learns build succeeded and releases its dependant.
        await fake.called('enqueueJobs', 2);
        expect(fake.inputsOf('enqueueJobs')).toEqual([{ jobIds: [1] }, { jobIds: [2] }]);
        // deploy's claim and finish signals are lost too; the next reconcile picks up both.
        fake.claim('deploy');
        fake.finish('deploy', 'succeeded');
        return handle.result();
      });
      expect(result.status).toBe('succeeded');
      expect(result.jobs.map((job) => [job.key, job.status])).toEqual([
        ['build', 'succeeded'],
        ['deploy', 'succeeded'],
      ]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'requeues a running try whose lease expired, found by reconcile without a lost signal, while tries remain',
    async () => {
      const fake = createFakeRunActivities([{ key: 'build' }]);
      const result = await withWorkflow(fake, { reconcileSeconds: 0.2, maxTries: 2 }, async (handle) => {
        await fake.called('enqueueJobs');
        await claimAndSignal(fake, handle, 'build');
        fake.expireLease('build');
        expect(await fake.called('requeueLostJob')).toEqual({ jobId: 1, try: 1 });
        const second = await claimAndSignal(fake, handle, 'build');
        expect(second.try).toBe(2);
        // The second try's agent also vanishes: maxTries (2) is spent, so the job fails.
        fake.expireLease('build');
        expect(await fake.called('failRunningJob')).toEqual({ jobId: 1, try: 2, reason: 'agent_lost' });
        return handle.result();
      });
      expect(result.status).toBe('failed');
      expect(fake.inputsOf('requeueLostJob')).toHaveLength(1);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'continues as new when Temporal suggests it, carrying its jobs instead of creating them again',
    async () => {
      const fake = createFakeRunActivities([{ key: 'build' }]);
      const result = await withWorkflow(fake, { reconcileSeconds: 0.2 }, async (handle) => {
        await fake.called('enqueueJobs');
        await claimAndSignal(fake, handle, 'build');
        // The dev server suggests continue-as-new past 4 MiB of history (limit.historySize.suggestContinueAsNew);
        // five 1 MB signals for a job the workflow does not know get there in a few round trips.
        const padding = 'x'.repeat(1_000_000);
        for (let n = 0; n < 5; n++) {
          const unknownJob: JobFinished & { padding: string } = { jobId: 999, try: 1, status: 'failed', exitCode: 1, padding };
          await handle.signal(jobFinishedSignal, unknownJob);
        }
        const firstRun = client.workflow.getHandle<typeof runAttemptWorkflow>(handle.workflowId, handle.firstExecutionRunId, { followRuns: false });
        await expect(firstRun.result()).rejects.toBeInstanceOf(WorkflowContinuedAsNewError);
        // The new run knows the running try it carried; its finish signal ends the attempt.
        const latest = client.workflow.getHandle<typeof runAttemptWorkflow>(handle.workflowId);
        expect((await latest.query(jobsQuery)).map((job) => [job.key, job.status, job.try])).toEqual([['build', 'running', 1]]);
        await latest.signal(jobFinishedSignal, { ...fake.finish('build', 'succeeded'), exitCode: 0 });
        return latest.result();
      });
      expect(result.status).toBe('succeeded');
      expect(fake.inputsOf('createJobs')).toHaveLength(1);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'on cancel asks running jobs to stop and ends cancelled without forcing when they stop within the grace',
    async () => {
      const fake = createFakeRunActivities([{ key: 'build' }, { key: 'deploy', needs: ['build'] }]);
      const result = await withWorkflow(fake, { cancelGraceSeconds: NEVER_SECONDS, reconcileSeconds: 0.2 }, async (handle) => {
        await fake.called('enqueueJobs');
        await claimAndSignal(fake, handle, 'build');
        await handle.signal(cancelSignal, { by: 'test' });
        expect(await fake.called('cancelAttempt')).toEqual({ runId: 1, attempt: 1 });
        expect(fake.job('deploy').status).toBe('cancelled');
        // A reconcile after the cancel means a timer woke the workflow, and it still did not force:
        // it is waiting out the grace (the force check runs before reconcile on every wake).
        await fake.called('loadJobStates', fake.inputsOf('loadJobStates').length + 1);
        expect(fake.inputsOf('forceCancelAttempt')).toEqual([]);
        // The agent saw cancel_requested and stopped.
        await handle.signal(jobFinishedSignal, { ...fake.finish('build', 'cancelled'), exitCode: null });
        return handle.result();
      });
      expect(result.status).toBe('cancelled');
      expect(fake.inputsOf('forceCancelAttempt')).toEqual([]);
      expect(fake.inputsOf('finalizeAttempt')).toEqual([{ runId: 1, attempt: 1, status: 'cancelled' }]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'on cancel force-cancels jobs still running once the grace has passed',
    async () => {
      const fake = createFakeRunActivities([{ key: 'build' }]);
      const result = await withWorkflow(fake, { cancelGraceSeconds: 0.3 }, async (handle) => {
        await fake.called('enqueueJobs');
        await claimAndSignal(fake, handle, 'build');
        await handle.signal(cancelSignal, { by: 'test' });
        // The agent never answers.
        const outcome = await handle.result();
        // The grace is the cancel's own timer: cancelGraceSeconds, not the reconcile interval.
        await expectTimerFor(handle, 300);
        return outcome;
      });
      expect(result.status).toBe('cancelled');
      expect(result.jobs).toEqual([{ id: 1, key: 'build', status: 'cancelled', try: 1 }]);
      expect(fake.calls.map((call) => call.name).filter((name) => name === 'cancelAttempt' || name === 'forceCancelAttempt')).toEqual([
        'cancelAttempt',
        'forceCancelAttempt',
      ]);
    },
    TEST_TIMEOUT_MS,
  );
  it(
    'retries a try whose exit code its policy names as a new try once the backoff timer fires, then succeeds',
    async () => {
      const fake = createFakeRunActivities([{ key: 'build', retry: { exitCodes: [75], maxTries: 3, backoffSeconds: 0.3 } }, { key: 'deploy', needs: ['build'] }]);
      const result = await withWorkflow(fake, {}, async (handle) => {
        await fake.called('enqueueJobs');
        await claimAndSignal(fake, handle, 'build');
        await handle.signal(jobFinishedSignal, { ...fake.finish('build', 'failed'), exitCode: 75 });
        expect(await fake.called('scheduleRetry')).toMatchObject({ jobId: 1, try: 1, reason: 'exit_code' });
        expect(await fake.called('releaseRetry')).toEqual({ jobId: 1 });
        // The backoff was the workflow's own timer: 0.3 s, not the hour-long reconcile.
        const history = await handle.fetchHistory();
        const timers = (history.events ?? []).flatMap((event) => (event.timerStartedEventAttributes ? [tsToMs(event.timerStartedEventAttributes.startToFireTimeout)] : []));
        expect(timers.some((ms) => ms <= 300 && ms > 250)).toBe(true);
        // deploy waited through the backoff instead of being skipped for a failed need.
        expect(fake.inputsOf('skipJobs')).toEqual([]);
        const second = await claimAndSignal(fake, handle, 'build');
        expect(second.try).toBe(2);
        await handle.signal(jobFinishedSignal, { ...fake.finish('build', 'succeeded'), exitCode: 0 });
        await fake.called('enqueueJobs', 2);
        await claimAndSignal(fake, handle, 'deploy');
        await handle.signal(jobFinishedSignal, { ...fake.finish('deploy', 'succeeded'), exitCode: 0 });
        return handle.result();
      });
      expect(result.status).toBe('succeeded');
      expect(result.jobs.map((job) => [job.key, job.status, job.try])).toEqual([
        ['build', 'succeeded', 2],
        ['deploy', 'succeeded', 1],
      ]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'fails without retrying an exit code the policy does not name, and once maxTries are spent',
    async () => {
      const fake = createFakeRunActivities([
        { key: 'other-code', retry: { exitCodes: [75], maxTries: 3 } },
        { key: 'exhausted', retry: { maxTries: 2 } },
      ]);
      const result = await withWorkflow(fake, {}, async (handle) => {
        await fake.called('enqueueJobs');
        await claimAndSignal(fake, handle, 'other-code');
        await handle.signal(jobFinishedSignal, { ...fake.finish('other-code', 'failed'), exitCode: 1 });
        await claimAndSignal(fake, handle, 'exhausted');
        await handle.signal(jobFinishedSignal, { ...fake.finish('exhausted', 'failed'), exitCode: 1 });
        await fake.called('releaseRetry');
        await claimAndSignal(fake, handle, 'exhausted');
        await handle.signal(jobFinishedSignal, { ...fake.finish('exhausted', 'failed'), exitCode: 1 });
        return handle.result();
      });
      expect(result.status).toBe('failed');
      expect(fake.inputsOf('scheduleRetry')).toMatchObject([{ jobId: 2, try: 1, reason: 'exit_code' }]);
      expect(result.jobs.map((job) => [job.key, job.status, job.try])).toEqual([
        ['other-code', 'failed', 1],
        ['exhausted', 'failed', 2],
      ]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'retries a timed-out try when the policy names timeout, instead of failing the job',
    async () => {
      const fake = createFakeRunActivities([{ key: 'build', timeoutMinutes: 0.005, retry: { reasons: ['timeout'], maxTries: 2 } }]);
      const result = await withWorkflow(fake, {}, async (handle) => {
        await fake.called('enqueueJobs');
        await claimAndSignal(fake, handle, 'build');
        expect(await fake.called('scheduleRetry')).toMatchObject({ jobId: 1, try: 1, reason: 'timeout' });
        await fake.called('releaseRetry');
        await claimAndSignal(fake, handle, 'build');
        await handle.signal(jobFinishedSignal, { ...fake.finish('build', 'succeeded'), exitCode: 0 });
        return handle.result();
      });
      expect(fake.inputsOf('failRunningJob')).toEqual([]);
      expect(result).toMatchObject({ status: 'succeeded', jobs: [{ key: 'build', status: 'succeeded', try: 2 }] });
    },
    TEST_TIMEOUT_MS,
  );
  it(
    'retries a try whose agent was lost after the policy backoff, instead of the plain lost-agent requeue',
    async () => {
      const fake = createFakeRunActivities([{ key: 'build', retry: { reasons: ['agent_lost'], maxTries: 2, backoffSeconds: 0.2 } }]);
      const result = await withWorkflow(fake, {}, async (handle) => {
        await fake.called('enqueueJobs');
        const first = await claimAndSignal(fake, handle, 'build');
        await handle.signal(jobLostSignal, first);
        expect(await fake.called('scheduleRetry')).toMatchObject({ jobId: 1, try: 1, reason: 'agent_lost' });
        await fake.called('releaseRetry');
        await claimAndSignal(fake, handle, 'build');
        await handle.signal(jobFinishedSignal, { ...fake.finish('build', 'succeeded'), exitCode: 0 });
        return handle.result();
      });
      expect(fake.inputsOf('requeueLostJob')).toEqual([]);
      expect(result).toMatchObject({ status: 'succeeded', jobs: [{ key: 'build', status: 'succeeded', try: 2 }] });
    },
    TEST_TIMEOUT_MS,
  );
  it(
    'holds an approval job for a decision, never queueing it, and releases what needs it once approved',
    async () => {
      const fake = createFakeRunActivities([{ key: 'gate', kind: 'approval' }, { key: 'deploy', needs: ['gate'] }]);
      const result = await withWorkflow(fake, {}, async (handle) => {
        expect(await fake.called('awaitApproval')).toEqual({ jobIds: [1] });
        expect(fake.inputsOf('enqueueJobs')).toEqual([]);
        // The approve endpoint commits the decision, then signals it as the gate's finish (try 0).
        await handle.signal(jobFinishedSignal, { ...fake.finish('gate', 'succeeded'), exitCode: null });
        expect(await fake.called('enqueueJobs')).toEqual({ jobIds: [2] });
        await claimAndSignal(fake, handle, 'deploy');
        await handle.signal(jobFinishedSignal, { ...fake.finish('deploy', 'succeeded'), exitCode: 0 });
        return handle.result();
      });
      expect(result.status).toBe('succeeded');
      expect(fake.inputsOf('expireApproval')).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'fails an approval nobody decided within its timeoutMinutes, on its own timer, and skips what needs it',
    async () => {
      // 0.005 minutes = 300 ms.
      const fake = createFakeRunActivities([{ key: 'gate', kind: 'approval', timeoutMinutes: 0.005 }, { key: 'deploy', needs: ['gate'] }]);
      const result = await withWorkflow(fake, {}, async (handle) => {
        await fake.called('awaitApproval');
        expect(await fake.called('expireApproval')).toEqual({ jobId: 1 });
        return handle.result();
      });
      expect(result.status).toBe('failed');
      expect(fake.inputsOf('skipJobs')).toEqual([{ jobIds: [2], reason: 'dependency_failed' }]);
      expect(fake.inputsOf('enqueueJobs')).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
  it(
    'applies the retry policy to a failing verdict the reconcile finds before (or without) its signal',
    async () => {
      const fake = createFakeRunActivities([{ key: 'build', retry: { exitCodes: [75], maxTries: 2 } }]);
      const result = await withWorkflow(fake, { reconcileSeconds: 0.2 }, async (handle) => {
        await fake.called('enqueueJobs');
        await claimAndSignal(fake, handle, 'build');
        // Committed by the finish endpoint; its signal never comes.
        fake.finish('build', 'failed', 75);
        expect(await fake.called('scheduleRetry')).toMatchObject({ jobId: 1, try: 1, reason: 'exit_code' });
        await fake.called('releaseRetry');
        await claimAndSignal(fake, handle, 'build');
        await handle.signal(jobFinishedSignal, { ...fake.finish('build', 'succeeded', 0), exitCode: 0 });
        return handle.result();
      });
      expect(result).toMatchObject({ status: 'succeeded', jobs: [{ key: 'build', status: 'succeeded', try: 2 }] });
    },
    TEST_TIMEOUT_MS,
  );
});
