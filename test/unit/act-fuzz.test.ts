import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { formatProblems, parseAct, runAct, validateAct, type ActResult } from '../../agent/act';
import { fakeHost, type FakeHost } from './act-test-host';

const GRAPHS = '/work/shared/graphs';
const examples = readdirSync(GRAPHS)
  .filter((name) => name.endsWith('.act'))
  .map((name) => readFileSync(join(GRAPHS, name), 'utf8'));

type Doc = Record<string, unknown> & { nodes?: unknown; connections?: unknown; executions?: unknown };
const TYPES = ['core/start@v1', 'core/run@v1', 'core/print@v1', 'core/branch@v1', 'core/sequence@v1', 'core/concurrent-exec@v1', 'core/for-loop@v1', 'core/wait-for@v1', 'core/sleep@v1', 'core/group@v1', 'core/const-bool@v1', 'core/string-fmt@v1', 'core/process-exit@v1', 'core/teleport@v1', ''];
const PORTS = ['exec', 'exec-success', 'exec-err', 'exec[0]', 'exec[1]', 'exec-then', 'values[0]', 'result', 'condition', 'index', 'nope', 'exec-completed', 'exec-body', 'exec-break'];

type Mutation =
  | { kind: 'delete-node'; at: number }
  | { kind: 'duplicate-node'; at: number }
  | { kind: 'rename-node'; at: number; id: string }
  | { kind: 'retarget-edge'; at: number; end: 'src' | 'dst'; node: number; port: string; list: 'connections' | 'executions' }
  | { kind: 'change-type'; at: number; type: string }
  | { kind: 'drop-field'; at: number; field: string }
  | { kind: 'scalar'; at: number; field: string; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete-node' as const), at: fc.nat(20) }),
  fc.record({ kind: fc.constant('duplicate-node' as const), at: fc.nat(20) }),
  fc.record({ kind: fc.constant('rename-node' as const), at: fc.nat(20), id: fc.oneof(fc.string(), fc.constantFrom('start', 'gate', 'build')) }),
  fc.record({ kind: fc.constant('retarget-edge' as const), at: fc.nat(20), end: fc.constantFrom('src' as const, 'dst' as const), node: fc.nat(20), port: fc.oneof(fc.constantFrom(...PORTS), fc.string()), list: fc.constantFrom('connections' as const, 'executions' as const) }),
  fc.record({ kind: fc.constant('change-type' as const), at: fc.nat(20), type: fc.oneof(fc.constantFrom(...TYPES), fc.string()) }),
  fc.record({ kind: fc.constant('drop-field' as const), at: fc.nat(20), field: fc.constantFrom('id', 'type', 'inputs', 'graph', 'entry', 'nodes', 'connections', 'executions', 'outputs', 'src', 'dst') }),
  fc.record({ kind: fc.constant('scalar' as const), at: fc.nat(20), field: fc.constantFrom('id', 'type', 'inputs', 'entry', 'nodes', 'graph', 'condition', 'value', 'last_index', 'values[0]'), value: fc.oneof(fc.jsonValue(), fc.constantFrom(null, '', '${{ nope.x }}', '${{ inputs.name }}', -1, 1e12)) }),
);

function pick<T>(items: T[], at: number): T | undefined {
  return items.length === 0 ? undefined : items[at % items.length];
}

function listOf(doc: Doc, field: string): Array<Record<string, unknown>> {
  const value = doc[field];
  return Array.isArray(value) ? (value.filter((item) => typeof item === 'object' && item !== null) as Array<Record<string, unknown>>) : [];
}

function mutate(doc: Doc, m: Mutation): void {
  const nodes = Array.isArray(doc.nodes) ? (doc.nodes as unknown[]) : [];
  const node = pick(listOf(doc, 'nodes'), m.at);
  switch (m.kind) {
    case 'delete-node':
      if (nodes.length > 0) nodes.splice(m.at % nodes.length, 1);
      return;
    case 'duplicate-node':
      if (node) nodes.push(structuredClone(node));
      return;
    case 'rename-node':
      if (node) node.id = m.id;
      return;
    case 'retarget-edge': {
      const edge = pick(listOf(doc, m.list), m.at);
      const target = pick(listOf(doc, 'nodes'), m.node);
      if (edge) edge[m.end] = { node: target?.id ?? 'ghost', port: m.port };
      return;
    }
    case 'change-type':
      if (node) node.type = m.type;
      return;
    case 'drop-field': {
      const edge = pick([...listOf(doc, 'connections'), ...listOf(doc, 'executions')], m.at);
      for (const target of [doc, node, edge]) if (target) delete target[m.field];
      return;
    }
    case 'scalar': {
      const target = m.at % 3 === 0 ? doc : m.at % 3 === 1 ? node : (node?.inputs as Record<string, unknown> | undefined);
      if (target && typeof target === 'object') target[m.field] = m.value;
      return;
    }
  }
}

/** Keeps fuzzed graphs from running anything but `true` or touching files outside the temp work dir. */
function defang(doc: Doc): void {
  const visit = (graph: Doc): void => {
    for (const node of listOf(graph, 'nodes')) {
      const inputs = typeof node.inputs === 'object' && node.inputs !== null && !Array.isArray(node.inputs) ? (node.inputs as Record<string, unknown>) : (node.inputs = {});
      for (const key of Object.keys(inputs)) if (/^(script|path|args|env|stdin|shell)/.test(key)) delete inputs[key];
      inputs.script = 'true';
      inputs.path = 'fuzz.txt';
      if (typeof node.graph === 'object' && node.graph !== null) visit(node.graph as Doc);
    }
    const connections = graph.connections;
    if (Array.isArray(connections)) {
      graph.connections = connections.filter((edge: unknown) => {
        const port = (edge as { dst?: { port?: unknown } })?.dst?.port;
        return !(typeof port === 'string' && /^(script|path|args|env|stdin|shell)/.test(port));
      });
    }
  };
  visit(doc);
}

const mutatedExample = (maxMutations: number, minMutations = 1): fc.Arbitrary<Doc> =>
  fc.tuple(fc.nat(examples.length - 1), fc.array(mutation, { minLength: minMutations, maxLength: maxMutations })).map(([index, mutations]) => {
    const doc = parse(examples[index]) as Doc;
    for (const m of mutations) mutate(doc, m);
    return doc;
  });

describe('fuzzing the parser, validator and runtime', () => {
  it('parseAct never throws on arbitrary text, or on text near a valid graph', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.tuple(fc.nat(examples.length - 1), fc.nat(2000), fc.string()).map(([i, at, insert]) => examples[i].slice(0, at) + insert + examples[i].slice(at))), (text) => {
        const { graph, problems } = parseAct(text);
        expect(Array.isArray(problems)).toBe(true);
        expect(Array.isArray(validateAct(graph))).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('mutated example graphs never make parseAct or validateAct throw; problems are formatted', () => {
    fc.assert(
      fc.property(mutatedExample(6), (doc) => {
        const { graph } = parseAct(stringify(doc));
        const problems = validateAct(graph);
        expect(typeof formatProblems(problems)).toBe('string');
        for (const problem of problems) expect(problem.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });

  it('mutated example graphs run to a result (aborted after 2 s at most) and never throw', async () => {
    const statuses = new Set<string>();
    // Few mutations, so that a good share of the graphs still validate and really run.
    await fc.assert(
      fc.asyncProperty(mutatedExample(2, 0), async (doc) => {
        defang(doc);
        const host = fakeHost({ inputs: { name: 'x' }, secrets: { DEPLOY_TOKEN: 'tok' }, output: () => undefined, cancelGraceMs: 200 });
        const timer = setTimeout(() => host.controller.abort(), 2000);
        let result: ActResult;
        try {
          result = await runAct(parseAct(stringify(doc)).graph, host);
        } finally {
          clearTimeout(timer);
        }
        expect(['succeeded', 'failed', 'cancelled']).toContain(result.status);
        statuses.add(result.status);
        expect(Number.isInteger(result.exitCode)).toBe(true);
        if (result.status !== 'succeeded') expect(result.error).toBeTruthy();
        expect(host.activeHistory.at(-1)).toEqual([]);
      }),
      { numRuns: 80 },
    );
    expect(statuses).toContain('succeeded');
    expect(statuses).toContain('failed');
  }, 180_000);

  it('a tight exec cycle and an unbounded loop can still be cancelled', async () => {
    const doc = {
      entry: 'start',
      nodes: [
        { id: 'start', type: 'core/start@v1' },
        { id: 'a', type: 'core/print@v1' },
        { id: 'b', type: 'core/print@v1' },
        { id: 'loop', type: 'core/for-loop@v1', inputs: { last_index: 1e12 } },
        { id: 'seq', type: 'core/sequence@v1', outputs: { 'exec[0]': '', 'exec[1]': '' } },
      ],
      executions: [
        { src: { node: 'start', port: 'exec' }, dst: { node: 'seq', port: 'exec' } },
        { src: { node: 'seq', port: 'exec[0]' }, dst: { node: 'loop', port: 'exec' } },
        { src: { node: 'seq', port: 'exec[1]' }, dst: { node: 'a', port: 'exec' } },
        { src: { node: 'a', port: 'exec' }, dst: { node: 'b', port: 'exec' } },
        { src: { node: 'b', port: 'exec' }, dst: { node: 'a', port: 'exec' } },
      ],
    };
    for (const variant of [doc, { ...doc, executions: doc.executions.filter((edge) => edge.src.node !== 'seq' || edge.src.port !== 'exec[0]') }]) {
      // Cancelled from the event loop once the loop is running or the cycle has gone round many times: the
      // run must let the loop turn (else the abort never happens and the test times out) and then end.
      let executions = 0;
      const host: FakeHost = fakeHost({
        output: () => undefined,
        onNodeState: (node, state) => {
          if (state === 'running' && (node === 'loop' || ++executions === 5000)) setImmediate(() => host.controller.abort());
        },
      });
      const result = await runAct(parseAct(stringify(variant)).graph, host);
      expect(result.status).toBe('cancelled');
    }
  });
});
