// Value coercion between ports. Graph values are plain JS values: strings, numbers, booleans, arrays,
// maps (objects) and Buffers (file contents, so binary data survives file-read → hash/file-write).

import { NodeFailure, type ValueType } from './act-node-def';

export function zeroValue(type: ValueType, array = false): unknown {
  if (array) return [];
  switch (type) {
    case 'number':
      return 0;
    case 'bool':
      return false;
    case 'iterable':
      return [];
    default:
      return '';
  }
}

export function toText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return String(value);
  }
}

export function toNumber(value: unknown, what: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === undefined || value === null) return 0;
  const text = toText(value).trim();
  const parsed = text === '' ? NaN : Number(text);
  if (Number.isNaN(parsed)) throw new NodeFailure(`${what}: ${JSON.stringify(text)} is not a number`);
  return parsed;
}

export function toBool(value: unknown, what: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (value === undefined || value === null) return false;
  const text = toText(value).trim().toLowerCase();
  if (text === 'true' || text === '1' || text === 'yes' || text === 'on') return true;
  if (text === 'false' || text === '0' || text === 'no' || text === 'off' || text === '') return false;
  throw new NodeFailure(`${what}: ${JSON.stringify(text)} is not a boolean`);
}

export function coerce(value: unknown, type: ValueType, what: string): unknown {
  switch (type) {
    case 'string':
    case 'secret':
    case 'option':
      return toText(value);
    case 'number':
      return toNumber(value, what);
    case 'bool':
      return toBool(value, what);
    default:
      return value;
  }
}
