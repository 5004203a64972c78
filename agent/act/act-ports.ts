// Port addressing (`values[2]` is item 2 of the array port `values`), and which nodes the exec
// connections make execution nodes.

import type { PortSpec } from './act-node-def';
import type { ActGraph } from './act-types';

type PortAddress = { base: string; index?: number };

const INDEXED = /^(.+)\[(\d{1,6})\]$/;

/** Editors create array items one by one; a larger index is a broken file, and would allocate huge arrays. */
const MAX_PORT_INDEX = 9999;

export function parsePort(port: string): PortAddress {
  const match = INDEXED.exec(port);
  if (!match || Number(match[2]) > MAX_PORT_INDEX) return { base: port };
  return { base: match[1], index: Number(match[2]) };
}

/** The spec a port id refers to, or undefined when the node type has no such port. */
export function findPort(specs: readonly PortSpec[], port: string): PortSpec | undefined {
  const exact = specs.find((spec) => spec.id === port);
  if (exact) return exact;
  const { base, index } = parsePort(port);
  if (index === undefined) return undefined;
  const spec = specs.find((candidate) => candidate.id === base);
  return spec?.array ? spec : undefined;
}

/** Sorted item indices of array port `base` found among `ports`. */
export function indicesOf(base: string, ports: Iterable<string>): number[] {
  const found = new Set<number>();
  for (const port of ports) {
    const address = parsePort(port);
    if (address.base === base && address.index !== undefined) found.add(address.index);
  }
  return [...found].sort((a, b) => a - b);
}

/**
 * The execution nodes of one graph level: those with any exec connection, in or out. Their outputs are
 * what they set when they ran; every other node is a data node, evaluated when read (the reference's rule,
 * shared by the runtime and by the validator's cycle check).
 */
export function executionNodes(graph: Pick<ActGraph, 'executions'>): Set<string> {
  const nodes = new Set<string>();
  for (const edge of graph.executions) nodes.add(edge.src.node).add(edge.dst.node);
  return nodes;
}
