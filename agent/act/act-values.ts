// The values that travel along data connections, and the conversions between them.
//
// Graph values are plain JS values: strings, numbers, booleans, arrays, maps (plain objects), Buffers
// (bytes), DataStreams (bytes readable once), and a few typed objects (secrets, credentials, storage
// providers, git repositories). The conversions follow the reference engine's rules, which are Go's:
// a non-empty string is `true`, an integer input refuses "3.5", a list is not a string, and so on.

import { Readable } from 'node:stream';
import { NodeError } from './act-node-def';
import { compareGoStrings } from './nodes/node-helpers';

/** A map value (parsed JSON/YAML, property objects): a plain object with string keys. */
export type ActMap = Record<string, unknown>;

export function isMap(value: unknown): value is ActMap {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Buffer.isBuffer(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Bytes that can be read once, like an open file or an HTTP response body (the reference's "Data
 * Stream"). A second consumer gets nothing, which is why core/stream-cache@v1 exists; the runtime
 * warns when that happens instead of failing silently (GraphScope gives every stream a node outputs
 * the standard warning, unless the node gave it its own).
 */
export class DataStream {
  private source: Readable | Buffer | undefined;
  private consumed = false;
  private onReread: ((origin: string) => void) | undefined;

  constructor(
    source: Readable | Buffer | string,
    /** Size in bytes when known up front (a file, a buffer), -1 otherwise. */
    readonly length: number = typeof source === 'string' ? Buffer.byteLength(source) : Buffer.isBuffer(source) ? source.length : -1,
    /** Where the bytes come from (a file path, an object name), for messages. */
    readonly origin = '',
    onReread?: (origin: string) => void,
  ) {
    this.source = typeof source === 'string' ? Buffer.from(source, 'utf8') : source;
    this.onReread = onReread;
  }

  /**
   * What to do when the stream is read again, unless it already has a handler: a stream passed on by
   * several nodes (or set twice) keeps the first one, so the warning is given once, by its producer.
   */
  onRereadUnlessSet(handler: (origin: string) => void): void {
    this.onReread ??= handler;
  }

  get wasConsumed(): boolean {
    return this.consumed;
  }

  /** The bytes as a Node stream; afterwards the stream is spent. */
  take(): Readable {
    const source = this.claim();
    if (source === undefined) return Readable.from([]);
    return Buffer.isBuffer(source) ? Readable.from([source]) : source;
  }

  /** Every byte, read now; afterwards the stream is spent. */
  async readAll(): Promise<Buffer> {
    const source = this.claim();
    if (source === undefined) return Buffer.alloc(0);
    if (Buffer.isBuffer(source)) return source;
    const chunks: Buffer[] = [];
    for await (const chunk of source) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
    return Buffer.concat(chunks);
  }

  /** Releases an unread source (an open file handle) without reading it. */
  discard(): void {
    const source = this.source;
    this.source = undefined;
    this.consumed = true;
    if (source && !Buffer.isBuffer(source)) source.destroy();
  }

  private claim(): Readable | Buffer | undefined {
    if (this.consumed) {
      this.onReread?.(this.origin);
      return undefined;
    }
    this.consumed = true;
    const source = this.source;
    this.source = undefined;
    return source;
  }
}

/**
 * The standard warning for a stream of node `nodePath` read a second time, given through `warnOnce` (the
 * node's log, once per run). The runtime attaches it to every stream a node outputs; a node needs it
 * only for a stream it hands out some other way.
 */
export function rereadWarning(nodePath: string, warnOnce: (text: string) => void): (origin: string) => void {
  return () => warnOnce(`the stream of node ${nodePath} was read more than once; a stream is readable once, so later readers got nothing (read it through core/stream-cache@v1)`);
}

/** A resolved secret (a `secret` port gives the name; the node receives the value). */
export class SecretValue {
  constructor(readonly secret: string) {}
  toString(): string {
    return '***';
  }
}

/** A local git working tree (`git-repo` ports). */
export class GitRepository {
  constructor(readonly path: string) {}
}

// ---- Go-compatible text ---------------------------------------------------------------------------

/** Go's %v of a value: what print shows and what `${{ }}` splices into text. */
export function formatValue(value: unknown): string {
  if (value === undefined || value === null) return '<nil>';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return formatFloatG(value);
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return `[${[...value.values()].join(' ')}]`;
  if (Array.isArray(value)) return `[${value.map(formatNested).join(' ')}]`;
  if (value instanceof SecretValue) return '{***}';
  if (value instanceof GitRepository) return `{${value.path}}`;
  if (value instanceof DataStream) return `{${value.origin}}`;
  if (isMap(value)) {
    // Go's fmt prints a map's keys sorted, in byte (UTF-8) order.
    const keys = Object.keys(value).sort(compareGoStrings);
    return `map[${keys.map((key) => `${key}:${formatNested(value[key])}`).join(' ')}]`;
  }
  return String(value);
}

function formatNested(value: unknown): string {
  return value === undefined || value === null ? '<nil>' : formatValue(value);
}

/**
 * Numbers as Go's %v prints them. Integral values print as integers: JS cannot tell the reference's ints
 * from its float64s, and most integral values there are ints (indices, counts, exit codes). Other values
 * take the shortest digits, with an exponent below 1e-4 and from 1e6 on, as Go's %g does.
 */
function formatFloatG(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return Object.is(value, -0) ? '0' : value.toFixed(0);
  const [mantissa, exponentText] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent >= -4 && exponent < 6) return String(value);
  return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

/** Go's strconv.FormatFloat(f, 'f', -1, 64): no exponent, ever. */
export function formatFloatPlain(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  if (Number.isInteger(value)) return Object.is(value, -0) ? '0' : BigInt(value).toString();
  const text = String(value);
  if (!text.includes('e')) return text;
  const [mantissa, exponentText] = text.split('e');
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const point = (mantissa.replace('-', '').indexOf('.') === -1 ? mantissa.replace('-', '').length : mantissa.replace('-', '').indexOf('.')) + exponent;
  const body = point <= 0 ? `0.${'0'.repeat(-point)}${digits}` : point >= digits.length ? digits + '0'.repeat(point - digits.length) : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${body}` : body;
}

/** The reference's type names, used in conversion errors ("cannot convert '[]string' to string"). */
export function typeName(value: unknown): string {
  if (value === undefined || value === null) return '<nil>';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float64';
  if (typeof value === 'boolean') return 'bool';
  if (Buffer.isBuffer(value)) return '[]uint8';
  if (value instanceof DataStream) return 'Data Stream';
  if (value instanceof SecretValue) return 'Secret';
  if (value instanceof GitRepository) return 'Git Repo';
  if (Array.isArray(value)) {
    const kinds = new Set(value.map(typeName));
    return kinds.size === 1 ? `[]${[...kinds][0]}` : '[]interface {}';
  }
  if (isMap(value)) return 'map[string]interface {}';
  const constructorName = (value as { constructor?: { name?: string } }).constructor?.name;
  return constructorName ?? typeof value;
}

// ---- conversions ---------------------------------------------------------------------------------

/** Text from bytes: UTF-16 with a byte-order mark, UTF-8 when valid (a BOM dropped), else Windows-1252. */
export function decodeBytes(bytes: Buffer): string {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  const start = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(start));
  } catch {
    return new TextDecoder('windows-1252').decode(bytes);
  }
}

/** A value as text, or an error for what has no text form (lists, credentials). */
export async function toText(value: unknown, what = 'value'): Promise<string> {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return formatFloatPlain(value);
  if (typeof value === 'boolean') return String(value);
  if (value instanceof DataStream) return decodeBytes(await value.readAll());
  if (value instanceof SecretValue) return value.secret;
  if (Buffer.isBuffer(value)) return decodeBytes(value);
  if (isMap(value)) {
    const lines: string[] = [];
    for (const [key, item] of Object.entries(value)) lines.push(`${key}: ${await toText(item, what)}`);
    return lines.join('\n');
  }
  throw new NodeError(`cannot convert '${typeName(value)}' to string at ${what}`);
}

/** Go's truthiness for a bool input: non-empty strings, lists and maps are true; numbers unless 0. */
export function toBool(value: unknown, what = 'value'): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  if (typeof value === 'string' || Array.isArray(value) || Buffer.isBuffer(value)) return value.length > 0;
  if (isMap(value)) return Object.keys(value).length > 0;
  throw new NodeError(`cannot convert ${typeName(value)} to bool at ${what}`);
}

/** An integer input: decimal text (no fraction), a number (truncated) or a bool. */
export function toInt(value: unknown, what = 'value'): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new NodeError(`${what}: ${formatFloatG(value)} is not an integer`);
    return Math.trunc(value);
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') {
    const text = value.trim();
    if (!/^[+-]?\d+$/.test(text)) throw new NodeError(`unable to convert string to int at ${what}: strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax`);
    return Number(text);
  }
  throw new NodeError(`cannot convert from ${typeName(value)} to an integer type at ${what}`);
}

/** A float input: numeric text (Go's ParseFloat forms), a number or a bool. */
export function toFloat(value: unknown, what = 'value'): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') {
    const parsed = parseGoFloat(value.trim());
    if (parsed === undefined) throw new NodeError(`unable to convert string to float at ${what}: strconv.ParseFloat: parsing ${JSON.stringify(value.trim())}: invalid syntax`);
    return parsed;
  }
  throw new NodeError(`cannot convert from ${typeName(value)} to a float type at ${what}`);
}

function parseGoFloat(text: string): number | undefined {
  if (/^[+-]?(inf|infinity)$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (/^[+-]?0x[0-9a-f]+$/i.test(text)) return Number.parseInt(text, 16);
  if (!/^[+-]?(\d+(_\d+)*\.?\d*(_\d+)*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  return Number(text.replaceAll('_', ''));
}

/** A list input (`[]string`, `[]number` …): each item converted; a single value is not a list. */
export async function toList<T>(value: unknown, item: (element: unknown, what: string) => T | Promise<T>, what = 'value'): Promise<T[]> {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new NodeError(`expected array but got ${typeName(value)} at ${what}`);
  const out: T[] = [];
  for (const [i, element] of value.entries()) out.push(await item(element, `${what}[${i}]`));
  return out;
}

/** A stream input: a stream as is, text and bytes as a fresh stream of their bytes. */
export function toStream(value: unknown, what = 'value'): DataStream | undefined {
  if (value === undefined || value === null) return undefined;
  if (value instanceof DataStream) return value;
  if (typeof value === 'string' || Buffer.isBuffer(value)) return new DataStream(value);
  if (value instanceof SecretValue) return new DataStream(value.secret);
  throw new NodeError(`unsupported type '${typeName(value)}' at ${what}: expected a data stream`);
}

/** What for-each loops walk: [key, value] pairs of a list, a map, a string (bytes) or a stream (bytes). */
export async function toEntries(value: unknown, what = 'value'): Promise<Array<[unknown, unknown]>> {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.map((item, index) => [index, item]);
  if (isMap(value)) return Object.entries(value);
  if (typeof value === 'string') return [...Buffer.from(value, 'utf8').values()].map((byte, index) => [index, String.fromCharCode(byte)]);
  if (Buffer.isBuffer(value)) return [...value.values()].map((byte, index) => [index, byte]);
  if (value instanceof DataStream) return [...(await value.readAll()).values()].map((byte, index) => [index, byte]);
  throw new NodeError(`unsupported type '${typeName(value)}' at ${what}: expected an array, a map or a string`);
}

/** Zero values of port types, as the reference fills an input that has no value, default or connection. */
export function zeroValue(type: string): { known: boolean; value: unknown } {
  switch (type) {
    case 'bool':
      return { known: true, value: false };
    case 'number':
      return { known: true, value: 0 };
    case 'string':
    case 'secret':
      return { known: true, value: '' };
    case '[]bool':
    case '[]number':
    case '[]string':
      return { known: true, value: [] };
    case 'map[string]any':
      return { known: true, value: {} };
    case 'credentials':
    case 'any':
    case 'stream':
    case 'git-repo':
    case 'unknown':
    case 'storage-provider':
      return { known: true, value: undefined };
    default:
      return { known: false, value: undefined };
  }
}
