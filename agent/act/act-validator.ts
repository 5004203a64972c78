// Everything that can be known wrong before a graph runs, reported all at once (nested groups included),
// so a user fixes a file in one round trip. The server runs the same function when a pipeline is pushed.
// The checks are the reference engine's load-time checks (node types, declared ports and array items,
// exec/data kinds, type compatibility, group definitions) plus a few of Bellows' own that catch graphs
// which would fail for certain (required inputs with no value, unparsable expressions, data cycles).

import { expressionProblems } from './act-expressions';
import type { GraphLevel, NodeDef, NodePorts, PortSpec } from './act-node-def';
import { nodeDef, refusal } from './act-node-registry';
import { executionNodes, findPort, parsePort } from './act-ports';
import { connectionType, portsCompatible } from './act-port-types';
import type { ActEdge, ActGraph, ActNode, GraphPortDef, GraphProblem } from './act-types';
import { GROUP, GROUP_INPUTS, GROUP_OUTPUTS } from './nodes/group.nodes';

type Entry = { node: ActNode; def?: NodeDef; ports?: NodePorts };
type Add = (node: string | undefined, message: string) => void;

export function validateAct(graph: ActGraph): GraphProblem[] {
  const problems: GraphProblem[] = [...(graph.parseProblems ?? [])];
  try {
    validateLevel(graph, '', { inputs: graph.inputs ?? [], outputs: graph.outputs ?? [], isGroup: false }, problems);
  } catch (error) {
    // A graph built by hand (not by parseAct) may be malformed in ways the types do not prevent.
    problems.push({ message: `the graph is malformed: ${error instanceof Error ? error.message : String(error)}` });
  }
  return problems;
}

function validateLevel(graph: ActGraph, prefix: string, level: GraphLevel, problems: GraphProblem[]): void {
  const add: Add = (node, message) => {
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
      const reason = refusal(node.type);
      add(node.id, reason ? `node type ${node.type} cannot run on a Bellows agent: ${reason}` : `unknown node type ${node.type}: this agent does not implement it`);
      entries.set(node.id, { node });
      continue;
    }
    entries.set(node.id, { node, def, ports: def.ports(node, level) });
    if (def.type === GROUP) validateGroup(node, prefix, problems, add);
  }

  validateEntry(graph, level, entries, add);
  const connected = connectedInputs(graph);
  for (const entry of entries.values()) {
    if (!entry.ports || entry.def?.inert) continue;
    validateDeclaredItems(entry, add);
    validateLiterals(entry, connected.get(entry.node.id) ?? new Set(), add);
    for (const problem of entry.def?.validate?.(entry.node) ?? []) add(entry.node.id, problem);
  }
  validateEdges(graph.executions, 'execution', entries, level, add);
  validateEdges(graph.connections, 'connection', entries, level, add);
  validateFanning(graph, add);
  validateCycles(graph, entries, add);
}

function validateGroup(node: ActNode, prefix: string, problems: GraphProblem[], add: Add): void {
  const inner = node.graph;
  if (!inner) return add(node.id, `${GROUP} node has no nested graph`);
  const inputIds = new Set(inner.inputs.map((port) => port.id));
  for (const port of inner.outputs) {
    if (inputIds.has(port.id)) add(node.id, `the group has an input and an output with the same id '${port.id}'`);
  }
  if (inner.outputs.length > 0 && !inner.nodes.some((child) => child.type === GROUP_OUTPUTS)) add(node.id, `the group defines outputs but its graph has no ${GROUP_OUTPUTS} node`);
  validateLevel(inner, `${prefix}${node.id}/`, { inputs: inner.inputs, outputs: inner.outputs, isGroup: true }, problems);
}

function validateEntry(graph: ActGraph, level: GraphLevel, entries: Map<string, Entry>, add: Add): void {
  if (graph.entry === '') return add(undefined, 'the graph has no entry (the id of the node where execution begins)');
  const entry = entries.get(graph.entry);
  if (!entry) return add(undefined, `entry ${graph.entry} is not a node of the graph`);
  if (!entry.def) return;
  if (level.isGroup) {
    if (entry.def.type !== GROUP_INPUTS) add(graph.entry, `the entry of a group graph must be a ${GROUP_INPUTS} node, not ${entry.node.type}`);
    return;
  }
  if (!entry.def.entry) add(graph.entry, `the entry node is a ${entry.node.type} node; a graph starts at a core/start@v1 node`);
}

/** `values[2]` under inputs/outputs must be an item of an array port; outputs lists only array items. */
function validateDeclaredItems(entry: Entry, add: Add): void {
  const { node, ports } = entry;
  if (!ports) return;
  for (const port of Object.keys(node.inputs)) {
    const { base, index } = parsePort(port);
    if (index === undefined) continue;
    const spec = ports.inputs.find((candidate) => candidate.id === base);
    if (!spec?.array) add(node.id, `inputs lists ${port}, but a ${node.type} node has no array input ${base}${known(ports.inputs, false, true)}`);
  }
  if (node.type === GROUP_INPUTS || node.type === GROUP_OUTPUTS) return;
  for (const port of Object.keys(node.outputs)) {
    const { base, index } = parsePort(port);
    const spec = ports.outputs.find((candidate) => candidate.id === base);
    if (index === undefined || !spec?.array) add(node.id, `outputs lists ${port}, but a ${node.type} node has no array output ${base}${known(ports.outputs, undefined, true)}`);
  }
}

/** The inputs with a data connection, by node: built once per level rather than filtered per node. */
function connectedInputs(graph: ActGraph): Map<string, Set<string>> {
  const connected = new Map<string, Set<string>>();
  for (const edge of graph.connections) {
    let ports = connected.get(edge.dst.node);
    if (!ports) connected.set(edge.dst.node, (ports = new Set()));
    ports.add(edge.dst.port);
  }
  return connected;
}

function validateLiterals(entry: Entry, connected: ReadonlySet<string>, add: Add): void {
  const { node, ports } = entry;
  if (!ports) return;
  for (const spec of ports.inputs) {
    if (spec.exec || !spec.required || spec.default !== undefined) continue;
    const literal = node.inputs[spec.id];
    if (connected.has(spec.id) || (literal !== undefined && literal !== null)) continue;
    add(node.id, `required input ${spec.id} of a ${node.type} node has no value (connect it or set it under inputs)`);
  }
  // Option values are not checked here: the reference leaves them to the node (hash takes `SHA1`, a print
  // with an unknown colour prints uncoloured), and a graph it runs must run here too.
  for (const [port, value] of Object.entries(node.inputs)) {
    if (connected.has(port) || typeof value !== 'string') continue;
    for (const problem of expressionProblems(value)) add(node.id, `input ${port}: ${problem}`);
  }
}

function validateEdges(edges: ActEdge[], kind: 'connection' | 'execution', entries: Map<string, Entry>, level: GraphLevel, add: Add): void {
  const wantExec = kind === 'execution';
  for (const edge of edges) {
    const label = `${kind} ${edge.src.node}.${edge.src.port} → ${edge.dst.node}.${edge.dst.port}`;
    const src = entries.get(edge.src.node);
    const dst = entries.get(edge.dst.node);
    if (!src) add(dst ? edge.dst.node : undefined, `${label}: there is no node ${edge.src.node}`);
    if (!dst) add(src ? edge.src.node : undefined, `${label}: there is no node ${edge.dst.node}`);
    const from = src?.ports ? endpoint(src, edge.src.port, 'output', level, wantExec) : undefined;
    const to = dst?.ports ? endpoint(dst, edge.dst.port, 'input', level, wantExec) : undefined;
    if (from && 'problem' in from) add(edge.src.node, `${label}: ${from.problem}`);
    if (to && 'problem' in to) add(edge.dst.node, `${label}: ${to.problem}`);
    const checked = [from, to].filter((side): side is Resolved => side !== undefined && !('problem' in side));
    for (const side of checked) {
      if (side.spec.exec !== wantExec) {
        add(side.entry.node.id, `${label}: ${side.port} of a ${side.entry.node.type} node is ${side.spec.exec ? 'an exec' : 'a data'} port, so it belongs under ${side.spec.exec ? 'executions' : 'connections'}`);
      }
    }
    if (wantExec || checked.length !== 2 || checked.some((side) => side.spec.exec)) continue;
    // A group node's ports carry the types its graph declares, so its outer connections are checked like
    // any other (an untyped port is `unknown`: see portFromDef); inside, group-inputs and group-outputs carry the same types.
    const [out, into] = checked;
    const sourceType = connectionType(out.spec.type, out.spec.array === true, parsePort(edge.src.port).index !== undefined);
    const targetType = connectionType(into.spec.type, into.spec.array === true, parsePort(edge.dst.port).index !== undefined);
    if (!portsCompatible(sourceType, targetType)) {
      add(edge.dst.node, `${label}: a ${sourceType} output cannot feed a ${targetType} input`);
    }
  }
}

type Resolved = { entry: Entry; port: string; spec: PortSpec };

function endpoint(entry: Entry, port: string, side: 'input' | 'output', level: GraphLevel, wantExec: boolean): Resolved | { problem: string } {
  const ports = entry.ports as NodePorts;
  const specs = side === 'input' ? ports.inputs : ports.outputs;
  const plumbing = (side === 'output' && entry.node.type === GROUP_INPUTS) || (side === 'input' && entry.node.type === GROUP_OUTPUTS);
  const spec = findPort(specs, port);
  if (!spec) {
    const kind = wantExec ? 'exec' : 'data';
    const where = plumbing
      ? `the group defines no ${side === 'output' ? 'input' : 'output'} ${port}${knownDefs(side === 'output' ? level.inputs : level.outputs)}`
      : `a ${entry.node.type} node has no ${kind} ${side} port ${port}${known(specs, wantExec)}`;
    return { problem: where };
  }
  const { index } = parsePort(port);
  if (index !== undefined && spec.id !== port && !plumbing) {
    const declared = side === 'input' ? entry.node.inputs : entry.node.outputs;
    if (!Object.prototype.hasOwnProperty.call(declared, port)) {
      return { problem: `${port} is not declared: list it under the node's ${side}s (${port}: ${side === 'input' ? 'null' : "''"}), as the editor does` };
    }
  }
  return { entry, port, spec };
}

function known(specs: readonly PortSpec[], exec?: boolean, arraysOnly = false): string {
  const ids = specs.filter((spec) => (exec === undefined || spec.exec === exec) && (!arraysOnly || spec.array)).map((spec) => (spec.array ? `${spec.id}[i]` : spec.id));
  return ids.length === 0 ? ' (it has none)' : ` (it has: ${ids.join(', ')})`;
}

function knownDefs(defs: readonly GraphPortDef[]): string {
  return defs.length === 0 ? ' (it defines none)' : ` (it defines: ${defs.map((def) => def.id).join(', ')})`;
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

/**
 * Data nodes are evaluated by pulling; a cycle among them would pull forever. A cycle through an
 * executed node is fine: its outputs are stored values, read without evaluating anything.
 */
function validateCycles(graph: ActGraph, entries: Map<string, Entry>, add: Add): void {
  const executed = executionNodes(graph);
  const pulled = (id: string): boolean => {
    const entry = entries.get(id);
    return entry?.def !== undefined && !executed.has(id) && ![GROUP, GROUP_INPUTS, GROUP_OUTPUTS].includes(entry.def.type);
  };
  const next = new Map<string, string[]>();
  for (const edge of graph.connections) {
    if (!pulled(edge.src.node) || !pulled(edge.dst.node)) continue;
    next.set(edge.src.node, [...(next.get(edge.src.node) ?? []), edge.dst.node]);
  }
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): void => {
    state.set(id, 'open');
    stack.push(id);
    for (const to of next.get(id) ?? []) {
      const seen = state.get(to);
      if (seen === 'open') add(to, `data connections form a cycle: ${[...stack.slice(stack.indexOf(to)), to].join(' → ')}`);
      else if (seen === undefined) visit(to);
    }
    stack.pop();
    state.set(id, 'done');
  };
  for (const id of next.keys()) if (!state.has(id)) visit(id);
}

