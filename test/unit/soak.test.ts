import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkLines, expectedArtifactSha256, parseSoakArgs, seededRandom, SOAK_ARTIFACT, soakLine, soakPassed, soakScript } from '../../scripts/soak-checks';

const lines = (numbers: number[]): string => numbers.map((n) => `soak line ${n} of 5\n`).join('');

describe('soak arguments', () => {
  it('defaults to the full soak with a random seed, --quick to about two minutes', () => {
    expect(parseSoakArgs([], () => 7)).toEqual({ ok: true, options: { mode: 'full', chaosSeconds: 600, json: false, seed: 7, keep: false } });
    expect(parseSoakArgs(['--quick', '--json', '--seed', '42'])).toEqual({ ok: true, options: { mode: 'quick', chaosSeconds: 75, json: true, seed: 42, keep: false } });
    expect(parseSoakArgs(['--seconds', '30', '--keep'], () => 1)).toMatchObject({ ok: true, options: { chaosSeconds: 30, keep: true } });
  });

  it('names what is wrong with a bad argument', () => {
    expect(parseSoakArgs(['--fast'])).toMatchObject({ ok: false, error: expect.stringContaining('unknown argument "--fast"') });
    expect(parseSoakArgs(['--seed'])).toMatchObject({ ok: false, error: expect.stringContaining('--seed needs a positive whole number') });
    expect(parseSoakArgs(['--seconds', '1.5'])).toMatchObject({ ok: false, error: expect.stringContaining('not "1.5"') });
    expect(parseSoakArgs(['--seconds', '5'])).toMatchObject({ ok: false, error: expect.stringContaining('at least 20') });
  });
});

describe('seeded random', () => {
  it('repeats for a seed and differs between seeds', () => {
    const a = seededRandom(1);
    const b = seededRandom(1);
    const c = seededRandom(2);
    const first = [a(), a(), a()];
    expect([b(), b(), b()]).toEqual(first);
    expect([c(), c(), c()]).not.toEqual(first);
    for (const value of first) expect(value >= 0 && value < 1).toBe(true);
  });
});

describe('judging a try', () => {
  it('passes a complete try with every line once', () => {
    expect(checkLines(lines([1, 2, 3, 4, 5]), 5, true)).toEqual({ lost: 0, duplicated: 0, missing: [], duplicates: [] });
  });

  it('counts missing and repeated lines of a complete try', () => {
    expect(checkLines(lines([1, 2, 2, 4, 5, 5, 5]), 5, true)).toEqual({ lost: 1, duplicated: 3, missing: [3], duplicates: [2, 5] });
  });

  it('accepts a lost try that stopped early, but not a gap or a repeat in it', () => {
    expect(checkLines(lines([1, 2]), 5, false)).toMatchObject({ lost: 0, duplicated: 0 });
    expect(checkLines('', 5, false)).toMatchObject({ lost: 0, duplicated: 0 });
    expect(checkLines(lines([1, 3]), 5, false)).toMatchObject({ lost: 1, missing: [2] });
    expect(checkLines(lines([1, 1]), 5, false)).toMatchObject({ duplicated: 1 });
  });

  it('ignores lines that are not the soak numbering (agent system lines, partial text)', () => {
    expect(checkLines(`hello\n${lines([1, 2, 3, 4, 5])}soak line 9 of\n`, 5, true)).toMatchObject({ lost: 0, duplicated: 0 });
  });
});

describe('the soak job', () => {
  it('prints the numbered lines and writes the artifact whose SHA-256 the soak expects', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'soak-script-'));
    try {
      // As the agent runs a script: -e and pipefail.
      const output = execFileSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', soakScript(3).replace('sleep 0.1', 'true')], {
        env: { ...process.env, BELLOWS_JOB_ID: '123', BELLOWS_ARTIFACTS_DIR: dir },
        encoding: 'utf8',
      });
      expect(checkLines(output, 3, true)).toMatchObject({ lost: 0, duplicated: 0 });
      const bytes = fs.readFileSync(path.join(dir, SOAK_ARTIFACT));
      expect(crypto.createHash('sha256').update(bytes).digest('hex')).toBe(expectedArtifactSha256(123));
      expect(expectedArtifactSha256(124)).not.toBe(expectedArtifactSha256(123));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the verdict', () => {
  const clean = { kills: 20, runs: 50, linesLost: 0, linesDuplicated: 0, artifactsCorrupted: 0, runsFailed: 0 };

  it('ends with the line the issue asks for', () => {
    expect(soakLine({ ...clean, linesLost: 1, linesDuplicated: 2, artifactsCorrupted: 3, runsFailed: 4 })).toBe(
      'soak: 20 kills, 50 runs, 1 lines lost, 2 lines duplicated, 3 artifacts corrupted, 4 runs failed',
    );
  });

  it('passes only with nothing lost, duplicated, corrupted, failed or left behind, and something run', () => {
    expect(soakPassed(clean, 0)).toBe(true);
    expect(soakPassed({ ...clean, runs: 0 }, 0)).toBe(false);
    expect(soakPassed({ ...clean, linesLost: 1 }, 0)).toBe(false);
    expect(soakPassed({ ...clean, linesDuplicated: 1 }, 0)).toBe(false);
    expect(soakPassed({ ...clean, artifactsCorrupted: 1 }, 0)).toBe(false);
    expect(soakPassed({ ...clean, runsFailed: 1 }, 0)).toBe(false);
    expect(soakPassed(clean, 1)).toBe(false);
  });
});
