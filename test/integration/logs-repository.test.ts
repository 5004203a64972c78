import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../src/database/migrations';
import { createSql, type Sql } from '../../src/database/sql';
import { LogsRepository, type ChunkToStore } from '../../src/jobs/logs.repository';
import { createTestDatabase, type TestDatabase } from '../support/stack';

// The log append is one statement doing ownership, exactly-once batches, the size cap and the
// counters; this tier drives it straight against PostgreSQL, where each rule can be hit on purpose.

let database: TestDatabase;
let sql: Sql;
let logs: LogsRepository;
let fixture = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  sql = createSql(database.url, { max: 4 });
  await applyMigrations(sql);
  logs = new LogsRepository(sql);
});

afterAll(async () => {
  await sql?.end({ timeout: 5 });
  await database?.drop();
});

type Holder = { jobId: number; agentId: string; otherAgentId: string };

/** A running job whose current try (1) belongs to a fresh agent. */
async function runningJob(): Promise<Holder> {
  const n = ++fixture;
  const [project] = await sql<{ id: string }[]>`insert into projects (slug, name) values (${`p${n}`}, 'P') returning id`;
  const [pipeline] = await sql<{ id: string }[]>`insert into pipelines (project_id, name, latest_version) values (${project.id}, 'build', 1) returning id`;
  await sql`insert into pipeline_versions (pipeline_id, version, kind, content, sha256, timeout_minutes) values (${pipeline.id}, 1, 'script', 'true', 'x', 5)`;
  const [run] = await sql<{ id: number }[]>`
    insert into runs (project_id, pipeline_id, pipeline_version, number, ref) values (${project.id}, ${pipeline.id}, 1, 1, 'main') returning id`;
  const [agent, other] = await sql<{ id: string }[]>`
    insert into agents (name, secret_hash) values (${`a${n}`}, ${`h${n}`}), (${`b${n}`}, ${`k${n}`}) returning id`;
  const [job] = await sql<{ id: number }[]>`
    insert into jobs (run_id, attempt, key, name, kind, content, timeout_minutes, status, try, agent_id)
    values (${run.id}, 1, 'build', 'build', 'script', 'true', 5, 'running', 1, ${agent.id}) returning id`;
  await sql`insert into job_tries (job_id, try, agent_id) values (${job.id}, 1, ${agent.id})`;
  return { jobId: job.id, agentId: agent.id, otherAgentId: other.id };
}

const line = (text: string, extra: Partial<ChunkToStore> = {}): ChunkToStore => ({ stream: 'stdout', node: null, text, at: null, ...extra });

async function stored(jobId: number) {
  return sql<{ seq: number; text: string; stream: string }[]>`select seq, text, stream from log_chunks where job_id = ${jobId} order by seq`;
}

async function counters(jobId: number) {
  const [row] = await sql<{ logSeq: number; logBytes: number; nextBatch: number }[]>`
    select j.log_seq as "logSeq", j.log_bytes as "logBytes", t.next_log_batch as "nextBatch"
    from jobs j join job_tries t on t.job_id = j.id and t.try = j.try where j.id = ${jobId}`;
  return row;
}

describe('LogsRepository.appendBatch', () => {
  it('numbers chunks across batches, keeps node, stream and time, and reports the job state', async () => {
    const { jobId, agentId } = await runningJob();
    const at = new Date('2026-01-02T03:04:05.678Z');
    const first = await logs.appendBatch({ jobId, agentId, batch: 0, maxBytes: 1000, chunks: [line('a\n', { at }), line('b\n', { stream: 'stderr', node: 'n1' })] });
    expect(first).toMatchObject({ outcome: 'stored', nextBatch: 1, job: { status: 'running', cancelRequested: false } });
    expect(first?.outcome === 'stored' && first.stored.map((c) => [c.seq, c.try, c.stream, c.node, c.text])).toEqual([
      [1, 1, 'stdout', null, 'a\n'],
      [2, 1, 'stderr', 'n1', 'b\n'],
    ]);
    expect(first?.outcome === 'stored' && first.stored[0].at.toISOString()).toBe(at.toISOString());

    const second = await logs.appendBatch({ jobId, agentId, batch: 1, maxBytes: 1000, chunks: [line('c\n')] });
    expect(second?.outcome === 'stored' && second.stored.map((c) => c.seq)).toEqual([3]);
    expect(await counters(jobId)).toEqual({ logSeq: 3, logBytes: 6, nextBatch: 2 });
  });

  it('stores a resent batch once and refuses a gap, naming the batch it expects', async () => {
    const { jobId, agentId } = await runningJob();
    await logs.appendBatch({ jobId, agentId, batch: 0, maxBytes: 1000, chunks: [line('once\n')] });
    expect(await logs.appendBatch({ jobId, agentId, batch: 0, maxBytes: 1000, chunks: [line('once\n')] })).toMatchObject({ outcome: 'duplicate', nextBatch: 1 });
    expect(await logs.appendBatch({ jobId, agentId, batch: 3, maxBytes: 1000, chunks: [line('later\n')] })).toMatchObject({ outcome: 'out_of_order', nextBatch: 1 });
    expect((await stored(jobId)).map((c) => c.text)).toEqual(['once\n']);
    expect(await counters(jobId)).toEqual({ logSeq: 1, logBytes: 5, nextBatch: 1 });
  });

  it('stores a batch resent concurrently exactly once', async () => {
    const { jobId, agentId } = await runningJob();
    const chunks = Array.from({ length: 50 }, (_, i) => line(`line ${i}\n`));
    const results = await Promise.all(Array.from({ length: 4 }, () => logs.appendBatch({ jobId, agentId, batch: 0, maxBytes: 100_000, chunks })));
    expect(results.map((result) => result?.outcome).sort()).toEqual(['duplicate', 'duplicate', 'duplicate', 'stored']);
    expect((await stored(jobId)).map((c) => c.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('keeps what fits under the cap, adds one marker, then stores nothing more', async () => {
    const { jobId, agentId } = await runningJob();
    // 10 + 10 fit in 25 bytes; the third would cross it.
    const result = await logs.appendBatch({ jobId, agentId, batch: 0, maxBytes: 25, chunks: [line('123456789\n'), line('abcdefghi\n'), line('overflow!\n'), line('more\n')] });
    expect(result?.outcome === 'stored' && result.stored.map((c) => [c.seq, c.stream])).toEqual([
      [1, 'stdout'],
      [2, 'stdout'],
      [3, 'system'],
    ]);
    expect((await stored(jobId))[2].text).toBe("[log truncated: the job's log reached 25 bytes]\n");
    expect(await counters(jobId)).toEqual({ logSeq: 3, logBytes: 25, nextBatch: 1 });

    const after = await logs.appendBatch({ jobId, agentId, batch: 1, maxBytes: 25, chunks: [line('x\n')] });
    expect(after).toMatchObject({ outcome: 'stored', nextBatch: 2, stored: [] });
    expect(await counters(jobId)).toEqual({ logSeq: 3, logBytes: 25, nextBatch: 2 });
  });

  it('keeps a batch that reaches the cap exactly, without a marker', async () => {
    const { jobId, agentId } = await runningJob();
    await logs.appendBatch({ jobId, agentId, batch: 0, maxBytes: 20, chunks: [line('123456789\n'), line('abcdefghi\n')] });
    expect((await stored(jobId)).map((c) => c.stream)).toEqual(['stdout', 'stdout']);
    expect(await counters(jobId)).toEqual({ logSeq: 2, logBytes: 20, nextBatch: 1 });
  });

  it('counts bytes, not characters', async () => {
    const { jobId, agentId } = await runningJob();
    await logs.appendBatch({ jobId, agentId, batch: 0, maxBytes: 1000, chunks: [line('héllo ✓\n')] });
    expect((await counters(jobId)).logBytes).toBe(Buffer.byteLength('héllo ✓\n'));
  });

  it('answers undefined, and stores nothing, for an agent that does not hold the job', async () => {
    const { jobId, otherAgentId } = await runningJob();
    expect(await logs.appendBatch({ jobId, agentId: otherAgentId, batch: 0, maxBytes: 1000, chunks: [line('intruder\n')] })).toBeUndefined();
    expect(await stored(jobId)).toEqual([]);
    expect(await counters(jobId)).toEqual({ logSeq: 0, logBytes: 0, nextBatch: 0 });
  });

  it('tells the agent to stop once cancellation was requested, and still stores its last lines', async () => {
    const { jobId, agentId } = await runningJob();
    await sql`update jobs set cancel_requested = true where id = ${jobId}`;
    expect(await logs.appendBatch({ jobId, agentId, batch: 0, maxBytes: 1000, chunks: [line('bye\n')] })).toMatchObject({
      outcome: 'stored',
      job: { status: 'running', cancelRequested: true },
    });
    expect((await stored(jobId)).map((c) => c.text)).toEqual(['bye\n']);
  });
});
