// Control-flow nodes: entry, branching, sequencing, concurrency, loops, barriers, sleeping and exiting.

import { setImmediate as nextTurn } from 'node:timers/promises';
import { CancelledError, ProcessExitSignal, abortableDelay, throwIfAborted } from '../act-errors';
import { NodeFailure, data, exec, staticPorts, type NodeContext, type NodeDef } from '../act-node-def';
import { isRecord } from '../act-parser';

const start: NodeDef = {
  type: 'core/start@v1',
  ports: staticPorts([], [exec('exec'), data('args', 'string', { array: true }), data('env', 'string', { array: true }), data('stdin', 'stream')]),
  async execute(ctx) {
    ctx.set('args', []);
    ctx.set('env', Object.entries(ctx.host.env).map(([key, value]) => `${key}=${value}`));
    // Agent jobs have no stdin of their own.
    ctx.set('stdin', '');
    return 'exec';
  },
};

const branch: NodeDef = {
  type: 'core/branch@v1',
  ports: staticPorts([exec('exec'), data('condition', 'bool', { required: true })], [exec('exec-then'), exec('exec-otherwise')]),
  async execute(ctx) {
    return (await ctx.readBool('condition')) ? 'exec-then' : 'exec-otherwise';
  },
};

const sequence: NodeDef = {
  type: 'core/sequence@v1',
  ports: staticPorts([exec('exec')], [exec('exec', { array: true })]),
  async execute(ctx) {
    for (const port of ctx.arrayOutputs('exec')) await ctx.fire(port);
  },
};

const concurrentExec: NodeDef = {
  type: 'core/concurrent-exec@v1',
  ports: staticPorts([exec('exec')], [exec('exec', { array: true }), exec('exec-completed')]),
  async execute(ctx) {
    await runConcurrently(ctx, ctx.arrayOutputs('exec'));
    return 'exec-completed';
  },
};

/** Runs every path at once; the first failure (or process-exit) aborts the others and is rethrown after all end. */
async function runConcurrently(ctx: NodeContext, ports: string[]): Promise<void> {
  const siblings = new AbortController();
  const forward = (): void => siblings.abort();
  ctx.signal.addEventListener('abort', forward, { once: true });
  let first: unknown;
  try {
    await Promise.all(
      ports.map((port) =>
        ctx.fire(port, { signal: siblings.signal }).catch((error: unknown) => {
          // A CancelledError after we aborted the siblings is the consequence, not the cause.
          const consequence = error instanceof CancelledError && siblings.signal.aborted;
          if (first === undefined && !consequence) first = error;
          siblings.abort();
        }),
      ),
    );
  } finally {
    ctx.signal.removeEventListener('abort', forward);
  }
  if (first !== undefined) throw first;
  if (ctx.signal.aborted) throw new CancelledError();
}

const BREAK = 'break';

/**
 * A loop whose body is not connected (or never awaits anything) would otherwise spin through microtasks
 * only, starving timers and the abort signal: check the signal each round and yield now and then.
 */
async function loopTurn(ctx: NodeContext, round: number): Promise<void> {
  throwIfAborted(ctx.signal);
  if (round % 256 === 255) await nextTurn();
}

const forLoop: NodeDef = {
  type: 'core/for-loop@v1',
  ports: staticPorts(
    [exec('exec'), exec('exec-break'), data('first_index', 'number', { default: 0 }), data('last_index', 'number', { required: true })],
    [exec('exec-body'), data('index', 'number'), exec('exec-completed')],
  ),
  signalInputs: ['exec-break'],
  async execute(ctx, input) {
    if (input === 'exec-break') return void ctx.state.set(BREAK, true);
    ctx.state.set(BREAK, false);
    const first = Math.trunc(await ctx.readNumber('first_index'));
    const last = Math.trunc(await ctx.readNumber('last_index'));
    for (let index = first; index <= last; index++) {
      await loopTurn(ctx, index - first);
      ctx.set('index', index);
      await ctx.fire('exec-body');
      if (ctx.state.get(BREAK) === true) break;
    }
    ctx.state.set(BREAK, false);
    return 'exec-completed';
  },
};

const forEachLoop: NodeDef = {
  type: 'core/for-each-loop@v1',
  ports: staticPorts([exec('exec'), exec('exec-break'), data('input', 'iterable')], [exec('exec-body'), data('key', 'any'), data('value', 'any'), exec('exec-completed')]),
  signalInputs: ['exec-break'],
  async execute(ctx, input) {
    if (input === 'exec-break') return void ctx.state.set(BREAK, true);
    ctx.state.set(BREAK, false);
    let round = 0;
    for (const [key, value] of entriesOf(await ctx.read('input'))) {
      await loopTurn(ctx, round++);
      ctx.set('key', key);
      ctx.set('value', value);
      await ctx.fire('exec-body');
      if (ctx.state.get(BREAK) === true) break;
    }
    ctx.state.set(BREAK, false);
    return 'exec-completed';
  },
};

function entriesOf(value: unknown): Array<[unknown, unknown]> {
  if (value === undefined || value === null || value === '') return [];
  if (Array.isArray(value)) return value.map((item, index) => [index, item]);
  if (value instanceof Map) return [...value.entries()];
  if (Buffer.isBuffer(value)) return [...value.values()].map((byte, index) => [index, byte]);
  if (typeof value === 'string') return [...value].map((char, index) => [index, char]);
  if (isRecord(value)) return Object.entries(value);
  throw new NodeFailure(`input: a ${typeof value} cannot be iterated (expected an array or a map)`);
}

const waitFor: NodeDef = {
  type: 'core/wait-for@v1',
  ports: staticPorts([exec('exec'), exec('exec-reset'), data('after', 'number', { default: 1 }), data('loop', 'bool', { default: false })], [exec('exec')]),
  signalInputs: ['exec-reset'],
  async execute(ctx, input) {
    if (input === 'exec-reset') {
      ctx.state.set('count', 0);
      ctx.state.set('done', false);
      return;
    }
    // Once released (without loop) the barrier stays open-and-spent: later arrivals end their path.
    if (ctx.state.get('done') === true) return;
    const count = Number(ctx.state.get('count') ?? 0) + 1;
    const after = await ctx.readNumber('after');
    if (count < after) return void ctx.state.set('count', count);
    const loop = await ctx.readBool('loop');
    ctx.state.set('count', 0);
    ctx.state.set('done', !loop);
    return 'exec';
  },
};

const UNIT_MS: Record<string, number> = { seconds: 1000, milliseconds: 1, microseconds: 0.001 };

const sleep: NodeDef = {
  type: 'core/sleep@v1',
  ports: staticPorts(
    [exec('exec'), data('unit', 'option', { default: 'seconds', options: Object.keys(UNIT_MS) }), data('duration', 'number', { required: true })],
    [exec('exec')],
  ),
  async execute(ctx) {
    const unit = await ctx.readString('unit');
    const factor = UNIT_MS[unit];
    if (factor === undefined) throw new NodeFailure(`unit ${JSON.stringify(unit)} is not one of ${Object.keys(UNIT_MS).join(', ')}`);
    const duration = await ctx.readNumber('duration');
    if (duration < 0) throw new NodeFailure(`duration ${duration} is negative`);
    await abortableDelay(duration * factor, ctx.signal);
    return 'exec';
  },
};

const processExit: NodeDef = {
  type: 'core/process-exit@v1',
  ports: staticPorts([exec('exec'), data('code', 'number', { default: 0 })], []),
  async execute(ctx) {
    const code = Math.trunc(await ctx.readNumber('code'));
    throw new ProcessExitSignal(ctx.path, code);
  },
};

const comment: NodeDef = {
  type: 'core/comment@v1',
  ports: staticPorts([], []),
  inert: true,
};

export const flowNodes: readonly NodeDef[] = [start, branch, sequence, concurrentExec, forLoop, forEachLoop, waitFor, sleep, processExit, comment];
