import { describe, expect, it } from 'vitest';
import { concurrencyWaitReason } from '../../contract/concurrency.contract';
import { arrival, promotions, resolveConcurrency, slotView, validateConcurrency, type GroupClaim } from '../../src/concurrency/concurrency-policy';

const claim = (id: number, state: GroupClaim['state'], extra: Partial<GroupClaim> = {}): GroupClaim => ({
  id,
  runId: id,
  attempt: 1,
  jobId: null,
  limit: 1,
  state,
  withdrawn: false,
  ...extra,
});

describe('promotions', () => {
  it('fills free slots in line order and never lets a later claim overtake', () => {
    expect(promotions([claim(1, 'holding'), claim(2, 'waiting'), claim(3, 'waiting')])).toEqual([]);
    expect(promotions([claim(2, 'waiting'), claim(3, 'waiting')])).toEqual([2]);
    expect(promotions([claim(2, 'waiting', { limit: 2 }), claim(3, 'waiting', { limit: 2 }), claim(4, 'waiting', { limit: 2 })])).toEqual([2, 3]);
    // The head wants one holder at most and one holds: nobody behind it passes, whatever their limit.
    expect(promotions([claim(1, 'holding', { limit: 3 }), claim(2, 'waiting', { limit: 1 }), claim(3, 'waiting', { limit: 3 })])).toEqual([]);
  });

  it('passes over withdrawn claims (their runs are being cancelled)', () => {
    expect(promotions([claim(2, 'waiting', { withdrawn: true }), claim(3, 'waiting')])).toEqual([3]);
  });
});

describe('arrival', () => {
  const mine = { runId: 9, attempt: 1, jobId: null, limit: 1 };

  it('queue always joins the line', () => {
    expect(arrival([claim(1, 'holding')], { ...mine, onConflict: 'queue' })).toEqual({ kind: 'join' });
  });

  it('skip joins only when it would take a slot at once', () => {
    expect(arrival([], { ...mine, onConflict: 'skip' })).toEqual({ kind: 'join' });
    expect(arrival([claim(1, 'holding')], { ...mine, onConflict: 'skip' })).toEqual({ kind: 'skip' });
    // A free slot, but someone waits ahead: joining would mean waiting, so it skips.
    expect(arrival([claim(1, 'holding', { limit: 2 }), claim(2, 'waiting', { limit: 1 })], { ...mine, limit: 2, onConflict: 'skip' })).toEqual({ kind: 'skip' });
    expect(arrival([claim(1, 'holding')], { ...mine, limit: 2, onConflict: 'skip' })).toEqual({ kind: 'join' });
  });

  it('cancel_in_progress supersedes every other attempt in the group, holding or waiting, once each', () => {
    const line = [claim(1, 'holding'), claim(2, 'waiting'), claim(3, 'waiting', { runId: 1, jobId: 7 }), claim(4, 'waiting', { withdrawn: true }), claim(5, 'holding', { runId: 9, jobId: 3 })];
    expect(arrival(line, { ...mine, onConflict: 'cancel_in_progress' })).toEqual({
      kind: 'supersede',
      victims: [
        { runId: 1, attempt: 1 },
        { runId: 2, attempt: 1 },
      ],
    });
  });
});

describe('resolveConcurrency', () => {
  const context = { ref: 'main', pipeline: 'deploy', inputs: { env: 'prod' }, matrix: { os: 'linux' } };

  it('fills in the placeholders and the defaults', () => {
    expect(resolveConcurrency({ group: '${pipeline}-${ref}-${inputs.env}-${matrix.os}' }, context)).toEqual({ group: 'deploy-main-prod-linux', limit: 1, onConflict: 'queue' });
    expect(resolveConcurrency({ group: 'db', limit: 3, onConflict: 'skip' }, context)).toEqual({ group: 'db', limit: 3, onConflict: 'skip' });
  });

  it('reads a missing input as empty, and keeps the template when nothing is left', () => {
    expect(resolveConcurrency({ group: 'deploy-${inputs.target}' }, context).group).toBe('deploy-');
    expect(resolveConcurrency({ group: '${inputs.target}' }, context).group).toBe('${inputs.target}');
  });
});

describe('validateConcurrency', () => {
  it('accepts a well-formed declaration', () => {
    expect(validateConcurrency({ group: 'deploy-${ref}', limit: 2, onConflict: 'cancel_in_progress' }, 'concurrency', { kind: 'pipeline' }, [])).toEqual([]);
    expect(validateConcurrency({ group: 'x-${matrix.os}-${inputs.a}' }, 'jobs[0].concurrency', { kind: 'job', matrixKeys: ['os'] }, ['a'])).toEqual([]);
  });

  it('names every problem', () => {
    expect(validateConcurrency('deploy', 'concurrency', { kind: 'pipeline' }, [])).toEqual(['concurrency: must be an object like {group: "deploy-${ref}"}']);
    expect(validateConcurrency({ group: '', limit: 1.5, max: 2 }, 'concurrency', { kind: 'pipeline' }, [])).toEqual([
      'concurrency.max: unknown field (known: group, limit, onConflict)',
      'concurrency.group: required; a name of 1-200 characters',
      'concurrency.limit: an integer from 1 to 1000',
    ]);
    expect(validateConcurrency({ group: '${matrix.arch}' }, 'jobs[1].concurrency', { kind: 'job', matrixKeys: ['os'] }, [])).toEqual([
      'jobs[1].concurrency.group: ${matrix.arch} is not a matrix key of this job (its keys: os)',
    ]);
  });
});

describe('the wait sentence', () => {
  const holder = (runNumber: number, pipeline = 'deploy', jobKey: string | null = null) => ({ runId: runNumber + 100, runNumber, pipeline, jobKey });

  it('names the holders, in its own pipeline as "run #N"', () => {
    expect(concurrencyWaitReason('deploy-main', [holder(41)], 'deploy', 1)).toBe('waiting for concurrency group deploy-main (held by run #41)');
    expect(concurrencyWaitReason('db', [holder(7, 'migrate', 'migrate[shard=1]')], 'deploy', 3)).toBe('waiting for concurrency group db (held by migrate #7 (migrate[shard=1]); 2 ahead in line)');
    expect(concurrencyWaitReason('db', [1, 2, 3, 4, 5].map((n) => holder(n)), 'deploy', 1)).toBe('waiting for concurrency group db (held by run #1, run #2, run #3 and 2 more)');
    expect(concurrencyWaitReason('db', [], 'deploy', 2)).toBe('waiting for concurrency group db (1 ahead in line)');
  });

  it('is only given for a claim in line', () => {
    const declared = { group: 'g', limit: 1, onConflict: 'queue' as const };
    expect(slotView(declared, { state: 'holding', position: null, heldBy: [holder(1)] }, 'deploy')).toMatchObject({ state: 'holding', waitingBecause: null, position: null });
    expect(slotView(declared, undefined, 'deploy')).toMatchObject({ state: null, heldBy: [], waitingBecause: null });
    expect(slotView(declared, { state: 'waiting', position: 1, heldBy: [holder(1)] }, 'deploy').waitingBecause).toBe('waiting for concurrency group g (held by run #1)');
  });
});
