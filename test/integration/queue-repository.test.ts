import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { applyMigrations } from '../../src/database/migrations';
import { createSql, type Sql, type TransactionSql } from '../../src/database/sql';
import { JobsRepository, RANK_GAP } from '../../src/jobs/jobs.repository';
import type { QueueCursor } from '../../contract/queue.contract';
import { QueueRepository } from '../../src/queue/queue.repository';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/stack';
import { scopes, type Scope } from './job-fixtures';

// The claim and the queue order straight against PostgreSQL: label matching, queue order, claims
// racing on two connection pools (two API instances), and the queue page's reordering.

let database: TestDatabase;
let sql: Sql;
let otherInstanceSql: Sql;
let queue: QueueRepository;
let otherInstance: QueueRepository;
let jobs: JobsRepository;
let newScope: () => Promise<Scope>;

beforeAll(async () => {
  database = await createTestDatabase();
  sql = createSql(database.url, { max: 4 });
  otherInstanceSql = createSql(database.url, { max: 4 });
  await applyMigrations(sql);
  queue = new QueueRepository(sql);
  otherInstance = new QueueRepository(otherInstanceSql);
  jobs = new JobsRepository(sql);
  newScope = scopes(sql);
});

afterAll(async () => {
  await sql?.end({ timeout: 5 });
  await otherInstanceSql?.end({ timeout: 5 });
  await database?.drop();
});

const LEASE_SECONDS = 60;

/** These jobs' ids in the order agents will get them (queued ones only). */
async function queueOrder(ids: number[]): Promise<number[]> {
  const rows = await sql<{ id: number }[]>`select id from jobs where id = any(${ids}::bigint[]) and status = 'queued' order by -priority, queue_rank, id`;
  return rows.map((row) => row.id);
}

async function claimAllOn(repository: QueueRepository, agentId: string, labels: string[]): Promise<number[]> {
  const claimed: number[] = [];
  for (let row = await repository.claim(agentId, labels, LEASE_SECONDS); row; row = await repository.claim(agentId, labels, LEASE_SECONDS)) claimed.push(row.id);
  return claimed;
}

const claimAll = (agentId: string, labels: string[]) => claimAllOn(queue, agentId, labels);

/** Runs `lock` in a transaction on its own connection and keeps that transaction open until released. */
async function holdLock(lock: (tx: TransactionSql) => Promise<unknown>): Promise<{ release(): Promise<void> }> {
  const client = createSql(database.url, { max: 1 });
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const holding = new Promise<void>((resolve) => (locked = resolve));
  const transaction = client.begin(async (tx) => {
    await lock(tx);
    locked();
    await released;
  });
  await Promise.race([holding, transaction]);
  let ended: Promise<void> | undefined;
  return {
    release: () => {
      release();
      return (ended ??= transaction.finally(() => client.end({ timeout: 5 })));
    },
  };
}

/** Backends of this database waiting for a lock (a row, a table or a transaction). */
async function waitingForLocks(): Promise<number> {
  const [row] = await sql<{ waiting: number }[]>`
    select count(*)::int as waiting from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
  return row.waiting;
}

describe('QueueRepository.claim', () => {
  it('gives a job only to an agent whose labels include every label the job requires', async () => {
    const scope = await newScope();
    const { ids } = await scope.run([{ key: 'gpu', labels: ['os=linux', 'gpu'] }]);
    const agent = await scope.agent();
    expect(await queue.claim(agent, scope.labels('os=linux'), LEASE_SECONDS)).toBeUndefined();
    expect(await queue.claim(agent, scope.labels('gpu'), LEASE_SECONDS)).toBeUndefined();
    // A label's value is part of it.
    expect(await queue.claim(agent, scope.labels('os=mac', 'gpu'), LEASE_SECONDS)).toBeUndefined();
    // Extra labels on the agent do not matter.
    const claimed = await queue.claim(agent, scope.labels('gpu', 'extra', 'os=linux'), LEASE_SECONDS);
    expect(claimed).toMatchObject({ id: ids.gpu, agentId: agent, try: 1 });
  });

  it('hands jobs out FIFO by run, then by job, passing over jobs the agent cannot take', async () => {
    const scope = await newScope();
    const older = await scope.run([{ key: 'a' }, { key: 'needs-gpu', labels: ['gpu'] }, { key: 'b' }]);
    const newer = await scope.run([{ key: 'c' }]);
    const plain = await scope.agent();
    // The job needing a GPU blocks nobody behind it.
    expect(await claimAll(plain, scope.labels())).toEqual([older.ids.a, older.ids.b, newer.ids.c]);
    const gpu = await scope.agent();
    expect(await claimAll(gpu, scope.labels('gpu'))).toEqual([older.ids['needs-gpu']]);
  });

  it('starts the try, the attempt and the run with the claim, and sets the lease', async () => {
    const scope = await newScope();
    const { runId, ids } = await scope.run([{ key: 'build', matrix: { os: 'linux' }, env: { A: '1' } }]);
    const agent = await scope.agent();
    const claimed = await queue.claim(agent, scope.labels(), LEASE_SECONDS);
    expect(claimed).toMatchObject({ id: ids.build, try: 1, runId, attempt: 1, runNumber: 1, matrix: { os: 'linux' }, env: { A: '1' }, agentId: agent, project: scope.slug });
    const [job] = await sql<{ status: string; agentId: string; leaseSeconds: number }[]>`
      select status, agent_id as "agentId", extract(epoch from lease_expires_at - now())::float as "leaseSeconds" from jobs where id = ${ids.build}`;
    expect(job).toMatchObject({ status: 'running', agentId: agent });
    expect(job.leaseSeconds).toBeGreaterThan(LEASE_SECONDS / 2);
    expect(job.leaseSeconds).toBeLessThanOrEqual(LEASE_SECONDS);
    expect(await sql`select try, agent_id as "agentId", status from job_tries where job_id = ${ids.build}`).toEqual([{ try: 1, agentId: agent, status: 'running' }]);
    const [states] = await sql<{ attempt: string; run: string }[]>`
      select a.status as attempt, r.status as run from run_attempts a join runs r on r.id = a.run_id where a.run_id = ${runId} and a.attempt = 1`;
    expect(states).toEqual({ attempt: 'running', run: 'running' });
  });

  it('gives two claims in flight at once, on two connection pools, two different jobs', async () => {
    const scope = await newScope();
    const { ids } = await scope.run([{ key: 'first' }, { key: 'second' }]);
    const [agentA, agentB] = [await scope.agent(), await scope.agent()];
    // Each claim stops at its job_tries insert, after it picked and locked its job: both are in
    // flight at once, on two connection pools, in a known order.
    const tries = await holdLock((tx) => tx`lock table job_tries in share mode`);
    onTestFinished(() => tries.release());
    const first = queue.claim(agentA, scope.labels(), LEASE_SECONDS);
    await waitFor(async () => (await waitingForLocks()) === 1, { intervalMs: 10, message: 'the first claim in flight' });
    const second = otherInstance.claim(agentB, scope.labels(), LEASE_SECONDS);
    await waitFor(async () => (await waitingForLocks()) === 2, { intervalMs: 10, message: 'the second claim in flight' });
    await tries.release();
    const [a, b] = await Promise.all([first, second]);
    expect(a).toMatchObject({ id: ids.first, agentId: agentA });
    expect(b).toMatchObject({ id: ids.second, agentId: agentB });
  });

  // Were the claim to wait for the lock instead, it would never return: the timeout makes that a quick failure.
  it('passes over a job another transaction holds locked, and takes it once that lets go', { timeout: 60_000 }, async () => {
    const scope = await newScope();
    const { ids } = await scope.run([{ key: 'locked' }, { key: 'free' }]);
    const agent = await scope.agent();
    const row = await holdLock((tx) => tx`select id from jobs where id = ${ids.locked} for update`);
    // Also on a timeout, so a failure here leaves no lock behind for the tests after it.
    onTestFinished(() => row.release());
    expect((await queue.claim(agent, scope.labels(), LEASE_SECONDS))?.id).toBe(ids.free);
    expect(await queue.claim(agent, scope.labels(), LEASE_SECONDS)).toBeUndefined();
    await row.release();
    expect((await queue.claim(agent, scope.labels(), LEASE_SECONDS))?.id).toBe(ids.locked);
  });

  it('gives each job to exactly one of many agents claiming at once from two instances', async () => {
    const scope = await newScope();
    const jobs = 6;
    const claimers = 10;
    const { ids } = await scope.run(Array.from({ length: jobs }, (_, i) => ({ key: `job-${i}` })));
    const agents = await Promise.all(Array.from({ length: claimers }, () => scope.agent()));
    const claims = await Promise.all(agents.map((agent, i) => (i % 2 ? otherInstance : queue).claim(agent, scope.labels(), LEASE_SECONDS)));
    const claimed = claims.flatMap((row) => (row ? [row.id] : []));
    expect(claimed.sort((x, y) => x - y)).toEqual(Object.values(ids).sort((x, y) => x - y));
    const tries = await sql<{ jobId: number; tries: number }[]>`
      select job_id as "jobId", count(*)::int as tries from job_tries where job_id = any(${Object.values(ids)}::bigint[]) group by job_id`;
    expect(tries.map((row) => row.tries)).toEqual(Array(jobs).fill(1));
  });
});

describe('QueueRepository.move and list', () => {
  it('places a job right before or after another, and agents then claim in that order', async () => {
    const scope = await newScope();
    const { ids } = await scope.run([{ key: 'a' }, { key: 'b' }, { key: 'c' }, { key: 'd' }]);
    const { a, b, c, d } = ids;
    expect(await queue.move(d, b, 'before')).toBe(true);
    expect(await queueOrder([a, b, c, d])).toEqual([a, d, b, c]);
    // After the last job of the queue, and before the first.
    expect(await queue.move(a, c, 'after')).toBe(true);
    expect(await queueOrder([a, b, c, d])).toEqual([d, b, c, a]);
    expect(await queue.move(c, d, 'before')).toBe(true);
    expect(await queueOrder([a, b, c, d])).toEqual([c, d, b, a]);

    const listed = (await queue.list({ projectId: scope.projectId, onlineWithinSeconds: 60, limit: 1000, after: null })).entries;
    expect(listed.map((entry) => entry.id)).toEqual([c, d, b, a]);
    const positions = listed.map((entry) => entry.position);
    expect(positions).toEqual([...positions].sort((x, y) => x - y));
    expect(await claimAll(await scope.agent(), scope.labels())).toEqual([c, d, b, a]);
  });

  it("moves a job ahead of an older run's jobs", async () => {
    const scope = await newScope();
    const older = await scope.run([{ key: 'a' }, { key: 'b' }]);
    const newer = await scope.run([{ key: 'urgent' }]);
    expect(await queue.move(newer.ids.urgent, older.ids.a, 'before')).toBe(true);
    expect(await claimAll(await scope.agent(), scope.labels())).toEqual([newer.ids.urgent, older.ids.a, older.ids.b]);
  });

  it('renumbers when a gap is used up: every other queued job keeps its order, and runs queued later stay behind', async () => {
    const scope = await newScope();
    const other = await newScope();
    const moved = await scope.run([{ key: 'x1' }, { key: 'x2' }, { key: 'x3' }]);
    // More queued jobs than runs so far, so renumbered ranks pass the rank sequence unless it is moved on.
    const bystanders = await other.run(Array.from({ length: 40 }, (_, i) => ({ key: `y${i}` })));
    const tail = await other.run([{ key: 'tail' }]);
    expect((await queue.claim(await other.agent(), other.labels(), LEASE_SECONDS))?.id).toBe(bystanders.ids.y0);
    const [counts] = await sql<{ queued: number; sequence: number }[]>`
      select (select count(*)::int from jobs where status = 'queued') as queued, (select last_value::int from job_queue_rank_seq) as sequence`;
    expect(counts.queued).toBeGreaterThan(counts.sequence + 1);

    // x1, x2 and x3 share their run's rank: there is no room between x1 and x2.
    const { x1, x2, x3 } = moved.ids;
    expect(await queue.move(x3, x2, 'before')).toBe(true);
    const bystanderIds = Object.entries(bystanders.ids).filter(([key]) => key !== 'y0').map(([, id]) => id);
    expect(await queueOrder([x1, x2, x3, ...bystanderIds, tail.ids.tail])).toEqual([x1, x3, x2, ...bystanderIds, tail.ids.tail]);
    // The running job, renumbered with the queue, goes back where it was should its agent be lost.
    await jobs.requeueLost(bystanders.ids.y0, 1);
    expect(await queueOrder([bystanders.ids.y0, ...bystanderIds])).toEqual([bystanders.ids.y0, ...bystanderIds]);

    const later = await scope.run([{ key: 'later' }]);
    const [last] = await sql<{ id: number }[]>`select id from jobs where status = 'queued' order by queue_rank desc, id desc limit 1`;
    expect(last.id).toBe(later.ids.later);
  });

  it('refuses a move, changing nothing, when either job is not queued', async () => {
    const scope = await newScope();
    const { ids } = await scope.run([{ key: 'taken' }, { key: 'a' }, { key: 'b' }]);
    expect((await queue.claim(await scope.agent(), scope.labels(), LEASE_SECONDS))?.id).toBe(ids.taken);
    const ranks = async () => sql`select id, queue_rank from jobs where id = any(${Object.values(ids)}::bigint[]) order by id`;
    const unchanged = await ranks();
    expect(await queue.move(ids.b, ids.taken, 'before')).toBe(false);
    expect(await queue.move(ids.taken, ids.a, 'after')).toBe(false);
    expect(await queue.move(ids.b, 0, 'after')).toBe(false);
    expect(await ranks()).toEqual(unchanged);
  });

  it('lists only queued jobs of the project asked for, with the queue-wide position and the agents that could take each', async () => {
    const scope = await newScope();
    const other = await newScope();
    const mine = await scope.run([{ key: 'a' }, { key: 'gpu', labels: ['gpu'] }, { key: 'taken' }]);
    const theirs = await other.run([{ key: 'theirs' }]);
    await queue.move(mine.ids.taken, mine.ids.a, 'before');
    await scope.agent(['gpu']);
    const busy = await scope.agent();
    expect((await queue.claim(busy, scope.labels(), LEASE_SECONDS))?.id).toBe(mine.ids.taken);

    const listed = (await queue.list({ projectId: scope.projectId, onlineWithinSeconds: 60, limit: 1000, after: null })).entries;
    expect(listed.map((entry) => [entry.id, entry.matchingAgents, entry.idleMatchingAgents])).toEqual([
      [mine.ids.a, 2, 1],
      [mine.ids.gpu, 1, 1],
    ]);
    const all = (await queue.list({ projectId: null, onlineWithinSeconds: 60, limit: 1000, after: null })).entries;
    const position = (id: number) => all.find((entry) => entry.id === id)?.position;
    expect(listed.map((entry) => entry.position)).toEqual([position(mine.ids.a), position(mine.ids.gpu)]);
    expect(position(theirs.ids.theirs)).toBeGreaterThan(position(mine.ids.gpu)!);
    expect(all.map((entry) => entry.position)).toEqual(all.map((_, i) => i + 1));
  });
});

describe('priority', () => {
  it('claims higher priority first, then queue order; equal priorities stay first in, first out', async () => {
    const scope = await newScope();
    const a = await scope.run([{ key: 'a1' }, { key: 'a2' }]);
    const b = await scope.run([{ key: 'b1' }], { priority: 5 });
    const c = await scope.run([{ key: 'c1' }]);
    const d = await scope.run([{ key: 'd1' }], { priority: -1 });
    const e = await scope.run([{ key: 'e1' }], { priority: 5 });
    const agent = await scope.agent();
    expect(await claimAll(agent, scope.labels())).toEqual([b.ids.b1, e.ids.e1, a.ids.a1, a.ids.a2, c.ids.c1, d.ids.d1]);
  });

  it('lists and pages in claim order across priorities, saying how many jobs of a higher priority go first', async () => {
    const scope = await newScope();
    const low = await scope.run([{ key: 'l1' }, { key: 'l2' }], { priority: -3 });
    const mid = await scope.run([{ key: 'm1' }, { key: 'm2' }]);
    const high = await scope.run([{ key: 'h1' }], { priority: 7 });
    const order = [high.ids.h1, mid.ids.m1, mid.ids.m2, low.ids.l1, low.ids.l2];
    const seen: { id: number; priority: number; position: number; higherPriorityAhead: number }[] = [];
    let after: QueueCursor | null = null;
    do {
      const page = await queue.list({ projectId: scope.projectId, onlineWithinSeconds: 60, limit: 2, after });
      seen.push(...page.entries.map(({ id, priority, position, higherPriorityAhead }) => ({ id, priority, position, higherPriorityAhead })));
      after = page.next;
    } while (after);
    expect(seen.map((entry) => entry.id)).toEqual(order);
    expect(seen.map((entry) => entry.priority)).toEqual([7, 0, 0, -3, -3]);
    // Queue-wide positions and counts: other tests' queued jobs of priority 0 may sit ahead of these.
    expect(seen.map((entry) => entry.position)).toEqual([...seen.map((entry) => entry.position)].sort((x, y) => x - y));
    const [higher] = await sql<{ above7: number; above0: number; aboveMinus3: number }[]>`
      select count(*) filter (where priority > 7)::int as above7, count(*) filter (where priority > 0)::int as above0,
             count(*) filter (where priority > -3)::int as "aboveMinus3" from jobs where status = 'queued'`;
    expect(seen.map((entry) => entry.higherPriorityAhead)).toEqual([higher.above7, higher.above0, higher.above0, higher.aboveMinus3, higher.aboveMinus3]);
  });

  it("gives a job dragged across priorities the priority of the job it is placed next to", async () => {
    const scope = await newScope();
    const normal = await scope.run([{ key: 'n1' }, { key: 'n2' }]);
    const urgent = await scope.run([{ key: 'u1' }], { priority: 9 });
    const all = [normal.ids.n1, normal.ids.n2, urgent.ids.u1];
    expect(await queueOrder(all)).toEqual([urgent.ids.u1, normal.ids.n1, normal.ids.n2]);
    // Up into the urgent band, ahead of the urgent job.
    expect(await queue.move(normal.ids.n2, urgent.ids.u1, 'before')).toBe(true);
    expect(await queueOrder(all)).toEqual([normal.ids.n2, urgent.ids.u1, normal.ids.n1]);
    // Down: the urgent job after the last normal one.
    expect(await queue.move(urgent.ids.u1, normal.ids.n1, 'after')).toBe(true);
    expect(await queueOrder(all)).toEqual([normal.ids.n2, normal.ids.n1, urgent.ids.u1]);
    const priorities = await sql<{ id: number; priority: number }[]>`select id, priority from jobs where id = any(${all}::bigint[]) order by id`;
    expect(Object.fromEntries(priorities.map((row) => [row.id, row.priority]))).toEqual({ [normal.ids.n1]: 0, [normal.ids.n2]: 9, [urgent.ids.u1]: 0 });
    const agent = await scope.agent();
    expect(await claimAll(agent, scope.labels())).toEqual([normal.ids.n2, normal.ids.n1, urgent.ids.u1]);
  });
});

describe('QueueRepository.list pages', () => {
  /** Every page of one project's queue, following nextCursor, with `between` run before each next page. */
  async function allPages(projectId: string, limit: number, between: (page: number) => Promise<void> = async () => undefined) {
    const pages: number[][] = [];
    let after: QueueCursor | null = null;
    for (;;) {
      const page = await queue.list({ projectId, onlineWithinSeconds: 60, limit, after });
      pages.push(page.entries.map((entry) => entry.id));
      if (!page.next) return { pages, total: page.total };
      expect(page.entries.length).toBe(limit);
      after = page.next;
      await between(pages.length);
    }
  }

  it('explain the very statements the claim and the list run (the scale bench shows these plans)', async () => {
    const scope = await newScope();
    await scope.run([{ key: 'a' }]);
    const pick = await queue.explainPick(scope.labels());
    expect(pick.some((line) => line.includes('LockRows'))).toBe(true);
    expect(pick.at(-1)).toMatch(/^Execution Time: /);
    const list = await queue.explainList({ projectId: scope.projectId, onlineWithinSeconds: 60, limit: 10, after: null });
    expect(list.some((line) => line.includes('WindowAgg'))).toBe(true);
  });

  it('cover every queued job exactly once, in claim order, with the total', async () => {
    const scope = await newScope();
    const first = await scope.run(Array.from({ length: 7 }, (_, i) => ({ key: `a${i}` })));
    const second = await scope.run(Array.from({ length: 6 }, (_, i) => ({ key: `b${i}` })));
    await queue.move(second.ids.b5, first.ids.a0, 'before');
    const order = await queueOrder([...Object.values(first.ids), ...Object.values(second.ids)]);
    expect(order).toHaveLength(13);
    const { pages, total } = await allPages(scope.projectId, 5);
    expect(pages.map((page) => page.length)).toEqual([5, 5, 3]);
    expect(pages.flat()).toEqual(order);
    expect(total).toBe(13);
    // Positions run on across pages.
    const page2 = await queue.list({ projectId: scope.projectId, onlineWithinSeconds: 60, limit: 5, after: (await queue.list({ projectId: scope.projectId, onlineWithinSeconds: 60, limit: 5, after: null })).next });
    const all = (await queue.list({ projectId: null, onlineWithinSeconds: 60, limit: 500, after: null })).entries;
    const position = (id: number) => all.find((entry) => entry.id === id)?.position;
    expect(page2.entries.map((entry) => entry.position)).toEqual(page2.entries.map((entry) => position(entry.id)));
  });

  it('keep going after the job a cursor names is claimed or moved: no page fails, none repeats a job', async () => {
    const scope = await newScope();
    const { ids } = await scope.run(Array.from({ length: 9 }, (_, i) => ({ key: `j${i}` })));
    const order = await queueOrder(Object.values(ids));
    const agent = await scope.agent();
    const { pages } = await allPages(scope.projectId, 3, async (page) => {
      if (page === 1) {
        // The cursor's own job (the last of page 1) and the head of the queue leave it.
        expect((await queue.claim(agent, scope.labels(), LEASE_SECONDS))?.id).toBe(order[0]);
        await sql`update jobs set status = 'cancelled' where id = ${order[2]}`;
      }
      // The first job of the next page moves behind the last one.
      if (page === 2) expect(await queue.move(order[6], order[8], 'after')).toBe(true);
    });
    expect(pages[0]).toEqual(order.slice(0, 3));
    expect(pages[1]).toEqual(order.slice(3, 6));
    expect(pages.flat()).toEqual([...order.slice(0, 6), order[7], order[8], order[6]]);
    expect(new Set(pages.flat()).size).toBe(pages.flat().length);
  });
});

// RANK_GAP is what leaves room between runs; a test above relies on a run's jobs sharing one rank.
it('gives all jobs of a run one rank, a gap apart from the next run', async () => {
  const scope = await newScope();
  const first = await scope.run([{ key: 'a' }, { key: 'b' }]);
  const second = await scope.run([{ key: 'c' }]);
  const ranks = await sql<{ rank: number }[]>`
    select queue_rank as rank from jobs where id = any(${[first.ids.a, first.ids.b, second.ids.c]}::bigint[]) order by id`;
  expect(ranks[0].rank).toBe(ranks[1].rank);
  expect(ranks[2].rank - ranks[0].rank).toBe(RANK_GAP);
});

// In a long-lived install run bases are large (here 1000 runs ago) while few jobs are queued, so a
// renumber that only looks at queued jobs would put every queued job ahead of the runs in progress.
describe('QueueRepository.move renumbering in a long-lived queue', () => {
  let longLived: TestDatabase;
  let longSql: Sql;
  let longQueue: QueueRepository;
  let longJobs: JobsRepository;
  let longScope: () => Promise<Scope>;

  beforeAll(async () => {
    longLived = await createTestDatabase();
    longSql = createSql(longLived.url, { max: 2 });
    await applyMigrations(longSql);
    await longSql`select setval('job_queue_rank_seq', 1000)`;
    longQueue = new QueueRepository(longSql);
    longJobs = new JobsRepository(longSql);
    longScope = scopes(longSql);
  });

  afterAll(async () => {
    await longSql?.end({ timeout: 5 });
    await longLived?.drop();
  });

  it("changes no run's place: an older run's next job and a lost try still go ahead of a newer run's jobs", async () => {
    const scope = await longScope();
    const older = await scope.run([{ key: 'first' }, { key: 'next', needs: ['first'] }, { key: 'lost' }]);
    const newer = await scope.run([{ key: 'b1' }, { key: 'b2' }, { key: 'b3' }]);
    const agent = await scope.agent();
    expect((await longQueue.claim(agent, scope.labels(), LEASE_SECONDS))?.id).toBe(older.ids.first);
    expect((await longQueue.claim(agent, scope.labels(), LEASE_SECONDS))?.id).toBe(older.ids.lost);
    // b2 and b3 share their run's rank: this move renumbers the queue.
    expect(await longQueue.move(newer.ids.b3, newer.ids.b2, 'before')).toBe(true);

    await longJobs.finish(older.ids.first, 1, 'succeeded', 0);
    await longJobs.enqueue([older.ids.next]);
    await longJobs.requeueLost(older.ids.lost, 1);
    const later = await scope.run([{ key: 'later' }]);
    const claimed = await claimAllOn(longQueue, agent, scope.labels());
    // Within the older run, a job queued after the renumber follows those already at the run's rank.
    expect(claimed).toEqual([older.ids.lost, older.ids.next, newer.ids.b1, newer.ids.b3, newer.ids.b2, later.ids.later]);
  });
});
