// Which output types a data input accepts: the reference engine refuses a graph whose connection joins
// ports that cannot convert (a `[]string` output into a `number` input, say), so Bellows does too.

/** Implicit conversions from an output type to input types (beyond identical types). */
const CASTS: Record<string, readonly string[]> = {
  bool: ['number', 'string'],
  string: ['number', 'bool', 'stream', 'indexable', 'iterable', 'option', 'secret'],
  number: ['bool', 'string', 'option'],
  secret: ['string'],
  // No `indexable`: it would work, but would silently read a whole stream into memory.
  stream: ['string', 'iterable'],
  option: ['number', 'string'],
};

/** `type` as seen on a connection: an array port addressed as a whole carries a list. */
export function connectionType(type: string, array: boolean, indexed: boolean): string {
  return array && !indexed ? `[]${type}` : type;
}

export function portsCompatible(source: string, target: string): boolean {
  if (source === target || target === 'any' || source === 'unknown' || target === 'unknown') return true;
  if (source.startsWith('[]')) {
    if (target === 'iterable' || target === 'indexable' || target === '[]any' || target === 'bool') return true;
    if (target.startsWith('[]') && portsCompatible(source.slice(2), target.slice(2))) return true;
  }
  return CASTS[source]?.includes(target) ?? false;
}
