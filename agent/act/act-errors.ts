// Control-flow exceptions of the runtime. They travel up the depth-first call chain of exec paths.

import type { NodeFailure } from './act-node-def';

/** The path was stopped: the graph was cancelled or a concurrent sibling failed. Never routed to exec-err. */
export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

/** core/process-exit@v1 ends the whole graph with a code. */
export class ProcessExitSignal extends Error {
  constructor(
    readonly node: string,
    readonly code: number,
  ) {
    super(`node ${node} (core/process-exit@v1) ended the graph with exit code ${code}`);
    this.name = 'ProcessExitSignal';
  }
}

/** A node error nobody handled (no exec-err connected): it fails the graph. */
export class GraphFailure extends Error {
  constructor(
    readonly node: string,
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'GraphFailure';
  }
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new CancelledError();
}

/** Resolves after `ms`, or rejects with CancelledError as soon as the signal aborts. */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new CancelledError());
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CancelledError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A node failure travelling along an exec-err path (it fails the graph where the path leads nowhere). */
export class RoutedFailure extends Error {
  constructor(
    readonly node: string,
    readonly failure: NodeFailure,
  ) {
    super(failure.message);
    this.name = 'RoutedFailure';
  }
}
