// What one graph run reports to its host: output (line-buffered per node and stream), the set of
// executing nodes and node states. Host callbacks are shielded: a throwing callback must not break the run.

import { LineSplitter } from '../line-splitter';
import { runnerContext, type ExpressionContext } from './act-expressions';
import type { ActHost, ActOutput, NodeState } from './act-types';

type Stream = 'stdout' | 'stderr';

export class RunState {
  private readonly active = new Map<string, number>();
  private lastActive: string | undefined;
  private readonly splitters = new Map<string, LineSplitter>();

  private steps = 0;
  private readonly warned = new Set<string>();
  private readonly cleanups: Array<() => Promise<void> | void> = [];
  /** Run inputs by lower-cased name: the reference lower-cases input names, and so do `${{ inputs.X }}` lookups. */
  private readonly inputs: Map<string, string>;
  /** The graph's secrets: the host's, plus those core/secret-set@v1 adds while it runs. */
  readonly secrets: Record<string, string>;
  /**
   * The parts of the `${{ }}` context that are the same for every read in this run (the path's env and
   * the group's inputs are added per read). `secrets` is the live map, so secret-set's additions show.
   */
  readonly expressions: Omit<ExpressionContext, 'input' | 'env'>;

  constructor(readonly host: ActHost) {
    this.secrets = { ...host.secrets };
    this.inputs = new Map(Object.entries(host.inputs).map(([name, value]) => [name.toLowerCase(), value]));
    this.expressions = {
      secrets: this.secrets,
      secret: (name) => this.secret(name),
      matrix: host.matrix ?? {},
      github: {},
      needs: host.needs ?? {},
      // From the host's environment: paths only ever merge environments derived from it (wait-for).
      runner: runnerContext(host.env),
      workDir: host.workDir,
      onMissingSecret: (name) => this.warnOnce('', `secret ${name} is not set; \${{ secrets.${name} }} reads as empty`),
    };
  }

  input(name: string): string | undefined {
    return this.inputs.get(name.toLowerCase());
  }

  /** A secret by name, for `${{ secrets.NAME }}`, secret inputs and secret-get alike (see lookupSecret). */
  secret(name: string): string | undefined {
    return lookupSecret(this.secrets, name);
  }

  /** core/secret-set@v1: later reads see it, and the host masks it from now on. */
  addSecret(name: string, value: string): void {
    this.secrets[name] = value;
    this.call(() => this.host.onSecret?.(name, value));
  }

  /** A system message printed once per run for each distinct text (a missing secret read in a loop). */
  warnOnce(path: string, text: string): void {
    if (this.warned.has(text)) return;
    this.warned.add(text);
    this.print(path, 'system', `warning: ${text}`);
  }

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

  /** Runs `cleanup` when the run ends (NodeContext.atRunEnd). */
  atEnd(cleanup: () => Promise<void> | void): void {
    this.cleanups.push(cleanup);
  }

  /** The run's cleanups, each once, all of them even when one fails (what is left is only a temp file). */
  async cleanUp(): Promise<void> {
    const cleanups = this.cleanups.splice(0);
    await Promise.all(cleanups.map(async (cleanup) => cleanup()).map((done) => done.catch(() => undefined)));
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

/**
 * The one secret lookup rule: the upper-case name first, as the reference looks up `${{ secrets.NAME }}`
 * (Bellows secret names are upper case by convention), then the exact name, then ignoring case.
 */
export function lookupSecret(secrets: Record<string, string>, name: string): string | undefined {
  const has = (key: string): boolean => Object.prototype.hasOwnProperty.call(secrets, key);
  const upper = name.toUpperCase();
  if (has(upper)) return secrets[upper];
  if (has(name)) return secrets[name];
  const found = Object.keys(secrets).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  return found === undefined ? undefined : secrets[found];
}
