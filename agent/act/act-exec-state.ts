// An execution state: what one line of execution sees. The graph starts with one; a node that runs paths
// concurrently (concurrent-exec, the concurrent loops) gives each path a child, so that a node inside an
// iteration reads *its* iteration's index rather than the last one written. A child sees its ancestors'
// stored outputs, never its siblings'.

type CacheKind = 'stored' | 'data';

export class ExecState {
  /** Outputs that executed nodes set (the reference's permanent cache). */
  private readonly stored = new Map<string, unknown>();
  /** Data-node results of the current step; emptied whenever this state fires an exec output. */
  private data = new Map<string, unknown>();
  private readonly controller: AbortController;
  /** Stops following the parent's signal (see release). */
  private detach: () => void = () => undefined;

  private constructor(
    readonly parent: ExecState | undefined,
    /** Environment for processes started on this path (wait-for merges it, GitHub steps would extend it). */
    public env: Record<string, string>,
    signal: AbortSignal,
  ) {
    this.controller = new AbortController();
    if (signal.aborted) {
      this.controller.abort();
      return;
    }
    const abort = (): void => this.controller.abort();
    signal.addEventListener('abort', abort, { once: true });
    this.detach = () => signal.removeEventListener('abort', abort);
  }

  /** The state a run starts in; release it when the run ends (the host's signal may outlive the run). */
  static root(env: Record<string, string>, signal: AbortSignal): ExecState {
    return new ExecState(undefined, { ...env }, signal);
  }

  /** Aborted when the graph is cancelled or this path (or an ancestor) was stopped. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Stops this path and every child (a concurrent sibling failed). */
  cancel(): void {
    this.controller.abort();
  }

  /**
   * Runs `path` in a child state, which stops following this state's signal when `path` ends: a loop
   * around concurrent-exec creates children by the thousand, and each listener left on the parent would
   * stay (and trip Node's MaxListenersExceededWarning) until the parent itself ended.
   */
  async withChild<T>(path: (child: ExecState) => Promise<T>): Promise<T> {
    const child = new ExecState(this, { ...this.env }, this.controller.signal);
    try {
      return await path(child);
    } finally {
      child.release();
    }
  }

  /** This state's path has ended: it no longer follows its parent's (or the host's) signal. */
  release(): void {
    this.detach();
    this.detach = () => undefined;
  }

  /** The value cached under `key`, searching this state and then its ancestors. */
  lookup(key: string, kind: CacheKind): { found: boolean; value?: unknown } {
    const cache = kind === 'stored' ? this.stored : this.data;
    if (cache.has(key)) return { found: true, value: cache.get(key) };
    return this.parent ? this.parent.lookup(key, kind) : { found: false };
  }

  store(key: string, value: unknown, kind: CacheKind): void {
    (kind === 'stored' ? this.stored : this.data).set(key, value);
  }

  /** Between two executed nodes every data node is evaluated afresh. */
  newStep(): void {
    if (this.data.size > 0) this.data = new Map();
  }
}
