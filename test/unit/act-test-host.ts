// A fake ActHost for the .act engine tests: records everything the engine reports.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { stringify } from 'yaml';
import { parseAct, runAct, type ActHost, type ActOutput, type ActResult, type NodeState } from '../../agent/act';

export type Upload = { name: string; path: string; bytes: number; sha256: string };

export type FakeHost = ActHost & {
  chunks: ActOutput[];
  activeHistory: string[][];
  states: Array<{ node: string; state: NodeState }>;
  uploads: Upload[];
  controller: AbortController;
  /** All text of one node (or all nodes), in emission order. */
  text(node?: string): string;
};

export function fakeHost(overrides: Partial<ActHost> = {}): FakeHost {
  const controller = new AbortController();
  const chunks: ActOutput[] = [];
  const activeHistory: string[][] = [];
  const states: Array<{ node: string; state: NodeState }> = [];
  const uploads: Upload[] = [];
  const host: FakeHost = {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' },
    inputs: {},
    secrets: {},
    workDir: mkdtempSync(join(tmpdir(), 'act-test-')),
    signal: controller.signal,
    output: (chunk) => chunks.push(chunk),
    onActiveNodes: (active) => activeHistory.push(active),
    onNodeState: (node, state) => states.push({ node, state }),
    uploadArtifact: async (name, path) => {
      const content = readFileSync(path);
      uploads.push({ name, path, bytes: content.length, sha256: createHash('sha256').update(content).digest('hex') });
    },
    cancelGraceMs: 2000,
    chunks,
    activeHistory,
    states,
    uploads,
    controller,
    text: (node) =>
      chunks
        .filter((chunk) => node === undefined || chunk.node === node)
        .map((chunk) => (chunk.stream === 'system' ? `${chunk.text}\n` : chunk.text))
        .join(''),
    ...overrides,
  };
  return host;
}

export async function runText(text: string, host: FakeHost): Promise<ActResult> {
  return runAct(parseAct(text).graph, host);
}

export type TestNode = { id: string; type: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown>; graph?: Record<string, unknown> };

/** Edges written as ['src-node.port', 'dst-node.port']. */
export type TestEdge = [string, string];

const ref = (text: string): { node: string; port: string } => {
  const dot = text.indexOf('.');
  return { node: text.slice(0, dot), port: text.slice(dot + 1) };
};

export function graphObject(nodes: TestNode[], executions: TestEdge[], connections: TestEdge[] = [], entry = 'start'): Record<string, unknown> {
  return {
    entry,
    type: 'generic',
    nodes: nodes.map((node, i) => ({ position: { x: i * 100, y: 0 }, ...node })),
    connections: connections.map(([src, dst]) => ({ src: ref(src), dst: ref(dst) })),
    executions: executions.map(([src, dst]) => ({ src: ref(src), dst: ref(dst) })),
  };
}

/** A top-level graph with a `start` node prepended. */
export function actYaml(nodes: TestNode[], executions: TestEdge[], connections: TestEdge[] = []): string {
  return stringify(graphObject([{ id: 'start', type: 'core/start@v1' }, ...nodes], executions, connections));
}

type ReadOptions = { connections?: TestEdge[]; host?: FakeHost };

/** start → print `out` (values[0] ← `source`): the graph that reads one data output. */
function readGraph(nodes: TestNode[], source: string, connections: TestEdge[]): string {
  return actYaml([...nodes, { id: 'out', type: 'core/print@v1', inputs: { 'values[0]': null } }], [['start.exec', 'out.exec']], [[source, 'out.values[0]'], ...connections]);
}

/** The value of data output `source` as print shows it (without the final newline); the run must succeed. */
export async function evaluate(nodes: TestNode[], source: string, { connections = [], host = fakeHost() }: ReadOptions = {}): Promise<string> {
  const result = await runText(readGraph(nodes, source, connections), host);
  expect(result, host.text()).toEqual({ status: 'succeeded', exitCode: 0 });
  return host.text('out').replace(/\n$/, '');
}

/** Reading data output `source` must fail: the run's error and everything it reported. */
export async function evaluationError(nodes: TestNode[], source: string, { connections = [], host = fakeHost() }: ReadOptions = {}): Promise<string> {
  const result = await runText(readGraph(nodes, source, connections), host);
  expect(result.status, host.text()).toBe('failed');
  return `${result.error ?? ''}\n${host.text()}`;
}

/** Live (non-zombie) processes whose process group is `pgid`. */
export function liveGroupMembers(pgid: number): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,pgid=,stat='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, group, stat]) => Number(group) === pgid && stat !== undefined && !stat.startsWith('Z'))
    .map(([pid]) => Number(pid));
}

// Give-ups are 60 s: conditions here hold in milliseconds on an idle machine, so only a broken rule meets one on a loaded CI machine.
export async function waitUntil(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
