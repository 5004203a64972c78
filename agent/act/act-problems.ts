// One message for every problem of a graph, readable in a job log or on a terminal.

import type { GraphProblem } from './act-types';

export function formatProblems(problems: GraphProblem[]): string {
  if (problems.length === 0) return 'The graph has no problems.';
  const lines = problems.map((problem) => `  - ${problem.node !== undefined ? `node ${problem.node}: ` : ''}${problem.message}`);
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return `The graph cannot run; it has ${count}:\n${lines.join('\n')}`;
}
