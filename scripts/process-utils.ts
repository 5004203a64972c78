import { type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

export type ExitInfo = { code: number | null; signal: NodeJS.Signals | null };

/** Asks the kernel for a free TCP port on loopback. Racy by nature, but good enough for local stacks and tests. */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

/** True when something already listens on host:port (used to turn EADDRINUSE crashes into a readable message up front). */
export async function isPortInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves when the child exits (immediately if it already has). */
export function waitForExit(child: ChildProcess): Promise<ExitInfo> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * Sends `signal` to the child — or to its whole process group when it was spawned detached,
 * so grandchildren (job scripts, shells) go down with it.
 */
export function signalChild(child: ChildProcess, signal: NodeJS.Signals, group = false): void {
  if (!isRunning(child) || child.pid === undefined) return;
  try {
    if (group && process.platform !== 'win32') process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    // Already gone between the check and the kill.
  }
}

/** SIGKILL to the process group a detached child led, even after the child itself has exited. */
export function killProcessGroup(child: ChildProcess): void {
  if (child.pid === undefined || process.platform === 'win32') return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // The group is empty already.
  }
}

/** Polite stop: `signal`, then SIGKILL (to the group when `group`) after `graceMs` (Infinity: never). */
export async function stopChild(
  child: ChildProcess,
  options: { signal?: NodeJS.Signals; graceMs?: number; group?: boolean } = {},
): Promise<ExitInfo> {
  const { signal = 'SIGTERM', graceMs = 10_000, group = false } = options;
  const exited = waitForExit(child);
  if (!isRunning(child)) return exited;
  signalChild(child, signal, false);
  // Infinity: wait as long as it takes (an agent draining its job); setTimeout would fire at once.
  const timer = Number.isFinite(graceMs) ? setTimeout(() => signalChild(child, 'SIGKILL', group), graceMs) : null;
  try {
    return await exited;
  } finally {
    if (timer) clearTimeout(timer);
    // Grandchildren of a detached child can outlive it; make sure the group is empty. Not through
    // signalChild: it skips a child that has exited, and by now this one has.
    if (group) killProcessGroup(child);
  }
}

/** Last `maxBytes` of a file, for error messages that point at a crash. */
export function tailFile(file: string, maxBytes = 4000): string {
  try {
    const stat = fs.statSync(file);
    const start = Math.max(0, stat.size - maxBytes);
    const fd = fs.openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(stat.size - start);
      fs.readSync(fd, buffer, 0, buffer.length, start);
      return buffer.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Uniform base62 string (rejection sampling avoids the modulo bias of `byte % 62`). */
export function randomBase62(length: number, randomBytes: (size: number) => Buffer): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

/** This process's environment for a Bellows child: without VITEST_*, which would make server code believe it runs inside vitest. */
export function inheritedEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
}
