import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { formatProblems, parseAct, runAct, validateAct, type GraphProblem } from '../../agent/act';
import { actYaml, fakeHost, graphObject } from './act-test-host';

const problemsOf = (text: string): GraphProblem[] => validateAct(parseAct(text).graph);
const messages = (problems: GraphProblem[]): string => formatProblems(problems);

describe('parseAct', () => {
  it('reports YAML errors without throwing', () => {
    const { problems } = parseAct('entry: start\nnodes: [\n  - id: x');
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0].message).toMatch(/YAML error/);
  });

  it('reports a document that is not a mapping', () => {
    expect(parseAct('- just\n- a list').problems[0].message).toMatch(/not a YAML mapping/);
    expect(parseAct('').problems[0].message).toMatch(/not a YAML mapping/);
  });

  it('keeps parse problems on the graph so validateAct reports them too', () => {
    const { graph } = parseAct('entry: start\nnodes: 5\n');
    expect(validateAct(graph).map((p) => p.message)).toContain('nodes is not a list');
  });

  it('reports malformed nodes and edges', () => {
    const text = stringify({ entry: 'start', nodes: [{ type: 'core/start@v1' }, 'x', { id: 'a' }], executions: [{ src: { node: 'start' } }] });
    const text2 = formatProblems(parseAct(text).problems);
    expect(text2).toMatch(/nodes\[0\] has no id/);
    expect(text2).toMatch(/nodes\[1\] is not a mapping/);
    expect(text2).toMatch(/node a: has no type/);
    expect(text2).toMatch(/executions\[0\] needs src and dst/);
  });

  it('parses group graphs with their port definitions', () => {
    const { graph } = parseAct(stringify(graphObject([{ id: 'g', type: 'core/group@v1', graph: { entry: 'in', nodes: [], inputs: { b: { type: 'bool', index: 1 }, a: { type: '', index: 0, exec: true } } } }], [])));
    expect(graph.nodes[0].graph?.inputs).toEqual([
      { id: 'a', type: '', index: 0, exec: true },
      { id: 'b', type: 'bool', index: 1, exec: false },
    ]);
  });
});

describe('validateAct', () => {
  it('accepts a minimal valid graph', () => {
    expect(problemsOf(actYaml([{ id: 'a', type: 'core/run@v1', inputs: { script: 'true' } }], [['start.exec', 'a.exec']]))).toEqual([]);
  });

  it('reports a missing entry and an entry that is no node', () => {
    expect(messages(problemsOf('nodes: []'))).toMatch(/no entry/);
    expect(messages(problemsOf('entry: nowhere\nnodes: []'))).toMatch(/entry nowhere is not a node/);
  });

  it('reports an entry that cannot be executed', () => {
    const text = stringify(graphObject([{ id: 'c', type: 'core/const-string@v1' }], [], [], 'c'));
    expect(messages(problemsOf(text))).toMatch(/node c: the entry node is a core\/const-string@v1 node/);
  });

  it('names the node id and type of unknown node types', () => {
    const text = actYaml([{ id: 'teleport', type: 'core/teleport@v1' }], [['start.exec', 'teleport.exec']]);
    const problems = problemsOf(text);
    expect(problems).toContainEqual({ node: 'teleport', message: expect.stringContaining('core/teleport@v1') });
  });

  it('reports duplicate ids', () => {
    const text = actYaml([{ id: 'start', type: 'core/print@v1' }], []);
    expect(messages(problemsOf(text))).toMatch(/node start: duplicate node id/);
  });

  it('reports edges to missing nodes, ports the type lacks, and array items that are not declared', () => {
    const text = actYaml(
      [
        { id: 'a', type: 'core/run@v1', inputs: { script: 'true' } },
        { id: 'p', type: 'core/print@v1', inputs: { 'values[0]': null } },
      ],
      [
        ['start.exec', 'a.exec'],
        ['a.exec-success', 'ghost.exec'],
        ['a.exec-sucess', 'p.exec'],
        ['a.exec-err', 'p.execute'],
      ],
      [
        ['a.result', 'p.values[0]'],
        ['a.output', 'p.colour'],
        ['a.exec-success', 'p.values[0]'],
        ['a.output', 'p.values[5]'],
      ],
    );
    const text2 = messages(problemsOf(text));
    expect(text2).toMatch(/node a: execution a\.exec-success → ghost\.exec: there is no node ghost/);
    expect(text2).toMatch(/node a: .*no exec output port exec-sucess/);
    expect(text2).toMatch(/node p: .*no exec input port execute/);
    expect(text2).toMatch(/node a: .*no data output port result/);
    expect(text2).toMatch(/node p: .*no data input port colour/);
    expect(text2).toMatch(/exec-success of a core\/run@v1 node is an exec port, so it belongs under executions/);
    expect(text2).toMatch(/node p: connection a\.output → p\.values\[5\]: values\[5\] is not declared/);
  });

  it('reports connections whose types cannot convert, as the reference does', () => {
    const text = actYaml(
      [
        { id: 'list', type: 'core/string-array@v1', inputs: { 'inputs[0]': 'a' } },
        { id: 'n', type: 'core/math-add@v1', inputs: { 'inputs[0]': null, 'inputs[1]': 1 } },
        { id: 'ok', type: 'core/string-join-array@v1', inputs: { delimiter: ',' } },
      ],
      [],
      [
        ['list.array', 'n.inputs[0]'],
        ['list.array', 'ok.segments'],
      ],
    );
    const problems = problemsOf(text);
    expect(problems).toEqual([{ node: 'n', message: 'connection list.array → n.inputs[0]: a []string output cannot feed a number input' }]);
  });

  it('reports an exec output connected to more than one input', () => {
    const text = actYaml(
      [
        { id: 'a', type: 'core/print@v1' },
        { id: 'b', type: 'core/print@v1' },
      ],
      [
        ['start.exec', 'a.exec'],
        ['start.exec', 'b.exec'],
      ],
    );
    expect(messages(problemsOf(text))).toMatch(/node start: exec output exec is connected to 2 inputs/);
  });

  it('accepts several exec outputs leading into one input', () => {
    const text = actYaml(
      [
        { id: 'b', type: 'core/branch@v1', inputs: { condition: true } },
        { id: 'p', type: 'core/print@v1' },
      ],
      [
        ['start.exec', 'b.exec'],
        ['b.exec-then', 'p.exec'],
        ['b.exec-otherwise', 'p.exec'],
      ],
    );
    expect(problemsOf(text)).toEqual([]);
  });

  it('reports a data cycle', () => {
    const text = actYaml(
      [
        { id: 'f1', type: 'core/string-fmt@v1', inputs: { fmt: '%s' } },
        { id: 'f2', type: 'core/string-fmt@v1', inputs: { fmt: '%s' } },
      ],
      [],
      [
        ['f1.result', 'f2.substitutes[0]'],
        ['f2.result', 'f1.substitutes[0]'],
      ],
    );
    expect(messages(problemsOf(text))).toMatch(/data connections form a cycle: f\d → f\d → f\d/);
  });

  it('reports a required input without any value, and accepts connected or literal ones', () => {
    const missing = actYaml([{ id: 'r', type: 'core/run-exec@v1' }], [['start.exec', 'r.exec']]);
    expect(messages(problemsOf(missing))).toMatch(/node r: required input path of a core\/run-exec@v1 node has no value/);
    const connected = actYaml(
      [
        { id: 'r', type: 'core/run-exec@v1' },
        { id: 's', type: 'core/const-string@v1', inputs: { value: 'true' } },
      ],
      [['start.exec', 'r.exec']],
      [['s.result', 'r.path']],
    );
    expect(problemsOf(connected)).toEqual([]);
    expect(problemsOf(actYaml([{ id: 'r', type: 'core/run-exec@v1', inputs: { path: 'true' } }], [['start.exec', 'r.exec']]))).toEqual([]);
  });

  it('leaves option values to the node, as the reference does: an unknown shell fails when it runs', async () => {
    const text = actYaml([{ id: 'r', type: 'core/run@v1', inputs: { script: 'x', shell: 'zsh' } }], [['start.exec', 'r.exec']]);
    expect(problemsOf(text)).toEqual([]);
    const result = await runAct(parseAct(text).graph, fakeHost());
    expect(result.error).toMatch(/shell "zsh" is not one of bash, python, pwsh, cmd/);
  });

  it('reports expressions that do not parse; unknown contexts, inputs and secrets are empty, not errors', () => {
    const text = actYaml([{ id: 'r', type: 'core/run@v1', inputs: { script: 'echo ${{ vars.X }} ${{ inputs.who }} ${{ secrets.TOKEN }} ${{ env.HOME }}' } }], [['start.exec', 'r.exec']]);
    expect(problemsOf(text)).toEqual([]);
    const broken = actYaml([{ id: 'r', type: 'core/run@v1', inputs: { script: 'echo ${{ inputs.who == }} ${{ 1 + 1 }}' } }], [['start.exec', 'r.exec']]);
    const text2 = messages(problemsOf(broken));
    expect(text2).toMatch(/node r: input script: \$\{\{ inputs\.who == \}\}: unexpected the end of the expression/);
    expect(text2).toMatch(/node r: input script: \$\{\{ 1 \+ 1 \}\}: unexpected character "\+"/);
  });

  it('accepts a secret node naming a secret that is not set (it reads as empty)', () => {
    const text = actYaml([{ id: 's', type: 'core/secret@v1', inputs: { name: 'NOPE' } }], []);
    expect(problemsOf(text)).toEqual([]);
  });

  it('checks a group node’s outer connections against the port types its graph declares; untyped ports take anything', () => {
    const graph = {
      entry: 'gin',
      type: 'group',
      nodes: [
        { id: 'gin', type: 'core/group-inputs@v1' },
        { id: 'gout', type: 'core/group-outputs@v1' },
      ],
      connections: [
        { src: { node: 'gin', port: 'count' }, dst: { node: 'gout', port: 'flag' } },
        { src: { node: 'gin', port: 'loose' }, dst: { node: 'gout', port: 'free' } },
      ],
      inputs: { count: { type: 'number', index: 0 }, loose: { type: '', index: 1 } },
      outputs: { flag: { type: 'bool', index: 0 }, free: { type: '', index: 1 } },
    };
    const text = actYaml(
      [
        { id: 'list', type: 'core/string-array@v1', inputs: { 'inputs[0]': 'a' } },
        { id: 'g', type: 'core/group@v1', graph },
        { id: 'n', type: 'core/math-add@v1', inputs: { 'inputs[0]': null, 'inputs[1]': null } },
        { id: 'ok', type: 'core/math-add@v1', inputs: { 'inputs[0]': null, 'inputs[1]': 1 } },
      ],
      [],
      [
        ['list.array', 'g.count'],
        ['list.array', 'g.loose'],
        ['g.flag', 'n.inputs[0]'],
        ['list.array', 'n.inputs[1]'],
        ['g.free', 'ok.inputs[0]'],
      ],
    );
    expect(problemsOf(text)).toEqual([
      { node: 'g', message: 'connection list.array → g.count: a []string output cannot feed a number input' },
      { node: 'n', message: 'connection list.array → n.inputs[1]: a []string output cannot feed a number input' },
    ]);
  });

  it('validates nested group graphs recursively, naming nodes group-id/child-id', () => {
    const text = actYaml(
      [
        {
          id: 'gate',
          type: 'core/group@v1',
          graph: {
            entry: 'gin',
            nodes: [
              { id: 'gin', type: 'core/group-inputs@v1' },
              { id: 'warp', type: 'core/warp@v1' },
              { id: 'r', type: 'core/run-exec@v1' },
            ],
            executions: [{ src: { node: 'gin', port: 'exec-in' }, dst: { node: 'r', port: 'exec' } }],
            inputs: { 'exec-in': { type: '', index: 0, exec: true } },
          },
        },
      ],
      [['start.exec', 'gate.exec-in']],
    );
    const problems = problemsOf(text);
    expect(problems).toContainEqual({ node: 'gate/warp', message: expect.stringContaining('core/warp@v1') });
    expect(problems).toContainEqual({ node: 'gate/r', message: expect.stringContaining('required input path') });
  });

  it('requires a group graph to start at a group-inputs node', () => {
    const text = actYaml([{ id: 'g', type: 'core/group@v1', graph: { entry: 'p', nodes: [{ id: 'p', type: 'core/print@v1' }] } }], []);
    expect(messages(problemsOf(text))).toMatch(/node g\/p: the entry of a group graph must be a core\/group-inputs@v1 node/);
  });

  it('reports every problem at once, and runAct then runs nothing', async () => {
    const text = actYaml(
      [
        { id: 'teleport', type: 'core/teleport@v1' },
        { id: 'r', type: 'core/run-exec@v1' },
        { id: 'p', type: 'core/print@v1' },
      ],
      [
        ['start.exec', 'r.exec'],
        ['r.exec-success', 'ghost.exec'],
      ],
    );
    const problems = problemsOf(text);
    expect(problems.length).toBeGreaterThanOrEqual(3);
    const host = fakeHost();
    const result = await runAct(parseAct(text).graph, host);
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBe(2);
    for (const problem of problems) expect(result.error).toContain(problem.message);
    expect(host.states).toEqual([]);
    expect(host.chunks.every((chunk) => chunk.stream === 'system')).toBe(true);
  });

  it('formatProblems gives one multi-line message naming nodes', () => {
    const text = formatProblems([{ node: 'gate/pick', message: 'something is off' }, { message: 'the graph has no entry' }]);
    expect(text).toBe('The graph cannot run; it has 2 problems:\n  - node gate/pick: something is off\n  - the graph has no entry');
  });
});
