// Lists, held values and generated data: array-add, array-append, array-get, freeze, stream-cache,
// random-number, random-stream, and the test node with one port of every type.
//
// Lists are plain arrays that are never changed in place: array-add and array-append return a new
// list, so a value that freeze holds (or that a data node produced) stays what it was.

import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { NodeError, data, describeError, exec, staticPorts, type NodeContext, type NodeDef } from '../act-node-def';
import { DataStream, decodeBytes, isMap, toBool, toFloat, toInt, toList, toText, typeName } from '../act-values';
import { arrayItems, inputLabel, requiredStream } from './node-helpers';

// ---- indexable values ----------------------------------------------------------------------------

/**
 * What an `indexable` input holds: a list, a text (indexed by byte, as in the reference) or bytes.
 * A stream is read into bytes.
 */
type Indexable = { kind: 'list'; items: unknown[] } | { kind: 'text'; text: string } | { kind: 'bytes'; bytes: Buffer };

async function toIndexable(value: unknown, what: string): Promise<Indexable> {
  // Not copied: appendAll makes the new list, and lists are never changed in place.
  if (Array.isArray(value)) return { kind: 'list', items: value };
  if (typeof value === 'string') return { kind: 'text', text: value };
  if (Buffer.isBuffer(value)) return { kind: 'bytes', bytes: value };
  if (value instanceof DataStream) {
    try {
      return { kind: 'bytes', bytes: await value.readAll() };
    } catch (error) {
      throw new NodeError(`failed to read the stream at ${what}: ${describeError(error)}`);
    }
  }
  throw new NodeError(`unsupported type '${typeName(value)}' at ${what}: expected a list, a string or bytes`);
}

/** A byte for a byte list: the reference converts the item to uint8. */
function toByte(item: unknown, what: string): number {
  const byte = toInt(item, what);
  if (byte < 0 || byte > 255) throw new NodeError(`failed to add item to array: ${byte} does not fit in a byte (${what})`);
  return byte;
}

/** The items of an indexable as separate values, for array-append's second input. */
function itemsOf(source: Indexable): unknown[] {
  switch (source.kind) {
    case 'list':
      return source.items;
    // The reference appends a string's bytes as numbers ("ab" + "cd" gives "ab99100"); its
    // characters are what anyone means, so a text contributes its characters.
    case 'text':
      return Array.from(source.text);
    case 'bytes':
      return [...source.bytes.values()];
  }
}

/**
 * `target` with the items of `source` added at its end, as a new value. Each result is built in one step:
 * adding bytes one concat at a time made appending N numbers to a byte list O(N²).
 */
async function appendAll(target: Indexable, source: Indexable, what: string): Promise<Indexable> {
  if (target.kind === 'text' && source.kind === 'text') return { kind: 'text', text: target.text + source.text };
  if (target.kind === 'bytes' && source.kind === 'bytes') return { kind: 'bytes', bytes: Buffer.concat([target.bytes, source.bytes]) };
  const items = itemsOf(source);
  switch (target.kind) {
    case 'list':
      return { kind: 'list', items: target.items.concat(items) };
    case 'text': {
      const parts = [target.text];
      for (const item of items) parts.push(await toText(item, what));
      return { kind: 'text', text: parts.join('') };
    }
    case 'bytes':
      return { kind: 'bytes', bytes: Buffer.concat([target.bytes, Buffer.from(items.map((item) => toByte(item, what)))]) };
  }
}

/** `target` with `item` added at its end. */
const appendItem = (target: Indexable, item: unknown, what: string): Promise<Indexable> => appendAll(target, { kind: 'list', items: [item] }, what);

function indexableValue(value: Indexable): unknown {
  return value.kind === 'list' ? value.items : value.kind === 'text' ? value.text : value.bytes;
}

/** The length the reference reports: items of a list, bytes of a text or byte list. */
function indexableLength(value: Indexable): number {
  return value.kind === 'list' ? value.items.length : value.kind === 'text' ? Buffer.byteLength(value.text) : value.bytes.length;
}

const arrayAdd: NodeDef = {
  type: 'core/array-add@v1',
  ports: staticPorts([exec('exec'), data('array', 'indexable'), data('item', 'unknown')], [exec('exec'), data('array', 'unknown'), data('index', 'number')]),
  async execute(ctx) {
    const array = await toIndexable(await ctx.read('array'), inputLabel(ctx, 'array'));
    const item = await ctx.read('item');
    const result = await appendItem(array, item, inputLabel(ctx, 'item'));
    ctx.set('array', indexableValue(result));
    ctx.set('index', indexableLength(result) - 1);
    return 'exec';
  },
};

const arrayAppend: NodeDef = {
  type: 'core/array-append@v1',
  ports: staticPorts([exec('exec'), data('array1', 'indexable'), data('array2', 'indexable')], [exec('exec'), data('array', 'unknown')]),
  async execute(ctx) {
    const first = await toIndexable(await ctx.read('array1'), inputLabel(ctx, 'array1'));
    const second = await toIndexable(await ctx.read('array2'), inputLabel(ctx, 'array2'));
    ctx.set('array', indexableValue(await appendAll(first, second, inputLabel(ctx, 'array2'))));
    return 'exec';
  },
};

/**
 * What an unchecked out-of-range read gives: the reference returns the zero value of the list's
 * element type ("" for a list of strings). Lists here carry no element type, so it is inferred from
 * the items; a mixed or empty list has no zero value, which reads as "no value" downstream, as there.
 */
function zeroItem(items: readonly unknown[] | Buffer): unknown {
  if (Buffer.isBuffer(items)) return 0;
  if (items.length === 0) return undefined;
  if (items.every((item) => typeof item === 'string')) return '';
  if (items.every((item) => typeof item === 'number')) return 0;
  if (items.every((item) => typeof item === 'boolean')) return false;
  return undefined;
}

const arrayGet: NodeDef = {
  type: 'core/array-get@v1',
  ports: staticPorts([data('array', 'unknown'), data('index', 'number'), data('bound_check', 'bool', { default: true })], [data('result', 'unknown')]),
  async evaluate(ctx) {
    const array = await ctx.read('array');
    const index = await ctx.int('index');
    const boundCheck = await ctx.bool('bound_check');
    if (!Array.isArray(array) && !Buffer.isBuffer(array)) throw new NodeError(`input is not an array or slice (input 'array' holds ${typeName(array)})`);
    if (index < 0 || index >= array.length) {
      if (boundCheck) throw new NodeError(`index out of bounds: ${index} (the array has ${array.length} item${array.length === 1 ? '' : 's'})`);
      return zeroItem(array);
    }
    return array[index];
  },
};

const freeze: NodeDef = {
  type: 'core/freeze@v1',
  ports: staticPorts(
    [exec('exec', { required: true }), data('init', 'unknown'), data('replace', 'unknown'), exec('exec-reset')],
    [exec('exec'), data('value', 'unknown')],
  ),
  // exec-reset arrives while the freeze's own exec path is still running (array-add → exec-reset
  // inside the loop the freeze started): it only swaps the held value.
  signalInputs: ['exec-reset'],
  async execute(ctx, input) {
    if (input === 'exec-reset') {
      ctx.set('value', await ctx.read('replace'));
      return;
    }
    if (input !== 'exec') throw new NodeError(`unknown input '${input}'`);
    ctx.set('value', await ctx.read('init'));
    return 'exec';
  },
};

// ---- stream-cache --------------------------------------------------------------------------------

const STREAM_TEXTS = 'stream texts';

/**
 * The text of the stream at input `stream`, read once per stream: a second read of the same stream
 * (another consumer, a later step) gets the same text rather than the nothing a spent stream holds.
 */
async function cachedStreamText(ctx: NodeContext): Promise<string> {
  const stream = await requiredStream(ctx, 'stream');
  let texts = ctx.memory.get(STREAM_TEXTS) as WeakMap<DataStream, string> | undefined;
  if (!texts) ctx.memory.set(STREAM_TEXTS, (texts = new WeakMap()));
  const known = texts.get(stream);
  if (known !== undefined) return known;
  let bytes: Buffer;
  try {
    bytes = await stream.readAll();
  } catch (error) {
    throw new NodeError(`failed to read input stream: ${describeError(error)}`);
  }
  const text = decodeBytes(bytes);
  texts.set(stream, text);
  return text;
}

// The reference's node was a data node first and gained exec ports later; graphs use it both ways.
const streamCache: NodeDef = {
  type: 'core/stream-cache@v1',
  ports: staticPorts([exec('exec'), data('stream', 'stream', { required: true })], [exec('exec-success'), data('result', 'string')]),
  async execute(ctx) {
    ctx.set('result', await cachedStreamText(ctx));
    return 'exec-success';
  },
  async evaluate(ctx) {
    return cachedStreamText(ctx);
  },
};

// ---- random values -------------------------------------------------------------------------------

/**
 * A small seedable generator (sfc32, state filled by splitmix32 from the seed's two 32-bit halves).
 * The reference uses Go's math/rand, so a seeded sequence here differs from the reference's: it is
 * deterministic per seed (the same seed gives the same numbers on every run), which is what a seed
 * is for. Unseeded use draws the state from the operating system's random source.
 */
class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: bigint | undefined) {
    const words = seed === undefined ? randomWords() : seedWords(seed);
    [this.a, this.b, this.c, this.d] = words;
    // Let the state move away from the seed before the first value is used.
    for (let i = 0; i < 12; i++) this.next32();
  }

  next32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1) with 53 random bits. */
  float(): number {
    const high = this.next32() >>> 5;
    const low = this.next32() >>> 6;
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }
}

function randomWords(): [number, number, number, number] {
  const bytes = randomBytes(16);
  return [bytes.readInt32LE(0), bytes.readInt32LE(4), bytes.readInt32LE(8), bytes.readInt32LE(12)];
}

function seedWords(seed: bigint): [number, number, number, number] {
  const bits = BigInt.asUintN(64, seed);
  let state = Number(bits & 0xffffffffn) ^ Math.imul(Number(bits >> 32n), 0x9e3779b1);
  const next = (): number => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) | 0;
  };
  return [next(), next(), next(), next()];
}

/** A seed input as the reference reads it (an int64); integers beyond 2^53 keep their low bits. */
async function seedInput(ctx: NodeContext): Promise<bigint> {
  return BigInt(await ctx.int('seed'));
}

type NumberSource = { seed: bigint | undefined; random: SeededRandom };
const NUMBER_SOURCE = 'random source';

/**
 * The next random number of this node. As in the reference, a node keeps one generator: seeded, its
 * executions walk through one deterministic sequence (a loop prints different numbers, the same ones
 * on every run). A changed seed starts that seed's sequence (the reference keeps its first generator). Seed -1 means a random sequence; so does
 * a seed that is not set at all (the reference would read it as seed 0, a fixed sequence, which
 * contradicts its own "-1 for true randomness" where the editor writes -1 for new nodes).
 */
async function nextRandomNumber(ctx: NodeContext): Promise<number> {
  const min = await ctx.float('min');
  const max = await ctx.float('max');
  const seeded = ctx.hasValue('seed') ? await seedInput(ctx) : -1n;
  const seed = seeded === -1n ? undefined : seeded;
  let source = ctx.memory.get(NUMBER_SOURCE) as NumberSource | undefined;
  if (!source || source.seed !== seed) {
    source = { seed, random: new SeededRandom(seed) };
    ctx.memory.set(NUMBER_SOURCE, source);
  }
  return min + source.random.float() * (max - min);
}

const randomNumber: NodeDef = {
  type: 'core/random-number@v1',
  ports: staticPorts([exec('exec'), data('min', 'number'), data('max', 'number'), data('seed', 'number')], [exec('exec-success'), data('number', 'number')]),
  async execute(ctx) {
    ctx.set('number', await nextRandomNumber(ctx));
    return 'exec-success';
  },
  async evaluate(ctx) {
    return nextRandomNumber(ctx);
  },
};

const CHARACTER_SETS = [
  ['include_numbers', '0123456789'],
  ['include_characters', 'abcdefghijklmnopqrstuvwxyz'],
  ['include_uppercase', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'],
  ['include_special', '!@#$%^&*()-_=+[]{}|;:\'",.<>?/\\`~'],
] as const;

const CHUNK = 64 * 1024;

/**
 * A stream of `length` characters drawn from the chosen sets, produced as it is read (a long
 * stream is never held in memory). The same seed gives the same stream on every execution.
 */
async function randomStream(ctx: NodeContext): Promise<DataStream> {
  const length = Math.max(0, await ctx.int('length'));
  let pool = '';
  for (const [port, characters] of CHARACTER_SETS) if (await ctx.bool(port)) pool += characters;
  // The reference panics (the process crashes) when no set is chosen.
  if (pool === '') throw new NodeError('no character sets selected: set at least one of include_numbers, include_characters, include_uppercase, include_special');
  // The reference treats 0 as "random" in its code and -1 as "random" in its documentation; both are
  // random here, as is a seed that is not set.
  const seed = ctx.hasValue('seed') ? await seedInput(ctx) : 0n;
  const random = new SeededRandom(seed === 0n || seed === -1n ? undefined : seed);
  const signal = ctx.signal;
  function* chunks(): Generator<Buffer> {
    for (let produced = 0; produced < length && !signal.aborted; ) {
      const size = Math.min(CHUNK, length - produced);
      const chunk = Buffer.allocUnsafe(size);
      for (let i = 0; i < size; i++) chunk[i] = pool.charCodeAt(random.below(pool.length));
      produced += size;
      yield chunk;
    }
  }
  const warn = (): void => ctx.warnOnce(`the stream of node ${ctx.path} was read more than once; a stream is readable once, so later readers got nothing (read it through core/stream-cache@v1)`);
  return new DataStream(Readable.from(chunks(), { objectMode: false }), length, `random-stream ${ctx.path}`, warn);
}

const randomStreamNode: NodeDef = {
  type: 'core/random-stream@v1',
  ports: staticPorts(
    [
      exec('exec'),
      data('length', 'number'),
      data('include_numbers', 'bool'),
      data('include_characters', 'bool'),
      data('include_uppercase', 'bool'),
      data('include_special', 'bool'),
      data('seed', 'number'),
    ],
    [exec('exec-success'), data('stream', 'stream')],
  ),
  async execute(ctx) {
    ctx.set('stream', await randomStream(ctx));
    return 'exec-success';
  },
  async evaluate(ctx) {
    return randomStream(ctx);
  },
};

// ---- core/test@v1 --------------------------------------------------------------------------------

const TEST_SUFFIX = '-foo123';

/**
 * The reference's test node has an input and an output of every port type; its outputs carry what
 * the reference's Go tests place into its output cache, so a graph reading them fails there. Graphs
 * here have no such back door, so each output gives its input of the same kind, converted as an input
 * of that type converts: a graph can send a value of any type through and see what arrives.
 */
const TEST_OUTPUTS: Record<string, (ctx: NodeContext) => Promise<unknown>> = {
  output_bool: (ctx) => ctx.bool(`input_bool${TEST_SUFFIX}`),
  output_number: (ctx) => ctx.float(`input_number${TEST_SUFFIX}`),
  output_string: (ctx) => ctx.string(`input_string${TEST_SUFFIX}`),
  output_array_number: async (ctx) => toList(await ctx.read(`input_array_number${TEST_SUFFIX}`), toFloat, `input 'input_array_number${TEST_SUFFIX}'`),
  output_array_bool: async (ctx) => toList(await ctx.read(`input_array_bool${TEST_SUFFIX}`), toBool, `input 'input_array_bool${TEST_SUFFIX}'`),
  output_slice_string: (ctx) => ctx.strings(`input_slice_string${TEST_SUFFIX}`),
  output_any: (ctx) => ctx.read(`input_any${TEST_SUFFIX}`),
  output_stream: (ctx) => ctx.stream(`input_stream${TEST_SUFFIX}`),
  output_storage_provider: (ctx) => ctx.read(`input_storage_provider${TEST_SUFFIX}`),
  output_map_string_int32: async (ctx) => int32Map(ctx),
  output_array_string: (ctx) => arrayItems(ctx, `input_array_string${TEST_SUFFIX}`, toText),
};

async function int32Map(ctx: NodeContext): Promise<Record<string, number>> {
  const port = `input_map_string_int32${TEST_SUFFIX}`;
  if (!ctx.hasValue(port)) return {};
  const value = await ctx.read(port);
  if (!isMap(value)) throw new NodeError(`cannot convert '${typeName(value)}' to map[string]int32 at input '${port}'`);
  const out: Record<string, number> = {};
  for (const [key, item] of Object.entries(value)) {
    const number = toInt(item, `input '${port}' key ${key}`);
    if (number < -2147483648 || number > 2147483647) throw new NodeError(`value ${number} of key ${key} at input '${port}' does not fit in an int32`);
    out[key] = number;
  }
  return out;
}

const testNode: NodeDef = {
  type: 'core/test@v1',
  ports: staticPorts(
    [
      data(`input_bool${TEST_SUFFIX}`, 'bool'),
      data(`input_number${TEST_SUFFIX}`, 'number'),
      data(`input_string${TEST_SUFFIX}`, 'string'),
      data(`input_array_bool${TEST_SUFFIX}`, '[]bool'),
      data(`input_array_number${TEST_SUFFIX}`, '[]number'),
      data(`input_array_string${TEST_SUFFIX}`, 'string', { array: true }),
      data(`input_any${TEST_SUFFIX}`, 'any'),
      data(`input_iterable${TEST_SUFFIX}`, 'iterable'),
      data(`input_stream${TEST_SUFFIX}`, 'stream'),
      data(`input_storage_provider${TEST_SUFFIX}`, 'storage-provider'),
      data(`input_secret${TEST_SUFFIX}`, 'secret'),
      data(`input_slice_string${TEST_SUFFIX}`, '[]string'),
      data(`input_map_string_int32${TEST_SUFFIX}`, 'map[string]int32'),
    ],
    [
      data(`output_bool${TEST_SUFFIX}`, 'bool'),
      data(`output_number${TEST_SUFFIX}`, 'number'),
      data(`output_string${TEST_SUFFIX}`, 'string'),
      data(`output_array_number${TEST_SUFFIX}`, '[]number'),
      data(`output_array_bool${TEST_SUFFIX}`, '[]bool'),
      data(`output_slice_string${TEST_SUFFIX}`, '[]string'),
      data(`output_any${TEST_SUFFIX}`, 'unknown'),
      data(`output_stream${TEST_SUFFIX}`, 'stream'),
      data(`output_storage_provider${TEST_SUFFIX}`, 'storage-provider'),
      data(`output_map_string_int32${TEST_SUFFIX}`, 'map[string]int32'),
      data(`output_array_string${TEST_SUFFIX}`, 'string', { array: true }),
    ],
  ),
  async evaluate(ctx, port) {
    const output = port.endsWith(TEST_SUFFIX) ? TEST_OUTPUTS[port.slice(0, -TEST_SUFFIX.length)] : undefined;
    if (!output) throw new NodeError(`unknown output id: '${port}'`);
    return output(ctx);
  },
};

export const collectionNodes: readonly NodeDef[] = [arrayAdd, arrayAppend, arrayGet, freeze, streamCache, randomNumber, randomStreamNode, testNode];
