// The node library: every core node type of the reference engine, by its full type id
// (`core/run@v1`), and the few that cannot work on a Bellows agent, each with the reason it says.

import type { NodeDef } from './act-node-def';
import { archiveNodes } from './nodes/archive.nodes';
import { artifactNodes } from './nodes/artifact.nodes';
import { collectionNodes } from './nodes/collection.nodes';
import { credentialNodes } from './nodes/credentials.nodes';
import { dataFormatNodes } from './nodes/data-format.nodes';
import { fileNodes } from './nodes/file.nodes';
import { filepathNodes } from './nodes/filepath.nodes';
import { flowNodes } from './nodes/flow.nodes';
import { gitNodes } from './nodes/git.nodes';
import { groupNodes } from './nodes/group.nodes';
import { httpNodes } from './nodes/http.nodes';
import { mathNodes } from './nodes/math.nodes';
import { processNodes } from './nodes/process.nodes';
import { storageNodes } from './nodes/storage.nodes';
import { stringNodes } from './nodes/string.nodes';
import { systemNodes } from './nodes/system.nodes';

const ALL: readonly NodeDef[] = [
  ...flowNodes,
  ...groupNodes,
  ...processNodes,
  ...systemNodes,
  ...stringNodes,
  ...mathNodes,
  ...collectionNodes,
  ...dataFormatNodes,
  ...fileNodes,
  ...filepathNodes,
  ...archiveNodes,
  ...httpNodes,
  ...credentialNodes,
  ...storageNodes,
  ...artifactNodes,
  ...gitNodes,
];

/** Older names the reference still accepts for the same node. */
const ALIASES: Record<string, string> = { 'core/secret@v1': 'core/secret-get@v1' };

const registry: ReadonlyMap<string, NodeDef> = new Map(ALL.map((def) => [def.type, def]));

/** A GitHub Action used as a node, by the reference's own type or by its `github.com/owner/action@ref` name. */
const GITHUB_ACTION_REASON = 'it runs a GitHub Action, which needs the GitHub Actions runner and its services; Bellows agents do not provide them';

/** Node types of the reference library that need what a Bellows agent does not have: the one table. */
const REFUSED: ReadonlyArray<{ types: readonly string[]; reason: string }> = [
  { types: ['core/gh-action@v1'], reason: GITHUB_ACTION_REASON },
  { types: ['core/gh-start@v1'], reason: 'it starts a GitHub Actions workflow from a GitHub event, which Bellows agents do not receive; start the graph with core/start@v1' },
  {
    types: ['core/p4-credentials@v1', 'core/p4-print@v1', 'core/p4-run@v1', 'core/p4-sync@v1'],
    reason: 'Perforce nodes need a Perforce server connection and the p4 client, which Bellows agents do not provide',
  },
  { types: ['core/llm-prompt@v1'], reason: 'it calls a hosted large language model API, which Bellows agents have no access to' },
  { types: ['core/docker-run@v1'], reason: 'it needs a Docker engine, and Bellows agents run jobs as processes on the host' },
  { types: ['core/run-python-embedded@v1'], reason: "it needs the reference engine's embedded Python interpreter; use core/run@v1 with shell python instead" },
];

const refusedReasons: ReadonlyMap<string, string> = new Map(REFUSED.flatMap(({ types, reason }) => types.map((type) => [type, reason] as const)));

/** The reference library's refused types, by name, for the documentation's node table. */
export const REFUSED_TYPES: readonly string[] = [...refusedReasons.keys()];

/** `run@v1` is how the first graphs named core nodes; the reference still reads them as `core/run@v1`. */
export function canonicalType(type: string): string {
  const named = /^[\w-]+@v\d+$/.test(type) ? `core/${type}` : type;
  return ALIASES[named] ?? named;
}

export function nodeDef(type: string): NodeDef | undefined {
  return registry.get(canonicalType(type));
}

/** Why this agent refuses `type`, or undefined when it is unknown rather than refused. */
export function refusal(type: string): string | undefined {
  const canonical = canonicalType(type);
  return canonical.startsWith('github.com/') ? GITHUB_ACTION_REASON : refusedReasons.get(canonical);
}

export function supportedNodeTypes(): string[] {
  return [...registry.keys(), ...Object.keys(ALIASES)].sort();
}

