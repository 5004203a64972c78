// The public shapes of the .act engine: the parsed graph, the host the engine runs in, and what it reports.
// Kept free of Nest/Temporal/server types so the engine can be embedded in the agent or run from a CLI.

import type { GitAuth } from '../git/git';

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
  /** Run inputs (`${{ inputs.NAME }}`); names are matched in lower case, as the reference does. */
  inputs: Record<string, string>;
  /** Secrets by name; core/secret-set@v1 adds to them while the graph runs. */
  secrets: Record<string, string>;
  workDir: string;
  signal: AbortSignal;
  /** The graph's own file, where there is one (filepath-location's current_graph). */
  graphFile?: string;
  /** The start node's `args` output (`bellows-act run FILE -- ARGS`). */
  args?: string[];
  /** false runs the paths of concurrent nodes one after another (`--concurrency false`). */
  concurrency?: boolean;
  /** The job's repository and commit (core/repo-download@v1 fetches from it), with the checkout's credentials. */
  repository?: { url: string; ref: string; commitSha: string; auth?: GitAuth };
  /** The `matrix` context: the job's matrix values. */
  matrix?: Record<string, string>;
  /** The `needs` context: each needed job's outputs (`${{ needs.JOB.outputs.KEY }}`). */
  needs?: Record<string, { outputs: Record<string, string> }>;
  output(chunk: ActOutput): void;
  onActiveNodes?(active: string[]): void;
  onNodeState?(node: string, state: NodeState): void;
  /** A secret made at run time: from now on its value must be masked wherever output is shown. */
  onSecret?(name: string, value: string): void;
  /** Stores a file as a job artifact under `name`. */
  uploadArtifact?(name: string, path: string): Promise<void>;
  /** Fetches artifact `name` of this run (or of run `runId`) into `path`. */
  downloadArtifact?(name: string, path: string, runId?: string): Promise<void>;
  cancelGraceMs?: number;
};

export type ActResult = { status: 'succeeded' | 'failed' | 'cancelled'; exitCode: number; error?: string };

