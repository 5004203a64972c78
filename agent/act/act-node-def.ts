// What a node type is: its ports (the public contract, the same ids, types and defaults as the reference
// engine's nodes/*.yml) and how it evaluates or executes. Every node type lives in nodes/*.nodes.ts.

import type { ExecState } from './act-exec-state';
import type { ActHost, ActNode, GraphPortDef } from './act-types';
import type { DataStream, SecretValue } from './act-values';

/**
 * Port types as the format writes them: `bool`, `number`, `string`, `secret`, `option`, `any`, `unknown`,
 * `stream`, `iterable`, `indexable`, `credentials`, `storage-provider`, `git-repo`, and lists such as
 * `[]string` (one port carrying a list, unlike an `array` port whose items are ports of their own).
 */
type PortType = string;

export type PortSpec = {
  id: string;
  exec: boolean;
  type: PortType;
  /** Items addressed as `id[0]`, `id[1]` …, each declared by the graph (see act-format.md). */
  array?: boolean;
  required?: boolean;
  default?: unknown;
  /** Values of an `option` port. */
  options?: readonly string[];
};

export type NodePorts = { inputs: readonly PortSpec[]; outputs: readonly PortSpec[] };

/** The graph-level port definitions of the graph a node lives in (a group's `inputs:`/`outputs:`, or the top graph's). */
export type GraphLevel = { inputs: readonly GraphPortDef[]; outputs: readonly GraphPortDef[]; isGroup: boolean };

type FireOptions = {
  /** The execution state the path continues in (a child state for concurrent paths). */
  state?: ExecState;
};

/** What a node implementation can do; built by the runtime for one evaluation or execution. */
export type NodeContext = {
  /** Full id path (`gate/pick`). */
  readonly path: string;
  readonly node: ActNode;
  readonly host: ActHost;
  /** The execution state this node runs in. */
  readonly state: ExecState;
  /** Aborted when this path must stop (graph cancelled, or a concurrent sibling failed). */
  readonly signal: AbortSignal;

  /** An input as resolved by the reference's order (connection → literal → default → required → zero), expressions evaluated. */
  read(port: string): Promise<unknown>;
  string(port: string): Promise<string>;
  /** An integer input ("3.5" is an error, as for the reference's int inputs). */
  int(port: string): Promise<number>;
  float(port: string): Promise<number>;
  bool(port: string): Promise<boolean>;
  /** A `stream` input, or undefined when it has no value. */
  stream(port: string): Promise<DataStream | undefined>;
  /** A list-typed input (`[]string`) as text items. */
  strings(port: string): Promise<string[]>;
  /** A `secret` input: the value names a secret, the node receives the secret. */
  secret(port: string): Promise<SecretValue>;
  /** The items of an array port (`values[0]`, `values[1]` …, in index order, as declared). */
  array(port: string): Promise<unknown[]>;
  /** Whether an input has a connection or a literal. */
  hasValue(port: string): boolean;

  /** Stores an output value in this node's execution state, or in `state` (a concurrent iteration's). */
  set(port: string, value: unknown, state?: ExecState): void;
  /** Runs what is connected to an exec output and waits for that path to end. */
  fire(port: string, options?: FireOptions): Promise<void>;
  isConnected(outputPort: string): boolean;
  /** The exec array outputs in index order (`exec[0]`, `exec[1]` …) that are connected. */
  arrayOutputs(base: string): string[];
  /** Node-private memory that persists between executions (loop break flags, barrier counters). */
  readonly memory: Map<string, unknown>;

  print(stream: 'stdout' | 'stderr' | 'system', text: string): void;
  /** A secret's value by name (by the run's one lookup rule, RunState.secret), or undefined when it is not set. */
  secretNamed(name: string): string | undefined;
  /** A message about this node, printed once per run for each distinct text. */
  warnOnce(text: string): void;
  /** From now on `value` is a secret: masked in every log line. */
  addSecret(name: string, value: string): void;
  /** Group nodes: run the nested graph from its group-inputs node's exec output `port`. */
  enterGroup(port: string): Promise<void>;
  /** Runs `cleanup` once the graph run has ended, however it ended (a temporary file a stream still reads). */
  atRunEnd(cleanup: () => Promise<void> | void): void;
};

/** Ports to fire after a successful execution (in order); nothing ends this path. */
type ExecuteResult = string | readonly string[] | void;

export type NodeDef = {
  type: string;
  ports(node: ActNode, level: GraphLevel): NodePorts;
  /** The value of output `port` when the node is read without having been executed (data nodes). */
  evaluate?(ctx: NodeContext, port: string): Promise<unknown>;
  /** Runs the node entered through exec input `input`. */
  execute?(ctx: NodeContext, input: string): Promise<ExecuteResult>;
  /** Problems of this node that its type can tell before anything runs (a format whose verbs do not match). */
  validate?(node: ActNode): string[];
  /** Exec inputs that only signal a running node (exec-break, exec-reset): no state or activity reported. */
  signalInputs?: readonly string[];
  /** The editor-only comment node: never runs, never read. */
  inert?: boolean;
  /** Graph entry nodes (start). */
  entry?: boolean;
};

export const exec = (id: string, extra: Partial<PortSpec> = {}): PortSpec => ({ id, exec: true, type: 'exec', ...extra });
export const data = (id: string, type: PortType, extra: Partial<PortSpec> = {}): PortSpec => ({ id, exec: false, type, ...extra });
export const option = (id: string, options: readonly string[], fallback: string): PortSpec => ({ id, exec: false, type: 'option', options, default: fallback });

export function staticPorts(inputs: PortSpec[], outputs: PortSpec[]): NodeDef['ports'] {
  const ports: NodePorts = { inputs, outputs };
  return () => ports;
}

/** A failure of the node's own work: continues on exec-err where it is connected, else fails the graph. */
export class NodeFailure extends Error {
  constructor(
    message: string,
    readonly exitCode?: number,
  ) {
    super(message);
    this.name = 'NodeFailure';
  }
}

/**
 * An error that fails the graph even where exec-err is connected: a bad input, a conversion that cannot
 * be made, an output read before its node ran (the reference returns these instead of routing them).
 */
export class NodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NodeError';
  }
}

/** The message of anything thrown, with errno codes kept (ENOENT …), for node errors. */
export function describeError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}
