import { describe, expect, it } from 'vitest';
import { expandJobs, type PipelineDefinition } from '../../src/pipelines/pipeline-spec';
import { baseJobName, blockedByCarried, jobsToRerun, resolveJobKeys, withDependents } from '../../src/runs/rerun-selection';

// a → b → c, and d on its own.
const chain = [
  { key: 'a', needs: [] },
  { key: 'b', needs: ['a'] },
  { key: 'c', needs: ['b'] },
  { key: 'd', needs: [] },
];
const allSucceeded = new Map(chain.map((job) => [job.key, 'succeeded']));

const base: PipelineDefinition = { kind: 'script', content: 'echo hi', path: null, labels: [], matrix: {}, env: {}, inputs: {}, timeoutMinutes: 60, priority: 0, concurrency: null, jobs: null };
const matrixJobs = expandJobs({
  ...base,
  jobs: [
    { name: 'build' },
    { name: 'test', needs: ['build'], matrix: { os: ['linux', 'mac'] } },
    { name: 'deploy', needs: ['test'] },
  ],
});

describe('withDependents', () => {
  it('adds everything that needs a seed, through any number of hops', () => {
    expect([...withDependents(chain, ['a'])].sort()).toEqual(['a', 'b', 'c']);
    expect([...withDependents(chain, ['b'])].sort()).toEqual(['b', 'c']);
    expect([...withDependents(chain, ['c', 'd'])].sort()).toEqual(['c', 'd']);
  });
  it('follows a job with several needs when any of them re-runs', () => {
    const diamond = [
      { key: 'x', needs: [] },
      { key: 'y', needs: [] },
      { key: 'z', needs: ['x', 'y'] },
    ];
    expect([...withDependents(diamond, ['y'])].sort()).toEqual(['y', 'z']);
  });
});

describe('jobsToRerun', () => {
  it('chosen jobs: those and what needs them; an independent job carries over', () => {
    expect([...jobsToRerun(chain, allSucceeded, { kind: 'jobs', keys: ['b'] })].sort()).toEqual(['b', 'c']);
  });
  it('chosen jobs ignore the previous statuses: a failed job not chosen carries over', () => {
    const previous = new Map([...allSucceeded, ['d', 'failed']]);
    expect([...jobsToRerun(chain, previous, { kind: 'jobs', keys: ['c'] })]).toEqual(['c']);
  });
  it('failed only: what did not succeed, and what needs it', () => {
    const previous = new Map([...allSucceeded, ['b', 'failed'], ['c', 'skipped']]);
    expect([...jobsToRerun(chain, previous, { kind: 'failedOnly' })].sort()).toEqual(['b', 'c']);
  });
  it('runs a job the previous attempt lacks (it has nothing to carry), with its dependents', () => {
    const previous = new Map([['a', 'succeeded'], ['c', 'succeeded'], ['d', 'succeeded']]);
    expect([...jobsToRerun(chain, previous, { kind: 'jobs', keys: ['d'] })].sort()).toEqual(['b', 'c', 'd']);
  });
  it('all: every job', () => {
    expect(jobsToRerun(chain, allSucceeded, { kind: 'all' }).size).toBe(4);
  });
});

describe('resolveJobKeys', () => {
  it('takes an exact key, or a job name for all of its matrix expansions, in the jobs’ order and once each', () => {
    expect(matrixJobs.map((job) => job.key)).toEqual(['build', 'test[os=linux]', 'test[os=mac]', 'deploy']);
    expect(resolveJobKeys(matrixJobs, ['test'])).toEqual({ keys: ['test[os=linux]', 'test[os=mac]'], unknown: [] });
    expect(resolveJobKeys(matrixJobs, ['deploy', 'test[os=mac]', 'test'])).toEqual({ keys: ['test[os=linux]', 'test[os=mac]', 'deploy'], unknown: [] });
  });
  it('names what matches no job', () => {
    expect(resolveJobKeys(matrixJobs, ['build', 'lint', 'test[os=win]', 'lint'])).toEqual({ keys: ['build'], unknown: ['lint', 'test[os=win]'] });
  });
  it('a matrix expansion re-runs only its own dependents', () => {
    const { keys } = resolveJobKeys(matrixJobs, ['test[os=mac]']);
    expect([...jobsToRerun(matrixJobs, new Map(matrixJobs.map((job) => [job.key, 'succeeded'])), { kind: 'jobs', keys })].sort()).toEqual(['deploy', 'test[os=mac]']);
  });
  it('baseJobName strips the matrix part', () => {
    expect(baseJobName('test[os=linux,node=20]')).toBe('test');
    expect(baseJobName('build')).toBe('build');
  });
});

describe('blockedByCarried', () => {
  it('names a re-run job that needs a carried job which did not succeed', () => {
    const previous = new Map([...allSucceeded, ['a', 'failed'], ['b', 'skipped'], ['c', 'skipped']]);
    const rerun = jobsToRerun(chain, previous, { kind: 'jobs', keys: ['b'] });
    expect(blockedByCarried(chain, previous, rerun)).toEqual([{ key: 'b', need: 'a' }]);
  });
  it('is empty when the needed job re-runs too, or succeeded', () => {
    const previous = new Map([...allSucceeded, ['a', 'failed']]);
    expect(blockedByCarried(chain, previous, jobsToRerun(chain, previous, { kind: 'jobs', keys: ['a'] }))).toEqual([]);
    expect(blockedByCarried(chain, allSucceeded, jobsToRerun(chain, allSucceeded, { kind: 'jobs', keys: ['b'] }))).toEqual([]);
  });
});
