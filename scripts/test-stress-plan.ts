// `npm run test:stress`'s pure parts (scripts/test-stress.ts): its arguments, reading a suite run's
// outcome from its output, and the verdict line. Unit-tested in test/unit/test-stress.test.ts.

import os from 'node:os';

export type StressOptions = {
  /** Whole-suite runs, one after the other (issue 13: three with no failure). */
  runs: number;
  /** Busy loops kept running beside the suite; default one per core, so every core is contended. */
  load: number;
  /** Go on after a failed run (default: stop, the failure is what the user needs). */
  keepGoing: boolean;
  /** Passed on to vitest: test files or -t filters, for stressing one suspect file. */
  vitestArgs: string[];
};

export type ParsedStressArgs = { ok: true; options: StressOptions } | { ok: false; error: string };

const USAGE = 'usage: npm run test:stress [-- --runs N] [--load N] [--keep-going] [-- <vitest args>]';

export function parseStressArgs(argv: string[], cores = os.availableParallelism()): ParsedStressArgs {
  const options: StressOptions = { runs: 3, load: Math.max(1, cores), keepGoing: false, vitestArgs: [] };
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index];
    if (arg === '--') {
      options.vitestArgs = argv.slice(index + 1);
      break;
    }
    if (arg === '--keep-going') options.keepGoing = true;
    else if (arg === '--runs' || arg === '--load') {
      const raw = argv[++index];
      const value = Number(raw);
      const least = arg === '--runs' ? 1 : 0;
      if (raw === undefined || !/^[0-9]+$/.test(raw) || value < least || value > 64) {
        return { ok: false, error: `${arg} needs a whole number from ${least} to 64${raw === undefined ? '' : `, not "${raw}"`}. ${USAGE}` };
      }
      if (arg === '--runs') options.runs = value;
      else options.load = value;
    } else if (arg === '--help' || arg === '-h') return { ok: false, error: USAGE };
    else return { ok: false, error: `unknown argument "${arg}" (vitest arguments go after a second --). ${USAGE}` };
  }
  return { ok: true, options };
}

export type SuiteOutcome = {
  passed: number;
  failed: number;
  skipped: number;
  /** "file > describe > test" of every failed test, as vitest's FAIL lines name them. */
  failures: string[];
};

// eslint-disable-next-line no-control-regex -- vitest colours its output; the escapes are what we strip.
const ANSI = /\u001b\[[0-9;]*m/g;

/** What a suite run printed, read back: the summary reporter's last line and vitest's FAIL lines. */
export function readSuiteOutcome(output: string): SuiteOutcome | null {
  const lines = output.replace(ANSI, '').split('\n');
  let summary: RegExpExecArray | null = null;
  for (const line of lines) summary = /^(\d+) passed, (\d+) failed, (\d+) skipped$/.exec(line.trim()) ?? summary;
  if (!summary) return null;
  // `FAIL  file > describe > test` for a test; `FAIL  file [ file ]` for a file that failed as a whole (its beforeAll).
  const failures = [
    ...new Set(
      lines
        .map((line) => /^\s*FAIL\s+(.+?)\s*$/.exec(line)?.[1])
        .filter((name): name is string => name !== undefined)
        .map((name) => name.replace(/^(\S+) \[ \1 \]$/, '$1 (the whole file)')),
    ),
  ];
  return { passed: Number(summary[1]), failed: Number(summary[2]), skipped: Number(summary[3]), failures };
}

export type StressRun = { run: number; exitCode: number; durationMs: number; outcome: SuiteOutcome | null; log: string };

/** A run passed when the suite exited 0 and its summary says nothing failed. */
export function runPassed(run: StressRun): boolean {
  return run.exitCode === 0 && run.outcome !== null && run.outcome.failed === 0;
}

const minutes = (ms: number): string => `${Math.floor(ms / 60_000)}m ${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;

/** One line per run: `run 2 of 3 passed in 9m 41s (736 passed, 0 failed, 4 skipped)`. */
export function describeRun(run: StressRun, of: number): string {
  const counts = run.outcome ? `${run.outcome.passed} passed, ${run.outcome.failed} failed, ${run.outcome.skipped} skipped` : 'no summary: the suite did not get to the end';
  const head = `run ${run.run} of ${of} ${runPassed(run) ? 'passed' : `FAILED (exit ${run.exitCode})`} in ${minutes(run.durationMs)} (${counts})`;
  if (runPassed(run)) return head;
  return [head, ...(run.outcome?.failures ?? []).map((name) => `  ✗ ${name}`), `  log: ${run.log}`].join('\n');
}

/** The last line: what was asked, what held. */
export function stressVerdict(runs: StressRun[], options: Pick<StressOptions, 'runs' | 'load'>): { ok: boolean; line: string } {
  const passed = runs.filter(runPassed).length;
  const ok = passed === options.runs;
  const load = `${options.load} busy loop${options.load === 1 ? '' : 's'} on ${os.availableParallelism()} core${os.availableParallelism() === 1 ? '' : 's'}`;
  return { ok, line: `test:stress: ${passed} of ${options.runs} suite runs passed under load (${load})${ok ? '' : `; ${runs.length - passed} failed`}` };
}
