// The child supervision every launcher shares (npm start, npm run cluster, the test harness, the bench):
// spawning a process with its log file, noticing a crash, waiting until it is ready, and stopping
// everything in reverse start order. Each launcher only declares what it starts (see launcher.ts).

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { builtEntry, repoRoot } from './launcher';
import { signalChild, sleep, stopChild, type ExitInfo } from './process-utils';

// Children run in their own process groups (a terminal Ctrl-C reaches only the launcher, which stops
// them in order); nobody else would kill them if the launcher went away, so it must.
const liveChildren = new Set<ChildProcess>();
process.once('exit', killAllChildren);

/** SIGKILL to every live child of every group, and to their process groups (crash of the launcher). */
export function killAllChildren(): void {
  for (const child of liveChildren) signalChild(child, 'SIGKILL', true);
}

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

// ——— Restarts ———

export type RestartPolicy = {
  /** Delay before the first restart of a streak; doubled for each further crash in the window. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** This many crashes within `windowMs` and the child is given up on (the launcher stops). */
  maxCrashes: number;
  windowMs: number;
  /** An incarnation ready for this long forgets the crashes before it: a crash a day is not a crash loop. */
  stableAfterMs: number;
};

// 0.5 s, 1 s, 2 s, 4 s: a killed worker is back within a couple of seconds, and a crash loop reaches
// its fifth crash well inside the minute (7.5 s of delays plus four start-ups of ~2-10 s each).
export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialDelayMs: 500, maxDelayMs: 8000, maxCrashes: 5, windowMs: 60_000, stableAfterMs: 30_000 };

export type RestartDecision = { kind: 'restart'; delayMs: number; crashes: number } | { kind: 'give_up'; crashes: number; windowMs: number };

/**
 * What to do about a crash at `now`, given the crash times of the current streak (this one included):
 * restart after a backoff growing with the crashes in the window, or give up at the `maxCrashes`th.
 */
export function restartDecision(crashTimes: readonly number[], now: number, policy: RestartPolicy = DEFAULT_RESTART_POLICY): RestartDecision {
  const crashes = crashTimes.filter((at) => at <= now && now - at < policy.windowMs).length;
  if (crashes >= policy.maxCrashes) return { kind: 'give_up', crashes, windowMs: policy.windowMs };
  const delayMs = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, crashes - 1));
  return { kind: 'restart', delayMs, crashes };
}

/**
 * The crash history after a crash at `now` of an incarnation that was ready for `upForMs` (0: it never
 * got ready): forgotten when it stayed up `stableAfterMs`, crashes older than the window dropped.
 */
export function recordCrash(crashTimes: readonly number[], now: number, upForMs: number, policy: RestartPolicy = DEFAULT_RESTART_POLICY): number[] {
  const kept = upForMs >= policy.stableAfterMs ? [] : crashTimes.filter((at) => now - at < policy.windowMs);
  return [...kept, now];
}

/** What supervision events say about the process they are about: a SupervisedChild or a SupervisedService. */
export type Supervisee = { name: string; label: string; describeOutput(): string };

/** One supervised process's crashes: when its incarnation got ready, and the crashes of its current streak. */
export class CrashStreak {
  private crashTimes: number[] = [];
  /** When the current incarnation got ready; null while starting or after a crash. */
  private readyAt: number | null = null;

  constructor(private readonly policy: RestartPolicy) {}

  ready(now = Date.now()): void {
    this.readyAt = now;
  }

  /** Records a crash at `now` and says what to do about it (recordCrash, then restartDecision). */
  crash(now = Date.now()): RestartDecision {
    this.crashTimes = recordCrash(this.crashTimes, now, this.readyAt === null ? 0 : now - this.readyAt, this.policy);
    this.readyAt = null;
    return restartDecision(this.crashTimes, now, this.policy);
  }
}

/** What the supervisor did about a child: a launcher prints each as one line (describeSupervision). */
export type SupervisionEvent =
  | { kind: 'restarting'; child: Supervisee; cause: string; delayMs: number; crashes: number }
  | { kind: 'restarted'; child: Supervisee; readyMs: number; restarts: number }
  | { kind: 'give_up'; child: Supervisee; cause: string; crashes: number; windowMs: number };

/**
 * The launcher's one line for an event, without the child's prefix: `exited unexpectedly (SIGKILL);
 * restarting in 1 s`. `consequence` ("shutting the stack down") ends the first line, before a give-up's
 * last lines of output.
 */
export function describeSupervision(event: SupervisionEvent, consequence?: string): string {
  const text = describeEvent(event);
  if (!consequence) return text;
  const [first, ...lastLines] = text.split('\n');
  return [`${first.replace(/:$/, '')}; ${consequence}`, ...lastLines].join('\n');
}

function describeEvent(event: SupervisionEvent): string {
  switch (event.kind) {
    case 'restarting':
      return `${event.cause}; restarting in ${seconds(event.delayMs)}${event.crashes > 1 ? ` (crash ${event.crashes} within a minute)` : ''}`;
    case 'restarted':
      return `restarted, ready in ${seconds(event.readyMs)}`;
    case 'give_up':
      return `${event.cause}: ${event.crashes} crashes within ${seconds(event.windowMs)}, giving up on ${event.child.label}${event.child.describeOutput()}`;
  }
}

export type WaitUntilOptions = {
  timeoutMs: number;
  intervalMs?: number;
  /** Aborting rejects the wait at its next poll. */
  signal?: AbortSignal;
  /** A reason to give up before the timeout (the process being waited for has exited). */
  failIf?: () => string | null;
  /** The error message on timeout; `lastError` is what the check last threw, if it threw. */
  timeoutMessage: (lastError: unknown) => string;
};

/** Polls `check` until it returns something truthy; a throw counts as "not yet" and is kept for the timeout message. */
export async function waitUntil<T>(check: () => T | Promise<T>, options: WaitUntilOptions): Promise<NonNullable<T>> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    options.signal?.throwIfAborted();
    const failure = options.failIf?.();
    if (failure) throw new Error(failure);
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
      lastError = null;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) throw new Error(options.timeoutMessage(lastError));
    await sleep(options.intervalMs ?? 200);
  }
}

export type Readiness = {
  /** What the child does once ready, completing "<child> did not …": `answer http://…/api/v1/health`. */
  what: string;
  /** Truthy once ready; a throw counts as not yet. `spawnedAt` lets it ignore what an earlier incarnation left. */
  check: (child: SupervisedChild, spawnedAt: number) => unknown;
  timeoutMs?: number;
  intervalMs?: number;
};

/** Ready once `url` answers 200. */
export function httpReady(url: string, options: { timeoutMs?: number; intervalMs?: number } = {}): Readiness {
  return {
    what: `answer ${url}`,
    check: async () => {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.status !== 200) throw new Error(`${response.status} ${(await response.text()).slice(0, 300)}`);
      return true;
    },
    ...options,
  };
}

/** Ready once the child's output (this incarnation's) matches `pattern`. */
export function lineReady(pattern: RegExp | string, options: { timeoutMs?: number } = {}): Readiness {
  return {
    what: `print ${String(pattern)}`,
    check: (child) => (typeof pattern === 'string' ? child.output().includes(pattern) : pattern.test(child.output())),
    ...options,
  };
}

/** Ready once `check` is truthy: a task queue polled, a registration seen. */
export function conditionReady(what: string, check: Readiness['check'], options: { timeoutMs?: number; intervalMs?: number } = {}): Readiness {
  return { what, check, ...options };
}

export type ChildSpec = {
  name: string;
  /** How messages name it ("the API"); default the name. */
  label?: string;
  /** Free tag for the launcher's callbacks (a role: api, worker, agent). */
  role?: string;
  /** Children of the same role added one after another stop together (in parallel) instead of one by one. */
  stopTogether?: boolean;
  /** A built script under dist/ run with this Node (`src/main.js`); or `command` for another binary. */
  entry?: string;
  command?: string;
  args?: string[];
  /** The child's whole environment (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Default <group logDir>/<name>.log; null (or no logDir) keeps no log file. */
  logFile?: string | null;
  ready?: Readiness;
  /** Aborting stops a readiness wait. */
  signal?: AbortSignal;
  /** SIGTERM, then SIGKILL to the process group after this long (default: the group's). */
  graceMs?: number;
  /** Pass its output lines to the group's onLine (default true). */
  echo?: boolean;
  /** The polite stop signal (default SIGTERM; PostgreSQL's fast shutdown is SIGINT). */
  stopSignal?: NodeJS.Signals;
  /** Run as this user (PostgreSQL as `postgres` when the launcher is root). */
  uid?: number;
  gid?: number;
  /** Restart it when it crashes (default: the group's `supervise`). */
  restart?: boolean;
};

export type ChildGroupOptions = {
  logDir?: string;
  /** Own process groups (default true): signals from the terminal reach only the launcher. */
  detached?: boolean;
  /** Default 10 s. */
  graceMs?: number;
  /** How much output each incarnation keeps in memory (default 1 MB). */
  maxCapture?: number;
  onLine?: (child: SupervisedChild, line: string, stream: 'stdout' | 'stderr') => void;
  /** A child exited without being asked to (not during start(), kill(), stop() or stopAll()); called for supervised children too. */
  onUnexpectedExit?: (child: SupervisedChild, info: ExitInfo) => void;
  /** Restart children that crash, with backoff (`true`: DEFAULT_RESTART_POLICY). Default off. */
  supervise?: boolean | Partial<RestartPolicy>;
  /** Every spawn (first start and restarts): a launcher keeps its pids file current. */
  onSpawn?: (child: SupervisedChild) => void;
  /** A restart scheduled, a restart ready, a child given up on (then the launcher should stop). */
  onSupervision?: (event: SupervisionEvent) => void;
  /** A stop step failed; stopAll() goes on with the others. Default: a line on stderr. */
  onStopError?: (name: string, error: Error) => void;
};

/** One supervised process; start() again after an exit starts a new incarnation with the same log file. */
export class SupervisedChild {
  readonly name: string;
  readonly label: string;
  readonly role: string | undefined;
  readonly logFile: string | null;
  private child: ChildProcess | null = null;
  private ended = true;
  private spawnError: string | null = null;
  private captured = '';
  private exit: Promise<ExitInfo> = Promise.resolve({ code: null, signal: null });
  private expectedExit = false;
  // An exit during start() is start()'s failure, reported by its rejection, not as a crash.
  private starting = false;
  private restartCount = 0;
  private readonly streak: CrashStreak;
  // Bumped by every kill(), stop() and start() from outside: a restart scheduled before it is off.
  private intent = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private restartAttempt: Promise<void> | null = null;
  private readonly listeners = new Set<(event: SupervisionEvent) => void>();

  constructor(
    private readonly spec: ChildSpec,
    private readonly group: ChildGroup,
  ) {
    this.name = spec.name;
    this.label = spec.label ?? spec.name;
    this.role = spec.role;
    this.logFile = spec.logFile === undefined ? (group.logDir ? path.join(group.logDir, `${spec.name}.log`) : null) : spec.logFile;
    this.streak = new CrashStreak(group.restartPolicy ?? DEFAULT_RESTART_POLICY);
  }

  pid(): number | undefined {
    return this.child?.pid;
  }

  running(): boolean {
    return this.child !== null && !this.ended;
  }

  /** What this incarnation wrote to stdout and stderr (the most recent maxCapture bytes). */
  output(): string {
    return this.captured;
  }

  /** The last `count` lines of output, for error messages. */
  lastLines(count = 30): string {
    const lines = this.captured.replace(/\n$/, '').split('\n');
    return lines.slice(-count).join('\n').slice(-4000);
  }

  /** Resolves when this incarnation exits. */
  exited(): Promise<ExitInfo> {
    return this.exit;
  }

  /**
   * Spawns a new incarnation and resolves once it is ready; stops it again when it does not get there.
   * A restart the supervisor has scheduled is called off; one under way is waited for (and kept if it works).
   */
  async start(options: { ready?: Readiness | null } = {}): Promise<void> {
    this.callOffRestart();
    if (this.restartAttempt) {
      await this.restartAttempt;
      if (this.running()) return;
    }
    await this.startIncarnation(options);
  }

  /** Sends `signal` to the process only (a crash, a restart test) and resolves when it has exited; no restart follows. */
  kill(signal: NodeJS.Signals): Promise<ExitInfo> {
    this.callOffRestart();
    if (!this.running() || !this.child) return this.exit;
    this.expectedExit = true;
    signalChild(this.child, signal, false);
    return this.exit;
  }

  /** The stop signal (SIGTERM unless the spec says otherwise), then SIGKILL to its process group after `graceMs` (Infinity: never); no restart follows. */
  stop(graceMs = this.spec.graceMs ?? this.group.graceMs): Promise<ExitInfo> {
    this.callOffRestart();
    return this.stopIncarnation(graceMs);
  }

  /** stop() without calling off a restart: a restart whose incarnation did not get ready goes on trying. */
  private stopIncarnation(graceMs: number): Promise<ExitInfo> {
    if (!this.running() || !this.child) return this.exit;
    this.expectedExit = true;
    const exit = this.exit;
    // Resolves with the incarnation's end (output read, log closed), which comes just after the process's exit.
    return stopChild(this.child, { signal: this.spec.stopSignal ?? 'SIGTERM', graceMs, group: this.group.detached }).then(() => exit);
  }

  /** How many times the supervisor restarted it after a crash (successful restarts only). */
  restarts(): number {
    return this.restartCount;
  }

  /** Every supervision event of this child from now on; returns the unsubscribe. */
  onSupervision(listener: (event: SupervisionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves once the supervisor has restarted it `count` times in all (restarts() before a kill, plus one)
   * and the restart is ready; rejects when it gives up on the child or after `timeoutMs`.
   */
  waitRestarted(count: number, timeoutMs = 120_000): Promise<void> {
    if (this.restartCount >= count && this.running()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (error: Error | null): void => {
        clearTimeout(timer);
        off();
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(() => done(new Error(`${this.label} was not restarted ${count} time(s) within ${seconds(timeoutMs)} (restarts so far: ${this.restartCount})`)), timeoutMs);
      const off = this.onSupervision((event) => {
        if (event.kind === 'restarted' && event.restarts >= count) done(null);
        else if (event.kind === 'give_up') done(new Error(`${this.label} ${describeSupervision(event)}`));
      });
    });
  }

  private get supervised(): boolean {
    return this.spec.restart ?? this.group.restartPolicy !== null;
  }

  private async startIncarnation(options: { ready?: Readiness | null } = {}): Promise<void> {
    if (this.running()) throw new Error(`${this.label} is already running`);
    const spawnedAt = Date.now();
    this.starting = true;
    try {
      this.spawnOnce();
      const ready = options.ready === undefined ? this.spec.ready : options.ready;
      if (ready) await this.waitReady(ready, spawnedAt);
      this.streak.ready();
    } catch (error) {
      await this.stopIncarnation(2000);
      throw error;
    } finally {
      this.starting = false;
    }
  }

  /** A kill(), stop() or start() from outside: a scheduled restart is dropped, one under way ends quietly if it fails. */
  callOffRestart(): void {
    this.intent++;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }

  private emit(event: SupervisionEvent): void {
    this.group.options.onSupervision?.(event);
    for (const listener of this.listeners) listener(event);
  }

  /** A crash (an unexpected exit, or a restart that did not get ready): restart after the backoff, or give up. */
  private crashed(cause: string): void {
    const decision = this.streak.crash();
    if (decision.kind === 'give_up') {
      this.emit({ kind: 'give_up', child: this, cause, crashes: decision.crashes, windowMs: decision.windowMs });
      return;
    }
    this.emit({ kind: 'restarting', child: this, cause, delayMs: decision.delayMs, crashes: decision.crashes });
    const intent = this.intent;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (intent !== this.intent || this.group.stopping) return;
      this.restartAttempt = this.restartNow(intent).finally(() => {
        this.restartAttempt = null;
      });
    }, decision.delayMs);
  }

  private async restartNow(intent: number): Promise<void> {
    const begun = Date.now();
    try {
      await this.startIncarnation();
    } catch (error) {
      if (intent !== this.intent || this.group.stopping) return;
      const message = error instanceof Error ? error.message : String(error);
      this.crashed(`restart failed: ${message.split('\n')[0].replace(/; (its last lines|it printed nothing).*$/, '')}`);
      return;
    }
    this.restartCount++;
    this.emit({ kind: 'restarted', child: this, readyMs: Date.now() - begun, restarts: this.restartCount });
  }

  /** "its last lines (log: x):\n…", or nothing when it printed nothing. */
  describeOutput(): string {
    const where = this.logFile ? ` (log: ${this.logFile})` : '';
    return this.captured ? `; its last lines${where}:\n${this.lastLines()}` : `; it printed nothing${where}`;
  }

  private async waitReady(ready: Readiness, spawnedAt: number): Promise<void> {
    const timeoutMs = ready.timeoutMs ?? 60_000;
    await waitUntil(() => ready.check(this, spawnedAt), {
      timeoutMs,
      intervalMs: ready.intervalMs,
      signal: this.spec.signal,
      failIf: () => (this.running() ? null : `${this.label} exited during startup (${this.describeExit()})${this.describeOutput()}`),
      timeoutMessage: (lastError) =>
        `${this.label} did not ${ready.what} within ${seconds(timeoutMs)}${lastError ? ` (last error: ${(lastError as Error).message ?? String(lastError)})` : ''}${this.describeOutput()}`,
    });
  }

  private describeExit(): string {
    const child = this.child;
    if (!child) return 'never started';
    if (this.spawnError) return `failed to spawn: ${this.spawnError}`;
    if (child.signalCode) return child.signalCode;
    return child.exitCode === null ? 'failed to spawn' : `code ${child.exitCode}`;
  }

  private spawnOnce(): void {
    const { spec, group } = this;
    const command = spec.command ?? process.execPath;
    const args = spec.entry ? [builtEntry(spec.entry), ...(spec.args ?? [])] : (spec.args ?? []);
    let log: fs.WriteStream | null = null;
    if (this.logFile) {
      fs.mkdirSync(path.dirname(this.logFile), { recursive: true });
      log = fs.createWriteStream(this.logFile, { flags: 'a' });
      const shown = spec.entry ? `node ${path.relative(repoRoot, args[0])} ${args.slice(1).join(' ')}` : `${path.basename(command)} ${args.join(' ')}`;
      log.write(`--- ${new Date().toISOString()} ${spec.name} starting: ${shown}\n`);
    }
    const child = spawn(command, args, {
      cwd: repoRoot,
      env: spec.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: group.detached,
      ...(spec.uid === undefined ? {} : { uid: spec.uid }),
      ...(spec.gid === undefined ? {} : { gid: spec.gid }),
    });
    this.child = child;
    this.ended = false;
    this.spawnError = null;
    this.captured = '';
    this.expectedExit = false;
    liveChildren.add(child);
    group.options.onSpawn?.(this);
    const capture = (text: string): void => {
      this.captured += text;
      if (this.captured.length > group.maxCapture) this.captured = this.captured.slice(-group.maxCapture);
    };
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = child[stream];
      if (!source) continue;
      source.on('data', (chunk: Buffer) => {
        log?.write(chunk);
        capture(chunk.toString('utf8'));
      });
      const onLine = group.options.onLine;
      if (onLine && spec.echo !== false) readline.createInterface({ input: source, crlfDelay: Infinity }).on('line', (line) => onLine(this, line, stream));
    }
    this.exit = new Promise<ExitInfo>((resolve) => {
      let done = false;
      const ended = (info: ExitInfo, note: string): void => {
        if (done) return;
        done = true;
        liveChildren.delete(child);
        const ending = log;
        log = null;
        ending?.end(`--- ${new Date().toISOString()} ${spec.name} ${note}\n`);
        const crashed = this.child === child && !this.expectedExit && !this.starting && !group.stopping;
        if (this.child === child) this.ended = true;
        resolve(info);
        if (crashed) {
          group.options.onUnexpectedExit?.(this, info);
          if (this.supervised) this.crashed(`exited unexpectedly (${info.signal ?? (info.code === null ? 'failed to spawn' : `code ${info.code}`)})`);
        }
      };
      // A spawn failure (ENOENT, EACCES) may come without an exit event.
      child.once('error', (error) => {
        capture(`spawn error: ${error.message}\n`);
        if (child.pid === undefined) this.spawnError = error.message;
        if (child.pid === undefined) ended({ code: null, signal: null }, `failed to start: ${error.message}`);
      });
      child.once('exit', (code, signal) => {
        // 'exit' can come before the last output is read; 'close' comes after it, unless a grandchild
        // still holds the pipes open (a job an agent started), so do not wait for it long.
        const finish = (): void => ended({ code, signal }, `exited (${signal ?? `code ${code}`})`);
        const timer = setTimeout(finish, 500);
        timer.unref();
        child.once('close', () => {
          clearTimeout(timer);
          finish();
        });
      });
    });
  }
}

type StopStep = { name: string; run: () => Promise<unknown>; together?: string };

/**
 * The processes (and other resources: servers, pools, databases) a launcher started, stopped by
 * stopAll() in reverse order of registration — later ones depend on earlier ones — going on past
 * a step that fails, so nothing is left running.
 */
export class ChildGroup {
  readonly logDir: string | undefined;
  readonly detached: boolean;
  readonly graceMs: number;
  readonly maxCapture: number;
  /** null: crashes are only reported (onUnexpectedExit), never restarted (unless a child's spec says restart). */
  readonly restartPolicy: RestartPolicy | null;
  private readonly steps: StopStep[] = [];
  private readonly children: SupervisedChild[] = [];
  private stopped: Promise<void> | null = null;

  constructor(readonly options: ChildGroupOptions = {}) {
    this.logDir = options.logDir;
    this.detached = options.detached ?? true;
    this.graceMs = options.graceMs ?? 10_000;
    this.maxCapture = options.maxCapture ?? 1024 * 1024;
    const supervise = options.supervise ?? false;
    this.restartPolicy = supervise === false ? null : { ...DEFAULT_RESTART_POLICY, ...(supervise === true ? {} : supervise) };
  }

  /** The children declared so far, in start order. */
  list(): readonly SupervisedChild[] {
    return this.children;
  }

  /** True once stopAll() began: exits from then on are expected. */
  get stopping(): boolean {
    return this.stopped !== null;
  }

  /** Declares a child (registered for stopAll() right away) without starting it. */
  add(spec: ChildSpec): SupervisedChild {
    const child = new SupervisedChild(spec, this);
    this.children.push(child);
    this.steps.push({ name: child.label, run: () => child.stop(), together: spec.stopTogether ? (spec.role ?? spec.name) : undefined });
    return child;
  }

  /** add() and start(): resolves once the child is ready. */
  async start(spec: ChildSpec): Promise<SupervisedChild> {
    const child = this.add(spec);
    await child.start();
    return child;
  }

  /** Something else to stop in the same sequence (a server, a pool, a database to drop). */
  defer(name: string, run: () => Promise<unknown>): void {
    this.steps.push({ name, run });
  }

  /** SIGKILL to every running child now, without waiting (a second Ctrl-C). */
  killAll(): void {
    for (const child of this.children) void child.kill('SIGKILL');
  }

  /** Every step in reverse order; runs once, later calls wait for the same run. */
  stopAll(): Promise<void> {
    return (this.stopped ??= (async () => {
      for (const child of this.children) child.callOffRestart();
      while (this.steps.length) {
        const last = this.steps.pop()!;
        const batch = [last];
        while (last.together && this.steps.at(-1)?.together === last.together) batch.push(this.steps.pop()!);
        await Promise.all(batch.map((step) => step.run().catch((error: unknown) => this.reportStopError(step.name, error))));
      }
    })());
  }

  private reportStopError(name: string, error: unknown): void {
    const failure = error instanceof Error ? error : new Error(String(error));
    if (this.options.onStopError) this.options.onStopError(name, failure);
    else process.stderr.write(`stopping ${name} failed: ${failure.message}\n`);
  }
}

/**
 * Ctrl-C for a launcher in a terminal: the first signal stops, copies relayed within 2 s (npm, the
 * shell and bootstrap.js all pass the same Ctrl-C on) are ignored, a deliberate later one is `again`.
 */
export function onStopSignals(handlers: { stopping: () => boolean; stop: (signal: NodeJS.Signals) => void; again: (signal: NodeJS.Signals) => void }): void {
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!handlers.stopping()) {
      firstSignalAt = Date.now();
      handlers.stop(signal);
      return;
    }
    if (Date.now() - firstSignalAt < 2000) return;
    handlers.again(signal);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
}

// ——— Services started by a function ———

/** A server started by a function of its own (embedded PostgreSQL, the Temporal dev server): what supervision needs of it. */
export type ServiceHandle = { exited: Promise<void>; stop(): Promise<void> };

export type SupervisedServiceOptions<T extends ServiceHandle> = {
  name: string;
  label: string;
  /** Where it writes; named when it is given up on. */
  logFile: string;
  /** Starts an incarnation and resolves once it is ready (the same data dir and port every time). */
  start: () => Promise<T>;
  policy?: RestartPolicy;
  onSupervision: (event: SupervisionEvent) => void;
  /** True while the launcher shuts down: an exit then is expected. */
  stopping: () => boolean;
};

/**
 * ChildGroup's restart rules for a server that a start function spawns (and readies) itself: each
 * unexpected exit starts it again after the backoff of restartDecision, a start that fails counts as
 * a crash, and the fifth crash within a minute is a give-up. `current` is the incarnation serving now.
 */
export class SupervisedService<T extends ServiceHandle> implements Supervisee {
  readonly name: string;
  readonly label: string;
  current: T | null = null;
  private readonly streak: CrashStreak;
  private restartCount = 0;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: SupervisedServiceOptions<T>) {
    this.name = options.name;
    this.label = options.label;
    this.streak = new CrashStreak(options.policy ?? DEFAULT_RESTART_POLICY);
  }

  async start(): Promise<T> {
    return this.adopt(await this.options.start());
  }

  /** Supervises an incarnation started outside (the cluster's first PostgreSQL, restarted once for its settings). */
  adopt(incarnation: T): T {
    this.watch(incarnation);
    return incarnation;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.current?.stop();
  }

  restarts(): number {
    return this.restartCount;
  }

  describeOutput(): string {
    return ` (log: ${this.options.logFile})`;
  }

  private watch(incarnation: T): void {
    this.current = incarnation;
    this.streak.ready();
    void incarnation.exited.then(() => {
      if (this.current === incarnation && !this.stopped && !this.options.stopping()) this.crashed('exited unexpectedly');
    });
  }

  private crashed(cause: string): void {
    const decision = this.streak.crash();
    if (decision.kind === 'give_up') {
      this.options.onSupervision({ kind: 'give_up', child: this, cause, crashes: decision.crashes, windowMs: decision.windowMs });
      return;
    }
    this.options.onSupervision({ kind: 'restarting', child: this, cause, delayMs: decision.delayMs, crashes: decision.crashes });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.stopped || this.options.stopping()) return;
      const begun = Date.now();
      this.options.start().then(
        (incarnation) => {
          // Stopped while it started: nobody else will stop this one.
          if (this.stopped || this.options.stopping()) return void incarnation.stop();
          this.restartCount++;
          this.watch(incarnation);
          this.options.onSupervision({ kind: 'restarted', child: this, readyMs: Date.now() - begun, restarts: this.restartCount });
        },
        (error: unknown) => {
          if (this.stopped || this.options.stopping()) return;
          this.crashed(`restart failed: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`);
        },
      );
    }, decision.delayMs);
  }
}
