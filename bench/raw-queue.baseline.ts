import postgres from 'postgres';
import { sleep } from '../scripts/process-utils';
import { deferred, within, type Deferred } from './bench-utils';
import { summarize, wallClockMs, type Summary } from './stats';

// Baseline for dispatch latency: the floor a Postgres queue can reach on this machine. Each poller
// has its own LISTEN connection and claims with the same shape of statement as Bellows
// (UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING), woken by pg_notify
// from the inserting transaction. Latency is measured the same way as for Bellows: the row's
// queued_at (transaction start of the insert) → the claiming statement's result in the poller.

export type RawQueueResult = { pollers: number; samplesMs: number[]; latency: Summary };

export type RawQueueOptions = { pollers: number; samples: number; warmup: number; signal: AbortSignal };

const TABLE = 'bench_raw_jobs';
const CHANNEL = 'bench_raw_queue';

type Claim = { id: number; queuedMs: number; receivedAt: number };

export async function benchRawQueue(databaseUrl: string, options: RawQueueOptions): Promise<RawQueueResult> {
  const { signal } = options;
  const admin = postgres(databaseUrl, { max: 1, onnotice: () => undefined });
  const pools: postgres.Sql[] = [];
  let stopped = false;
  // A holder object: TypeScript would narrow a plain `let` to null inside the poller closures.
  const waiting: { current: Deferred<Claim> | null } = { current: null };
  let parked = 0;
  try {
    await admin.unsafe(`
      create table if not exists ${TABLE} (
        id bigint generated always as identity primary key,
        status text not null default 'queued',
        claimed_by int,
        queued_at timestamptz not null default now()
      )`);
    await admin.unsafe(`truncate ${TABLE}`);

    const wakers = new Set<() => void>();
    const loops: Promise<void>[] = [];
    for (let i = 0; i < options.pollers; i++) {
      // max 1: one claiming connection per poller, like an agent's server-side claim; LISTEN gets its own.
      const sql = postgres(databaseUrl, { max: 1, onnotice: () => undefined });
      pools.push(sql);
      let wake: (() => void) | null = null;
      const waker = (): void => wake?.();
      wakers.add(waker);
      await sql.listen(CHANNEL, waker);
      loops.push(
        (async () => {
          while (!stopped) {
            // Arm before looking, as Bellows' QueueNotifier does: a NOTIFY in between is not lost.
            const woken = new Promise<void>((resolve) => (wake = resolve));
            const rows = await sql<{ id: string; queuedMs: number }[]>`
              update ${sql(TABLE)} set status = 'running', claimed_by = ${i}
              where id = (select id from ${sql(TABLE)} where status = 'queued' order by id for update skip locked limit 1)
              returning id, (extract(epoch from queued_at) * 1000)::float8 as "queuedMs"`;
            const receivedAt = wallClockMs();
            if (rows.length) {
              waiting.current?.resolve({ id: Number(rows[0].id), queuedMs: rows[0].queuedMs, receivedAt });
              continue;
            }
            parked++;
            // A 1 s fallback timer so stopping never waits for a NOTIFY that will not come.
            await Promise.race([woken, sleep(1000)]);
            parked--;
          }
        })(),
      );
    }

    const samplesMs: number[] = [];
    try {
      for (let n = 0; n < options.warmup + options.samples; n++) {
        const deadline = Date.now() + 10_000;
        while (parked < options.pollers) {
          if (Date.now() > deadline) throw new Error(`only ${parked} of ${options.pollers} raw pollers are waiting`);
          await sleep(2);
        }
        await sleep(20);
        waiting.current = deferred<Claim>();
        await admin.begin(async (tx) => {
          await tx`insert into ${tx(TABLE)} default values`;
          await tx`select pg_notify(${CHANNEL}, '')`;
        });
        const claim = await within(waiting.current.promise, 10_000, 'a raw poller to claim the row', signal);
        waiting.current = null;
        if (n >= options.warmup) samplesMs.push(claim.receivedAt - claim.queuedMs);
      }
    } finally {
      stopped = true;
      for (const waker of wakers) waker();
      await Promise.allSettled(loops);
    }
    return { pollers: options.pollers, samplesMs, latency: summarize(samplesMs) };
  } finally {
    await Promise.allSettled(pools.map((sql) => sql.end({ timeout: 5 })));
    await admin.unsafe(`drop table if exists ${TABLE}`).catch(() => undefined);
    await admin.end({ timeout: 5 });
  }
}
