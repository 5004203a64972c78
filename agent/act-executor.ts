// Runs `.act` pipelines through the graph engine (agent/act/), wiring it to the agent protocol:
// per-node log lines, the live set of executing nodes, and artifacts of the same run.

import { mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { api } from '../contract';
import type { NodeState } from '../contract/agent-protocol.contract';
import { formatProblems, parseAct, runAct, type ActHost } from './act';
import { describeError, isSuccess, type ApiClient } from './api-client';
import { hashFile } from './artifact-uploader';
import type { Execution, ExecutionContext, ExecutionResult, JobExecutor } from './job-executor';

/** The server's live graph view is fed at most this often; the final (empty) set always goes out. */
export const NODE_REPORT_DEBOUNCE_MS = 250;

export function createActExecutor(client: ApiClient): JobExecutor {
  return {
    kind: 'act',
    async start(context: ExecutionContext): Promise<Execution> {
      const jobId = context.job.job.id;
      const aborter = new AbortController();
      const reporter = new NodeReporter(client, jobId);
      const { graph, problems } = parseAct(context.job.pipeline.content);
      const host: ActHost = {
        env: stringEnv(context.env),
        inputs: context.job.inputs,
        secrets: context.job.secrets,
        workDir: context.workspaceDir,
        // A repository pipeline's file is in the checkout; a stored pipeline has no file of its own.
        graphFile: context.job.pipeline.path && context.job.repository ? resolve(context.workspaceDir, context.job.pipeline.path) : undefined,
        matrix: context.job.matrix,
        needs: context.job.needs,
        repository: context.job.repository ? { ...context.job.repository, auth: context.job.repository.auth ?? undefined } : undefined,
        signal: aborter.signal,
        onSecret: (_name, value) => context.maskSecret(value),
        cancelGraceMs: context.cancelGraceMs,
        // The engine marks messages about the whole graph (validation, cancel) with node ''.
        output: ({ node, stream, text }) =>
          stream === 'system' ? context.output.system(text, node || undefined) : context.output.write(stream, text, node || undefined),
        onActiveNodes: (active) => reporter.active(active),
        onNodeState: (node, state) => reporter.state(node, state),
        uploadArtifact: async (name, path) => {
          const file = isAbsolute(path) ? path : resolve(context.workspaceDir, path);
          const { size, sha256 } = await hashFile(file);
          context.output.system(`Uploading artifact ${name} (${size} B)`);
          const response = await client.upload({ params: { id: jobId, name } }, { path: file, size, sha256 }, { signal: aborter.signal });
          if (!isSuccess(response)) throw new Error(`upload of ${name} was refused: HTTP ${response.status}${describeError(response)}`);
        },
        downloadArtifact: async (name, path, runId) => {
          const file = isAbsolute(path) ? path : resolve(context.workspaceDir, path);
          await mkdir(dirname(file), { recursive: true });
          const response = await client.download({ params: { id: jobId, name }, query: { run: runId === undefined ? undefined : String(runId) } }, file, { signal: aborter.signal });
          if (!response.ok) throw new Error(`download of ${name} failed: HTTP ${response.status}${describeError(response)}`);
        },
      };

      const done = (async (): Promise<ExecutionResult> => {
        if (problems.length) {
          // Nothing runs when the file itself is broken; every problem is named in the log.
          context.output.system(`The graph cannot run:\n${formatProblems(problems)}`);
          return { exitCode: null, signal: null, error: 'invalid graph' };
        }
        const result = await runAct(graph, host);
        await reporter.close();
        if (result.status === 'succeeded') return { exitCode: 0, signal: null };
        if (result.status === 'cancelled') return { exitCode: null, signal: null, error: result.error ?? 'cancelled' };
        return { exitCode: result.exitCode === 0 ? 1 : result.exitCode, signal: null, error: result.error };
      })();

      return {
        done,
        cancel: () => aborter.abort(),
        kill: () => aborter.abort(),
      };
    },
  };
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/**
 * Debounces the engine's node events into `POST /agents/jobs/{id}/nodes`: the latest active set
 * plus every state change since the last report. One request in flight at a time; a failed
 * report is folded into the next one, since only the latest picture matters.
 */
class NodeReporter {
  private latest: string[] = [];
  private pendingStates: Record<string, NodeState> = {};
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private dirty = false;

  constructor(
    private readonly client: ApiClient,
    private readonly jobId: number,
  ) {}

  active(nodes: string[]): void {
    this.latest = [...nodes];
    this.schedule();
  }

  state(node: string, state: NodeState): void {
    this.pendingStates[node] = state;
    this.schedule();
  }

  /** Sends the final picture (no node executing) and waits for it. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.latest = [];
    this.dirty = true;
    await this.flush();
  }

  private schedule(): void {
    this.dirty = true;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, NODE_REPORT_DEBOUNCE_MS);
  }

  private flush(): Promise<void> {
    this.inFlight = this.inFlight.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      const states = this.pendingStates;
      this.pendingStates = {};
      try {
        const response = await this.client.call(api.agentProtocol.nodes, { params: { id: this.jobId }, body: { active: this.latest, states } }, { retry: false, timeoutMs: 5000 });
        if (response.status >= 500) throw new Error(`HTTP ${response.status}`);
      } catch {
        this.pendingStates = { ...states, ...this.pendingStates };
        this.dirty = true;
      }
    });
    return this.inFlight;
  }
}
