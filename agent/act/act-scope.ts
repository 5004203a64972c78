// One graph level being executed (the top graph, or one group node's nested graph): depth-first control
// flow along executions, pull-based data flow along connections, and errors carried along exec-err.
//
// The rules are the reference engine's:
// - A node with any exec connection is an *execution* node: its outputs are what it set when it last ran
//   in this execution state (or an ancestor state); reading one before it ran is an error.
// - Any other node is a *data* node: evaluated when read, and cached only until the path fires its next
//   exec output, so every executing node sees fresh values but one node's reads agree with each other.
// - An input resolves to its connection, else its literal, else the port default, else (required) an
//   error, else its type's zero value; string values then have their `${{ }}` expressions evaluated and
//   option values are trimmed.
// - A node's failure continues on its exec-err output when that is connected; an error that reaches an
//   exec output with nothing connected (a group's exec-err, say) fails the graph.

import { setImmediate as nextTurn } from 'node:timers/promises';
import { CancelledError, GraphFailure, ProcessExitSignal, RoutedFailure, throwIfAborted } from './act-errors';
import type { ExecState } from './act-exec-state';
import { evaluateText, type ExpressionContext } from './act-expressions';
import { NodeError, NodeFailure, describeError, type GraphLevel, type NodeContext, type NodeDef, type NodePorts, type PortSpec } from './act-node-def';
import { nodeDef } from './act-node-registry';
import { executionNodes, findPort, indicesOf, parsePort } from './act-ports';
import type { RunState } from './act-run-state';
import type { ActGraph, ActNode, PortRef } from './act-types';
import { DataStream, SecretValue, rereadWarning, toBool, toFloat, toInt, toList, toStream, toText, typeName, zeroValue } from './act-values';
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
  private readonly execOut = new Map<string, PortRef>();
  private readonly execOutputs = new Map<string, string[]>();
  private readonly execNodes: ReadonlySet<string>;
  private readonly memories = new Map<string, Map<string, unknown>>();
  private readonly children = new Map<string, GraphScope>();
  private readonly groupOutputs: ActNode | undefined;

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
    for (const edge of graph.connections) this.dataIn.set(key(edge.dst.node, edge.dst.port), edge.src);
    for (const edge of graph.executions) {
      this.execOut.set(key(edge.src.node, edge.src.port), edge.dst);
      this.execOutputs.set(edge.src.node, [...(this.execOutputs.get(edge.src.node) ?? []), edge.src.port]);
    }
    this.execNodes = executionNodes(graph);
    this.groupOutputs = graph.nodes.find((node) => node.type === GROUP_OUTPUTS);
  }

  /** The exec input a node is entered through when it is the graph's entry. */
  entryPort(): string {
    return this.ports.get(this.graph.entry)?.inputs.some((spec) => spec.id === 'exec') ? 'exec' : '';
  }

  /**
   * Follows the exec edge leaving `node.port`, if any, and waits for that whole path. `error` is the
   * failure an exec-err path carries (through group-outputs to the group's own exec-err and beyond).
   */
  async fire(nodeId: string, port: string, state: ExecState, error?: RoutedFailure): Promise<void> {
    state.newStep();
    const target = this.execOut.get(key(nodeId, port));
    if (!target) {
      if (error !== undefined) throw this.unhandled(nodeId, port, error);
      return;
    }
    if (state.signal.aborted) return;
    await this.execute(target.node, target.port, state, error);
  }

  async execute(nodeId: string, inputPort: string, state: ExecState, error?: RoutedFailure): Promise<void> {
    // An exec cycle of nodes that never wait (print → print → …) would run on microtasks alone and
    // starve timers, I/O and the abort signal; let the event loop turn every so often.
    if (this.run.step() % 256 === 0) await nextTurn();
    throwIfAborted(state.signal);
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
      const result = await def.execute(this.context(node, state, 0), inputPort);
      fired = result === undefined ? [] : typeof result === 'string' ? [result] : [...result];
    } catch (thrown) {
      this.run.flush(path);
      if (!quiet) this.run.activate(path, -1);
      if (thrown instanceof CancelledError || thrown instanceof GraphFailure || thrown instanceof ProcessExitSignal) {
        // Raised further down the path (or a stop): not this node's own failure, never routed to exec-err.
        if (!quiet) this.run.setState(path, thrown instanceof ProcessExitSignal && thrown.code === 0 ? 'succeeded' : 'failed');
        throw thrown;
      }
      if (state.signal.aborted) {
        if (!quiet) this.run.setState(path, 'failed');
        throw new CancelledError();
      }
      if (!quiet) this.run.setState(path, 'failed');
      await this.fail(node, path, thrown, state);
      return;
    }
    this.run.flush(path);
    if (!quiet) {
      this.run.activate(path, -1);
      this.run.setState(path, 'succeeded');
    }
    if (def.type === GROUP_OUTPUTS) return this.leaveGroup(inputPort, state, error);
    for (const port of fired) await this.fire(nodeId, port, state);
  }

  /** A node's own failure continues on exec-err when connected; anything else fails the graph. */
  private async fail(node: ActNode, path: string, thrown: unknown, state: ExecState): Promise<void> {
    if (thrown instanceof NodeFailure) {
      const message = `node ${path} (${node.type}) failed: ${thrown.message}`;
      if (this.execOut.has(key(node.id, 'exec-err'))) {
        this.run.print(path, 'system', `${message}; continuing on exec-err`);
        await this.fire(node.id, 'exec-err', state, new RoutedFailure(path, thrown));
        return;
      }
      this.run.print(path, 'system', message);
      throw new GraphFailure(path, message, exitCodeOf(thrown));
    }
    const message = `node ${path} (${node.type}) failed: ${describeError(thrown)}`;
    this.run.print(path, 'system', message);
    throw new GraphFailure(path, message, 1);
  }

  /** A failure arrived at an exec output that leads nowhere (a group's exec-err with nothing outside). */
  private unhandled(nodeId: string, port: string, origin: RoutedFailure): GraphFailure {
    const path = this.prefix + nodeId;
    const message = `node ${path} (${this.nodes.get(nodeId)?.type ?? 'node'}) passed the failure of node ${origin.node} (${origin.failure.message}) to its exec output ${port}, which is not connected`;
    this.run.print(path, 'system', message);
    return new GraphFailure(path, message, exitCodeOf(origin.failure));
  }

  /** group-outputs: continue in the enclosing graph from the group node's exec output of the same name. */
  private async leaveGroup(port: string, state: ExecState, error?: RoutedFailure): Promise<void> {
    if (!this.parent) return;
    const groupPath = this.parent.scope.prefix + this.parent.node.id;
    // The group is not what executes while the path continues outside it.
    this.run.activate(groupPath, -1);
    try {
      await this.parent.scope.fire(this.parent.node.id, port, state, error);
    } finally {
      this.run.activate(groupPath, 1);
    }
  }

  private async enterGroup(node: ActNode, port: string, state: ExecState): Promise<void> {
    const child = this.childScope(node);
    if (!child) throw new NodeError('the group has no nested graph');
    state.newStep();
    await child.execute(child.graph.entry, port, state);
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

  private hasValue(node: ActNode, port: string): boolean {
    if (this.dataIn.has(key(node.id, port))) return true;
    const literal = node.inputs[port];
    if (literal !== undefined && literal !== null) return true;
    return indicesOf(port, Object.keys(node.inputs)).some((i) => this.hasValue(node, `${port}[${i}]`));
  }

  /** An input's value by the resolution order, expressions evaluated, options trimmed. */
  async readInput(node: ActNode, port: string, state: ExecState, depth: number): Promise<unknown> {
    const spec = this.inputSpec(node.id, port);
    const source = this.dataIn.get(key(node.id, port));
    let value: unknown;
    let fromConnection = false;
    if (source) {
      value = await this.sourceValue(source, port, state, depth);
      fromConnection = true;
    } else {
      const literal = node.inputs[port];
      if (literal !== undefined && literal !== null) value = literal;
      else if (spec?.default !== undefined) value = spec.default;
      else if (spec?.required) throw new NodeError(`no value for input '${port}' (connect it or set it)`);
      else if (spec) {
        const zero = zeroValue(spec.type);
        if (zero.known) return zero.value;
      }
    }
    if (value === undefined || value === null) throw new NodeError(spec ? `no value for input '${port}'` : `unknown input '${port}'`);
    if (typeof value === 'string' && value.includes('${{')) {
      try {
        value = await evaluateText(value, this.expressionContext(state, depth));
      } catch (error) {
        // Text that arrived over a connection (a script's output) is data; only written literals must parse.
        if (!fromConnection) throw new NodeError(`unable to evaluate expression in input '${port}': ${(error as Error).message}`);
      }
    }
    if (spec?.type === 'option') value = optionValue(value, spec, port);
    return value;
  }

  /** The declared items of array port `base` (`values[0]`, `values[1]` …), in index order. */
  private async readArray(node: ActNode, base: string, state: ExecState, depth: number): Promise<unknown[]> {
    const items: unknown[] = [];
    for (const index of indicesOf(base, Object.keys(node.inputs))) {
      items.push(await this.readInput(node, `${base}[${index}]`, state, depth).catch((error: unknown) => {
        throw error instanceof NodeError ? new NodeError(`${error.message} (item ${index} of array input '${base}')`) : error;
      }));
    }
    return items;
  }

  /** The value behind a data connection, read now (pull-based), through the caches. */
  private async sourceValue(source: PortRef, intoPort: string, state: ExecState, depth: number): Promise<unknown> {
    if (depth > MAX_READ_DEPTH) throw new NodeError(`input ${intoPort}: data connections nest deeper than ${MAX_READ_DEPTH} (a cycle?)`);
    const node = this.nodes.get(source.node);
    const def = this.defs.get(source.node);
    if (!node || !def) throw new NodeError(`input ${intoPort}: there is no node ${source.node}`);
    const path = this.prefix + node.id;
    // Group plumbing is read through, never cached: a group's values belong to whoever reads them.
    if (node.type === GROUP_INPUTS) {
      if (!this.parent) throw new NodeError(`node ${path} is not inside a group`);
      return this.parent.scope.readInput(this.parent.node, source.port, state, depth + 1);
    }
    if (node.type === GROUP) {
      const child = this.childScope(node);
      const outputs = child?.groupOutputs;
      if (!child || !outputs) throw new NodeError(`group ${path} has no ${GROUP_OUTPUTS} node`);
      return child.readInput(outputs, source.port, state, depth + 1);
    }
    if (node.type === GROUP_OUTPUTS) return this.readInput(node, source.port, state, depth + 1);

    const { base, index } = parsePort(source.port);
    const pick = (whole: unknown): unknown => (index === undefined ? whole : pickIndex(whole, index, base, this.outputSpec(node.id, base)));
    if (this.execNodes.has(node.id)) {
      // What the node set: the item itself, or (an indexed read) the list the node set as a whole. The
      // item is not stored: a copy would outlive the list when the node runs again and sets a new one.
      const own = state.lookup(key(path, source.port), 'stored');
      if (own.found) return own.value;
      const whole = index !== undefined ? state.lookup(key(path, base), 'stored') : { found: false };
      if (!whole.found) throw new NodeError(`output port '${source.port}' of node ${path} has no value: the node has not run yet on this path (it must execute before it can provide values)`);
      return pick(whole.value);
    }
    // A data node's output is cached whole: `groups[0]` and `groups[1]` are items of one evaluation, as
    // they must be when the node read a stream (readable once) to compute them.
    const cacheKey = key(path, base);
    const cached = state.lookup(cacheKey, 'data');
    if (cached.found) return pick(cached.value);
    if (!def.evaluate) throw new NodeError(`output port '${source.port}' of node ${path} has no value: ${node.type} nodes provide values only when executed, and its exec input is not connected`);
    let value: unknown;
    try {
      value = await def.evaluate(this.context(node, state, depth + 1), base);
    } catch (error) {
      if (error instanceof CancelledError) throw error;
      throw new NodeError(`node ${path} (${node.type}): ${(error as Error).message}`);
    }
    this.warnOnReread(path, value);
    state.store(cacheKey, value, 'data');
    return pick(value);
  }

  private outputSpec(nodeId: string, port: string): PortSpec | undefined {
    const ports = this.ports.get(nodeId);
    return ports ? findPort(ports.outputs, port) : undefined;
  }

  /** A stream a node outputs warns in that node's log when it is read twice (docs/act.md), unless the node set its own warning. */
  private warnOnReread(path: string, value: unknown): void {
    if (value instanceof DataStream) value.onRereadUnlessSet(rereadWarning(path, (text) => this.run.warnOnce(path, text)));
  }

  private expressionContext(state: ExecState, depth: number): ExpressionContext {
    return {
      ...this.run.expressions,
      env: state.env,
      input: async (name) => {
        const given = this.run.input(name);
        if (given !== undefined || !this.parent) return given;
        const group = this.parent;
        const port = group.scope.ports.get(group.node.id)?.inputs.find((spec) => !spec.exec && spec.id.toLowerCase() === name.toLowerCase());
        if (!port) return undefined;
        try {
          return await group.scope.readInput(group.node, port.id, state, depth + 1);
        } catch (error) {
          if (error instanceof NodeError) return undefined;
          throw error;
        }
      },
    };
  }

  private context(node: ActNode, state: ExecState, depth: number): NodeContext {
    const path = this.prefix + node.id;
    const what = (port: string): string => `input '${port}' of node ${path}`;
    const read = (port: string): Promise<unknown> => this.readInput(node, port, state, depth);
    const run = this.run;
    const memoryOf = (id: string): Map<string, unknown> => this.memoryOf(id);
    return {
      path,
      node,
      host: run.host,
      state,
      signal: state.signal,
      read,
      string: async (port) => toText(await read(port), what(port)),
      int: async (port) => toInt(await read(port), what(port)),
      float: async (port) => toFloat(await read(port), what(port)),
      bool: async (port) => toBool(await read(port), what(port)),
      stream: async (port) => toStream(await read(port), what(port)),
      strings: async (port) => toList(await read(port), (item, label) => toText(item, label), what(port)),
      secret: async (port) => {
        const value = await read(port);
        if (value instanceof SecretValue) return value;
        if (typeof value !== 'string') throw new NodeError(`cannot convert '${typeName(value)}' to a secret at ${what(port)}`);
        const secret = run.secret(value);
        if (secret === undefined) throw new NodeError(`no secret found for '${value}' at ${what(port)}`);
        return new SecretValue(secret);
      },
      array: (port) => this.readArray(node, port, state, depth),
      hasValue: (port) => this.hasValue(node, port),
      set: (port, value, into) => {
        this.warnOnReread(path, value);
        (into ?? state).store(key(path, port), value, 'stored');
      },
      fire: (port, options) => this.fire(node.id, port, options?.state ?? state),
      isConnected: (port) => this.execOut.has(key(node.id, port)),
      arrayOutputs: (base) => indicesOf(base, this.execOutputs.get(node.id) ?? []).map((i) => `${base}[${i}]`),
      get memory() {
        return memoryOf(node.id);
      },
      print: (stream, text) => run.print(path, stream, text),
      secretNamed: (name) => run.secret(name),
      warnOnce: (text) => run.warnOnce(path, text),
      addSecret: (name, value) => run.addSecret(name, value),
      enterGroup: (port) => this.enterGroup(node, port, state),
      atRunEnd: (cleanup) => run.atEnd(cleanup),
    };
  }

  private memoryOf(nodeId: string): Map<string, unknown> {
    let memory = this.memories.get(nodeId);
    if (!memory) this.memories.set(nodeId, (memory = new Map()));
    return memory;
  }
}

function exitCodeOf(failure: NodeFailure): number {
  return failure.exitCode !== undefined && failure.exitCode > 0 ? failure.exitCode : 1;
}

/**
 * Item `index` of a list output. An item past the end is the zero value of the list's element type, as
 * the reference gives (Go's zero value of the slice's element): '' for strings, 0 for numbers and bytes.
 * An element type without a zero value (any) leaves it undefined: "no value", as there.
 */
function pickIndex(value: unknown, index: number, port: string, spec: PortSpec | undefined): unknown {
  if (Buffer.isBuffer(value)) return index < value.length ? value[index] : 0;
  if (!Array.isArray(value)) throw new NodeError(`output '${port}' is not a list, so it has no item ${index}`);
  if (index < value.length) return value[index];
  return spec ? zeroValue(elementType(spec)).value : undefined;
}

/** The type of one item of a list output: an array port's own type, or the element of a `[]T` type. */
function elementType(spec: PortSpec): string {
  if (spec.array) return spec.type;
  return spec.type.startsWith('[]') ? spec.type.slice(2) : 'any';
}

/** Option inputs: trimmed text, or a number picking the option by position. */
function optionValue(value: unknown, spec: PortSpec, port: string): unknown {
  if (typeof value === 'string') return value.replace(/^[ \n\r]+|[ \n\r]+$/g, '');
  if (typeof value === 'number' && Number.isInteger(value) && spec.options) {
    if (value < 0 || value >= spec.options.length) throw new NodeError(`option value out of range: ${value} at input '${port}'`);
    return spec.options[value];
  }
  return value;
}
