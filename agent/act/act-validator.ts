// Everything that can be known wrong before a graph runs, reported all at once (nested groups included),
// so a user fixes a file in one round trip instead of one error per run.

import { findExpressions, isNamespace, lookup } from './act-expressions';
import type { GraphLevel, NodeDef, NodePorts, PortSpec } from './act-node-def';
import { nodeDef } from './act-node-registry';
import { isRecord } from './act-parser';
import { findPort, parsePort } from './act-ports';
import type { ActEdge, ActGraph, ActNode, GraphProblem, ValidationContext } from './act-types';
import { GROUP, GROUP_INPUTS } from './nodes/group.nodes';

type Entry = { node: ActNode; def?: NodeDef; ports?: NodePorts };

export function validateAct(graph: ActGraph, context: ValidationContext): GraphProblem[] {
  const problems: GraphProblem[] = [...(graph.parseProblems ?? [])];
  try {
    validateLevel(graph, '', { inputs: graph.inputs ?? [], outputs: graph.outputs ?? [], isGroup: false }, context, problems);
  } catch (error) {
    // A graph built by hand (not by parseAct) may be malformed in ways the types do not prevent.
    problems.push({ message: `the graph is malformed: ${error instanceof Error ? error.message : String(error)}` });
  }
  return problems;
}

function validateLevel(graph: ActGraph, prefix: string, level: GraphLevel, context: ValidationContext, problems: GraphProblem[]): void {
  const add = (node: string | undefined, message: string): void => {
    problems.push(node === undefined ? { message: prefix === '' ? message : `in group ${prefix.slice(0, -1)}: ${message}` } : { node: prefix + node, message });
  };

  const entries = new Map<string, Entry>();
  for (const node of graph.nodes) {
    const existing = entries.get(node.id);
    if (existing) {
      add(node.id, `duplicate node id (used by a ${existing.node.type} node and a ${node.type} node)`);
      continue;
    }
    const def = nodeDef(node.type);
    if (!def) {
      add(node.id, `unknown node type ${node.type}: this agent does not implement it`);
      entries.set(node.id, { node });
      continue;
    }
    entries.set(node.id, { node, def, ports: def.ports(node, level) });
    if (node.type === GROUP) {
      if (!node.graph) add(node.id, `${GROUP} node has no nested graph`);
      else validateLevel(node.graph, `${prefix}${node.id}/`, { inputs: node.graph.inputs, outputs: node.graph.outputs, isGroup: true }, context, problems);
    }
  }

  validateEntry(graph, level, entries, add);
  validateEdges(graph.connections, 'connection', entries, add);
  validateEdges(graph.executions, 'execution', entries, add);
  validateFanning(graph, add);
  for (const entry of entries.values()) validateInputs(entry, graph, context, add);
  validateCycles(graph, entries, add);
}

type Add = (node: string | undefined, message: string) => void;

function validateEntry(graph: ActGraph, level: GraphLevel, entries: Map<string, Entry>, add: Add): void {
  if (graph.entry === '') return add(undefined, 'the graph has no entry (the id of the node where execution begins)');
  const entry = entries.get(graph.entry);
  if (!entry) return add(undefined, `entry ${graph.entry} is not a node of the graph`);
  if (!entry.def) return;
  if (level.isGroup && entry.node.type !== GROUP_INPUTS) return add(graph.entry, `the entry of a group graph must be a ${GROUP_INPUTS} node, not ${entry.node.type}`);
  if (!entry.def.execute) add(graph.entry, `the entry node is a ${entry.node.type} node, which cannot be executed`);
}

function validateEdges(edges: ActEdge[], kind: 'connection' | 'execution', entries: Map<string, Entry>, add: Add): void {
  const wantExec = kind === 'execution';
  for (const edge of edges) {
    const label = `${kind} ${edge.src.node}.${edge.src.port} → ${edge.dst.node}.${edge.dst.port}`;
    const src = entries.get(edge.src.node);
    const dst = entries.get(edge.dst.node);
    if (!src) add(dst ? edge.dst.node : undefined, `${label}: there is no node ${edge.src.node}`);
    if (!dst) add(src ? edge.src.node : undefined, `${label}: there is no node ${edge.dst.node}`);
    if (src?.ports) checkPort(src, edge.src.port, 'output', src.ports.outputs);
    if (dst?.ports) checkPort(dst, edge.dst.port, 'input', dst.ports.inputs);

    function checkPort(entry: Entry, port: string, side: 'input' | 'output', specs: readonly PortSpec[]): void {
      const spec = findPort(specs, port);
      const kindName = wantExec ? 'exec' : 'data';
      if (!spec) return add(entry.node.id, `${label}: a ${entry.node.type} node has no ${kindName} ${side} port ${port}${known(specs, wantExec)}`);
      if (spec.exec !== wantExec) {
        add(entry.node.id, `${label}: ${port} of a ${entry.node.type} node is ${spec.exec ? 'an exec' : 'a data'} port, so it belongs under ${spec.exec ? 'executions' : 'connections'}`);
      }
    }
  }
}

function known(specs: readonly PortSpec[], exec: boolean): string {
  const ids = specs.filter((spec) => spec.exec === exec).map((spec) => (spec.array ? `${spec.id}[i]` : spec.id));
  return ids.length === 0 ? ` (it has none)` : ` (it has: ${ids.join(', ')})`;
}

function validateFanning(graph: ActGraph, add: Add): void {
  const execOut = countBy(graph.executions, (edge) => `${edge.src.node}\u0000${edge.src.port}`);
  for (const [key, count] of execOut) {
    const [node, port] = key.split('\u0000');
    if (count > 1) add(node, `exec output ${port} is connected to ${count} inputs; an exec output connects to at most one input`);
  }
  const dataIn = countBy(graph.connections, (edge) => `${edge.dst.node}\u0000${edge.dst.port}`);
  for (const [key, count] of dataIn) {
    const [node, port] = key.split('\u0000');
    if (count > 1) add(node, `data input ${port} has ${count} connections; an input takes at most one`);
  }
}

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

function validateInputs(entry: Entry, graph: ActGraph, context: ValidationContext, add: Add): void {
  const { node, ports } = entry;
  const connected = new Set(graph.connections.filter((edge) => edge.dst.node === node.id).map((edge) => edge.dst.port));
  if (ports) {
    for (const spec of ports.inputs) {
      if (spec.exec || !spec.required || spec.default !== undefined) continue;
      const hasItems = (ports: Iterable<string>): boolean => spec.array === true && [...ports].some((port) => parsePort(port).base === spec.id);
      const literal = node.inputs[spec.id];
      if (connected.has(spec.id) || hasItems(connected) || (literal !== undefined && literal !== null) || hasItems(Object.keys(node.inputs))) continue;
      add(node.id, `required input ${spec.id} of a ${node.type} node has no value (connect it or set it under inputs)`);
    }
  }
  for (const [key, value] of Object.entries(node.inputs)) {
    if (connected.has(key)) continue;
    const spec = ports ? findPort(ports.inputs, key) : undefined;
    if (spec?.options && typeof value === 'string' && !value.includes('${{') && !spec.options.includes(value)) {
      add(node.id, `input ${key} of a ${node.type} node is ${JSON.stringify(value)}, not one of ${spec.options.join(', ')}`);
    }
    for (const text of stringsIn(value)) validateExpressions(node, key, text, context, add);
  }
  if (node.type === 'core/secret@v1' && !connected.has('name') && typeof node.inputs.name === 'string' && !node.inputs.name.includes('${{')) {
    if (lookup(context.secrets, node.inputs.name) === undefined) add(node.id, `secret ${node.inputs.name} is not set`);
  }
}

function validateExpressions(node: ActNode, key: string, text: string, context: ValidationContext, add: Add): void {
  for (const ref of findExpressions(text)) {
    if (!isNamespace(ref.namespace)) {
      add(node.id, `input ${key} uses ${ref.raw}: unknown namespace ${JSON.stringify(ref.namespace)} (known: inputs, env, secrets)`);
    } else if (ref.name === '') {
      add(node.id, `input ${key} uses ${ref.raw}, which names no ${ref.namespace} entry`);
    } else if (ref.namespace === 'inputs' && lookup(context.inputs, ref.name) === undefined) {
      add(node.id, `input ${key} uses ${ref.raw}, but no input ${ref.name} was given`);
    } else if (ref.namespace === 'secrets' && lookup(context.secrets, ref.name) === undefined) {
      add(node.id, `input ${key} uses ${ref.raw}, but secret ${ref.name} is not set`);
    }
  }
}

function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (isRecord(value)) return Object.values(value).flatMap(stringsIn);
  return [];
}

/** Data edges are evaluated by pulling; a cycle among them would pull forever. */
function validateCycles(graph: ActGraph, entries: Map<string, Entry>, add: Add): void {
  const next = new Map<string, string[]>();
  for (const edge of graph.connections) {
    if (!entries.has(edge.src.node) || !entries.has(edge.dst.node)) continue;
    next.set(edge.src.node, [...(next.get(edge.src.node) ?? []), edge.dst.node]);
  }
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): void => {
    state.set(id, 'open');
    stack.push(id);
    for (const to of next.get(id) ?? []) {
      const seen = state.get(to);
      if (seen === 'open') {
        const cycle = [...stack.slice(stack.indexOf(to)), to];
        add(to, `data connections form a cycle: ${cycle.join(' → ')}`);
      } else if (seen === undefined) visit(to);
    }
    stack.pop();
    state.set(id, 'done');
  };
  for (const id of next.keys()) if (!state.has(id)) visit(id);
}
