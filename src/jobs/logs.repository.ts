import { Inject, Injectable } from '@nestjs/common';
import { SQL, type Sql } from '../database/sql';
import type { LogStream } from '../agents/agent-protocol';

export type StoredChunk = { seq: number; try: number; stream: LogStream; node: string | null; text: string; at: Date };
export type ChunkToStore = { stream: LogStream; node: string | null; text: string; at: Date | null };

// `stored` carries exactly the chunks this call stored (with their seq), so live viewers get what was committed.
export type AppendResult =
  | { outcome: 'stored'; nextBatch: number; stored: StoredChunk[] }
  | { outcome: 'duplicate'; nextBatch: number }
  | { outcome: 'out_of_order'; nextBatch: number };

@Injectable()
export class LogsRepository {
  constructor(@Inject(SQL) private readonly sql: Sql) {}

  /**
   * Stores one numbered batch exactly once. Batches of a try must arrive in order: a resent
   * batch is acknowledged without storing it again; a gap is refused with the batch expected.
   */
  async appendBatch(jobId: number, tryNumber: number, batch: number, chunks: ChunkToStore[], maxBytes: number): Promise<AppendResult> {
    return this.sql.begin(async (tx) => {
      const [state] = await tx<{ nextBatch: number; logSeq: number; logBytes: number }[]>`
        select t.next_log_batch as "nextBatch", j.log_seq as "logSeq", j.log_bytes as "logBytes"
        from job_tries t join jobs j on j.id = t.job_id
        where t.job_id = ${jobId} and t.try = ${tryNumber} for update of t, j`;
      if (batch < state.nextBatch) return { outcome: 'duplicate', nextBatch: state.nextBatch };
      if (batch > state.nextBatch) return { outcome: 'out_of_order', nextBatch: state.nextBatch };

      const kept: ChunkToStore[] = [];
      let bytes = state.logBytes;
      for (const chunk of chunks) {
        const size = Buffer.byteLength(chunk.text);
        if (bytes >= maxBytes) break;
        if (bytes + size > maxBytes) {
          kept.push({ stream: 'system', node: null, text: `[log truncated: the job's log reached ${maxBytes} bytes]\n`, at: null });
          bytes = maxBytes;
          break;
        }
        kept.push(chunk);
        bytes += size;
      }
      const rows = kept.map((chunk, i) => ({
        job_id: jobId,
        seq: state.logSeq + i + 1,
        try: tryNumber,
        stream: chunk.stream,
        node: chunk.node,
        text: chunk.text,
        at: chunk.at ?? new Date(),
      }));
      if (rows.length) await tx`insert into log_chunks ${tx(rows)}`;
      await tx`update jobs set log_seq = ${state.logSeq + kept.length}, log_bytes = ${bytes} where id = ${jobId}`;
      await tx`update job_tries set next_log_batch = ${batch + 1} where job_id = ${jobId} and try = ${tryNumber}`;
      const stored = rows.map((row) => ({ seq: row.seq, try: row.try, stream: row.stream, node: row.node, text: row.text, at: row.at }));
      return { outcome: 'stored', nextBatch: batch + 1, stored };
    });
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
