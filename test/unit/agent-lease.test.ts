import { describe, expect, it } from 'vitest';
import { heartbeatTimeoutMs, leaseState } from '../../agent/lease';

describe('leaseState', () => {
  it('holds until a full lease passed since the last renewal, then is lost', () => {
    expect(leaseState(10_000, 10_000, 30)).toEqual({ kind: 'held', remainingMs: 30_000 });
    expect(leaseState(10_000, 39_999, 30)).toEqual({ kind: 'held', remainingMs: 1 });
    expect(leaseState(10_000, 40_000, 30)).toEqual({ kind: 'lost', silentMs: 30_000 });
    expect(leaseState(10_000, 95_000, 30)).toEqual({ kind: 'lost', silentMs: 85_000 });
  });

  it('treats a renewal stamped after now (a clock step back) as just renewed', () => {
    expect(leaseState(50_000, 40_000, 3)).toEqual({ kind: 'held', remainingMs: 3000 });
  });

  it('with a short lease, as the tests configure', () => {
    expect(leaseState(0, 2999, 3).kind).toBe('held');
    expect(leaseState(0, 3000, 3).kind).toBe('lost');
  });
});

describe('heartbeatTimeoutMs', () => {
  it('is a third of the lease, between 1 s and 10 s', () => {
    expect(heartbeatTimeoutMs(30)).toBe(10_000);
    expect(heartbeatTimeoutMs(300)).toBe(10_000);
    expect(heartbeatTimeoutMs(6)).toBe(2000);
    expect(heartbeatTimeoutMs(1)).toBe(1000);
  });
});
