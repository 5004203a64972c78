// The seam between "run this job" and "how": script jobs spawn bash; act jobs will be driven by the graph
// engine. The runner owns everything around execution (workspace, logs, artifacts, finish).

import type { ClaimedJob, LogStream, PipelineKind } from '../contract/agent-protocol.contract';

export type OutputSink = {
  /** Raw process output; the sink does line splitting and masking per stream (and node). */
  write(stream: Exclude<LogStream, 'system'>, text: string, node?: string): void;
  /** A complete message from the agent itself (no trailing newline needed). */
  system(text: string, node?: string): void;
};

export type ExecutionContext = {
  job: ClaimedJob;
  jobDir: string;
  workspaceDir: string;
  artifactsDir: string;
  env: NodeJS.ProcessEnv;
  output: OutputSink;
  /** From now on `value` is masked in the job's log (a secret the job made while running). */
  maskSecret(value: string): void;
  /** How long a cancelled job gets between SIGTERM and SIGKILL. */
  cancelGraceMs: number;
};

export type ExecutionResult = {
  /** null when the job was killed by a signal or never started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Why the job could not run at all (spawn failure, unsupported kind). */
  error?: string;
};

export type Execution = {
  readonly done: Promise<ExecutionResult>;
  /** Graceful stop: SIGTERM, grace period, SIGKILL. Idempotent. */
  cancel(reason: string): void;
  /** Immediate SIGKILL of everything the job started. */
  kill(): void;
};

export type JobExecutor = {
  readonly kind: PipelineKind;
  start(context: ExecutionContext): Promise<Execution>;
};

export type ExecutorRegistry = Partial<Record<PipelineKind, JobExecutor>>;
