// Nested graphs. A group node's ports are the graph-level `inputs:`/`outputs:` of its nested graph;
// inside, group-inputs exposes the group's inputs as outputs and group-outputs takes the group's outputs.

import { data, exec, type NodeDef, type PortSpec } from '../act-node-def';
import type { GraphPortDef } from '../act-types';

export const GROUP = 'core/group@v1';
export const GROUP_INPUTS = 'core/group-inputs@v1';
export const GROUP_OUTPUTS = 'core/group-outputs@v1';

/**
 * A graph-level port as a node port. An untyped one (`type: ''`) is `unknown`, which feeds and takes any
 * type (as for-each's key and value do): `any` would take anything but feed nothing, and the group's outer
 * connections are type-checked like every other node's.
 */
export function portFromDef(def: GraphPortDef): PortSpec {
  return def.exec ? exec(def.id) : data(def.id, def.type === '' ? 'unknown' : def.type);
}

const group: NodeDef = {
  type: GROUP,
  ports: (node) => ({ inputs: (node.graph?.inputs ?? []).map(portFromDef), outputs: (node.graph?.outputs ?? []).map(portFromDef) }),
  async execute(ctx, input) {
    await ctx.enterGroup(input);
  },
};

const groupInputs: NodeDef = {
  type: GROUP_INPUTS,
  ports: (_node, level) => ({ inputs: [], outputs: level.inputs.map(portFromDef) }),
  // Entered by the group node through the exec input of the same name; continues on that output.
  async execute(_ctx, input) {
    return input;
  },
};

const groupOutputs: NodeDef = {
  type: GROUP_OUTPUTS,
  ports: (_node, level) => ({ inputs: level.outputs.map(portFromDef), outputs: [] }),
  // The runtime continues outside the group (GraphScope.execute): an error that reached the group's
  // exec-err travels on with the path, and fails the graph where the group's output is not connected.
  async execute() {},
};

export const groupNodes: readonly NodeDef[] = [group, groupInputs, groupOutputs];
