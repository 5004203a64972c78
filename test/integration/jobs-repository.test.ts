import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../src/database/migrations';
import { createSql, type Sql } from '../../src/database/sql';
import { JobsRepository } from '../../src/jobs/jobs.repository';
import { QueueRepository } from '../../src/queue/queue.repository';
import { createTestDatabase, type TestDatabase } from '../support/stack';
import { scopes, type Scope } from './job-fixtures';

// A job's tries straight against PostgreSQL: the verdict, who holds a job, a lost agent's try
// queued again, and cancelling an attempt's queued and running jobs.

let database: TestDatabase;
let sql: Sql;
let jobs: JobsRepository;
let queue: QueueRepository;
let newScope: () => Promise<Scope>;

beforeAll(async () => {
  database = await createTestDatabase();
  sql = createSql(database.url, { max: 4 });
  await applyMigrations(sql);
  jobs = new JobsRepository(sql);
  queue = new QueueRepository(sql);
  newScope = scopes(sql);
});

afterAll(async () => {
  await sql?.end({ timeout: 5 });
  await database?.drop();
});

type Held = { scope: Scope; jobId: number; runId: number; agentId: string };

/** A job of a fresh scope claimed by a fresh agent (try 1). */
async function claimedJob(): Promise<Held> {
  const scope = await newScope();
  const { runId, ids } = await scope.run([{ key: 'build' }]);
  const agentId = await scope.agent();
  const claimed = await queue.claim(agentId, scope.labels(), 60);
  expect(claimed?.id).toBe(ids.build);
  return { scope, jobId: ids.build, runId, agentId };
}

async function job(jobId: number) {
  const [row] = await sql<{ status: string; reason: string | null; exitCode: number | null; try: number; agentId: string | null; cancelRequested: boolean; finished: boolean; lease: boolean }[]>`
    select status, reason, exit_code as "exitCode", try, agent_id as "agentId", cancel_requested as "cancelRequested",
           finished_at is not null as finished, lease_expires_at is not null as lease
    from jobs where id = ${jobId}`;
  return row;
}

async function tries(jobId: number) {
  return sql<{ try: number; agentId: string | null; status: string; reason: string | null; exitCode: number | null; finished: boolean }[]>`
    select try, agent_id as "agentId", status, reason, exit_code as "exitCode", finished_at is not null as finished
    from job_tries where job_id = ${jobId} order by try`;
}

describe('JobsRepository.finish', () => {
  it("records a success on the job and on its try, and ends the lease", async () => {
    const { jobId, runId, agentId } = await claimedJob();
    expect(await jobs.finish(jobId, 1, 'succeeded', 0)).toEqual({ status: 'succeeded', runId, attempt: 1 });
    expect(await job(jobId)).toMatchObject({ status: 'succeeded', reason: null, exitCode: 0, finished: true, lease: false });
    expect(await tries(jobId)).toEqual([{ try: 1, agentId, status: 'succeeded', reason: null, exitCode: 0, finished: true }]);
  });

  it('records a failure with its exit code as the reason', async () => {
    const { jobId, agentId } = await claimedJob();
    expect(await jobs.finish(jobId, 1, 'failed', 3)).toMatchObject({ status: 'failed' });
    expect(await job(jobId)).toMatchObject({ status: 'failed', reason: 'exit_code', exitCode: 3 });
    expect(await tries(jobId)).toEqual([{ try: 1, agentId, status: 'failed', reason: 'exit_code', exitCode: 3, finished: true }]);
  });

  it('ends a job whose cancel was requested as cancelled, whatever the agent reports', async () => {
    const { jobId, agentId } = await claimedJob();
    await sql`update jobs set cancel_requested = true where id = ${jobId}`;
    expect(await jobs.finish(jobId, 1, 'failed', 143)).toMatchObject({ status: 'cancelled' });
    expect(await job(jobId)).toMatchObject({ status: 'cancelled', reason: 'cancelled', exitCode: 143 });
    expect(await tries(jobId)).toEqual([{ try: 1, agentId, status: 'cancelled', reason: 'cancelled', exitCode: 143, finished: true }]);
  });

  it('decides a try once: a second verdict, or one for another try, changes nothing', async () => {
    const { jobId } = await claimedJob();
    expect(await jobs.finish(jobId, 2, 'failed', 1)).toBeUndefined();
    expect(await job(jobId)).toMatchObject({ status: 'running', finished: false });
    await jobs.finish(jobId, 1, 'succeeded', 0);
    expect(await jobs.finish(jobId, 1, 'failed', 1)).toBeUndefined();
    expect(await job(jobId)).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect((await tries(jobId)).map((t) => t.status)).toEqual(['succeeded']);
  });
});

describe('JobsRepository.findOwned (only the holder may act on a job)', () => {
  it('answers the holder of the current try and nobody else', async () => {
    const { scope, jobId, agentId } = await claimedJob();
    const other = await scope.agent();
    expect(await jobs.findOwned(jobId, agentId)).toMatchObject({ id: jobId, try: 1, status: 'running', cancelRequested: false, projectId: scope.projectId });
    expect(await jobs.findOwned(jobId, other)).toBeUndefined();
  });

  it('still answers the holder for 10 minutes after the job ended, for late verdicts and log lines', async () => {
    const { jobId, agentId } = await claimedJob();
    await jobs.finish(jobId, 1, 'succeeded', 0);
    expect(await jobs.findOwned(jobId, agentId)).toMatchObject({ status: 'succeeded' });
    await sql`update jobs set finished_at = now() - interval '9 minutes' where id = ${jobId}`;
    expect(await jobs.findOwned(jobId, agentId)).toMatchObject({ status: 'succeeded' });
    await sql`update jobs set finished_at = now() - interval '11 minutes' where id = ${jobId}`;
    expect(await jobs.findOwned(jobId, agentId)).toBeUndefined();
  });

  it('drops a lost agent once its job was queued again and taken by another, whose try it cannot finish', async () => {
    const { scope, jobId, agentId: lost } = await claimedJob();
    await jobs.requeueLost(jobId, 1);
    expect(await jobs.findOwned(jobId, lost)).toBeUndefined();
    const next = await scope.agent();
    expect((await queue.claim(next, scope.labels(), 60))?.try).toBe(2);
    expect(await jobs.findOwned(jobId, lost)).toBeUndefined();
    expect(await jobs.findOwned(jobId, next)).toMatchObject({ try: 2, status: 'running' });
    // The lost agent's verdict names its own try.
    expect(await jobs.finish(jobId, 1, 'failed', 1)).toBeUndefined();
    expect(await job(jobId)).toMatchObject({ status: 'running', try: 2, agentId: next });
  });
});

describe('JobsRepository.requeueLost', () => {
  it('puts the job back in the queue as a new try, keeping the lost try and its logs', async () => {
    const { scope, jobId, agentId: lost } = await claimedJob();
    await sql`insert into log_chunks (job_id, seq, try, stream, text) values (${jobId}, 1, 1, 'stdout', 'before the crash\n')`;
    expect(await jobs.requeueLost(jobId, 1)).toMatchObject({ id: jobId, status: 'queued', try: 1 });
    expect(await job(jobId)).toMatchObject({ status: 'queued', agentId: null, lease: false, finished: false });

    const next = await scope.agent();
    expect(await queue.claim(next, scope.labels(), 60)).toMatchObject({ id: jobId, try: 2, agentId: next });
    expect(await tries(jobId)).toEqual([
      { try: 1, agentId: lost, status: 'lost', reason: 'agent_lost', exitCode: null, finished: true },
      { try: 2, agentId: next, status: 'running', reason: null, exitCode: null, finished: false },
    ]);
    expect(await sql`select try, text from log_chunks where job_id = ${jobId}`).toEqual([{ try: 1, text: 'before the crash\n' }]);
  });

  it('puts the job back at its old place, ahead of later runs', async () => {
    const scope = await newScope();
    const first = await scope.run([{ key: 'first' }]);
    const agent = await scope.agent();
    expect((await queue.claim(agent, scope.labels(), 60))?.id).toBe(first.ids.first);
    const later = await scope.run([{ key: 'later' }]);
    await jobs.requeueLost(first.ids.first, 1);
    const next = await scope.agent();
    expect((await queue.claim(next, scope.labels(), 60))?.id).toBe(first.ids.first);
    expect((await queue.claim(next, scope.labels(), 60))?.id).toBe(later.ids.later);
  });

  it('ignores a try that is not the running one', async () => {
    const { jobId, agentId } = await claimedJob();
    expect(await jobs.requeueLost(jobId, 2)).toMatchObject({ status: 'running', try: 1 });
    await jobs.finish(jobId, 1, 'succeeded', 0);
    expect(await jobs.requeueLost(jobId, 1)).toMatchObject({ status: 'succeeded', try: 1 });
    expect(await tries(jobId)).toEqual([{ try: 1, agentId, status: 'succeeded', reason: null, exitCode: 0, finished: true }]);
  });

  it('fails the job instead once its tries are used up (failRunning), the try recorded lost', async () => {
    const { jobId, agentId } = await claimedJob();
    expect(await jobs.failRunning(jobId, 1, 'agent_lost')).toMatchObject({ status: 'failed', try: 1 });
    expect(await job(jobId)).toMatchObject({ status: 'failed', reason: 'agent_lost', cancelRequested: true, lease: false, finished: true });
    expect(await tries(jobId)).toEqual([{ try: 1, agentId, status: 'lost', reason: 'agent_lost', exitCode: null, finished: true }]);
  });
});

describe('JobsRepository.cancelAttempt and forceCancelAttempt', () => {
  it('ends queued and waiting jobs at once and asks running ones to stop', async () => {
    const scope = await newScope();
    const { runId, ids } = await scope.run([{ key: 'running' }, { key: 'queued' }, { key: 'waiting', needs: ['running'] }]);
    const untouched = await scope.run([{ key: 'other-run' }]);
    const agent = await scope.agent();
    expect((await queue.claim(agent, scope.labels(), 60))?.id).toBe(ids.running);

    const states = await jobs.cancelAttempt(runId, 1);
    expect(Object.fromEntries(states.map((state) => [state.key, state.status]))).toEqual({ running: 'running', queued: 'cancelled', waiting: 'cancelled' });
    expect(await job(ids.queued)).toMatchObject({ status: 'cancelled', reason: 'cancelled', finished: true });
    expect(await job(ids.waiting)).toMatchObject({ status: 'cancelled', reason: 'cancelled', finished: true });
    expect(await job(ids.running)).toMatchObject({ status: 'running', cancelRequested: true, finished: false });
    expect(await job(untouched.ids['other-run'])).toMatchObject({ status: 'queued', cancelRequested: false });
    const [attempt] = await sql<{ requested: boolean }[]>`select cancel_requested_at is not null as requested from run_attempts where run_id = ${runId}`;
    expect(attempt.requested).toBe(true);

    // The agent learns it must stop; its verdict then ends the job cancelled.
    expect(await jobs.findOwned(ids.running, agent)).toMatchObject({ cancelRequested: true });
    expect(await jobs.finish(ids.running, 1, 'succeeded', 0)).toMatchObject({ status: 'cancelled' });
    // The cancelled queued job is no longer claimable; the other run's job still is.
    expect((await queue.claim(agent, scope.labels(), 60))?.id).toBe(untouched.ids['other-run']);
    expect(await queue.claim(agent, scope.labels(), 60)).toBeUndefined();
  });

  it('records still-running jobs cancelled when the grace period is over, without waiting for their agent', async () => {
    const scope = await newScope();
    const { runId, ids } = await scope.run([{ key: 'stuck' }, { key: 'queued' }]);
    const agent = await scope.agent();
    expect((await queue.claim(agent, scope.labels(), 60))?.id).toBe(ids.stuck);
    await jobs.cancelAttempt(runId, 1);
    const states = await jobs.forceCancelAttempt(runId, 1);
    expect(Object.fromEntries(states.map((state) => [state.key, state.status]))).toEqual({ stuck: 'cancelled', queued: 'cancelled' });
    expect(await job(ids.stuck)).toMatchObject({ status: 'cancelled', reason: 'cancel_timeout', lease: false, finished: true });
    expect(await job(ids.queued)).toMatchObject({ reason: 'cancelled' });
    expect(await tries(ids.stuck)).toEqual([{ try: 1, agentId: agent, status: 'cancelled', reason: 'cancel_timeout', exitCode: null, finished: true }]);
    // The agent's verdict comes too late to change it.
    expect(await jobs.finish(ids.stuck, 1, 'succeeded', 0)).toBeUndefined();
  });
});
