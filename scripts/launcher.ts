// What every launcher shares — `npm start` (stack.ts), `npm run cluster` (cluster.ts), the test harness
// (test/support/stack.ts) and the bench (bench/bench-stack.ts): where the checkout is, the built entry
// points, ports, first-start secrets and the banner; their children, readiness waits and ordered
// shutdown are in supervisor.ts. Each launcher keeps only what it starts.

import fs from 'node:fs';
import path from 'node:path';
import type { Connection } from '@temporalio/client';
import { isPortInUse } from './process-utils';

/** The checkout root: the nearest directory up from here (dist/scripts or scripts/) with Bellows' package.json. */
function findRepoRoot(): string {
  // typeof guard: vitest evaluates sources as ESM, where __dirname can be missing; the cwd is the checkout then.
  let dir = typeof __dirname === 'string' ? __dirname : process.cwd();
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'scripts', 'bootstrap.js'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the Bellows checkout above ${typeof __dirname === 'string' ? __dirname : process.cwd()}`);
    dir = parent;
  }
}

export const repoRoot = findRepoRoot();

/** dist/<script>, or an error saying to build first. */
export function builtEntry(script: string): string {
  const entry = path.join(repoRoot, 'dist', script);
  if (!fs.existsSync(entry)) throw new Error(`${path.relative(repoRoot, entry)} is missing — run \`npm run build\` (npm start and npm test do it for you)`);
  return entry;
}

/** The same server URL naming another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** A value made once and kept in `file` (0600): an admin token, a secrets key, a local agent's token. */
export async function readOrCreate(file: string, create: () => string | Promise<string>): Promise<string> {
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (existing) return existing;
  } catch {
    // Not created yet.
  }
  const value = await create();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return value;
}

export async function ensurePortFree(port: number, what: string, hint: string): Promise<void> {
  if (await isPortInUse(port)) throw new Error(`port ${port} (${what}) is already in use — is another Bellows running? ${hint}`);
}

export const useColor = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;

/** ANSI `code` around `text` on a terminal (none when piped or NO_COLOR is set). */
export const paint = (code: string, text: string): string => (useColor ? `\u001b[${code}m${text}\u001b[0m` : text);

/** The banner a launcher prints once everything is up: a title and aligned `key  value` rows. */
export function printBox(title: string, lines: [string, string][]): void {
  const keyWidth = Math.max(...lines.map(([key]) => key.length));
  const rows = lines.map(([key, value]) => `${key.padEnd(keyWidth)}  ${value}`);
  const width = Math.max(title.length, ...rows.map((row) => row.length));
  const row = (text: string): string => `│ ${text.padEnd(width)} │`;
  const out = [`┌${'─'.repeat(width + 2)}┐`, row(title), `├${'─'.repeat(width + 2)}┤`, ...rows.map(row), `└${'─'.repeat(width + 2)}┘`];
  process.stdout.write(`\n${paint('1', out.join('\n'))}\n\n`);
}

/**
 * Whether a worker started at `spawnedAt` polls `taskQueue`: the readiness of a worker child. Temporal
 * lists the pollers seen in the last minutes, a worker just killed among them, so only a poll that
 * started after the spawn proves the new one is up.
 */
export async function taskQueuePolledSince(connection: Connection, namespace: string, taskQueue: string, spawnedAt: number): Promise<boolean> {
  const queue = await connection.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue, kind: 1 }, // TASK_QUEUE_KIND_NORMAL
    taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
  });
  return (queue.pollers ?? []).some((poller) => {
    const at = poller.lastAccessTime;
    return at ? Number(at.seconds ?? 0) * 1000 + (at.nanos ?? 0) / 1e6 >= spawnedAt : false;
  });
}
