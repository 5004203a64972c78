import { parse } from 'yaml';

export type GraphNodeState = 'running' | 'succeeded' | 'failed' | 'skipped';

type GraphLevel = { nodes?: { id?: unknown; graph?: GraphLevel }[] };

/** Every node id of an `.act` graph, nested ones as `group-id/child-id`. Tolerates malformed graphs. */
export function graphNodeIds(graph: unknown, prefix = ''): string[] {
  const nodes = (graph as GraphLevel | null)?.nodes;
  if (!Array.isArray(nodes)) return [];
  return nodes.flatMap((node) => {
    if (typeof node?.id !== 'string') return [];
    const id = prefix + node.id;
    return [id, ...(node.graph ? graphNodeIds(node.graph, `${id}/`) : [])];
  });
}

export function parseGraph(content: string): unknown {
  try {
    return parse(content);
  } catch {
    return null;
  }
}

/**
 * Reported states, plus `skipped` for every node that never ran once the job is over: an agent
 * only reports nodes it executed.
 */
export function nodeStatesFor(graph: unknown, reported: Record<string, string>, jobEnded: boolean): Record<string, GraphNodeState> {
  const states: Record<string, GraphNodeState> = {};
  for (const id of graphNodeIds(graph)) {
    const state = reported[id] as GraphNodeState | undefined;
    if (state) states[id] = jobEnded && state === 'running' ? 'failed' : state;
    else if (jobEnded) states[id] = 'skipped';
  }
  return states;
}
