import { describe, expect, it } from 'vitest';
import { validateDefinition, type PipelineDefinition } from '../../src/pipelines/pipeline-spec';
import { retryDecision } from '../../workflows/retry-policy';

describe('retryDecision', () => {
  it('retries any failure when the policy names neither exit codes nor reasons', () => {
    const policy = { maxTries: 3, backoffSeconds: 5 };
    expect(retryDecision(policy, { reason: 'exit_code', exitCode: 1 }, 1)).toEqual({ kind: 'retry', backoffMs: 5000, nextTry: 2 });
    expect(retryDecision(policy, { reason: 'exit_code', exitCode: null }, 2)).toEqual({ kind: 'retry', backoffMs: 5000, nextTry: 3 });
    expect(retryDecision(policy, { reason: 'timeout' }, 1)).toMatchObject({ kind: 'retry' });
    expect(retryDecision(policy, { reason: 'agent_lost' }, 1)).toMatchObject({ kind: 'retry' });
  });

  it('retries only the named exit codes, and no server-side reason, when exitCodes alone is given', () => {
    const policy = { exitCodes: [75, 143], maxTries: 2 };
    expect(retryDecision(policy, { reason: 'exit_code', exitCode: 143 }, 1)).toEqual({ kind: 'retry', backoffMs: 0, nextTry: 2 });
    expect(retryDecision(policy, { reason: 'exit_code', exitCode: 1 }, 1)).toEqual({ kind: 'give_up', why: 'not_matched' });
    expect(retryDecision(policy, { reason: 'exit_code', exitCode: null }, 1)).toEqual({ kind: 'give_up', why: 'not_matched' });
    expect(retryDecision(policy, { reason: 'timeout' }, 1)).toEqual({ kind: 'give_up', why: 'not_matched' });
  });

  it('retries only the named reasons, and no exit code, when reasons alone is given', () => {
    const policy = { reasons: ['agent_lost' as const], maxTries: 4 };
    expect(retryDecision(policy, { reason: 'agent_lost' }, 3)).toMatchObject({ kind: 'retry', nextTry: 4 });
    expect(retryDecision(policy, { reason: 'timeout' }, 1)).toEqual({ kind: 'give_up', why: 'not_matched' });
    expect(retryDecision(policy, { reason: 'exit_code', exitCode: 1 }, 1)).toEqual({ kind: 'give_up', why: 'not_matched' });
  });

  it('stops once maxTries tries (the first included) have been spent, and without a policy', () => {
    expect(retryDecision({ maxTries: 2 }, { reason: 'exit_code', exitCode: 1 }, 2)).toEqual({ kind: 'give_up', why: 'tries_exhausted' });
    expect(retryDecision(null, { reason: 'exit_code', exitCode: 1 }, 1)).toEqual({ kind: 'give_up', why: 'no_policy' });
  });
});

describe('retry in a pipeline definition', () => {
  const base: PipelineDefinition = { kind: 'script', content: 'true', path: null, labels: [], matrix: {}, env: {}, inputs: {}, timeoutMinutes: 60, priority: 0, concurrency: null, jobs: null };
  const withRetry = (retry: unknown) => validateDefinition({ ...base, jobs: [{ name: 'build', retry } as never] });

  it('accepts a full policy', () => {
    expect(withRetry({ exitCodes: [75], reasons: ['agent_lost', 'timeout'], maxTries: 3, backoffSeconds: 30 })).toEqual([]);
  });

  it('names every problem of a bad policy', () => {
    expect(withRetry({ exitCodes: [0, 'x'], reasons: ['flaky'], maxTries: 1, backoffSeconds: -1, when: 'always' })).toEqual([
      'jobs[0].retry.when: unknown field (known: exitCodes, reasons, maxTries, backoffSeconds)',
      'jobs[0].retry.maxTries: required; an integer from 2 to 10 (tries in all, the first included)',
      'jobs[0].retry.exitCodes: a non-empty list of exit codes from 1 to 255',
      'jobs[0].retry.reasons: a non-empty list of agent_lost, timeout',
      'jobs[0].retry.backoffSeconds: an integer from 0 to 3600',
    ]);
    expect(withRetry(3)).toEqual(['jobs[0].retry: must be an object like {maxTries: 3}']);
  });
});
