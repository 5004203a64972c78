// The core node types this agent implements, by their full type id (`core/run@v1`).

import type { NodeDef } from './act-node-def';
import { dataNodes } from './nodes/data.nodes';
import { fileNodes } from './nodes/file.nodes';
import { flowNodes } from './nodes/flow.nodes';
import { groupNodes } from './nodes/group.nodes';
import { processNodes } from './nodes/process.nodes';

const registry: ReadonlyMap<string, NodeDef> = new Map([...flowNodes, ...processNodes, ...dataNodes, ...fileNodes, ...groupNodes].map((def) => [def.type, def]));

export function nodeDef(type: string): NodeDef | undefined {
  return registry.get(type);
}

export function supportedNodeTypes(): string[] {
  return [...registry.keys()].sort();
}

/** Pure data nodes have no exec ports at all; they are evaluated on every read. */
export function isPure(def: NodeDef): boolean {
  return def.evaluate !== undefined && def.execute === undefined;
}
