import { describe, expect, it } from 'vitest';
import { expandJobs, inferKind, matrixCombinations, resolveInputs, validateDefinition, withGraphInputs, type PipelineDefinition } from '../../src/pipelines/pipeline-spec';

const base: PipelineDefinition = { kind: 'script', content: 'echo hi', path: null, labels: [], matrix: {}, env: {}, inputs: {}, timeoutMinutes: 60, priority: 0, concurrency: null, jobs: null };

describe('inferKind', () => {
  it('recognises an act graph by entry and nodes', () => {
    expect(inferKind('entry: start\nnodes:\n  - id: start\n    type: core/start@v1\n')).toBe('act');
  });
  it('treats anything else as a script', () => {
    expect(inferKind('#!/bin/bash\necho hi')).toBe('script');
    expect(inferKind('key: value')).toBe('script');
    expect(inferKind('echo "unbalanced: [')).toBe('script');
  });
  it('keeps a graph with broken YAML a graph, so validation names the mistake', () => {
    const broken = 'entry: start\nnodes:\n  - id: start\n    type: [core/start@v1\n';
    expect(inferKind(broken)).toBe('act');
    expect(validateDefinition({ ...base, kind: inferKind(broken), content: broken }).join()).toContain('content: YAML error');
  });
});

describe('withGraphInputs', () => {
  const graph = 'entry: a\nnodes:\n  - id: a\n    type: core/run@v1\n    inputs:\n      script: echo "${{ inputs.name }} ${{inputs.greeting}} ${{ env.HOME }}"\n';
  it('adds the inputs a graph reads as required ones, keeping what is declared', () => {
    expect(withGraphInputs({ ...base, kind: 'act', content: graph, inputs: { greeting: { default: 'hi' } } })).toEqual({
      greeting: { default: 'hi' },
      name: { required: true, description: 'read by the graph as ${{ inputs.name }}', fromGraph: true },
    });
  });
  it('reads the graphs of jobs too, and never a script', () => {
    expect(withGraphInputs({ ...base, content: 'echo ${{ inputs.nope }}' })).toEqual({});
    expect(Object.keys(withGraphInputs({ ...base, jobs: [{ name: 'g', content: graph }] }))).toEqual(['name', 'greeting']);
  });
  it('leaves a group’s ${{ inputs.X }} alone: inside a group it is the group’s input, not the run’s', () => {
    const grouped = [
      'entry: a',
      'nodes:',
      '  - id: a',
      '    type: core/start@v1',
      '  - id: g',
      '    type: core/group@v1',
      '    graph:',
      '      entry: in',
      '      nodes:',
      '        - {id: in, type: core/group-inputs@v1}',
      '        - {id: r, type: core/run@v1, inputs: {script: "echo ${{ inputs.inner }}"}}',
    ].join('\n');
    expect(withGraphInputs({ ...base, kind: 'act', content: grouped })).toEqual({});
  });
  it('requires found inputs without closing the list of accepted ones', () => {
    const inputs = withGraphInputs({ ...base, kind: 'act', content: graph });
    expect(resolveInputs(inputs, { name: 'Ada', extra: 'x' }).problems).toEqual(['input "greeting" is required']);
  });
});

describe('matrixCombinations', () => {
  it('is the cartesian product in key then value order', () => {
    expect(matrixCombinations({ os: ['linux', 'mac'], node: [20, 22] })).toEqual([
      { os: 'linux', node: '20' },
      { os: 'linux', node: '22' },
      { os: 'mac', node: '20' },
      { os: 'mac', node: '22' },
    ]);
  });
  it('is one empty combination without a matrix', () => {
    expect(matrixCombinations({})).toEqual([{}]);
  });
});

describe('expandJobs', () => {
  it('makes one job named after the pipeline by default', () => {
    const [job] = expandJobs({ ...base, labels: ['os=linux'], env: { A: '1' } }, 'build');
    expect(job).toMatchObject({ key: 'build', name: 'build', kind: 'script', labels: ['os=linux'], needs: [], env: { A: '1' }, matrix: {} });
  });

  it('expands a matrix and points needs at every combination', () => {
    const jobs = expandJobs({
      ...base,
      jobs: [
        { name: 'test', matrix: { node: ['20', '22'] }, labels: ['gpu=true'] },
        { name: 'deploy', needs: ['test'], content: 'echo deploy', env: { B: '2' } },
      ],
    });
    expect(jobs.map((j) => j.key)).toEqual(['test[node=20]', 'test[node=22]', 'deploy']);
    expect(jobs[0]).toMatchObject({ name: 'test (20)', matrix: { node: '20' }, labels: ['gpu=true'] });
    expect(jobs[2]).toMatchObject({ needs: ['test[node=20]', 'test[node=22]'], content: 'echo deploy', env: { B: '2' } });
  });
});

describe('validateDefinition', () => {
  it('accepts a plain script', () => {
    expect(validateDefinition(base)).toEqual([]);
  });

  it('names every problem at once', () => {
    const problems = validateDefinition({
      ...base,
      labels: ['has space'],
      env: { '1BAD': 'x' },
      matrix: { os: [] },
      jobs: [
        { name: 'a', needs: ['b'] },
        { name: 'b', needs: ['a'] },
        { name: 'c', needs: ['missing'] },
      ],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('"has space" is not a label'),
        expect.stringContaining('"1BAD" is not a valid environment variable name'),
        expect.stringContaining('matrix.os: must be a non-empty list'),
        expect.stringContaining('no job named "missing"'),
        expect.stringContaining('cycle: a -> b -> a'),
      ]),
    );
  });

  it('rejects an act graph without entry or nodes', () => {
    expect(validateDefinition({ ...base, kind: 'act', content: 'nodes: 3' })).toEqual([
      'content: nodes is not a list',
      'content: the graph has no entry (the id of the node where execution begins)',
    ]);
  });

  it('caps the matrix size', () => {
    const values = Array.from({ length: 20 }, (_, i) => i);
    expect(validateDefinition({ ...base, matrix: { a: values, b: values } }).join()).toContain('400 combinations');
  });
});

describe('resolveInputs', () => {
  it('fills defaults and reports missing and undeclared inputs', () => {
    const result = resolveInputs({ name: { required: true }, greeting: { default: 'hello' } }, { extra: 'x' });
    expect(result.inputs).toEqual({ greeting: 'hello' });
    expect(result.problems).toEqual([
      'input "extra" is not declared by the pipeline (declared: name, greeting)',
      'input "name" is required',
    ]);
  });

  it('accepts any input when the pipeline declares none', () => {
    expect(resolveInputs({}, { a: '1' })).toEqual({ inputs: { a: '1' }, problems: [] });
  });
});
