// Pure data nodes: no exec ports, evaluated again for every read.

import { createHash, getHashes } from 'node:crypto';
import { lookup } from '../act-expressions';
import { NodeFailure, data, staticPorts, type NodeDef, type ValueType } from '../act-node-def';
import { isRecord } from '../act-parser';
import { toBool, toNumber, toText } from '../act-values';

const constant = (name: string, type: ValueType): NodeDef => ({
  type: `core/${name}@v1`,
  ports: staticPorts([data('value', type)], [data('result', type)]),
  async evaluate(ctx) {
    return { result: await ctx.read('value') };
  },
});

const stringFmt: NodeDef = {
  type: 'core/string-fmt@v1',
  ports: staticPorts([data('fmt', 'string'), data('substitutes', 'any', { array: true })], [data('result', 'string')]),
  async evaluate(ctx) {
    return { result: format(await ctx.readString('fmt'), await ctx.readArray('substitutes')) };
  },
};

/** printf-style formatting with the verbs graphs use: %s %v %d %f %q %t and %%. */
export function format(fmt: string, values: readonly unknown[]): string {
  let next = 0;
  return fmt.replace(/%(\.\d+)?([svdfqt%])/g, (whole: string, precision: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    if (next >= values.length) return `%!${verb}(MISSING)`;
    const value = values[next++];
    switch (verb) {
      case 'd': {
        const number = Number(toText(value));
        return Number.isFinite(number) ? String(Math.trunc(number)) : `%!d(${toText(value)})`;
      }
      case 'f': {
        const number = Number(toText(value));
        return Number.isFinite(number) ? number.toFixed(precision ? Number(precision.slice(1)) : 6) : `%!f(${toText(value)})`;
      }
      case 'q':
        return JSON.stringify(toText(value));
      default:
        return toText(value);
    }
  });
}

const MATCH_OPS = ['contains', 'notcontains', 'startswith', 'endswith', 'equals', 'regex'] as const;

const stringMatch: NodeDef = {
  type: 'core/string-match@v1',
  ports: staticPorts([data('str1', 'string'), data('op', 'option', { default: 'contains', options: MATCH_OPS }), data('str2', 'string')], [data('result', 'bool')]),
  async evaluate(ctx) {
    const str1 = await ctx.readString('str1');
    const op = await ctx.readString('op');
    const str2 = await ctx.readString('str2');
    return { result: match(str1, op, str2) };
  },
};

function match(str1: string, op: string, str2: string): boolean {
  switch (op) {
    case 'contains':
      return str1.includes(str2);
    case 'notcontains':
      return !str1.includes(str2);
    case 'startswith':
      return str1.startsWith(str2);
    case 'endswith':
      return str1.endsWith(str2);
    case 'equals':
      return str1 === str2;
    case 'regex':
      try {
        return new RegExp(str2).test(str1);
      } catch (error) {
        throw new NodeFailure(`str2 is not a valid regular expression: ${(error as Error).message}`);
      }
    default:
      throw new NodeFailure(`op ${JSON.stringify(op)} is not one of ${MATCH_OPS.join(', ')}`);
  }
}

const envGet: NodeDef = {
  type: 'core/env-get@v1',
  ports: staticPorts([data('env', 'string', { required: true })], [data('env', 'string')]),
  async evaluate(ctx) {
    return { env: ctx.host.env[await ctx.readString('env')] ?? '' };
  },
};

const envArray: NodeDef = {
  type: 'core/env-array@v1',
  ports: staticPorts([data('env', 'string', { array: true })], [data('env', 'string', { array: true })]),
  async evaluate(ctx) {
    // Empty slots are what the editor leaves behind for an unused row; they are not variables.
    return { env: (await ctx.readArray('env')).map(toText).filter((entry) => entry.trim() !== '') };
  },
};

const secret: NodeDef = {
  type: 'core/secret@v1',
  ports: staticPorts([data('name', 'secret', { required: true }), data('prefix', 'string')], [data('secret', 'secret')]),
  async evaluate(ctx) {
    const name = await ctx.readString('name');
    const value = lookup(ctx.host.secrets, name);
    if (value === undefined) throw new NodeFailure(`secret ${JSON.stringify(name)} is not set`);
    // The prefix exists to build env entries such as `TOKEN=<value>`.
    return { secret: (await ctx.readString('prefix')) + value };
  },
};

const mathAdd: NodeDef = {
  type: 'core/math-add@v1',
  ports: staticPorts([data('inputs', 'number', { array: true })], [data('result', 'number')]),
  async evaluate(ctx) {
    const values = await ctx.readArray('inputs');
    return { result: values.reduce<number>((sum, value, i) => sum + toNumber(value, `inputs[${i}]`), 0) };
  },
};

const COMPARE_OPS = ['>', '<', '>=', '<=', '==', '!='] as const;

const mathCompare: NodeDef = {
  type: 'core/math-compare-op@v1',
  ports: staticPorts([data('op1', 'number'), data('operator', 'option', { default: '==', options: COMPARE_OPS }), data('op2', 'number')], [data('result', 'bool')]),
  async evaluate(ctx) {
    const a = await ctx.readNumber('op1');
    const operator = await ctx.readString('operator');
    const b = await ctx.readNumber('op2');
    const results: Record<string, boolean> = { '>': a > b, '<': a < b, '>=': a >= b, '<=': a <= b, '==': a === b, '!=': a !== b };
    const result = results[operator];
    if (result === undefined) throw new NodeFailure(`operator ${JSON.stringify(operator)} is not one of ${COMPARE_OPS.join(' ')}`);
    return { result };
  },
};

const length: NodeDef = {
  type: 'core/length@v1',
  ports: staticPorts([data('input', 'any')], [data('result', 'number')]),
  async evaluate(ctx) {
    const value = await ctx.read('input');
    if (value === undefined || value === null) return { result: 0 };
    if (typeof value === 'string' || Array.isArray(value) || Buffer.isBuffer(value)) return { result: value.length };
    if (value instanceof Map) return { result: value.size };
    if (isRecord(value)) return { result: Object.keys(value).length };
    return { result: toText(value).length };
  },
};

const boolReduce = (name: string, reduce: (values: boolean[]) => boolean): NodeDef => ({
  type: `core/${name}@v1`,
  ports: staticPorts([data('inputs', 'bool', { array: true })], [data('result', 'bool')]),
  async evaluate(ctx) {
    const values = (await ctx.readArray('inputs')).map((value, i) => toBool(value, `inputs[${i}]`));
    return { result: reduce(values) };
  },
});

/** Graph spellings → node:crypto names; anything else is tried as given. */
const HASH_NAMES: Record<string, string> = {
  sha3_256: 'sha3-256',
  sha3_384: 'sha3-384',
  sha3_512: 'sha3-512',
  blake2b512: 'blake2b512',
};

const hash: NodeDef = {
  type: 'core/hash@v1',
  ports: staticPorts([data('algorithm', 'option', { default: 'sha256' }), data('input', 'any', { required: true })], [data('result', 'string')]),
  async evaluate(ctx) {
    const algorithm = (await ctx.readString('algorithm')).toLowerCase();
    const input = await ctx.read('input');
    const bytes = Buffer.isBuffer(input) ? input : Buffer.from(toText(input), 'utf8');
    if (algorithm === 'crc32') return { result: crc32(bytes).toString(16).padStart(8, '0') };
    const name = HASH_NAMES[algorithm] ?? algorithm;
    if (!getHashes().includes(name)) throw new NodeFailure(`algorithm ${JSON.stringify(algorithm)} is not supported (try sha256, sha1, sha512, md5, sha3_256, crc32)`);
    return { result: createHash(name).update(bytes).digest('hex') };
  },
};

let crcTable: Uint32Array | undefined;

function crc32(bytes: Buffer): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of bytes) crc = crcTable[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export const dataNodes: readonly NodeDef[] = [
  constant('const-string', 'string'),
  constant('const-number', 'number'),
  constant('const-bool', 'bool'),
  stringFmt,
  stringMatch,
  envGet,
  envArray,
  secret,
  mathAdd,
  mathCompare,
  length,
  boolReduce('bool-and', (values) => values.every(Boolean)),
  boolReduce('bool-or', (values) => values.some(Boolean)),
  hash,
];
