// The chaos soak's pure parts (scripts/soak.ts): its arguments, the job it runs, how a job's log and
// artifact are judged, and the one summary line. Kept apart from the soak itself so they are unit-tested
// (test/unit/soak.test.ts) without a cluster.

import crypto from 'node:crypto';

export type SoakMode = 'quick' | 'full';

export type SoakOptions = {
  mode: SoakMode;
  /** How long processes are killed for; runs keep being triggered for as long. */
  chaosSeconds: number;
  json: boolean;
  /** Seeds the choice of victims and intervals, so a failing soak can be replayed. */
  seed: number;
  /** Keep the soak's data dir (logs of every process) even when it passed. */
  keep: boolean;
};

export type ParsedSoakArgs = { ok: true; options: SoakOptions } | { ok: false; error: string };

const USAGE = 'usage: npm run soak [-- --quick] [--json] [--seconds N] [--seed N] [--keep]';

// Quick: about 2 minutes in all (issue 13), of which 75 s of chaos — enough for ~20 kills, both
// restarts and one partition longer than a lease. Full: 10 minutes of chaos.
const CHAOS_SECONDS: Record<SoakMode, number> = { quick: 75, full: 600 };

export function parseSoakArgs(argv: string[], randomSeed: () => number = () => crypto.randomInt(1, 2 ** 31)): ParsedSoakArgs {
  let mode: SoakMode = 'full';
  let json = false;
  let keep = false;
  let seconds: number | undefined;
  let seed: number | undefined;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index];
    const value = (): string | undefined => argv[++index];
    if (arg === '--quick') mode = 'quick';
    else if (arg === '--json') json = true;
    else if (arg === '--keep') keep = true;
    else if (arg === '--seconds' || arg === '--seed') {
      const raw = value();
      const parsed = Number(raw);
      if (raw === undefined || !/^[0-9]+$/.test(raw) || !Number.isSafeInteger(parsed) || parsed < 1) {
        return { ok: false, error: `${arg} needs a positive whole number${raw === undefined ? '' : `, not "${raw}"`}. ${USAGE}` };
      }
      if (arg === '--seconds') seconds = parsed;
      else seed = parsed;
    } else if (arg === '--help' || arg === '-h') {
      return { ok: false, error: USAGE };
    } else {
      return { ok: false, error: `unknown argument "${arg}". ${USAGE}` };
    }
  }
  if (seconds !== undefined && seconds < 20) return { ok: false, error: `--seconds must be at least 20 (one partition longer than a lease fits in it), not ${seconds}. ${USAGE}` };
  return { ok: true, options: { mode, chaosSeconds: seconds ?? CHAOS_SECONDS[mode], json, seed: seed ?? randomSeed(), keep } };
}

/** A small seeded generator (mulberry32): the same seed picks the same victims at the same offsets. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const SOAK_LINES = 30;
export const SOAK_ARTIFACT = 'soak-output.txt';
const ARTIFACT_BYTES = 64 * 1024;

/**
 * The soak's job: numbered lines (a tenth of a second apart, so a kill often lands mid-job), then an
 * artifact whose bytes follow from the job id alone, so the soak knows its SHA-256 without trusting
 * the server's. Plain bash, as script pipelines run.
 */
export function soakScript(lines = SOAK_LINES): string {
  return [
    `for i in $(seq 1 ${lines}); do echo "soak line $i of ${lines}"; sleep 0.1; done`,
    // Not `yes | head`: under the agent's pipefail, yes's SIGPIPE (exit 141) would fail the job.
    `head -c ${ARTIFACT_BYTES} < <(yes "bellows soak job $BELLOWS_JOB_ID") > "$BELLOWS_ARTIFACTS_DIR/${SOAK_ARTIFACT}"`,
    '',
  ].join('\n');
}

/** The artifact's expected content: what `yes "bellows soak job N" | head -c 64K` writes. */
export function expectedArtifactSha256(jobId: number): string {
  const line = `bellows soak job ${jobId}\n`;
  const content = Buffer.from(line.repeat(Math.ceil(ARTIFACT_BYTES / line.length))).subarray(0, ARTIFACT_BYTES);
  return crypto.createHash('sha256').update(content).digest('hex');
}

export type LineCheck = { lost: number; duplicated: number; missing: number[]; duplicates: number[] };

/**
 * Judges one try's stdout: every `soak line k of N` for k in 1..N exactly once. A complete try (the
 * one that succeeded) must have all of them; a lost try may stop early, but never repeat one — a
 * repeat means a log batch was stored twice.
 */
export function checkLines(stdout: string, expected: number, complete: boolean): LineCheck {
  const seen = new Map<number, number>();
  for (const match of stdout.matchAll(/^soak line (\d+) of \d+$/gm)) {
    const number = Number(match[1]);
    seen.set(number, (seen.get(number) ?? 0) + 1);
  }
  const duplicates = [...seen].filter(([, count]) => count > 1).map(([number]) => number);
  const duplicated = [...seen.values()].reduce((sum, count) => sum + (count - 1), 0);
  let missing: number[] = [];
  if (complete) {
    missing = Array.from({ length: expected }, (_, index) => index + 1).filter((number) => !seen.has(number));
  } else {
    // A lost try's log is a prefix: a gap before its last line is a lost line.
    const last = Math.max(0, ...seen.keys());
    missing = Array.from({ length: last }, (_, index) => index + 1).filter((number) => !seen.has(number));
  }
  return { lost: missing.length, duplicated, missing, duplicates };
}

export type SoakTotals = {
  kills: number;
  runs: number;
  linesLost: number;
  linesDuplicated: number;
  artifactsCorrupted: number;
  runsFailed: number;
};

/** The line the issue asks the soak to end with. */
export function soakLine(totals: SoakTotals): string {
  return `soak: ${totals.kills} kills, ${totals.runs} runs, ${totals.linesLost} lines lost, ${totals.linesDuplicated} lines duplicated, ${totals.artifactsCorrupted} artifacts corrupted, ${totals.runsFailed} runs failed`;
}

/** Passed only when nothing was lost, duplicated, corrupted or failed, and the soak did run something. */
export function soakPassed(totals: SoakTotals, leftoverProcesses: number): boolean {
  return totals.runs > 0 && totals.linesLost === 0 && totals.linesDuplicated === 0 && totals.artifactsCorrupted === 0 && totals.runsFailed === 0 && leftoverProcesses === 0;
}
