// runAct: validate, then execute from the entry node until no exec path remains, and say how it ended.

import { CancelledError, GraphFailure, ProcessExitSignal } from './act-errors';
import { formatProblems } from './act-problems';
import { RunState } from './act-run-state';
import { ExecState } from './act-exec-state';
import { GraphScope } from './act-scope';
import type { ActGraph, ActHost, ActResult } from './act-types';
import { validateAct } from './act-validator';

/** Exit code of a graph whose problems kept it from running (same as a CLI usage error). */
export const INVALID_GRAPH_EXIT_CODE = 2;
/** Exit code of a cancelled graph, as for a process stopped by Ctrl-C. */
export const CANCELLED_EXIT_CODE = 130;

export async function runAct(graph: ActGraph, host: ActHost): Promise<ActResult> {
  const problems = validateAct(graph);
  if (problems.length === 0) return runValidatedAct(graph, host);
  const run = new RunState(host);
  const error = formatProblems(problems);
  for (const line of error.split('\n')) run.print('', 'system', line);
  run.finish();
  return { status: 'failed', exitCode: INVALID_GRAPH_EXIT_CODE, error };
}

/** runAct for a graph validateAct found no problems in: the CLI validates first, to report problems its own way. */
export async function runValidatedAct(graph: ActGraph, host: ActHost): Promise<ActResult> {
  const run = new RunState(host);
  try {
    if (host.signal.aborted) return cancelled(run);
    const scope = new GraphScope(run, graph, '', { inputs: graph.inputs, outputs: graph.outputs, isGroup: false });
    const root = ExecState.root(host.env, host.signal);
    try {
      await scope.execute(graph.entry, scope.entryPort(), root);
    } catch (error) {
      // Whatever a cancelled run threw on its way down (killed scripts, aborted sleeps) is the cancellation.
      if (host.signal.aborted || error instanceof CancelledError) return cancelled(run);
      if (error instanceof ProcessExitSignal) {
        run.print(error.node, 'system', error.message);
        return error.code === 0 ? { status: 'succeeded', exitCode: 0 } : { status: 'failed', exitCode: error.code, error: error.message };
      }
      if (error instanceof GraphFailure) return { status: 'failed', exitCode: error.exitCode, error: error.message };
      const message = `internal error of the graph engine: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
      run.print('', 'system', message);
      return { status: 'failed', exitCode: 1, error: message };
    } finally {
      // The host's signal may outlive the run (one for an agent's whole job, say).
      root.release();
    }
    return host.signal.aborted ? cancelled(run) : { status: 'succeeded', exitCode: 0 };
  } finally {
    await run.cleanUp();
    run.finish();
  }
}

function cancelled(run: RunState): ActResult {
  const error = 'the graph was cancelled';
  run.print('', 'system', error);
  return { status: 'cancelled', exitCode: CANCELLED_EXIT_CODE, error };
}
