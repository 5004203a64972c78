// One graph level being executed (the top graph, or one group node's nested graph): depth-first control
// flow along executions, pull-based data flow along connections, and error routing to exec-err.

import { setImmediate as nextTurn } from 'node:timers/promises';
import { CancelledError, GraphFailure, ProcessExitSignal, throwIfAborted } from './act-errors';
import { substitute } from './act-expressions';
import { NodeFailure, type GraphLevel, type NodeContext, type NodeDef, type NodePorts, type PortSpec } from './act-node-def';
import { isPure, nodeDef } from './act-node-registry';
import { findPort, indicesOf, parsePort } from './act-ports';
import type { RunState } from './act-run-state';
import type { ActGraph, ActNode, PortRef } from './act-types';
import { coerce, toBool, toNumber, toText, zeroValue } from './act-values';
import { GROUP, GROUP_INPUTS, GROUP_OUTPUTS } from './nodes/group.nodes';

/** Data reads nest through data nodes; validation rejects cycles, this only bounds a hand-built graph. */
const MAX_READ_DEPTH = 500;

const key = (node: string, port: string): string => `${node}\u0000${port}`;

type Parent = { scope: GraphScope; node: ActNode };

export class GraphScope {
  private readonly nodes = new Map<string, ActNode>();
  private readonly defs = new Map<string, NodeDef>();
  private readonly ports = new Map<string, NodePorts>();
  private readonly dataIn = new Map<string, PortRef>();
  private readonly connectedInputs = new Map<string, string[]>();
  private readonly execOut = new Map<string, PortRef>();
  private readonly execOutputs = new Map<string, string[]>();
  private readonly values = new Map<string, Map<string, unknown>>();
  private readonly states = new Map<string, Map<string, unknown>>();
  private readonly children = new Map<string, GraphScope>();

  constructor(
    private readonly run: RunState,
    readonly graph: ActGraph,
    readonly prefix: string,
    level: GraphLevel,
    private readonly parent?: Parent,
  ) {
    for (const node of graph.nodes) {
      const def = nodeDef(node.type);
      if (!def || this.nodes.has(node.id)) continue;
      this.nodes.set(node.id, node);
      this.defs.set(node.id, def);
      this.ports.set(node.id, def.ports(node, level));
    }
    for (const edge of graph.connections) {
      this.dataIn.set(key(edge.dst.node, edge.dst.port), edge.src);
      this.connectedInputs.set(edge.dst.node, [...(this.connectedInputs.get(edge.dst.node) ?? []), edge.dst.port]);
    }
    for (const edge of graph.executions) {
      this.execOut.set(key(edge.src.node, edge.src.port), edge.dst);
      this.execOutputs.set(edge.src.node, [...(this.execOutputs.get(edge.src.node) ?? []), edge.src.port]);
    }
  }

  /** The exec input a node is entered through when it is the graph's entry. */
  entryPort(): string {
    return this.ports.get(this.graph.entry)?.inputs.some((spec) => spec.id === 'exec') ? 'exec' : '';
  }

  /** Follows the exec edge leaving `node.port`, if any, and waits for that whole path. */
  async fire(nodeId: string, port: string, signal: AbortSignal): Promise<void> {
    const target = this.execOut.get(key(nodeId, port));
    if (target) await this.execute(target.node, target.port, signal);
  }

  async execute(nodeId: string, inputPort: string, signal: AbortSignal): Promise<void> {
    // An exec cycle of nodes that never wait (print → print → …) would run on microtasks alone and
    // starve timers, I/O and the abort signal; let the event loop turn every so often.
    if (this.run.step() % 256 === 0) await nextTurn();
    throwIfAborted(signal);
    const node = this.nodes.get(nodeId);
    const def = this.defs.get(nodeId);
    const path = this.prefix + nodeId;
    if (!node || !def?.execute) throw new GraphFailure(path, `node ${path} cannot be executed`, 1);
    const quiet = def.signalInputs?.includes(inputPort) ?? false;
    if (!quiet) {
      this.run.activate(path, 1);
      this.run.setState(path, 'running');
    }
    let fired: string[];
    try {
      const result = await def.execute(this.context(node, signal, 0), inputPort);
      fired = result === undefined ? [] : typeof result === 'string' ? [result] : [...result];
    } catch (error) {
      this.run.flush(path);
      if (!quiet) this.run.activate(path, -1);
      if (error instanceof CancelledError || error instanceof GraphFailure || error instanceof ProcessExitSignal) {
        // Raised further down the path (or a stop): not this node's own failure, never routed to exec-err.
        if (!quiet) this.run.setState(path, error instanceof ProcessExitSignal && error.code === 0 ? 'succeeded' : 'failed');
        throw error;
      }
      if (!quiet) this.run.setState(path, 'failed');
      await this.fail(node, path, error, signal);
      return;
    }
    this.run.flush(path);
    if (!quiet) {
      this.run.activate(path, -1);
      this.run.setState(path, 'succeeded');
    }
    for (const port of fired) {
      if (def.firesToParent) await this.fireParent(port, signal);
      else await this.fire(nodeId, port, signal);
    }
  }

  /** A node's own error: continue on exec-err when connected, otherwise the graph fails. */
  private async fail(node: ActNode, path: string, error: unknown, signal: AbortSignal): Promise<void> {
    const failure = error instanceof NodeFailure ? error : new NodeFailure(error instanceof Error ? error.message : String(error));
    const message = `node ${path} (${node.type}) failed: ${failure.message}`;
    const canRecover = this.ports.get(node.id)?.outputs.some((spec) => spec.id === 'exec-err') ?? false;
    if (canRecover && this.execOut.has(key(node.id, 'exec-err'))) {
      this.run.print(path, 'system', `${message}; continuing on exec-err`);
      await this.fire(node.id, 'exec-err', signal);
      return;
    }
    this.run.print(path, 'system', message);
    throw new GraphFailure(path, message, failure.exitCode !== undefined && failure.exitCode > 0 ? failure.exitCode : 1);
  }

  /** group-outputs: continue in the enclosing graph from the group node's exec output of the same name. */
  private async fireParent(port: string, signal: AbortSignal): Promise<void> {
    if (!this.parent) return;
    const groupPath = this.parent.scope.prefix + this.parent.node.id;
    // The group is not what executes while the path continues outside it.
    this.run.activate(groupPath, -1);
    try {
      await this.parent.scope.fire(this.parent.node.id, port, signal);
    } finally {
      this.run.activate(groupPath, 1);
    }
  }

  private async enterGroup(node: ActNode, port: string, signal: AbortSignal): Promise<void> {
    const child = this.childScope(node);
    if (!child) throw new NodeFailure('the group has no nested graph');
    await child.execute(child.graph.entry, port, signal);
  }

  private childScope(node: ActNode): GraphScope | undefined {
    if (!node.graph) return undefined;
    let child = this.children.get(node.id);
    if (!child) {
      const level: GraphLevel = { inputs: node.graph.inputs, outputs: node.graph.outputs, isGroup: true };
      child = new GraphScope(this.run, node.graph, `${this.prefix}${node.id}/`, level, { scope: this, node });
      this.children.set(node.id, child);
    }
    return child;
  }

  // ---- data flow -------------------------------------------------------------------------------

  private inputSpec(nodeId: string, port: string): PortSpec | undefined {
    const ports = this.ports.get(nodeId);
    return ports ? findPort(ports.inputs, port) : undefined;
  }

  /** A literal from `inputs:` with expressions substituted, or undefined when absent. */
  private literal(node: ActNode, port: string): unknown {
    const value = node.inputs[port];
    if (value === undefined || value === null) return undefined;
    const host = this.run.host;
    const scope = { inputs: host.inputs, env: host.env, secrets: host.secrets };
    const expand = (item: unknown): unknown => (typeof item === 'string' ? substitute(item, scope) : Array.isArray(item) ? item.map(expand) : item);
    return expand(value);
  }

  private hasValue(node: ActNode, port: string): boolean {
    if (this.dataIn.has(key(node.id, port)) || this.literal(node, port) !== undefined) return true;
    const ports = [...(this.connectedInputs.get(node.id) ?? []), ...Object.keys(node.inputs)];
    return indicesOf(port, ports).length > 0;
  }

  async readInput(node: ActNode, port: string, signal: AbortSignal, depth: number): Promise<unknown> {
    const spec = this.inputSpec(node.id, port);
    const { base, index } = parsePort(port);
    if (spec?.array && index === undefined) return this.readArray(node, port, signal, depth);
    const type = spec?.type ?? 'any';
    const what = `input ${port}`;
    const source = this.dataIn.get(key(node.id, port));
    if (source) return coerce(await this.sourceValue(source, port, signal, depth), type, what);
    const literal = this.literal(node, port);
    if (literal !== undefined) return coerce(literal, type, what);
    if (index !== undefined) {
      const whole = this.literal(node, base);
      if (Array.isArray(whole) && index < whole.length && whole[index] !== undefined && whole[index] !== null) return coerce(whole[index], type, what);
      return zeroValue(type);
    }
    if (spec?.default !== undefined) return coerce(spec.default, type, what);
    if (spec?.required) throw new NodeFailure(`required input ${port} has no value`);
    return zeroValue(type);
  }

  private async readArray(node: ActNode, base: string, signal: AbortSignal, depth: number): Promise<unknown[]> {
    const spec = this.inputSpec(node.id, base);
    const type = spec?.type ?? 'any';
    const whole = this.dataIn.get(key(node.id, base));
    if (whole) {
      const value = await this.sourceValue(whole, base, signal, depth);
      const items = Array.isArray(value) ? value : value === undefined || value === null || value === '' ? [] : [value];
      return items.map((item, i) => coerce(item, type, `input ${base}[${i}]`));
    }
    const indices = indicesOf(base, [...(this.connectedInputs.get(node.id) ?? []), ...Object.keys(node.inputs)]);
    if (indices.length > 0) {
      const items: unknown[] = [];
      for (let i = 0; i <= indices[indices.length - 1]; i++) items.push(await this.readInput(node, `${base}[${i}]`, signal, depth));
      return items;
    }
    const literal = this.literal(node, base);
    if (literal === undefined) {
      if (spec?.required) throw new NodeFailure(`required input ${base} has no value`);
      return [];
    }
    const items = Array.isArray(literal) ? literal : [literal];
    return items.map((item, i) => coerce(item, type, `input ${base}[${i}]`));
  }

  /** The value behind a data connection, read now (pull-based). */
  private async sourceValue(source: PortRef, intoPort: string, signal: AbortSignal, depth: number): Promise<unknown> {
    if (depth > MAX_READ_DEPTH) throw new NodeFailure(`input ${intoPort}: data connections nest deeper than ${MAX_READ_DEPTH} (a cycle?)`);
    try {
      return await this.outputValue(source, signal, depth + 1);
    } catch (error) {
      if (!(error instanceof NodeFailure)) throw error;
      throw new NodeFailure(`input ${intoPort}: ${error.message}`);
    }
  }

  private async outputValue(source: PortRef, signal: AbortSignal, depth: number): Promise<unknown> {
    const node = this.nodes.get(source.node);
    const def = this.defs.get(source.node);
    if (!node || !def) return undefined;
    const path = this.prefix + node.id;
    if (node.type === GROUP_INPUTS) {
      // The group's inputs are read in the enclosing graph, at the time they are needed.
      return this.parent ? this.parent.scope.readInput(this.parent.node, source.port, signal, depth) : undefined;
    }
    if (node.type === GROUP) {
      const child = this.childScope(node);
      const outputs = child?.graph.nodes.find((candidate) => candidate.type === GROUP_OUTPUTS);
      return child && outputs ? child.readInput(outputs, source.port, signal, depth) : undefined;
    }
    if (isPure(def) && def.evaluate) {
      try {
        return pick(await def.evaluate(this.context(node, signal, depth)), source.port);
      } catch (error) {
        if (error instanceof CancelledError) throw error;
        const message = error instanceof Error ? error.message : String(error);
        throw new NodeFailure(`node ${path} (${node.type}): ${message}`);
      }
    }
    const stored = pick(Object.fromEntries(this.values.get(node.id) ?? []), source.port);
    if (stored !== undefined) return stored;
    // An exec node that has not run yet: its outputs hold their type's zero value.
    const spec = findPort(this.ports.get(node.id)?.outputs ?? [], source.port);
    return spec ? zeroValue(spec.type, spec.array && parsePort(source.port).index === undefined) : undefined;
  }

  private context(node: ActNode, signal: AbortSignal, depth: number): NodeContext {
    const path = this.prefix + node.id;
    const read = (port: string): Promise<unknown> => this.readInput(node, port, signal, depth);
    const stateOf = (): Map<string, unknown> => {
      let state = this.states.get(node.id);
      if (!state) this.states.set(node.id, (state = new Map()));
      return state;
    };
    return {
      path,
      node,
      host: this.run.host,
      signal,
      read,
      readString: async (port) => toText(await read(port)),
      readNumber: async (port) => toNumber(await read(port), `input ${port}`),
      readBool: async (port) => toBool(await read(port), `input ${port}`),
      readArray: (port) => this.readArray(node, port, signal, depth),
      hasValue: (port) => this.hasValue(node, port),
      set: (port, value) => {
        let values = this.values.get(node.id);
        if (!values) this.values.set(node.id, (values = new Map()));
        values.set(port, value);
      },
      fire: (port, options) => this.fire(node.id, port, options?.signal ?? signal),
      isConnected: (port) => this.execOut.has(key(node.id, port)),
      arrayOutputs: (base) => indicesOf(base, [...Object.keys(node.outputs), ...(this.execOutputs.get(node.id) ?? [])]).map((i) => `${base}[${i}]`),
      get state() {
        return stateOf();
      },
      print: (stream, text) => this.run.print(path, stream, text),
      enterGroup: (port) => this.enterGroup(node, port, signal),
    };
  }
}

/** `result` from a node's outputs, or item i of an array output addressed as `name[i]`. */
function pick(outputs: Record<string, unknown>, port: string): unknown {
  if (Object.prototype.hasOwnProperty.call(outputs, port)) return outputs[port];
  const { base, index } = parsePort(port);
  const whole = outputs[base];
  return index !== undefined && Array.isArray(whole) ? whole[index] : undefined;
}
