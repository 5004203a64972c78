// YAML text → ActGraph. Tolerant by design: every malformed piece becomes a problem and is left out, so
// one pass can report everything that is wrong instead of stopping at the first error.

import { parseDocument } from 'yaml';
import type { ActEdge, ActGraph, ActNode, GraphPortDef, GraphProblem, PortRef } from './act-types';

type Raw = Record<string, unknown>;

export function parseAct(text: string): { graph: ActGraph; problems: GraphProblem[] } {
  const problems: GraphProblem[] = [];
  let root: unknown;
  try {
    const doc = parseDocument(typeof text === 'string' ? text : '', { prettyErrors: false, uniqueKeys: false });
    for (const error of doc.errors) problems.push({ message: `YAML error: ${firstLine(error.message)}` });
    root = problems.length === 0 ? doc.toJS({ maxAliasCount: 1000 }) : undefined;
  } catch (error) {
    problems.push({ message: `YAML error: ${firstLine(messageOf(error))}` });
  }
  if (problems.length === 0 && !isRecord(root)) problems.push({ message: 'the file is not a YAML mapping with entry, nodes, connections and executions' });
  const graph = parseGraph(isRecord(root) ? root : {}, '', problems, problems.length === 0);
  graph.parseProblems = problems;
  return { graph, problems: [...problems] };
}

function parseGraph(raw: Raw, prefix: string, problems: GraphProblem[], report: boolean): ActGraph {
  const note = (message: string, node?: string): void => {
    if (report) problems.push(node === undefined ? { message: `${where(prefix)}${message}` } : { node, message });
  };
  const graph: ActGraph = {
    entry: typeof raw.entry === 'string' ? raw.entry : raw.entry === undefined || raw.entry === null ? '' : String(raw.entry),
    type: typeof raw.type === 'string' ? raw.type : 'generic',
    description: typeof raw.description === 'string' ? raw.description : '',
    nodes: [],
    connections: [],
    executions: [],
    inputs: parsePortDefs(raw.inputs, 'inputs', note),
    outputs: parsePortDefs(raw.outputs, 'outputs', note),
    parseProblems: [],
  };

  const nodes = listOf(raw.nodes, 'nodes', note);
  nodes.forEach((item, i) => {
    if (!isRecord(item)) return note(`nodes[${i}] is not a mapping`);
    const id = scalarText(item.id);
    if (id === '') return note(`nodes[${i}] has no id`);
    const type = scalarText(item.type);
    if (type === '') return note('has no type', prefix + id);
    const node: ActNode = {
      id,
      type,
      inputs: isRecord(item.inputs) ? { ...item.inputs } : {},
      outputs: isRecord(item.outputs) ? { ...item.outputs } : {},
    };
    if (item.inputs !== undefined && item.inputs !== null && !isRecord(item.inputs)) note('inputs is not a mapping', prefix + id);
    const position = item.position;
    if (isRecord(position) && typeof position.x === 'number' && typeof position.y === 'number') node.position = { x: position.x, y: position.y };
    if (item.graph !== undefined) {
      if (isRecord(item.graph)) node.graph = parseGraph(item.graph, `${prefix}${id}/`, problems, report);
      else note('graph is not a mapping', prefix + id);
    }
    graph.nodes.push(node);
  });

  graph.connections = parseEdges(raw.connections, 'connections', note);
  graph.executions = parseEdges(raw.executions, 'executions', note);
  return graph;
}

function parseEdges(value: unknown, field: string, note: (message: string) => void): ActEdge[] {
  const edges: ActEdge[] = [];
  listOf(value, field, note).forEach((item, i) => {
    const src = isRecord(item) ? portRef(item.src) : undefined;
    const dst = isRecord(item) ? portRef(item.dst) : undefined;
    if (!src || !dst) return note(`${field}[${i}] needs src and dst, each with node and port`);
    edges.push({ src, dst });
  });
  return edges;
}

function parsePortDefs(value: unknown, field: string, note: (message: string) => void): GraphPortDef[] {
  if (value === undefined || value === null) return [];
  if (!isRecord(value)) {
    note(`graph ${field} is not a mapping`);
    return [];
  }
  const defs: GraphPortDef[] = [];
  for (const [id, def] of Object.entries(value)) {
    const spec = isRecord(def) ? def : {};
    defs.push({
      id,
      type: typeof spec.type === 'string' ? spec.type : '',
      index: typeof spec.index === 'number' ? spec.index : defs.length,
      exec: spec.exec === true,
      ...(typeof spec.name === 'string' ? { name: spec.name } : {}),
    });
  }
  return defs.sort((a, b) => a.index - b.index);
}

function portRef(value: unknown): PortRef | undefined {
  if (!isRecord(value)) return undefined;
  const node = scalarText(value.node);
  const port = scalarText(value.port);
  return node === '' || port === '' ? undefined : { node, port };
}

function listOf(value: unknown, field: string, note: (message: string) => void): unknown[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value;
  note(`${field} is not a list`);
  return [];
}

/** Ids written as YAML numbers (`id: 12`) are still ids. */
function scalarText(value: unknown): string {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return '';
}

export function isRecord(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function where(prefix: string): string {
  return prefix === '' ? '' : `in group ${prefix.slice(0, -1)}: `;
}

function firstLine(message: string): string {
  return message.split('\n')[0];
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
