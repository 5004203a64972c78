// What a node type is: its ports (the public contract of act-format.md) and how it evaluates or executes.

import type { ActHost, ActNode, GraphPortDef } from './act-types';

/** Value types as written in the format; `option` values are strings from a fixed list. */
export type ValueType = 'string' | 'number' | 'bool' | 'any' | 'stream' | 'secret' | 'option' | 'iterable';

export type PortSpec = {
  id: string;
  exec: boolean;
  type: ValueType;
  /** Addressable as `id[i]`; read as a whole it yields an array. */
  array?: boolean;
  required?: boolean;
  default?: unknown;
  options?: readonly string[];
};

export type NodePorts = { inputs: readonly PortSpec[]; outputs: readonly PortSpec[] };

/** The graph-level port definitions of the graph a node lives in (only set inside group graphs). */
export type GraphLevel = { inputs: readonly GraphPortDef[]; outputs: readonly GraphPortDef[]; isGroup: boolean };

/** What a node implementation can do; built by the runtime for one evaluation or execution. */
export type NodeContext = {
  /** Full id path (`gate/pick`). */
  readonly path: string;
  readonly node: ActNode;
  readonly host: ActHost;
  /** Aborted when this execution path must stop (graph cancelled, or a concurrent sibling failed). */
  readonly signal: AbortSignal;
  /** Resolved and coerced input (connection → literal → default → required error → zero value). */
  read(port: string): Promise<unknown>;
  readString(port: string): Promise<string>;
  readNumber(port: string): Promise<number>;
  readBool(port: string): Promise<boolean>;
  /** An array port as a whole (`values`, built from `values[0]`, `values[1]` … or one array value). */
  readArray(port: string): Promise<unknown[]>;
  /** Whether an input has a connection or a literal (so "unset" can differ from the zero value). */
  hasValue(port: string): boolean;
  /** Stores an output value (exec nodes; data nodes return theirs from evaluate). */
  set(port: string, value: unknown): void;
  /** Runs what is connected to an exec output and waits for that path to end (flow nodes). */
  fire(port: string, options?: { signal?: AbortSignal }): Promise<void>;
  isConnected(outputPort: string): boolean;
  /** The exec array outputs in index order (`exec[0]`, `exec[1]` …), declared or connected. */
  arrayOutputs(base: string): string[];
  /** Node-private state that persists between executions (loop break flags, barrier counters). */
  readonly state: Map<string, unknown>;
  print(stream: 'stdout' | 'stderr' | 'system', text: string): void;
  /** Group nodes: run the nested graph from its group-inputs node's exec output `port`. */
  enterGroup(port: string): Promise<void>;
};

/** Ports to fire after a successful execution (in order); nothing ends this path. */
export type ExecuteResult = string | readonly string[] | void;

export type NodeDef = {
  type: string;
  ports(node: ActNode, level: GraphLevel): NodePorts;
  /** Data nodes (no exec ports): compute all outputs; called again for every read. */
  evaluate?(ctx: NodeContext): Promise<Record<string, unknown>>;
  execute?(ctx: NodeContext, inputPort: string): Promise<ExecuteResult>;
  /** Exec inputs that only signal a running node (exec-break, exec-reset): no state or activity reported. */
  signalInputs?: readonly string[];
  /** group-outputs: its fired ports continue in the enclosing graph, from the group node. */
  firesToParent?: boolean;
  /** The editor-only comment node: no ports, never runs, never validated beyond its type. */
  inert?: boolean;
};

export const exec = (id: string, extra: Partial<PortSpec> = {}): PortSpec => ({ id, exec: true, type: 'any', ...extra });
export const data = (id: string, type: ValueType, extra: Partial<PortSpec> = {}): PortSpec => ({ id, exec: false, type, ...extra });

export function staticPorts(inputs: PortSpec[], outputs: PortSpec[]): NodeDef['ports'] {
  const ports: NodePorts = { inputs, outputs };
  return () => ports;
}

/** A failure of the node itself (routed to exec-err when connected). */
export class NodeFailure extends Error {
  constructor(
    message: string,
    readonly exitCode?: number,
  ) {
    super(message);
    this.name = 'NodeFailure';
  }
}
