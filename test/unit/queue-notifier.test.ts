import { describe, expect, it } from 'vitest';
import type { Sql } from '../../src/database/sql';
import { QueueNotifier } from '../../src/queue/queue-notifier.service';
import { encodeNotification, owedAfterClaim, type QueuedJobRef } from '../../src/queue/queue-wakeups';

// The notifier's bookkeeping with a stand-in for postgres.js' listen(): which armed polls a NOTIFY
// wakes, and that a job a woken poll does not take reaches the next matching one.

async function notifier() {
  let onNotify!: (payload: string) => void;
  let onListen!: () => void;
  const sql = {
    listen: async (_channel: string, notify: (payload: string) => void, listened: () => void) => {
      onNotify = notify;
      onListen = listened;
    },
  } as unknown as Sql;
  const queue = new QueueNotifier(sql);
  await queue.onModuleInit();
  return { queue, notify: (jobs?: QueuedJobRef[]) => onNotify(encodeNotification(jobs)), reconnect: () => onListen() };
}

const job = (id: number, ...labels: string[]): QueuedJobRef => ({ id, labels });
const GIVE_UP_MS = 60_000;

describe('QueueNotifier', () => {
  it('wakes the oldest matching poll only, for the job it names', async () => {
    const { queue, notify } = await notifier();
    const linux = queue.arm(['linux']);
    const gpuOld = queue.arm(['gpu', 'linux']);
    const gpuNew = queue.arm(['gpu', 'linux']);
    notify([job(7, 'gpu')]);
    expect(await gpuOld.wait(GIVE_UP_MS)).toBe(true);
    expect(gpuOld.wokenFor).toEqual([job(7, 'gpu')]);
    expect(queue.waiting).toBe(2);
    expect(linux.wokenFor).toEqual([]);
    expect(gpuNew.wokenFor).toEqual([]);
    expect(queue.wakeups).toMatchObject({ targeted: 1, all: 0 });
  });

  it('a job the woken poll gives up on (client gone, timeout) goes to the next matching poll', async () => {
    const { queue, notify } = await notifier();
    const gone = queue.arm(['a']);
    const next = queue.arm(['a']);
    notify([job(1, 'a')]);
    expect(await gone.wait(GIVE_UP_MS)).toBe(true);
    // What AgentsService.claim does when the client has left before its claim statement.
    queue.passOn(owedAfterClaim(gone.wokenFor, 'gave_up'));
    expect(await next.wait(GIVE_UP_MS)).toBe(true);
    expect(next.wokenFor).toEqual([job(1, 'a')]);
    expect(queue.wakeups.passedOn).toBe(1);
  });

  it('a woken poll that claims an earlier job passes the one it was woken for on', async () => {
    const { queue, notify } = await notifier();
    const first = queue.arm(['a', 'b']);
    const other = queue.arm(['a', 'b']);
    notify([job(2, 'a', 'b')]);
    await first.wait(GIVE_UP_MS);
    queue.passOn(owedAfterClaim(first.wokenFor, { claimedJobId: 1 }));
    await other.wait(GIVE_UP_MS);
    expect(other.wokenFor).toEqual([job(2, 'a', 'b')]);
  });

  it('a wakeup that reaches a poll still in its claim statement is kept for its next look', async () => {
    const { queue, notify } = await notifier();
    // Armed, claim statement in flight (no wait() yet): the NOTIFY lands now.
    const armed = queue.arm(['a']);
    notify([job(3, 'a')]);
    expect(armed.wokenFor).toEqual([job(3, 'a')]);
    // The statement found nothing (its snapshot predates the job): wait() returns at once, woken.
    expect(await armed.wait(GIVE_UP_MS)).toBe(true);
  });

  it('wakes every poll on a reconnect, on a payload it cannot read, and on shutdown', async () => {
    const { queue, notify, reconnect } = await notifier();
    const polls = [queue.arm(['a']), queue.arm(['b'])];
    reconnect();
    expect(await Promise.all(polls.map((poll) => poll.wait(GIVE_UP_MS)))).toEqual([true, true]);
    const more = [queue.arm(['a']), queue.arm(['b'])];
    notify(undefined);
    expect(await Promise.all(more.map((poll) => poll.wait(GIVE_UP_MS)))).toEqual([true, true]);
    const last = queue.arm(['c']);
    queue.beforeApplicationShutdown();
    expect(await last.wait(GIVE_UP_MS)).toBe(true);
    expect(queue.isClosing).toBe(true);
    expect(queue.waiting).toBe(0);
  });

  it('a wait ends unwoken after its time or on abort, and leaves the registry', async () => {
    const { queue, notify } = await notifier();
    const timed = queue.arm(['a']);
    expect(await timed.wait(1)).toBe(false);
    const controller = new AbortController();
    const aborted = queue.arm(['a']);
    const waiting = aborted.wait(GIVE_UP_MS, controller.signal);
    controller.abort();
    expect(await waiting).toBe(false);
    expect(queue.waiting).toBe(0);
    notify([job(4, 'a')]);
    expect(queue.wakeups.unmatched).toBe(1);
  });
});
