import { describe, expect, it } from 'vitest';
import { approvalVerdict } from '../../src/jobs/jobs.service';
import { expandJobs, validateDefinition, type PipelineDefinition } from '../../src/pipelines/pipeline-spec';

describe('approvalVerdict', () => {
  const gate = { kind: 'approval', status: 'awaiting_approval', approvers: ['release-manager', 'cto'] };
  it('lets a listed approver decide a waiting gate', () => {
    expect(approvalVerdict(gate, 'cto')).toEqual({ kind: 'may_decide' });
    expect(approvalVerdict({ ...gate, approvers: [] }, 'anyone')).toEqual({ kind: 'may_decide' });
  });
  it('refuses anyone else, naming the approvers, before saying whether it still waits', () => {
    expect(approvalVerdict(gate, 'intern')).toEqual({ kind: 'not_allowed', approvers: ['release-manager', 'cto'] });
    expect(approvalVerdict({ ...gate, status: 'succeeded' }, 'intern')).toMatchObject({ kind: 'not_allowed' });
  });
  it('refuses a decided gate and a job that is no gate', () => {
    expect(approvalVerdict({ ...gate, status: 'failed' }, 'cto')).toEqual({ kind: 'not_awaiting' });
    expect(approvalVerdict({ kind: 'script', status: 'running', approvers: [] }, 'cto')).toEqual({ kind: 'not_approval' });
  });
});

describe('approval jobs in a pipeline', () => {
  const base: PipelineDefinition = { kind: 'script', content: 'make', path: null, labels: ['os=linux'], matrix: { node: ['20', '22'] }, env: {}, inputs: {}, timeoutMinutes: 60, priority: 0, concurrency: null, jobs: null };
  it('expand to one gate, whatever the matrix, with no labels, content or timeout unless given', () => {
    const specs = expandJobs({ ...base, jobs: [{ name: 'build' }, { name: 'gate', kind: 'approval', needs: ['build'], approvers: ['cto'] }, { name: 'deploy', needs: ['gate'] }] });
    expect(specs.map((spec) => spec.key)).toEqual(['build[node=20]', 'build[node=22]', 'gate', 'deploy[node=20]', 'deploy[node=22]']);
    expect(specs.find((spec) => spec.key === 'gate')).toMatchObject({ kind: 'approval', labels: [], content: '', needs: ['build[node=20]', 'build[node=22]'], timeoutMinutes: 0, approvers: ['cto'] });
  });
  it('name everything a gate cannot take, and approvers on a job that is no gate', () => {
    expect(
      validateDefinition({ ...base, matrix: {}, jobs: [{ name: 'gate', kind: 'approval', labels: ['x'], timeoutMinutes: 50_000 }, { name: 'build', approvers: ['cto'] }] }),
    ).toEqual([
      'jobs[0].labels: an approval job runs nothing, so it takes no labels',
      'jobs[0].timeoutMinutes: an integer from 1 to 43200 (30 days)',
      'jobs[1].approvers: only approval jobs (kind: approval) have approvers',
    ]);
  });
});
