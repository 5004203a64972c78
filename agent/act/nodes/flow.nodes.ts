// Control-flow nodes: entry, branching, sequencing, loops, concurrency, barriers, platform switches,
// sleeping and exiting.

import { delimiter } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { CancelledError, ProcessExitSignal, abortableDelay, throwIfAborted } from '../act-errors';
import type { ExecState } from '../act-exec-state';
import { NodeError, data, exec, option, staticPorts, type NodeContext, type NodeDef } from '../act-node-def';
import { parsePort } from '../act-ports';
import { DataStream, toEntries } from '../act-values';

const start: NodeDef = {
  type: 'core/start@v1',
  entry: true,
  ports: staticPorts([], [exec('exec'), data('args', '[]string'), data('env', '[]string'), data('stdin', 'stream')]),
  async execute(ctx) {
    ctx.set('args', [...(ctx.host.args ?? [])]);
    ctx.set('env', Object.entries(ctx.host.env).map(([name, value]) => `${name}=${value}`));
    // Agent jobs have no stdin of their own.
    ctx.set('stdin', new DataStream(''));
    return 'exec';
  },
};

const branch: NodeDef = {
  type: 'core/branch@v1',
  ports: staticPorts([exec('exec'), data('condition', 'bool')], [exec('exec-then'), exec('exec-otherwise')]),
  async execute(ctx) {
    return (await ctx.bool('condition')) ? 'exec-then' : 'exec-otherwise';
  },
};

const sequence: NodeDef = {
  type: 'core/sequence@v1',
  ports: staticPorts([exec('exec')], [exec('exec', { array: true })]),
  async execute(ctx) {
    for (const port of ctx.arrayOutputs('exec')) await ctx.fire(port);
  },
};

/**
 * Runs tasks at once, `workers` at a time, each on a fresh child execution state. The first failure
 * stops the others (their paths are aborted) and is rethrown once all have ended.
 */
async function runConcurrently<T>(ctx: NodeContext, tasks: Iterable<T>, workers: number, run: (task: T, state: ExecState) => Promise<void>): Promise<void> {
  const queue = tasks[Symbol.iterator]();
  let first: unknown;
  await ctx.state.withChild(async (batch) => {
    const worker = async (): Promise<void> => {
      for (let next = queue.next(); !next.done; next = queue.next()) {
        if (batch.signal.aborted) return;
        const task = next.value;
        try {
          await batch.withChild((state) => run(task, state));
        } catch (error) {
          // A CancelledError after a sibling failed is the consequence, not the cause.
          if (first === undefined && !(error instanceof CancelledError && batch.signal.aborted)) first = error;
          batch.cancel();
          return;
        }
      }
    };
    const count = ctx.host.concurrency === false ? 1 : Math.max(1, workers);
    await Promise.all(Array.from({ length: count }, worker));
  });
  if (first !== undefined) throw first;
  if (ctx.signal.aborted) throw new CancelledError();
}

const concurrentExec: NodeDef = {
  type: 'core/concurrent-exec@v1',
  ports: staticPorts([exec('exec')], [exec('exec', { array: true }), exec('exec-completed')]),
  async execute(ctx) {
    const ports = ctx.arrayOutputs('exec');
    await runConcurrently(ctx, ports, ports.length, (port, state) => ctx.fire(port, { state }));
    return 'exec-completed';
  },
};

const BREAK = 'stop';

/**
 * A loop whose body is not connected (or never awaits anything) would spin through microtasks only,
 * starving timers and the abort signal: check the signal each round and yield now and then.
 */
async function loopTurn(ctx: NodeContext, round: number): Promise<void> {
  throwIfAborted(ctx.signal);
  if (round % 256 === 255) await nextTurn();
}

const forLoop: NodeDef = {
  type: 'core/for-loop@v1',
  ports: staticPorts(
    [exec('exec', { required: true }), exec('exec-break'), data('first_index', 'number'), data('last_index', 'number')],
    [exec('exec-body'), data('index', 'number'), exec('exec-completed')],
  ),
  signalInputs: ['exec-break'],
  async execute(ctx, input) {
    if (input === 'exec-break') return void ctx.memory.set(BREAK, true);
    ctx.memory.set(BREAK, false);
    const first = await ctx.int('first_index');
    const last = await ctx.int('last_index');
    // As in the reference, an empty range ends the path without exec-completed.
    if (first > last) return;
    if (ctx.isConnected('exec-body')) {
      for (let index = first; index <= last && ctx.memory.get(BREAK) !== true; index++) {
        await loopTurn(ctx, index - first);
        ctx.set('index', index);
        await ctx.fire('exec-body');
      }
    }
    return 'exec-completed';
  },
};

const forEachLoop: NodeDef = {
  type: 'core/for-each-loop@v1',
  ports: staticPorts([exec('exec', { required: true }), exec('exec-break'), data('input', 'iterable')], [exec('exec-body'), data('key', 'unknown'), data('value', 'unknown'), exec('exec-completed')]),
  signalInputs: ['exec-break'],
  async execute(ctx, input) {
    if (input === 'exec-break') return void ctx.memory.set(BREAK, true);
    ctx.memory.set(BREAK, false);
    const entries = await toEntries(await ctx.read('input'), `input 'input' of node ${ctx.path}`);
    let round = 0;
    for (const [key, value] of entries) {
      if (ctx.memory.get(BREAK) === true) break;
      await loopTurn(ctx, round++);
      ctx.set('key', key);
      ctx.set('value', value);
      await ctx.fire('exec-body');
    }
    return 'exec-completed';
  },
};

const concurrentForLoop: NodeDef = {
  type: 'core/concurrent-for-loop@v1',
  ports: staticPorts(
    [exec('exec'), data('first_index', 'number'), data('last_index', 'number'), data('worker_count', 'number')],
    [exec('exec-body'), data('index', 'number'), exec('exec-completed')],
  ),
  async execute(ctx) {
    const first = await ctx.int('first_index');
    const last = await ctx.int('last_index');
    const requested = await ctx.int('worker_count');
    if (first > last) return;
    const count = last - first + 1;
    // 0 workers means every iteration at once.
    const workers = requested <= 0 ? count : Math.min(requested, count);
    if (ctx.isConnected('exec-body')) {
      const indices = Array.from({ length: count }, (_, i) => first + i);
      await runConcurrently(ctx, indices, workers, async (index, state) => {
        ctx.set('index', index, state);
        await ctx.fire('exec-body', { state });
      });
    }
    return 'exec-completed';
  },
};

const concurrentForEachLoop: NodeDef = {
  type: 'core/concurrent-for-each-loop@v1',
  ports: staticPorts(
    [exec('exec'), data('input', 'iterable'), data('worker_count', 'number')],
    [exec('exec-body'), data('key', 'unknown'), data('value', 'unknown'), exec('exec-completed')],
  ),
  async execute(ctx) {
    const entries = await toEntries(await ctx.read('input'), `input 'input' of node ${ctx.path}`);
    const requested = await ctx.int('worker_count');
    // The reference waits forever with 0 workers; Bellows reads 0 as "all at once", like concurrent-for-loop.
    const workers = requested <= 0 ? entries.length : Math.min(requested, entries.length);
    await runConcurrently(ctx, entries, workers, async ([key, value], state) => {
      ctx.set('key', key, state);
      ctx.set('value', value, state);
      await ctx.fire('exec-body', { state });
    });
    return 'exec-completed';
  },
};

const selectExec: NodeDef = {
  type: 'core/select-exec@v1',
  ports: staticPorts([exec('exec', { array: true })], [exec('exec'), data('index', 'number')]),
  async execute(ctx, input) {
    const { base, index } = parsePort(input);
    if (base !== 'exec' || index === undefined) throw new NodeError(`invalid input id: ${input}`);
    ctx.set('index', index);
    return 'exec';
  },
};

const waitFor: NodeDef = {
  type: 'core/wait-for@v1',
  ports: staticPorts([exec('exec', { required: true }), exec('exec-reset'), data('after', 'number'), data('loop', 'bool', { default: false })], [exec('exec')]),
  signalInputs: ['exec-reset'],
  async execute(ctx, input) {
    if (input !== 'exec') {
      ctx.memory.set('remaining', -1);
      ctx.memory.set('env', {});
      return;
    }
    const loop = await ctx.bool('loop');
    const after = await ctx.int('after');
    let remaining = (ctx.memory.get('remaining') as number | undefined) ?? -1;
    if (remaining === -1) remaining = after;
    else if (remaining === 0) {
      // Released once already: without loop, later arrivals end their path here.
      if (!loop) return;
      remaining = after;
    }
    remaining--;
    ctx.memory.set('remaining', remaining);
    // Each arriving path's environment is merged, so variables set on any path are seen after the barrier.
    const merged = mergeEnv(ctx.state.env, (ctx.memory.get('env') as Record<string, string> | undefined) ?? {});
    if (remaining > 0) {
      ctx.memory.set('env', merged);
      return;
    }
    ctx.memory.set('env', {});
    ctx.state.env = merged;
    return 'exec';
  },
};

/** `overlay` on top of `base`; PATH values are joined (overlay first) rather than replaced. */
function mergeEnv(overlay: Record<string, string>, base: Record<string, string>): Record<string, string> {
  const out = { ...base };
  for (const [name, value] of Object.entries(overlay)) {
    if (name === 'PATH' && out[name]) {
      // The platform's separator: ';' on Windows, where ':' is part of every drive letter.
      const parts = [...value.split(delimiter), ...out[name].split(delimiter)].filter((part) => part !== '');
      out[name] = [...new Set(parts)].join(delimiter);
    } else out[name] = value;
  }
  return out;
}

const UNIT_MS: Record<string, number> = { seconds: 1000, milliseconds: 1, microseconds: 0.001 };

const sleep: NodeDef = {
  type: 'core/sleep@v1',
  ports: staticPorts([exec('exec'), option('unit', ['seconds', 'milliseconds', 'microseconds'], 'seconds'), data('duration', 'number')], [exec('exec')]),
  async execute(ctx) {
    const duration = await ctx.int('duration');
    const unit = await ctx.string('unit');
    const factor = UNIT_MS[unit];
    if (factor === undefined) throw new NodeError(`invalid unit ${JSON.stringify(unit)} (seconds, milliseconds or microseconds)`);
    await abortableDelay(duration * factor, ctx.signal);
    return 'exec';
  },
};

const processExit: NodeDef = {
  type: 'core/process-exit@v1',
  ports: staticPorts([exec('exec'), data('code', 'number')], []),
  async execute(ctx) {
    throw new ProcessExitSignal(ctx.path, await ctx.int('code'));
  },
};

const comment: NodeDef = {
  type: 'core/comment@v1',
  ports: staticPorts([data('markdown', 'string')], []),
  inert: true,
};

const PLATFORM_PORTS: Record<string, string> = { win32: 'exec-win', darwin: 'exec-macos', linux: 'exec-linux' };

const switchPlatform: NodeDef = {
  type: 'core/switch-platform@v1',
  ports: staticPorts([exec('exec')], [exec('exec-win'), exec('exec-macos'), exec('exec-linux')]),
  async execute() {
    const port = PLATFORM_PORTS[process.platform];
    if (!port) throw new NodeError(`unsupported platform: ${process.platform}`);
    return port;
  },
};

const ARCH_PORTS: Record<string, string> = { x64: 'exec-x64', arm64: 'exec-arm64' };

const switchArch: NodeDef = {
  type: 'core/switch-arch@v1',
  ports: staticPorts([exec('exec')], [exec('exec-x64'), exec('exec-arm64')]),
  async execute() {
    const port = ARCH_PORTS[process.arch];
    if (!port) throw new NodeError(`unsupported architecture: ${process.arch}`);
    return port;
  },
};

export const flowNodes: readonly NodeDef[] = [
  start,
  branch,
  sequence,
  concurrentExec,
  forLoop,
  forEachLoop,
  concurrentForLoop,
  concurrentForEachLoop,
  selectExec,
  waitFor,
  sleep,
  processExit,
  comment,
  switchPlatform,
  switchArch,
];
