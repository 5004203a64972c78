// The .act graph engine: parse, validate and run graph pipelines. No server dependencies.

export type { ActEdge, ActGraph, ActHost, ActNode, ActOutput, ActResult, GraphPortDef, GraphProblem, NodeState, PortRef } from './act-types';
export { parseAct } from './act-parser';
export { validateAct } from './act-validator';
export { runAct, CANCELLED_EXIT_CODE, INVALID_GRAPH_EXIT_CODE } from './act-runtime';
export { formatProblems } from './act-problems';
export { supportedNodeTypes, nodeDef, refusal, canonicalType } from './act-node-registry';
