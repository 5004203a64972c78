import { describe, expect, it } from 'vitest';
import { describeRun, parseStressArgs, readSuiteOutcome, stressVerdict, type StressRun } from '../../scripts/test-stress-plan';

describe('test:stress arguments', () => {
  it('defaults to three runs with one busy loop per core', () => {
    expect(parseStressArgs([], 2)).toEqual({ ok: true, options: { runs: 3, load: 2, keepGoing: false, vitestArgs: [] } });
  });

  it('takes runs, load, keep-going and vitest arguments after a second --', () => {
    expect(parseStressArgs(['--runs', '5', '--load', '0', '--keep-going', '--', 'test/integration/live.test.ts', '-t', 'lifecycle'], 2)).toEqual({
      ok: true,
      options: { runs: 5, load: 0, keepGoing: true, vitestArgs: ['test/integration/live.test.ts', '-t', 'lifecycle'] },
    });
  });

  it('names the bad argument', () => {
    expect(parseStressArgs(['--runs', '0'], 2)).toMatchObject({ ok: false, error: expect.stringMatching(/^--runs needs a whole number from 1 to 64, not "0"/) });
    expect(parseStressArgs(['--load'], 2)).toMatchObject({ ok: false, error: expect.stringMatching(/^--load needs a whole number from 0 to 64\. usage/) });
    expect(parseStressArgs(['test/unit'], 2)).toMatchObject({ ok: false, error: expect.stringContaining('unknown argument "test/unit" (vitest arguments go after a second --)') });
  });
});

const failingOutput = [
  '\u001b[32m✓\u001b[39m test/unit/soak.test.ts (10 tests) 12ms',
  '\u001b[41m\u001b[1m FAIL \u001b[22m\u001b[49m test/integration/live.test.ts\u001b[2m > \u001b[22mlifecycle events\u001b[2m > \u001b[22mannounce run, job, queue and agent changes of a run',
  ' FAIL  test/integration/live.test.ts > lifecycle events > announce run, job, queue and agent changes of a run',
  ' FAIL  test/integration/partition.test.ts [ test/integration/partition.test.ts ]',
  '',
  '734 passed, 1 failed, 4 skipped',
  '',
].join('\n');

describe('reading a suite run', () => {
  it('reads the summary line and names each failed test once', () => {
    expect(readSuiteOutcome(failingOutput)).toEqual({
      passed: 734,
      failed: 1,
      skipped: 4,
      failures: ['test/integration/live.test.ts > lifecycle events > announce run, job, queue and agent changes of a run', 'test/integration/partition.test.ts (the whole file)'],
    });
  });

  it('has no outcome when the suite never printed its summary', () => {
    expect(readSuiteOutcome('bellows: npm run typecheck failed\n')).toBeNull();
  });
});

describe('the verdict', () => {
  const run = (n: number, exitCode: number, failed: number): StressRun => ({
    run: n,
    exitCode,
    durationMs: 581_000,
    outcome: { passed: 736 - failed, failed, skipped: 4, failures: failed ? ['test/a.test.ts > a > b'] : [] },
    log: `/tmp/stress/run-${n}.log`,
  });

  it('passes only when every asked run passed', () => {
    expect(stressVerdict([run(1, 0, 0), run(2, 0, 0), run(3, 0, 0)], { runs: 3, load: 2 })).toMatchObject({ ok: true, line: expect.stringMatching(/^test:stress: 3 of 3 suite runs passed under load \(2 busy loops on \d+ cores?\)$/) });
    expect(stressVerdict([run(1, 0, 0), run(2, 1, 1)], { runs: 3, load: 2 })).toMatchObject({ ok: false, line: expect.stringMatching(/1 of 3 suite runs passed .*; 1 failed$/) });
    // An exit of 0 with failures in the summary (or the reverse) is not a pass.
    expect(stressVerdict([run(1, 0, 1), run(2, 1, 0)], { runs: 2, load: 2 }).ok).toBe(false);
  });

  it('describes a failed run with its tests and its log', () => {
    expect(describeRun(run(2, 1, 1), 3)).toBe('run 2 of 3 FAILED (exit 1) in 9m 41s (735 passed, 1 failed, 4 skipped)\n  ✗ test/a.test.ts > a > b\n  log: /tmp/stress/run-2.log');
    expect(describeRun(run(1, 0, 0), 3)).toBe('run 1 of 3 passed in 9m 41s (736 passed, 0 failed, 4 skipped)');
  });
});
