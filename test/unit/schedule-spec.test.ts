import { describe, expect, it } from 'vitest';
import { cronProblem, everyMs, everyProblem, temporalOverlap, timezoneProblem, timingProblems } from '../../src/schedules/schedule-spec';

describe('schedule timing rules', () => {
  it.each(['* * * * *', '0 3 * * 1-5', '*/15 0-6,22-23 1 jan-mar sun', '30 4 * * 7', '@daily', '0 0 ? * mon'])('accepts cron %s', (cron) => {
    expect(cronProblem(cron)).toBeNull();
  });

  it.each([
    ['61 * * * *', 'minute 61 is outside 0-59'],
    ['* 24 * * *', 'hour 24 is outside 0-23'],
    ['* * 0 * *', 'day of month 0 is outside 1-31'],
    ['* * * foo *', 'month "foo" is not a value'],
    ['* * * * 1-9', 'day of week 9 is outside 0-7'],
    ['5-1 * * * *', 'runs backwards'],
    ['*/0 * * * *', 'bad step'],
    ['* * * *', 'must have 5 fields'],
    ['@sometimes', 'not a known macro'],
  ])('refuses cron %s naming the problem', (cron, message) => {
    expect(cronProblem(cron)).toContain(message);
  });

  it('reads intervals and refuses what is not one', () => {
    expect(everyMs('30s')).toBe(30_000);
    expect(everyMs('1h30m')).toBe(5_400_000);
    expect(everyMs('2d')).toBe(172_800_000);
    expect(everyProblem('15m')).toBeNull();
    expect(everyProblem('15 minutes')).toMatch(/is not an interval/);
    expect(everyProblem('0s')).toMatch(/from 1s to 366d/);
    expect(everyProblem('400d')).toMatch(/from 1s to 366d/);
  });

  it('knows IANA time zones', () => {
    expect(timezoneProblem('Europe/Berlin')).toBeNull();
    expect(timezoneProblem('UTC')).toBeNull();
    expect(timezoneProblem('Mars/Olympus')).toMatch(/not an IANA time zone/);
  });

  it('wants exactly one of cron and every and lists every problem at once', () => {
    expect(timingProblems({ cron: '0 3 * * *', every: null, timezone: 'UTC' })).toEqual([]);
    expect(timingProblems({ cron: '0 3 * * *', every: '1h', timezone: 'UTC' })).toEqual(['give exactly one of cron and every']);
    expect(timingProblems({ timezone: 'UTC' })).toEqual(['give exactly one of cron and every']);
    expect(timingProblems({ every: 'soon', timezone: 'Nowhere' })).toHaveLength(2);
  });

  it('maps overlap onto Temporal policies', () => {
    expect([temporalOverlap('skip'), temporalOverlap('buffer_one'), temporalOverlap('allow_all'), temporalOverlap('cancel_other')]).toEqual(['SKIP', 'BUFFER_ONE', 'ALLOW_ALL', 'CANCEL_OTHER']);
  });
});
