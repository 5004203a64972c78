import { Inject, Injectable } from '@nestjs/common';
import { SQL, type Sql } from '../database/sql';
import type { LogStream } from '../../contract/jobs.contract';
import type { JobStatus } from '../../workflows/messages';
import { heldBy } from './jobs.repository';

export type StoredChunk = { seq: number; try: number; stream: LogStream; node: string | null; text: string; at: Date };
export type ChunkToStore = { stream: LogStream; node: string | null; text: string; at: Date | null };
export type BatchToAppend = { jobId: number; agentId: string; batch: number; chunks: ChunkToStore[]; maxBytes: number };

type AppendState = { status: JobStatus; cancelRequested: boolean; nextLogBatch: number };
/** The job as the append found it: tells whether the agent should stop. */
type HolderView = Pick<AppendState, 'status' | 'cancelRequested'>;

// `stored` carries exactly the chunks this call stored (with their seq), so live viewers get what was committed.
export type AppendResult =
  | { outcome: 'stored'; nextBatch: number; stored: StoredChunk[]; job: HolderView }
  | { outcome: 'duplicate'; nextBatch: number; job: HolderView }
  | { outcome: 'out_of_order'; nextBatch: number; job: HolderView };

@Injectable()
export class LogsRepository {
  constructor(@Inject(SQL) private readonly sql: Sql) {}

  /**
   * Stores one numbered batch exactly once, for the agent holding the job's current try, in one
   * statement (one round trip: this is the hot path between an agent's output and its viewers).
   * Batches of a try must arrive in order: a resent batch is acknowledged without storing it
   * again; a gap is refused with the batch expected. Chunks past `maxBytes` are dropped, with one
   * marker line saying so. `undefined` when the agent does not hold the job (or it ended long ago).
   *
   * Concurrent calls for one job serialise on the row locks; the second re-reads the counters the
   * first committed (READ COMMITTED re-checks locked rows), so a racing resend is a duplicate.
   */
  async appendBatch(append: BatchToAppend): Promise<AppendResult | undefined> {
    const { jobId, agentId, batch, chunks, maxBytes } = append;
    const marker = `[log truncated: the job's log reached ${maxBytes} bytes]\n`;
    const rows = await this.sql<(AppendState & Partial<StoredChunk>)[]>`
      with holder as (
        select j.id, j.try, j.status, j.cancel_requested, j.log_seq, j.log_bytes, t.next_log_batch
        from jobs j join job_tries t on t.job_id = j.id and t.try = j.try
        join agents a on a.id = t.agent_id and a.deleted_at is null
        where j.id = ${jobId} and ${heldBy(this.sql, agentId)}
        for update of j, t
      ),
      expected as (select * from holder where next_log_batch = ${batch}),
      incoming as (
        select c.ord, c.stream, c.node, c.text, c.at, sum(octet_length(c.text)) over (order by c.ord) as bytes_through
        from unnest(${chunks.map((chunk) => chunk.stream)}::text[], ${chunks.map((chunk) => chunk.node)}::text[],
                    ${chunks.map((chunk) => chunk.text)}::text[], ${chunks.map((chunk) => chunk.at?.toISOString() ?? null)}::timestamptz[])
             with ordinality as c(stream, node, text, at, ord)
      ),
      fitting as (
        select i.* from incoming i, expected e where e.log_bytes < ${maxBytes} and e.log_bytes + i.bytes_through <= ${maxBytes}
      ),
      truncation as (
        select (select count(*) from fitting) + 1 as ord, 'system' as stream, null::text as node, ${marker}::text as text, null::timestamptz as at
        from expected e
        where e.log_bytes < ${maxBytes} and exists (select 1 from incoming i where e.log_bytes + i.bytes_through > ${maxBytes})
      ),
      kept as (
        select ord, stream, node, text, at from fitting
        union all
        select ord, stream, node, text, at from truncation
      ),
      inserted as (
        insert into log_chunks (job_id, seq, try, stream, node, text, at)
        select e.id, e.log_seq + k.ord, e.try, k.stream, k.node, k.text, coalesce(k.at, now())
        from kept k, expected e
        returning seq, try, stream, node, text, at
      ),
      job_counters as (
        update jobs j
        set log_seq = e.log_seq + (select count(*) from kept),
            log_bytes = case when exists (select 1 from truncation) then ${maxBytes}
                             else e.log_bytes + coalesce((select max(bytes_through) from fitting), 0) end
        from expected e where j.id = e.id
      ),
      try_counter as (
        update job_tries t set next_log_batch = e.next_log_batch + 1
        from expected e where t.job_id = e.id and t.try = e.try
      )
      select h.status, h.cancel_requested as "cancelRequested", h.next_log_batch as "nextLogBatch",
             i.seq, i.try, i.stream, i.node, i.text, i.at
      from holder h left join inserted i on true
      order by i.seq`;
    if (!rows.length) return undefined;
    const [{ status, cancelRequested, nextLogBatch }] = rows;
    const job = { status, cancelRequested };
    if (batch < nextLogBatch) return { outcome: 'duplicate', nextBatch: nextLogBatch, job };
    if (batch > nextLogBatch) return { outcome: 'out_of_order', nextBatch: nextLogBatch, job };
    const stored = rows
      .filter((row) => row.seq !== null && row.seq !== undefined)
      .map((row) => ({ seq: row.seq!, try: row.try!, stream: row.stream!, node: row.node ?? null, text: row.text!, at: row.at! }));
    return { outcome: 'stored', nextBatch: batch + 1, stored, job };
  }

  async read(jobId: number, afterSeq: number, limit: number): Promise<StoredChunk[]> {
    return this.sql<StoredChunk[]>`
      select seq, try, stream, node, text, at from log_chunks
      where job_id = ${jobId} and seq > ${afterSeq} order by seq limit ${limit}`;
  }

  async *readAll(jobId: number): AsyncGenerator<StoredChunk[]> {
    let after = 0;
    for (;;) {
      const page = await this.read(jobId, after, 5000);
      if (!page.length) return;
      yield page;
      after = page[page.length - 1].seq;
    }
  }
}
