// What one graph run reports to its host: output (line-buffered per node and stream), the set of
// executing nodes and node states. Host callbacks are shielded: a throwing callback must not break the run.

import { LineSplitter } from '../line-splitter';
import type { ActHost, ActOutput, NodeState } from './act-types';

type Stream = 'stdout' | 'stderr';

export class RunState {
  private readonly active = new Map<string, number>();
  private lastActive: string | undefined;
  private readonly splitters = new Map<string, LineSplitter>();

  private steps = 0;

  constructor(readonly host: ActHost) {}

  /** Counts node executions (see GraphScope.execute). */
  step(): number {
    return ++this.steps;
  }

  /** A node starts (+1) or stops (-1) executing; the same node may run on several concurrent paths. */
  activate(path: string, delta: 1 | -1): void {
    const count = (this.active.get(path) ?? 0) + delta;
    if (count > 0) this.active.set(path, count);
    else this.active.delete(path);
    this.reportActive(false);
  }

  setState(path: string, state: NodeState): void {
    this.call(() => this.host.onNodeState?.(path, state));
  }

  print(path: string, stream: ActOutput['stream'], text: string): void {
    if (stream === 'system') return this.emit({ node: path, stream, text });
    const splitter = this.splitterFor(path, stream);
    for (const line of splitter.push(text)) this.emit({ node: path, stream, text: line });
  }

  /** Emits the pending partial lines of a node (its execution ended). */
  flush(path: string): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const key = `${stream}\u0000${path}`;
      const splitter = this.splitters.get(key);
      if (!splitter) continue;
      this.splitters.delete(key);
      for (const line of splitter.end()) this.emit({ node: path, stream, text: line });
    }
  }

  /** The run is over: everything flushed, and the empty active set reported once more. */
  finish(): void {
    for (const key of [...this.splitters.keys()]) this.flush(key.slice(key.indexOf('\u0000') + 1));
    this.active.clear();
    this.reportActive(true);
  }

  private splitterFor(path: string, stream: Stream): LineSplitter {
    const key = `${stream}\u0000${path}`;
    let splitter = this.splitters.get(key);
    if (!splitter) this.splitters.set(key, (splitter = new LineSplitter()));
    return splitter;
  }

  private reportActive(force: boolean): void {
    const ids = [...this.active.keys()].sort();
    const key = ids.join('\n');
    if (!force && key === this.lastActive) return;
    this.lastActive = key;
    this.call(() => this.host.onActiveNodes?.(ids));
  }

  private emit(chunk: ActOutput): void {
    this.call(() => this.host.output(chunk));
  }

  private call(callback: () => void): void {
    try {
      callback();
    } catch {
      // The host's problem; the graph keeps running and its result still reaches the caller.
    }
  }
}
