import { describe, expect, it } from 'vitest';
import {
  decodeNotification,
  encodeNotification,
  MAX_NOTIFY_PAYLOAD_BYTES,
  owedAfterClaim,
  pickWakeups,
  type QueuedJobRef,
  type WaiterView,
} from '../../src/queue/queue-wakeups';

const waiter = (key: number, ...labels: string[]): WaiterView => ({ key, labels: new Set(labels) });
const job = (id: number, ...labels: string[]): QueuedJobRef => ({ id, labels });

describe('pickWakeups', () => {
  it('wakes only the oldest waiter whose labels include the job’s', () => {
    const waiters = [waiter(1, 'linux'), waiter(2, 'gpu', 'linux'), waiter(3, 'gpu', 'linux'), waiter(4, 'gpu')];
    expect(pickWakeups(waiters, [job(10, 'gpu', 'linux')])).toEqual([{ key: 2, job: job(10, 'gpu', 'linux') }]);
  });

  it('wakes one waiter per job, never the same one twice', () => {
    const waiters = [waiter(1, 'a'), waiter(2, 'a'), waiter(3, 'b')];
    expect(pickWakeups(waiters, [job(10, 'a'), job(11, 'a'), job(12, 'a'), job(13, 'b')]).map((w) => [w.key, w.job.id])).toEqual([
      [1, 10],
      [2, 11],
      [3, 13],
    ]);
  });

  it('a job without labels goes to the oldest waiter; a job nobody matches wakes nobody', () => {
    const waiters = [waiter(5, 'x'), waiter(6)];
    expect(pickWakeups(waiters, [job(1)]).map((w) => w.key)).toEqual([5]);
    expect(pickWakeups(waiters, [job(2, 'y')])).toEqual([]);
    expect(pickWakeups([], [job(3)])).toEqual([]);
  });
});

describe('owedAfterClaim', () => {
  const woken = [job(10, 'a'), job(11, 'a')];

  it('a claim of one of its jobs settles that one and passes the others on', () => {
    expect(owedAfterClaim(woken, { claimedJobId: 10 })).toEqual([job(11, 'a')]);
  });

  it('a claim of another (earlier) job passes every job it was woken for on', () => {
    expect(owedAfterClaim(woken, { claimedJobId: 7 })).toEqual(woken);
  });

  it('an empty claim owes nothing (someone else took them); giving up owes everything', () => {
    expect(owedAfterClaim(woken, 'empty')).toEqual([]);
    expect(owedAfterClaim(woken, 'gave_up')).toEqual(woken);
  });
});

describe('the NOTIFY payload', () => {
  it('round-trips the jobs', () => {
    const jobs = [job(1, 'a', 'b'), job(2)];
    expect(decodeNotification(encodeNotification(jobs))).toEqual({ kind: 'jobs', jobs });
  });

  it('falls back to waking every poll when it would not fit in a NOTIFY, or names no job', () => {
    const many = Array.from({ length: 1000 }, (_, i) => job(1_000_000 + i, 'label-that-takes-room'));
    expect(Buffer.byteLength(JSON.stringify(many))).toBeGreaterThan(MAX_NOTIFY_PAYLOAD_BYTES);
    expect(encodeNotification(many)).toBe('');
    expect(encodeNotification(undefined)).toBe('');
    expect(encodeNotification([])).toBe('');
    expect(decodeNotification('')).toEqual({ kind: 'all' });
  });

  it('reads anything it does not understand as "wake all", never as "wake nobody"', () => {
    for (const payload of ['{', '[]', '{"a":1}', '[[1]]', '[["1",["a"]]]', '[[1,[2]]]', 'null']) {
      expect(decodeNotification(payload)).toEqual({ kind: 'all' });
    }
  });
});
