// Child processes of run/run-exec nodes. Each runs in its own process group (spawned detached) so that
// cancelling reaches everything a script started: SIGTERM to the group, a grace period, then SIGKILL.

import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { signalGroup } from '../process-group';

/** After the leader exits, how long its stdout/stderr may take to drain (a setsid'd grandchild may hold them). */
const STDIO_DRAIN_MS = 2000;

type ProcessSpec = {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  stdin?: string | Buffer | Readable;
  signal: AbortSignal;
  cancelGraceMs: number;
  onStdout(text: string): void;
  onStderr(text: string): void;
  onSystem(text: string): void;
};

type ProcessOutcome = {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The signal aborted while the process ran. */
  cancelled: boolean;
  /** The process could not be started at all. */
  startError?: string;
};

export function runProcess(spec: ProcessSpec): Promise<ProcessOutcome> {
  return new Promise((resolve) => {
    if (spec.signal.aborted) return resolve({ exitCode: null, signal: null, cancelled: true });
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: [spec.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const pid = child.pid;
    let cancelled = false;
    let exited = false;
    let killTimer: NodeJS.Timeout | undefined;

    const onAbort = (): void => {
      if (exited || pid === undefined || cancelled) return;
      cancelled = true;
      signalGroup(pid, 'SIGTERM');
      killTimer = setTimeout(() => {
        if (exited) return;
        spec.onSystem(`still running ${spec.cancelGraceMs} ms after SIGTERM: SIGKILL sent`);
        signalGroup(pid, 'SIGKILL');
      }, spec.cancelGraceMs);
    };

    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (text: string) => spec.onStdout(text));
    child.stderr?.on('data', (text: string) => spec.onStderr(text));
    if (child.stdin) {
      // A script that does not read its stdin closes the pipe early; that is not an error of the node.
      child.stdin.on('error', () => undefined);
      if (spec.stdin instanceof Readable) {
        // pipeline, not pipe: when either side fails or closes early (the script exits without reading),
        // the source is destroyed too, so an open file behind it is closed rather than left paused.
        void pipeline(spec.stdin, child.stdin).catch(() => undefined);
      } else child.stdin.end(spec.stdin);
    }

    child.once('error', (error) => {
      if (pid !== undefined || exited) return;
      exited = true;
      spec.signal.removeEventListener('abort', onAbort);
      resolve({ exitCode: null, signal: null, cancelled: false, startError: `could not start ${spec.command}: ${error.message}` });
    });
    child.once('exit', (code, signal) => {
      exited = true;
      spec.signal.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      // Nobody reads stdin any more: a source still waiting for data (a slow stream) is released now, by
      // the pipeline, rather than at its next write.
      child.stdin?.destroy();
      // Background processes the script left behind would keep running and hold the output pipes open.
      if (pid !== undefined) signalGroup(pid, 'SIGKILL');
      const drained = new Promise<void>((done) => child.once('close', () => done()));
      const timeout = new Promise<void>((later) => setTimeout(later, STDIO_DRAIN_MS).unref());
      void Promise.race([drained, timeout]).then(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        resolve({ exitCode: code, signal, cancelled });
      });
    });
    if (pid !== undefined) spec.signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** First executable named `name` on PATH (as the child would see it), or undefined. */
export function findExecutable(name: string, env: Record<string, string>): string | undefined {
  if (isAbsolute(name)) return isExecutable(name) ? name : undefined;
  const path = env.PATH ?? env.Path ?? process.env.PATH ?? '';
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
