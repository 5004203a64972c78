// Replaces secret values in job output before it leaves the agent. Pure, so it is cheap to test exhaustively.

const MASK = '***';

/** Shorter values would mask ordinary text ("on", "1") and make logs unreadable without protecting much. */
const MIN_SECRET_LENGTH = 3;

export type SecretMasker = {
  /** Every occurrence of every secret replaced by `***`; overlapping occurrences collapse into one mask. */
  mask(text: string): string;
  /**
   * How much of `text` can be emitted now (masked) without risking a secret that continues in text
   * not yet received: the tail from the returned index must be held back until more output arrives.
   */
  safeCut(text: string): number;
  /** Masks `value` too from now on (a secret the job made while running). */
  add(value: string): void;
};

export function createSecretMasker(values: Iterable<string>): SecretMasker {
  let secrets = normaliseSecrets(values);
  let longest = secrets.length > 0 ? secrets[0].length : 0;

  const mask = (text: string): string => {
    if (secrets.length === 0 || text.length < MIN_SECRET_LENGTH) return text;
    const ranges = findRanges(text, secrets);
    if (ranges.length === 0) return text;
    let out = '';
    let pos = 0;
    for (const [start, end] of ranges) {
      out += text.slice(pos, start) + MASK;
      pos = end;
    }
    return out + text.slice(pos);
  };

  const safeCut = (text: string): number => {
    if (secrets.length === 0) return text.length;
    let cut = text.length;
    // Earliest suffix that is a proper prefix of some secret: it may be completed by the next chunk.
    for (let p = Math.max(0, text.length - longest + 1); p < text.length; p++) {
      const tail = text.slice(p);
      if (secrets.some((s) => s.length > tail.length && s.startsWith(tail))) {
        cut = p;
        break;
      }
    }
    if (cut === text.length) return cut;
    // A complete occurrence straddling the cut would be masked in neither half, so move the cut before it.
    for (const [start, end] of findRanges(text, secrets)) {
      if (start < cut && cut < end) return start;
    }
    return cut;
  };

  const addSecret = (value: string): void => {
    secrets = normaliseSecrets([...secrets, value]);
    longest = secrets.length > 0 ? secrets[0].length : 0;
  };

  return { mask, safeCut, add: addSecret };
}

/**
 * A URL's user-info in text: all of it for http(s) and scheme-less `//…@` (a token may be the user name
 * alone), the password part for other schemes (`ssh://git:***@host`, the login is no secret). User-info
 * ends at the last `@` before the path, so `https://bob:p@ssw0rd@host/` loses all of `bob:p@ssw0rd`. A `//`
 * right after `/` or `:` starts no URL of its own (`file:///x@y` keeps its path).
 */
export function redactUrlCredentials(text: string): string {
  return text.replace(/(?<![a-z0-9+.\-/:])([a-z][a-z0-9+.-]*:)?\/\/([^\s/]*)@/gi, (whole, scheme: string | undefined, userInfo: string) => {
    if (scheme === undefined || /^https?:$/i.test(scheme)) return `${scheme ?? ''}//${MASK}@`;
    const colon = userInfo.indexOf(':');
    return colon < 0 ? whole : `${scheme}//${userInfo.slice(0, colon)}:${MASK}@`;
  });
}

/**
 * Text fit for a message: URL credentials removed (redactUrlCredentials) and every one of `secrets` masked
 * as job output is (values shorter than MIN_SECRET_LENGTH left alone, each line of a multi-line one too).
 */
export function redact(text: string, secrets: Iterable<string> = []): string {
  return createSecretMasker(secrets).mask(redactUrlCredentials(text));
}

function normaliseSecrets(values: Iterable<string>): string[] {
  const set = new Set<string>();
  for (const value of values) {
    if (typeof value !== 'string') continue;
    add(set, value);
    add(set, value.trim());
    // Output is masked line by line, so a multi-line secret (a PEM key) is only ever seen one line at a time.
    if (/[\r\n]/.test(value)) for (const line of value.split(/\r?\n|\r/)) add(set, line.trim());
  }
  return [...set].sort((a, b) => b.length - a.length);
}

function add(set: Set<string>, value: string): void {
  if (value.length >= MIN_SECRET_LENGTH) set.add(value);
}

/** Sorted, merged [start, end) ranges covered by any secret occurrence (including overlapping ones). */
function findRanges(text: string, secrets: readonly string[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (const secret of secrets) {
    if (secret.length > text.length) continue;
    for (let i = text.indexOf(secret); i !== -1; i = text.indexOf(secret, i + 1)) {
      ranges.push([i, i + secret.length]);
    }
  }
  if (ranges.length <= 1) return ranges;
  ranges.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const merged: Array<[number, number]> = [ranges[0]];
  for (let i = 1; i < ranges.length; i++) {
    const last = merged[merged.length - 1];
    const [start, end] = ranges[i];
    if (start < last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}
