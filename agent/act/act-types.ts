// The public shapes of the .act engine: the parsed graph, the host the engine runs in, and what it reports.
// Kept free of Nest/Temporal/server types so the engine can be embedded in the agent or run from a CLI.

export type PortRef = { node: string; port: string };
export type ActEdge = { src: PortRef; dst: PortRef };

/** A graph-level port definition of a group graph (`inputs:` / `outputs:` of a nested graph). */
export type GraphPortDef = { id: string; type: string; index: number; exec: boolean; name?: string };

export type ActNode = {
  id: string;
  type: string;
  /** Literal values keyed by input port id (`values[0]` included); unknown keys are tolerated. */
  inputs: Record<string, unknown>;
  /** Only declares how many array outputs exist (`exec[2]: ''`). */
  outputs: Record<string, unknown>;
  /** The nested graph of a core/group@v1 node. */
  graph?: ActGraph;
  position?: { x: number; y: number };
};

export type ActGraph = {
  entry: string;
  type: string;
  description: string;
  nodes: ActNode[];
  connections: ActEdge[];
  executions: ActEdge[];
  inputs: GraphPortDef[];
  outputs: GraphPortDef[];
  /**
   * Problems found while parsing (bad YAML, malformed entries). Carried on the graph so that
   * validateAct/runAct report them even when the caller only kept the graph.
   */
  parseProblems: GraphProblem[];
};

export type GraphProblem = { node?: string; message: string };

export type NodeState = 'running' | 'succeeded' | 'failed' | 'skipped';

/**
 * stdout/stderr chunks are raw process text (ANSI kept), delivered line by line with their "\n" (a final
 * partial line is flushed when the node ends). `system` chunks are complete messages from the engine
 * without a trailing newline; graph-level messages (validation) use node ''.
 */
export type ActOutput = { node: string; stream: 'stdout' | 'stderr' | 'system'; text: string };

export type ActHost = {
  env: Record<string, string>;
  inputs: Record<string, string>;
  secrets: Record<string, string>;
  workDir: string;
  signal: AbortSignal;
  output(chunk: ActOutput): void;
  onActiveNodes?(active: string[]): void;
  onNodeState?(node: string, state: NodeState): void;
  uploadArtifact?(name: string, path: string): Promise<void>;
  downloadArtifact?(name: string, path: string): Promise<void>;
  cancelGraceMs?: number;
};

export type ActResult = { status: 'succeeded' | 'failed' | 'cancelled'; exitCode: number; error?: string };

export type ValidationContext = { inputs: Record<string, string>; secrets: Record<string, string> };
