// Text: constants, Go-style formatting, matching and replacing (with Go's RE2 regular expression syntax),
// splitting and joining, case transforms, encodings, hashing and length.
//
// Graphs are written against the reference engine (Go), so where Go's standard library defines the
// behaviour (fmt.Sprintf, regexp, strings.SplitN, unicode case mapping) the code below reproduces Go's
// results on JS strings rather than using the nearest JS built-in, whose results differ in the details.

import { createHash } from 'node:crypto';
import { addAbortSignal } from 'node:stream';
import { crc32 } from 'node:zlib';
import { CancelledError } from '../act-errors';
import { NodeError, NodeFailure, data, describeError, exec, option, staticPorts, type NodeContext, type NodeDef } from '../act-node-def';
import type { ActNode } from '../act-types';
import { DataStream, isMap, toText } from '../act-values';
import { arrayItems, inputLabel, requiredStream, tableEntry } from './node-helpers';

/** The items of array input `base` as text (an item without a value is ''). */
const texts = (ctx: NodeContext, base: string): Promise<string[]> => arrayItems(ctx, base, toText);

const codePoints = (text: string): number[] => Array.from(text, (char) => char.codePointAt(0) ?? 0);
const hex = (value: number): string => value.toString(16);

// ---- constants -----------------------------------------------------------------------------------

const constString: NodeDef = {
  type: 'core/const-string@v1',
  ports: staticPorts([data('value', 'string')], [data('result', 'string')]),
  async evaluate(ctx) {
    return ctx.string('value');
  },
};

/** An integer, as the reference reads it (3.5 becomes 3, "1.5" is an error). */
const constNumber: NodeDef = {
  type: 'core/const-number@v1',
  ports: staticPorts([data('value', 'number')], [data('result', 'number')]),
  async evaluate(ctx) {
    return ctx.int('value');
  },
};

const constBool: NodeDef = {
  type: 'core/const-bool@v1',
  ports: staticPorts([data('value', 'bool')], [data('result', 'bool')]),
  async evaluate(ctx) {
    return ctx.bool('value');
  },
};

// ---- Go's fmt.Sprintf over string arguments ---------------------------------------------------------

type FmtFlags = {
  sharp: boolean;
  zero: boolean;
  plus: boolean;
  minus: boolean;
  space: boolean;
  /** %#v and %+v: Go moves `#` and `+` here for the v verb, where they mean "Go syntax". */
  sharpV: boolean;
  plusV: boolean;
  wid: number;
  widPresent: boolean;
  prec: number;
  precPresent: boolean;
};

const clearFlags = (): FmtFlags => ({ sharp: false, zero: false, plus: false, minus: false, space: false, sharpV: false, plusV: false, wid: 0, widPresent: false, prec: 0, precPresent: false });

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
const isSurrogate = (cp: number): boolean => cp >= 0xd800 && cp <= 0xdfff;

/** strconv.Quote / QuoteToASCII. */
function goQuote(text: string, asciiOnly = false): string {
  let out = '"';
  for (const char of text) {
    let cp = char.codePointAt(0) ?? 0;
    // A lone surrogate has no UTF-8 form; Go would see the replacement character.
    if (isSurrogate(cp)) cp = 0xfffd;
    if (cp === 0x22 || cp === 0x5c) {
      out += `\\${String.fromCodePoint(cp)}`;
      continue;
    }
    const printable = cp === 0x20 || PRINTABLE.test(String.fromCodePoint(cp));
    if (printable && (!asciiOnly || cp < 0x80)) {
      out += String.fromCodePoint(cp);
      continue;
    }
    const named: Record<number, string> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v' };
    if (named[cp]) out += named[cp];
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${hex(cp).padStart(2, '0')}`;
    else if (cp < 0x10000) out += `\\u${hex(cp).padStart(4, '0')}`;
    else out += `\\U${hex(cp).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/** strconv.CanBackquote: whether `text` can be written as a Go raw string. */
function canBackquote(text: string): boolean {
  for (const char of text) {
    const cp = char.codePointAt(0) ?? 0;
    if (cp === 0xfeff || isSurrogate(cp)) return false;
    if (cp < 0x80 && ((cp < 0x20 && cp !== 0x09) || cp === 0x60 || cp === 0x7f)) return false;
  }
  return true;
}

/**
 * fmt.Sprintf(format, args...) where every argument is a string, as core/string-fmt@v1 calls it: the
 * same verbs, flags, width, precision and argument indexes, and the same `%!verb(string=…)`,
 * `%!v(MISSING)`, `%!(EXTRA …)`, `%!(NOVERB)`, `%!(BADWIDTH)` marks for what does not fit.
 */
export function goSprintf(format: string, args: readonly string[]): string {
  const chars = Array.from(format);
  const end = chars.length;
  let out = '';
  let f = clearFlags();
  let argNum = 0;
  let reordered = false;
  let goodArgNum = true;

  const runeCount = (text: string): number => Array.from(text).length;
  const padding = (count: number): string => (count > 0 ? (f.zero && !f.minus ? '0' : ' ').repeat(count) : '');
  const pad = (text: string): string => {
    if (!f.widPresent || f.wid === 0) return text;
    const fill = padding(f.wid - runeCount(text));
    return f.minus ? text + fill : fill + text;
  };
  const truncate = (text: string): string => (f.precPresent ? Array.from(text).slice(0, f.prec).join('') : text);
  const fmtS = (text: string): string => pad(truncate(text));
  const fmtQ = (text: string): string => {
    const cut = truncate(text);
    if (f.sharp && canBackquote(cut)) return pad(`\`${cut}\``);
    return pad(goQuote(cut, f.plus));
  };
  const fmtSx = (text: string, upper: boolean): string => {
    const bytes = Buffer.from(text, 'utf8');
    const length = f.precPresent && f.prec < bytes.length ? f.prec : bytes.length;
    let width = 2 * length;
    if (width <= 0) return f.widPresent ? padding(f.wid) : '';
    if (f.space) {
      if (f.sharp) width *= 2;
      width += length - 1;
    } else if (f.sharp) width += 2;
    const prefix = upper ? '0X' : '0x';
    let body = f.sharp ? prefix : '';
    for (let i = 0; i < length; i++) {
      if (f.space && i > 0) body += f.sharp ? ` ${prefix}` : ' ';
      const digits = bytes[i].toString(16).padStart(2, '0');
      body += upper ? digits.toUpperCase() : digits;
    }
    const fill = f.widPresent && f.wid > width ? padding(f.wid - width) : '';
    return f.minus ? body + fill : fill + body;
  };
  const printArg = (arg: string, verb: string): string => {
    switch (verb) {
      case 'T':
        return fmtS('string');
      case 'v':
        return f.sharpV ? fmtQ(arg) : fmtS(arg);
      case 's':
        return fmtS(arg);
      case 'x':
        return fmtSx(arg, false);
      case 'X':
        return fmtSx(arg, true);
      case 'q':
        return fmtQ(arg);
      default:
        // %d, %f, %p … of a string: Go names the verb and shows the value with %v (flags still apply).
        return `%!${verb}(string=${printArg(arg, 'v')})`;
    }
  };
  const moveVFlags = (): void => {
    f.sharpV = f.sharp;
    f.sharp = false;
    f.plusV = f.plus;
    f.plus = false;
  };
  /** Decimal digits from `start`; Go gives up on absurdly large numbers (and skips to the end). */
  const parseNum = (start: number, stop: number): { num: number; isNum: boolean; next: number } => {
    let num = 0;
    let isNum = false;
    let next = start;
    for (; next < stop && chars[next] >= '0' && chars[next] <= '9' && chars[next].length === 1; next++) {
      if (num > 1e6) return { num: 0, isNum: false, next: end };
      num = num * 10 + Number(chars[next]);
      isNum = true;
    }
    return { num, isNum, next };
  };
  /** An explicit argument index `[n]` at `at`. */
  const argNumber = (at: number): { found: boolean; next: number } => {
    if (at >= end || chars[at] !== '[') return { found: false, next: at };
    reordered = true;
    let index = 0;
    let width = 1;
    let ok = false;
    if (end - at >= 3) {
      for (let j = at + 1; j < end; j++) {
        if (chars[j] !== ']') continue;
        const parsed = parseNum(at + 1, j);
        if (parsed.isNum && parsed.next === j) {
          index = parsed.num - 1;
          ok = true;
        }
        width = j - at + 1;
        break;
      }
    }
    if (ok && index >= 0 && index < args.length) {
      argNum = index;
      return { found: true, next: at + width };
    }
    goodArgNum = false;
    return { found: ok, next: at + width };
  };

  let i = 0;
  formatLoop: while (i < end) {
    goodArgNum = true;
    const literalStart = i;
    while (i < end && chars[i] !== '%') i++;
    out += chars.slice(literalStart, i).join('');
    if (i >= end) break;
    i++;
    f = clearFlags();
    for (; i < end; i++) {
      const c = chars[i];
      if (c === '#') f.sharp = true;
      else if (c === '0') f.zero = true;
      else if (c === '+') f.plus = true;
      else if (c === '-') f.minus = true;
      else if (c === ' ') f.space = true;
      else {
        // Go's fast path: flags followed directly by a lower-case verb with an argument left.
        if (c.length === 1 && c >= 'a' && c <= 'z' && argNum < args.length) {
          if (c === 'v' || c === 'w') moveVFlags();
          out += printArg(args[argNum], c);
          argNum++;
          i++;
          continue formatLoop;
        }
        break;
      }
    }
    let index = argNumber(i);
    i = index.next;
    let afterIndex = index.found;
    if (i < end && chars[i] === '*') {
      // A width taken from an argument must be an int; string arguments never are.
      i++;
      if (argNum < args.length) argNum++;
      out += '%!(BADWIDTH)';
      afterIndex = false;
    } else {
      const width = parseNum(i, end);
      f.wid = width.num;
      f.widPresent = width.isNum;
      i = width.next;
      if (afterIndex && f.widPresent) goodArgNum = false;
    }
    if (i + 1 < end && chars[i] === '.') {
      i++;
      if (afterIndex) goodArgNum = false;
      index = argNumber(i);
      i = index.next;
      afterIndex = index.found;
      if (i < end && chars[i] === '*') {
        i++;
        if (argNum < args.length) argNum++;
        f.prec = 0;
        f.precPresent = false;
        out += '%!(BADPREC)';
        afterIndex = false;
      } else {
        const precision = parseNum(i, end);
        i = precision.next;
        f.prec = precision.isNum ? precision.num : 0;
        f.precPresent = true;
      }
    }
    if (!afterIndex) {
      index = argNumber(i);
      i = index.next;
    }
    if (i >= end) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = chars[i];
    i++;
    if (verb === '%') out += '%';
    else if (!goodArgNum) out += `%!${verb}(BADINDEX)`;
    else if (argNum >= args.length) out += `%!${verb}(MISSING)`;
    else {
      if (verb === 'v' || verb === 'w') moveVFlags();
      out += printArg(args[argNum], verb);
      argNum++;
    }
  }
  if (!reordered && argNum < args.length) {
    f = clearFlags();
    out += `%!(EXTRA ${args
      .slice(argNum)
      .map((arg) => `string=${printArg(arg, 'v')}`)
      .join(', ')})`;
  }
  return out;
}

const isLatin1Letter = (byte: number): boolean => /^\p{L}$/u.test(String.fromCharCode(byte));

/**
 * The verb count the reference checks against the number of substitutes. It is its own rough scan, not
 * Go's parser: it walks bytes, skips digits, '.' and '#' after a '%', and counts what follows when it
 * is a letter (`%-5s` and `%+q` count as no verb, `%é` counts as one). Graphs that pass the reference's
 * check must pass this one, so it is reproduced as it is.
 */
function countFormatVerbs(format: string): number {
  const bytes = Buffer.from(format, 'utf8');
  let count = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x25) continue;
    if (bytes[i + 1] === 0x25) {
      i++;
      continue;
    }
    i++;
    while (i < bytes.length && ((bytes[i] >= 0x30 && bytes[i] <= 0x39) || bytes[i] === 0x2e || bytes[i] === 0x23)) i++;
    if (i < bytes.length && isLatin1Letter(bytes[i])) count++;
  }
  return count;
}

function checkVerbCount(format: string, substitutes: number): void {
  const verbs = countFormatVerbs(format);
  if (verbs === substitutes) return;
  throw new NodeError(
    `format string '${format}' has ${verbs} verb(s) but ${substitutes} substitute(s) were provided: the number of format verbs (%s, %v, …) must match the number of substitutes`,
  );
}

/** The verb count check of a format written into the node, as the reference makes it when it loads the graph. */
function literalFormatProblem(node: ActNode): string | undefined {
  const literal = node.inputs.fmt;
  const declared = Object.keys(node.inputs).filter((port) => /^substitutes\[\d+\]$/.test(port)).length;
  try {
    if (literal === undefined || literal === null) checkVerbCount('', declared);
    else if (typeof literal === 'string' && !literal.includes('${{')) checkVerbCount(literal, declared);
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

const stringFmt: NodeDef = {
  type: 'core/string-fmt@v1',
  ports: staticPorts([data('fmt', 'string'), data('substitutes', 'string', { array: true })], [data('result', 'string')]),
  // A format arriving over a connection or from an expression is checked when it is known, below (the
  // reference's load check reads such a format as '' and refuses every substitute, which is a bug).
  validate(node) {
    const problem = node.inputs.fmt === undefined || node.inputs.fmt === null ? undefined : literalFormatProblem(node);
    return problem ? [problem] : [];
  },
  async evaluate(ctx) {
    // Connected formats are checked further down, once known.
    const problem = ctx.hasValue('fmt') && typeof ctx.node.inputs.fmt !== 'string' ? undefined : literalFormatProblem(ctx.node);
    if (problem) throw new NodeError(problem);

    const format = await ctx.string('fmt');
    const substitutes = await texts(ctx, 'substitutes');
    if (!format.includes('%') || substitutes.length === 0) return format;
    checkVerbCount(format, substitutes.length);
    return goSprintf(format, substitutes);
  },
};

// ---- Go regular expressions (RE2 syntax) on JS RegExp ----------------------------------------------

/** A Go pattern rewritten for JS: `source` is compiled with the `u` flag (plus `i` when `ignoreCase`). */
type GoRegex = { source: string; ignoreCase: boolean; names: Array<string | undefined> };

type Range = [number, number];

const MAX_CODE_POINT = 0x10ffff;

/** Ranges written as in a class: 'a-z0-9_' → [[a, z], [0, 9], [_, _]]. */
function ranges(spec: string): Range[] {
  const cps = codePoints(spec);
  const out: Range[] = [];
  for (let i = 0; i < cps.length; i++) {
    if (cps[i + 1] === 0x2d && i + 2 < cps.length) {
      out.push([cps[i], cps[i + 2]]);
      i += 2;
    } else out.push([cps[i], cps[i]]);
  }
  return out;
}

// Go's Perl and POSIX classes are ASCII-only.
const PERL_CLASSES: Record<string, Range[]> = { d: ranges('0-9'), s: ranges('\t\n\f\r '), w: ranges('0-9A-Z_a-z') };
const POSIX_CLASSES: Record<string, Range[]> = {
  alnum: ranges('0-9A-Za-z'),
  alpha: ranges('A-Za-z'),
  ascii: ranges('\x00-\x7f'),
  blank: ranges('\t '),
  cntrl: ranges('\x00-\x1f\x7f'),
  digit: ranges('0-9'),
  graph: ranges('!-~'),
  lower: ranges('a-z'),
  print: ranges(' -~'),
  punct: ranges('!-/:-@[-`{-~'),
  space: ranges('\t-\r '),
  upper: ranges('A-Z'),
  word: ranges('0-9A-Z_a-z'),
  xdigit: ranges('0-9A-Fa-f'),
};

function complement(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

/** A code point as a JS pattern atom that means only itself, in or out of a class. */
const literalAtom = (cp: number): string => (/^[A-Za-z0-9]$/.test(String.fromCodePoint(cp)) || (cp >= 0x80 && !isSurrogate(cp)) ? String.fromCodePoint(cp) : `\\u{${hex(cp)}}`);
const rangeText = (ranges: readonly Range[]): string => ranges.map(([lo, hi]) => (lo === hi ? literalAtom(lo) : `${literalAtom(lo)}-${literalAtom(hi)}`)).join('');

/** Go's Unicode class names: general categories (`L`, `Lu` …), `Any`, or a script (`Greek`). */
function unicodeProperty(name: string, negated: boolean): string {
  const escape = negated ? '\\P' : '\\p';
  if (name === 'Any') return `${escape}{Any}`;
  if (/^[CLMNPSZ][a-z]?$/.test(name)) return `${escape}{${name}}`;
  if (!/^[A-Za-z_]+$/.test(name)) throw new Error(`invalid character class range: \\p{${name}}`);
  return `${escape}{Script=${name}}`;
}

/** Go's flags in force at a point of the pattern (a group's flags end with the group). */
type RegexFlags = { i: boolean; m: boolean; s: boolean; U: boolean };

class GoRegexTranslator {
  private readonly chars: number[];
  private readonly strs: string[];
  private i = 0;
  /** Case-insensitivity is a JS flag, so it must hold for the whole pattern: set at the start or not at all. */
  private ignoreCase = false;
  private flags: RegexFlags = { i: false, m: false, s: false, U: false };
  private readonly scopes: RegexFlags[] = [];
  /** Whether the last token was a repetition: Go refuses a** (JS would read a*?? as valid, for one). */
  private repeated = false;
  private readonly names: Array<string | undefined> = [];

  constructor(pattern: string) {
    this.strs = Array.from(pattern);
    this.chars = codePoints(pattern);
  }

  translate(): GoRegex {
    // Flags at the very start apply to the whole pattern; (?i) can only be honoured there.
    for (let match = /^\(\?([imsU-]+)\)/.exec(this.rest()); match; match = /^\(\?([imsU-]+)\)/.exec(this.rest())) {
      this.setFlags(match[1], true);
      this.i += match[0].length;
    }
    this.ignoreCase = this.flags.i;
    let out = '';
    while (this.i < this.chars.length) {
      const afterRepeat = this.repeated;
      this.repeated = false;
      out += this.atom(afterRepeat);
    }
    return { source: out, ignoreCase: this.ignoreCase, names: this.names };
  }

  private peek(offset = 0): string {
    return this.strs[this.i + offset] ?? '';
  }

  /** The pattern from the current position on. */
  private rest(): string {
    return this.strs.slice(this.i).join('');
  }

  private fail(reason: string): never {
    throw new Error(reason);
  }

  private setFlags(text: string, atStart: boolean): void {
    let value = true;
    for (const flag of text) {
      if (flag === '-') value = false;
      else if (flag === 'i') {
        if (!atStart && value !== this.ignoreCase) {
          this.fail('case-insensitive matching for only part of a pattern ((?i) after the start, (?i:…), (?-i)) cannot be translated to a JS regular expression; put (?i) at the very start of the pattern');
        }
        this.flags.i = value;
      } else this.flags[flag as 'm' | 's' | 'U'] = value;
    }
  }

  private atom(afterRepeat: boolean): string {
    const c = this.peek();
    switch (c) {
      case '\\':
        return this.escape();
      case '[':
        return this.characterClass();
      case '(':
        return this.group();
      case ')':
        this.i++;
        this.flags = this.scopes.pop() ?? this.flags;
        return ')';
      case '.':
        this.i++;
        // Go's `.` excludes only \n; JS's also excludes \r, U+2028 and U+2029.
        return this.flags.s ? '[\\s\\S]' : '[^\\n]';
      // Assertions are wrapped in a group so that a quantifier may follow them, as Go allows (^*, \b+).
      case '^':
        this.i++;
        // In multi-line mode only \n ends a line in Go, while JS also counts \r, U+2028, U+2029.
        return this.flags.m ? '(?:(?<=^|\\n))' : '(?:^)';
      case '$':
        this.i++;
        return this.flags.m ? '(?:(?=\\n|$))' : '(?:$)';
      case '{':
        return this.repeat(afterRepeat);
      case '|':
        this.i++;
        return '|';
      case '*':
      case '+':
      case '?':
        this.i++;
        return this.quantifier(c, afterRepeat);
      default:
        this.i++;
        return literalAtom(this.chars[this.i - 1]);
    }
  }

  /** A quantifier and the `?` that makes it lazy; under (?U) greedy and lazy swap places. */
  private quantifier(text: string, afterRepeat: boolean): string {
    let lazy = false;
    if (this.peek() === '?') {
      lazy = true;
      this.i++;
    }
    if (afterRepeat) this.fail(`invalid nested repetition operator: ${text}${lazy ? '?' : ''}`);
    this.repeated = true;
    return text + (lazy !== this.flags.U ? '?' : '');
  }

  /** `{n}`, `{n,}`, `{n,m}` repeat; anything else is a literal brace, as in Go. */
  private repeat(afterRepeat: boolean): string {
    const match = /^\{(0|[1-9]\d*)(,(0|[1-9]\d*)?)?\}/.exec(this.rest());
    if (!match) {
      this.i++;
      return literalAtom(0x7b);
    }
    if (Number(match[1]) > 1000 || (match[3] !== undefined && Number(match[3]) > 1000)) this.fail(`invalid repeat count: ${match[0]} (at most 1000)`);
    this.i += match[0].length;
    return this.quantifier(match[0], afterRepeat);
  }

  private group(): string {
    this.i++;
    const rest = this.rest();
    const open = (text: string): string => {
      this.scopes.push({ ...this.flags });
      return text;
    };
    if (!rest.startsWith('?')) {
      this.names.push(undefined);
      return open('(');
    }
    const named = /^\?P?<([^>]*)>/.exec(rest);
    if (named && !/^\?<[=!]/.test(rest)) {
      if (!/^[A-Za-z0-9_]+$/.test(named[1])) this.fail(`invalid named capture: (${named[0]}`);
      // A plain group in JS (Go allows names JS does not, such as 1st, and repeated names); the names
      // are kept for $name in replacements.
      this.names.push(named[1]);
      this.i += named[0].length;
      return open('(');
    }
    if (/^\?(<?[=!])/.test(rest)) this.fail("lookahead and lookbehind assertions ((?=, (?!, (?<=, (?<!) are not part of Go's regular expression syntax");
    if (rest.startsWith('?P=')) this.fail('backreferences are not part of Go regular expression syntax');
    const flagged = /^\?([imsU-]*)([):])/.exec(rest);
    if (!flagged || (flagged[1] === '' && flagged[2] === ')')) return this.fail(`invalid or unsupported Perl syntax: (${rest.slice(0, 2)}`);
    this.i += flagged[0].length;
    if (flagged[2] === ')') {
      // (?s) in the middle: the flags hold until the enclosing group ends.
      this.setFlags(flagged[1], false);
      return '';
    }
    const group = open('(?:');
    this.setFlags(flagged[1], false);
    return group;
  }

  /** An escape outside a character class. */
  private escape(): string {
    const c = this.peek(1);
    if (c === '') this.fail('trailing backslash at end of expression');
    switch (c) {
      // JS's ^ and $ without the m flag (never used: Go's multi-line mode is translated above) are \A and \z.
      // Negated lookarounds such as (?![\s\S]) would do, but V8 wrongly matches them inside surrogate pairs.
      case 'A':
        this.i += 2;
        return '(?:^)';
      case 'z':
        this.i += 2;
        return '(?:$)';
      case 'b':
      case 'B':
        this.i += 2;
        return `(?:\\${c})`;
      case 'Q': {
        this.i += 2;
        let out = '';
        while (this.i < this.chars.length && !(this.peek() === '\\' && this.peek(1) === 'E')) out += literalAtom(this.chars[this.i++]);
        if (this.i < this.chars.length) this.i += 2;
        return out;
      }
      case 'd':
      case 'w':
      case 'D':
      case 'W':
        this.i += 2;
        return `\\${c}`;
      case 's':
        this.i += 2;
        return `[${rangeText(PERL_CLASSES.s)}]`;
      case 'S':
        this.i += 2;
        return `[^${rangeText(PERL_CLASSES.s)}]`;
      case 'p':
      case 'P': {
        const property = this.unicodeClass();
        // Go folds case before negating (under (?i), \P{Ll} excludes A, whose lower case is in Ll); a
        // negated JS class does the same, while a JS \P{…} would match A.
        return this.ignoreCase && property.startsWith('\\P') ? `[^\\p${property.slice(2)}]` : property;
      }
      default:
        return literalAtom(this.escapedChar());
    }
  }

  /** `\pL`, `\p{Greek}`, `\p{^Greek}`, `\PL` at the current position. */
  private unicodeClass(): string {
    let negated = this.peek(1) === 'P';
    this.i += 2;
    let name: string;
    if (this.peek() === '{') {
      const close = this.chars.indexOf(0x7d, this.i);
      if (close < 0) this.fail(`invalid character class range: missing } in \\p{`);
      name = this.strs.slice(this.i + 1, close).join('');
      this.i = close + 1;
    } else {
      if (this.peek() === '') this.fail('invalid character class range: \\p at end of expression');
      name = this.peek();
      this.i++;
    }
    if (name.startsWith('^')) {
      negated = !negated;
      name = name.slice(1);
    }
    return unicodeProperty(name, negated);
  }

  /** A backslash escape that stands for one character (Go's parseEscape). */
  private escapedChar(): number {
    const c = this.peek(1);
    this.i += 2;
    const octal = (ch: string): boolean => ch >= '0' && ch <= '7' && ch.length === 1;
    if (c >= '1' && c <= '7' && c.length === 1 && !octal(this.peek())) this.fail(`invalid escape sequence: \\${c} (Go has no backreferences)`);
    if (octal(c)) {
      let value = Number(c);
      for (let n = 1; n < 3 && octal(this.peek()); n++) {
        value = value * 8 + Number(this.peek());
        this.i++;
      }
      return value;
    }
    if (c === 'x') {
      if (this.peek() === '{') {
        const close = this.chars.indexOf(0x7d, this.i);
        const digits = close < 0 ? '' : this.strs.slice(this.i + 1, close).join('');
        if (!/^[0-9A-Fa-f]+$/.test(digits) || Number.parseInt(digits, 16) > MAX_CODE_POINT) this.fail('invalid escape sequence: \\x{…}');
        this.i = close + 1;
        return Number.parseInt(digits, 16);
      }
      const digits = this.peek() + this.peek(1);
      if (!/^[0-9A-Fa-f]{2}$/.test(digits)) this.fail(`invalid escape sequence: \\x${digits}`);
      this.i += 2;
      return Number.parseInt(digits, 16);
    }
    const simple: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
    if (simple[c] !== undefined) return simple[c];
    const cp = c.codePointAt(0) ?? 0;
    // Any ASCII punctuation (or space) may be escaped to mean itself.
    if (cp < 0x80 && !/[A-Za-z0-9]/.test(c)) return cp;
    return this.fail(`invalid escape sequence: \\${c}`);
  }

  /** `[…]`: Go's syntax (POSIX names, Perl and Unicode classes inside, `]` first is literal) as a JS class. */
  private characterClass(): string {
    const start = this.i;
    this.i++;
    let negated = false;
    if (this.peek() === '^') {
      negated = true;
      this.i++;
    }
    const ranges: Range[] = [];
    const tokens: string[] = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === '') this.fail(`missing closing ]: ${this.strs.slice(start).join('')}`);
      if (c === ']' && !first) break;
      first = false;
      if (c === '[' && this.peek(1) === ':') {
        const rest = this.rest();
        const posix = /^\[:(\^?)([a-z]*):\]/.exec(rest);
        if (posix) {
          const set = POSIX_CLASSES[posix[2]];
          if (!set) this.fail(`invalid character class range: ${posix[0]}`);
          ranges.push(...(posix[1] ? complement(set) : set));
          this.i += posix[0].length;
          continue;
        }
      }
      if (c === '\\') {
        const e = this.peek(1);
        if (e === 'p' || e === 'P') {
          tokens.push(this.unicodeClass());
          continue;
        }
        const perl = PERL_CLASSES[e.toLowerCase()];
        if (perl && e.length === 1) {
          ranges.push(...(e === e.toLowerCase() ? perl : complement(perl)));
          this.i += 2;
          continue;
        }
      }
      const lo = this.classChar();
      let hi = lo;
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== '') {
        this.i++;
        hi = this.classChar();
        if (hi < lo) this.fail(`invalid character class range: ${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)}`);
      }
      ranges.push([lo, hi]);
    }
    this.i++;
    return `[${negated ? '^' : ''}${rangeText(ranges)}${tokens.join('')}]`;
  }

  private classChar(): number {
    if (this.peek() !== '\\') return this.chars[this.i++];
    const e = this.peek(1);
    if ('AzbBQ'.includes(e) && e !== '') this.fail(`invalid escape sequence: \\${e} (in a character class)`);
    return this.escapedChar();
  }
}

type CompiledRegex = { readonly regex: RegExp; readonly names: ReadonlyArray<string | undefined> };

/**
 * Compiled patterns, most recently used last. A node read in a loop compiles its pattern once rather than
 * once per item; 256 entries hold every literal pattern of any realistic graph, and a pattern built per
 * item (which would grow the map without end) only pushes out the oldest.
 */
const compiledRegexes = new Map<string, CompiledRegex>();
const COMPILED_REGEX_LIMIT = 256;

/**
 * Compiles a Go (RE2) pattern, or explains what is wrong with it (or what JS cannot do). A global regex
 * is shared through the cache, so its user sets lastIndex before every exec (goReplaceAll does).
 */
function compileGoRegex(pattern: string, global = false): CompiledRegex {
  const key = `${global ? 'g' : '-'}${pattern}`;
  const known = compiledRegexes.get(key);
  if (known) {
    compiledRegexes.delete(key);
    compiledRegexes.set(key, known);
    return known;
  }
  let compiled: CompiledRegex;
  try {
    const translated = new GoRegexTranslator(pattern).translate();
    compiled = { regex: new RegExp(translated.source, `u${translated.ignoreCase ? 'i' : ''}${global ? 'g' : ''}`), names: translated.names };
  } catch (error) {
    const reason = describeError(error).replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
    throw new NodeError(`invalid regex pattern: ${pattern} (${reason})`);
  }
  compiledRegexes.set(key, compiled);
  if (compiledRegexes.size > COMPILED_REGEX_LIMIT) compiledRegexes.delete(compiledRegexes.keys().next().value as string);
  return compiled;
}

/** Regexp.Expand: `$1`, `${1}`, `$name`, `${name}`, `$$`; unknown groups expand to nothing. */
function expandTemplate(template: string, match: RegExpExecArray, names: ReadonlyArray<string | undefined>): string {
  const group = (name: string): string => {
    if (/^(0|[1-9]\d{0,7})$/.test(name)) return match[Number(name)] ?? '';
    const index = names.findIndex((candidate, i) => candidate === name && match[i + 1] !== undefined);
    return index < 0 ? '' : (match[index + 1] ?? '');
  };
  return template.replace(/\$(?:\$|\{([\p{L}\p{Nd}_]+)\}|([\p{L}\p{Nd}_]+))?/gu, (whole: string, braced?: string, bare?: string) => {
    if (whole === '$$') return '$';
    const name = braced ?? bare;
    // A $ that starts no valid reference stays as it is.
    return name === undefined ? '$' : group(name);
  });
}

/**
 * Regexp.ReplaceAllString: non-overlapping matches left to right; an empty match right after the
 * previous match is not replaced (JS's String.replace would replace it, doubling the replacement).
 */
function goReplaceAll(input: string, pattern: string, template: string): string {
  const { regex, names } = compileGoRegex(pattern, true);
  let out = '';
  let lastEnd = 0;
  let searchFrom = 0;
  while (searchFrom <= input.length) {
    regex.lastIndex = searchFrom;
    const match = regex.exec(input);
    if (!match) break;
    const matchEnd = match.index + match[0].length;
    out += input.slice(lastEnd, match.index);
    if (matchEnd > lastEnd || match.index === 0) out += expandTemplate(template, match, names);
    lastEnd = matchEnd;
    const width = (input.codePointAt(searchFrom) ?? 0) > 0xffff ? 2 : 1;
    searchFrom = searchFrom + width > matchEnd ? searchFrom + width : matchEnd;
  }
  return out + input.slice(lastEnd);
}

// ---- matching, replacing, splitting, joining --------------------------------------------------------

const MATCH_OPS = ['contains', 'notcontains', 'startswith', 'endswith', 'equals', 'regex'];

const stringMatch: NodeDef = {
  type: 'core/string-match@v1',
  ports: staticPorts([data('str1', 'string'), option('op', MATCH_OPS, 'contains'), data('str2', 'string')], [data('result', 'bool')]),
  async evaluate(ctx) {
    const str1 = await ctx.string('str1');
    const str2 = await ctx.string('str2');
    const op = await ctx.string('op');
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
        return compileGoRegex(str2).regex.test(str1);
      default:
        throw new NodeError(`unknown operation: ${op} (expected one of ${MATCH_OPS.join(', ')})`);
    }
  },
};

const stringMatchRegex: NodeDef = {
  type: 'core/string-match-regex@v1',
  ports: staticPorts([data('input', 'string'), data('pattern', 'string')], [data('groups', 'string', { array: true })]),
  // The capture groups of the first match ('' for a group that took no part); no match gives no groups.
  async evaluate(ctx) {
    const input = await ctx.string('input');
    const { regex } = compileGoRegex(await ctx.string('pattern'));
    const match = regex.exec(input);
    return match ? match.slice(1).map((group) => group ?? '') : [];
  },
};

/** strings.ReplaceAll: an empty `old` matches before every character and at the end. */
function replaceAllText(input: string, old: string, replacement: string): string {
  if (old === '') return replacement + Array.from(input, (char) => char + replacement).join('');
  return input.split(old).join(replacement);
}

const stringReplace: NodeDef = {
  type: 'core/string-replace@v1',
  ports: staticPorts([data('input', 'string'), option('op', ['string', 'regex'], 'string'), data('substring', 'string'), data('replacement', 'string')], [data('result', 'string')]),
  async evaluate(ctx) {
    const input = await ctx.string('input');
    const substring = await ctx.string('substring');
    const replacement = await ctx.string('replacement');
    const op = await ctx.string('op');
    if (op === 'string') return replaceAllText(input, substring, replacement);
    if (op === 'regex') return goReplaceAll(input, substring, replacement);
    throw new NodeError(`unknown operation: ${op} (expected string or regex)`);
  },
};

/** strings.SplitN: n < 0 all parts, n = 0 none, n > 0 at most n (the last holds the rest); '' splits characters. */
function goSplitN(input: string, separator: string, n: number): string[] {
  if (n === 0) return [];
  if (separator === '') {
    const chars = Array.from(input);
    const count = n < 0 || n > chars.length ? chars.length : n;
    if (count === 0) return [];
    return [...chars.slice(0, count - 1), chars.slice(count - 1).join('')];
  }
  const parts = input.split(separator);
  if (n < 0 || parts.length <= n) return parts;
  return [...parts.slice(0, n - 1), parts.slice(n - 1).join(separator)];
}

const stringSplit: NodeDef = {
  type: 'core/string-split@v1',
  ports: staticPorts(
    [data('string', 'string'), data('delimiter', 'string', { required: true }), data('max_segments', 'number', { default: -1 })],
    [data('segments', 'string', { array: true })],
  ),
  async evaluate(ctx) {
    const input = await ctx.string('string');
    // Editors cannot type a newline into a one-line field, so \n, \t and \r written out mean those characters.
    const delimiter = (await ctx.string('delimiter')).replaceAll('\\n', '\n').replaceAll('\\t', '\t').replaceAll('\\r', '\r');
    const max = await ctx.int('max_segments');
    return goSplitN(input, delimiter, max);
  },
};

const stringJoin: NodeDef = {
  type: 'core/string-join@v1',
  ports: staticPorts([data('delimiter', 'string'), data('segments', 'string', { array: true })], [data('result', 'string')]),
  async evaluate(ctx) {
    const segments = await texts(ctx, 'segments');
    return segments.join(await ctx.string('delimiter'));
  },
};

/**
 * The reference reads `segments` as an array port, which it is not, so its node always fails with
 * "input 'segments' is not an array input"; Bellows joins the list the port carries.
 */
const stringJoinArray: NodeDef = {
  type: 'core/string-join-array@v1',
  ports: staticPorts([data('delimiter', 'string', { required: true }), data('segments', '[]string')], [data('result', 'string')]),
  async evaluate(ctx) {
    const segments = await ctx.strings('segments');
    return segments.join(await ctx.string('delimiter'));
  },
};

const stringArray: NodeDef = {
  type: 'core/string-array@v1',
  ports: staticPorts([data('inputs', 'string', { array: true })], [data('array', '[]string')]),
  async evaluate(ctx) {
    return texts(ctx, 'inputs');
  },
};

// ---- case transforms ------------------------------------------------------------------------------

/**
 * Go's unicode.ToUpper / ToLower map one character to one character. JS's toUpperCase may give several
 * (ß → SS), which Go leaves alone; the few characters where Go's single mapping differs from what JS
 * does with a single character are listed here.
 */
function goUpper(char: string): string {
  const cp = char.codePointAt(0) ?? 0;
  // Greek letters with ypogegrammeni: Go maps them to their title-case forms.
  if ((cp >= 0x1f80 && cp <= 0x1f87) || (cp >= 0x1f90 && cp <= 0x1f97) || (cp >= 0x1fa0 && cp <= 0x1fa7)) return String.fromCodePoint(cp + 8);
  if (cp === 0x1fb3 || cp === 0x1fc3 || cp === 0x1ff3) return String.fromCodePoint(cp + 9);
  const upper = char.toUpperCase();
  return Array.from(upper).length === 1 ? upper : char;
}

function goLower(char: string): string {
  // İ: Go gives a plain i, JS an i with a combining dot.
  if (char === '\u0130') return 'i';
  const lower = char.toLowerCase();
  return Array.from(lower).length === 1 ? lower : char;
}

const toUpperGo = (text: string): string => Array.from(text, goUpper).join('');
const toLowerGo = (text: string): string => Array.from(text, goLower).join('');
const toTitleWord = (word: string): string => Array.from(word, (char, i) => (i === 0 ? goUpper(char) : goLower(char))).join('');

const WORD_CHAR = /^[\p{L}\p{N}\p{S}]$/u;
const UPPER = /^\p{Lu}$/u;
const LOWER = /^\p{Ll}$/u;

/**
 * The words of `input` as the reference's case library finds them: runs of letters, numbers and symbols,
 * also split where a lower-case letter meets an upper-case one (fooBar) and before the last capital of
 * an acronym followed by lower case (XMLHttp). Two of the library's bugs are not reproduced: a word
 * after a delimiter that starts with a digit or an uncased letter lost those characters ("version 2"
 * became "version", "你好 世界" became "你好"), and a capital followed by a capital near the end of a
 * non-ASCII text crashed the reference.
 */
function caseWords(input: string): string[] {
  const chars = Array.from(input);
  const words: string[] = [];
  type State = 'unknown' | 'delims' | 'lower' | 'upper';
  let state: State = 'unknown';
  let start = 0;
  let end = -1;
  const emit = (stop: number): void => {
    if (stop - start > 0) words.push(chars.slice(start, stop).join(''));
  };
  for (const [i, char] of chars.entries()) {
    if (!WORD_CHAR.test(char)) {
      state = 'delims';
      if (end === -1) end = i;
      continue;
    }
    const isUpper = UPPER.test(char);
    if (state === 'delims') {
      emit(end);
      start = i;
      end = -1;
      state = 'unknown';
    } else if ((state === 'lower' && isUpper) || (state === 'upper' && isUpper && i + 1 < chars.length && LOWER.test(chars[i + 1]))) {
      emit(i);
      start = i;
    }
    if (LOWER.test(char)) state = 'lower';
    else if (isUpper) state = 'upper';
  }
  emit(state === 'delims' ? end : chars.length);
  return words;
}

/** aLtErNaTiNg CaSe: letters that have case alternate lower/upper, counted across words. */
function alternating(input: string): string {
  let n = 0;
  return Array.from(input, (char) => {
    const upper = goUpper(char);
    const lower = goLower(char);
    if (upper === lower) return char;
    return n++ % 2 === 0 ? lower : upper;
  }).join('');
}

/** strings.TrimSpace: Go's white space (no U+FEFF, which JS's trim removes; U+0085, which it keeps). */
const GO_SPACE = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const TRIM_SPACE = new RegExp(`^[${GO_SPACE}]+|[${GO_SPACE}]+$`, 'g');

const TRANSFORMS: Record<string, (input: string) => string> = {
  lower: (input) => caseWords(input).map(toLowerGo).join(' '),
  upper: (input) => caseWords(input).map(toUpperGo).join(' '),
  title: (input) => caseWords(input).map(toTitleWord).join(' '),
  camel: (input) =>
    caseWords(input)
      .map((word, i) => (i === 0 ? toLowerGo(word) : toTitleWord(word)))
      .join(''),
  pascal: (input) => caseWords(input).map(toTitleWord).join(''),
  snake: (input) => caseWords(input).map(toLowerGo).join('_'),
  alternating,
  reverse: (input) => Array.from(input).reverse().join(''),
  trim: (input) => input.replace(TRIM_SPACE, ''),
  trim_left: (input) => input.replace(/^[ \t\n\r]+/, ''),
  trim_right: (input) => input.replace(/[ \t\n\r]+$/, ''),
};
// The reference also accepts kebab-case, though its editor does not offer it.
const HIDDEN_TRANSFORMS: Record<string, (input: string) => string> = {
  kebab: (input) => caseWords(input).map(toLowerGo).join('-'),
};

const stringTransform: NodeDef = {
  type: 'core/string-transform@v1',
  ports: staticPorts([data('input', 'string'), option('op', Object.keys(TRANSFORMS), 'lower')], [data('result', 'string')]),
  async evaluate(ctx) {
    const input = await ctx.string('input');
    const op = await ctx.string('op');
    // The reference's editor offers `alternating` but its code has no such case and fails; Bellows does
    // what the option's documentation says.
    const transform = tableEntry(TRANSFORMS, op) ?? tableEntry(HIDDEN_TRANSFORMS, op);
    if (!transform) throw new NodeError(`unknown operation '${op}' (expected one of ${Object.keys(TRANSFORMS).join(', ')})`);
    return transform(input);
  },
};

// ---- encodings ------------------------------------------------------------------------------------

/**
 * The bytes of a text input: bytes and streams as they are (String Encode's UTF-16/32 output, a binary
 * file), as the reference's Go string holds them; anything else as the UTF-8 of its text. A stream taken
 * as text would be decoded (Windows-1252 where it is not UTF-8) and so changed.
 */
async function bytesOf(ctx: NodeContext, port: string): Promise<Buffer> {
  const value = await ctx.read(port);
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof DataStream) return value.readAll();
  return Buffer.from(await toText(value, inputLabel(ctx, port)), 'utf8');
}

/**
 * Decoded bytes as a graph value: text when they are UTF-8 (as nearly always), else the bytes themselves,
 * so that nothing is lost on the way to a file or another decoder.
 */
function textOrBytes(bytes: Buffer): string | Buffer {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return bytes;
  }
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32Encode(bytes: Buffer): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 5) {
    const chunk = bytes.subarray(i, i + 5);
    let bits = 0n;
    for (let j = 0; j < 5; j++) bits = (bits << 8n) | BigInt(chunk[j] ?? 0);
    const symbols = Math.ceil((chunk.length * 8) / 5);
    for (let j = 0; j < 8; j++) out += j < symbols ? BASE32[Number((bits >> BigInt(35 - 5 * j)) & 31n)] : '=';
  }
  return out;
}

/**
 * Go's padded base32/base64 decoding rules: newlines are skipped, the text comes in whole quanta, '='
 * pads only the last one (by an amount that fits a whole number of bytes), nothing else is allowed.
 * Returns the text without newlines and padding.
 */
function checkPadded(input: string, alphabet: string, quantum: number, validPads: readonly number[], name: string): string {
  const clean = input.replace(/[\r\n]/g, '');
  const illegal = (at: number): never => {
    throw new NodeError(`failed to decode ${name}: illegal ${name.replace('url', '')} data at input byte ${at}`);
  };
  for (const [i, symbol] of Array.from(clean).entries()) if (symbol !== '=' && !alphabet.includes(symbol)) illegal(i);
  const padStart = clean.indexOf('=');
  const body = padStart < 0 ? clean : clean.slice(0, padStart);
  const padCount = clean.length - body.length;
  // The offsets are the ones Go reports for each kind of damage.
  if (padCount > 0 && !/^=+$/.test(clean.slice(padStart))) illegal(padStart);
  if (clean.length % quantum !== 0) illegal(padCount > 0 ? clean.length : clean.length - (clean.length % quantum));
  if (padCount > 0 && !validPads.includes(padCount)) illegal(padStart);
  return body;
}

function base32Decode(body: string): Buffer {
  const out: number[] = [];
  let bits = 0;
  let bitCount = 0;
  for (const symbol of body) {
    bits = ((bits << 5) | BASE32.indexOf(symbol)) & 0xffff;
    bitCount += 5;
    if (bitCount >= 8) {
      bitCount -= 8;
      out.push((bits >> bitCount) & 0xff);
    }
  }
  return Buffer.from(out);
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64URL = `${BASE64.slice(0, 62)}-_`;

/** Code points of `text` for UTF-16/32 output; a lone surrogate becomes U+FFFD, as Go's encoder does. */
const encodableCodePoints = (text: string): number[] => codePoints(text).map((cp) => (isSurrogate(cp) ? 0xfffd : cp));

function utf16(text: string, bigEndian: boolean): Buffer {
  const units: number[] = [];
  for (const cp of encodableCodePoints(text)) {
    if (cp < 0x10000) units.push(cp);
    else units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
  }
  const out = Buffer.alloc(units.length * 2);
  units.forEach((unit, i) => (bigEndian ? out.writeUInt16BE(unit, i * 2) : out.writeUInt16LE(unit, i * 2)));
  return out;
}

function utf32(text: string, bigEndian: boolean): Buffer {
  const cps = encodableCodePoints(text);
  const out = Buffer.alloc(cps.length * 4);
  cps.forEach((cp, i) => (bigEndian ? out.writeUInt32BE(cp, i * 4) : out.writeUInt32LE(cp, i * 4)));
  return out;
}

/** UTF-32 to text: out-of-range values, surrogates and a trailing partial unit become U+FFFD. */
function fromUtf32(bytes: Buffer, bigEndian: boolean): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    if (i + 4 > bytes.length) {
      out += '\ufffd';
      break;
    }
    const cp = bigEndian ? bytes.readUInt32BE(i) : bytes.readUInt32LE(i);
    out += cp > MAX_CODE_POINT || isSurrogate(cp) ? '\ufffd' : String.fromCodePoint(cp);
  }
  return out;
}

/** url.QueryUnescape / url.PathUnescape: %XX must be two hex digits; `+` is a space in a query. */
function urlUnescape(text: string, query: boolean, name: string): string | Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === 0x25) {
      const digits = bytes.subarray(i + 1, i + 3).toString('latin1');
      if (!/^[0-9A-Fa-f]{2}$/.test(digits)) throw new NodeError(`failed to decode ${name}: invalid URL escape ${JSON.stringify(bytes.subarray(i, i + 3).toString('utf8'))}`);
      out.push(Number.parseInt(digits, 16));
      i += 2;
    } else out.push(query && byte === 0x2b ? 0x20 : byte);
  }
  return textOrBytes(Buffer.from(out));
}

/** A code point from a numeric escape, or U+FFFD where there is no such character. */
const charOf = (cp: number): string => (cp > MAX_CODE_POINT || isSurrogate(cp) ? '\ufffd' : String.fromCodePoint(cp));

/**
 * JSON string escapes (\" \\ \/ \b \f \n \r \t \uXXXX) in text that is not itself JSON. A surrogate
 * pair (\ud83d\ude00) is one character; the reference turns each half into U+FFFD.
 */
function unescapeJson(text: string): string {
  const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
  return text.replace(/\\(?:u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|(["\\/bfnrt]))/g, (_whole, high?: string, low?: string, single?: string, named?: string) => {
    if (high !== undefined && low !== undefined) return String.fromCharCode(Number.parseInt(high, 16), Number.parseInt(low, 16));
    if (single !== undefined) return charOf(Number.parseInt(single, 16));
    return simple[named ?? ''] ?? '';
  });
}

/**
 * The five XML entities and numeric references, in one pass: `&amp;lt;` is `&lt;`. The reference
 * replaces them one kind after another, so it turns `&amp;lt;` into `<` (unescaping twice).
 */
function unescapeXml(text: string): string {
  const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };
  return text.replace(/&(?:(lt|gt|amp|apos|quot)|#x([0-9a-fA-F]+)|#(\d+));/g, (whole: string, name?: string, hexDigits?: string, decimal?: string) => {
    if (name !== undefined) return named[name];
    const value = hexDigits !== undefined ? Number.parseInt(hexDigits, 16) : Number.parseInt(decimal ?? '', 10);
    // Go parses the number as a 32-bit int: a larger one leaves the reference as it is.
    return value > 0x7fffffff ? whole : charOf(value);
  });
}

/** An encoding: how text becomes it (where it can), and how it is read back. */
type Codec = {
  encode?: (bytes: Buffer, text: () => string) => Promise<string | Buffer> | string | Buffer;
  decode: (bytes: Buffer, text: () => string) => Promise<string | Buffer> | string | Buffer;
};

// One table for both nodes; its order is the order the editor offers the options in.
const CODECS: Record<string, Codec> = {
  hex: {
    encode: (bytes) => bytes.toString('hex'),
    decode: (bytes) => {
      // As encoding/hex: a bad byte is reported before an odd length.
      const bad = bytes.findIndex((byte) => !/^[0-9A-Fa-f]$/.test(String.fromCharCode(byte)));
      if (bad >= 0) {
        const char = String.fromCharCode(bytes[bad]);
        const shown = PRINTABLE.test(char) || char === ' ' ? ` '${char}'` : '';
        throw new NodeError(`failed to decode hex: encoding/hex: invalid byte: U+${hex(bytes[bad]).toUpperCase().padStart(4, '0')}${shown}`);
      }
      if (bytes.length % 2 !== 0) throw new NodeError('failed to decode hex: encoding/hex: odd length hex string');
      return textOrBytes(Buffer.from(bytes.toString('latin1'), 'hex'));
    },
  },
  base32: { encode: (bytes) => base32Encode(bytes), decode: (_bytes, text) => textOrBytes(base32Decode(checkPadded(text(), BASE32, 8, [1, 3, 4, 6], 'base32'))) },
  base64: { encode: (bytes) => bytes.toString('base64'), decode: (_bytes, text) => textOrBytes(Buffer.from(checkPadded(text(), BASE64, 4, [1, 2], 'base64'), 'base64')) },
  base64url: {
    // Go's URLEncoding keeps the padding that Node's base64url drops.
    encode: (bytes) => {
      const text = bytes.toString('base64url');
      return text + '='.repeat((4 - (text.length % 4)) % 4);
    },
    decode: (_bytes, text) => textOrBytes(Buffer.from(checkPadded(text(), BASE64URL, 4, [1, 2], 'base64url'), 'base64url')),
  },
  // The UTF-16/32 forms are bytes, not text: they travel as bytes to String Decode or a file. A byte-order
  // mark is kept as the character U+FEFF, as the reference's decoder (IgnoreBOM) does.
  utf16le: { encode: (_bytes, text) => utf16(text(), false), decode: (bytes) => new TextDecoder('utf-16le', { ignoreBOM: true }).decode(bytes) },
  utf16be: { encode: (_bytes, text) => utf16(text(), true), decode: (bytes) => new TextDecoder('utf-16be', { ignoreBOM: true }).decode(bytes) },
  utf32le: { encode: (_bytes, text) => utf32(text(), false), decode: (bytes) => fromUtf32(bytes, false) },
  utf32be: { encode: (_bytes, text) => utf32(text(), true), decode: (bytes) => fromUtf32(bytes, true) },
  // Escapes, which the reference only unescapes.
  html: {
    decode: async (_bytes, text) => {
      const { decodeHTML } = await import('entities/decode');
      return decodeHTML(text());
    },
  },
  url: { decode: (_bytes, text) => urlUnescape(text(), true, 'url') },
  urlpath: { decode: (_bytes, text) => urlUnescape(text(), false, 'url path') },
  json: { decode: (_bytes, text) => unescapeJson(text()) },
  xml: { decode: (_bytes, text) => unescapeXml(text()) },
};

/** core/string-encode@v1 and core/string-decode@v1: the input's bytes through one direction of CODECS. */
function codecNode(direction: 'encode' | 'decode'): NodeDef {
  const options = Object.keys(CODECS).filter((name) => CODECS[name][direction] !== undefined);
  return {
    type: `core/string-${direction}@v1`,
    ports: staticPorts([data('input', 'string'), option('op', options, 'base64')], [data('result', 'string')]),
    async evaluate(ctx) {
      const bytes = await bytesOf(ctx, 'input');
      const op = await ctx.string('op');
      // The reference also accepts utf8 (the bytes as they are), though its editor does not offer it.
      if (op === 'utf8') return textOrBytes(bytes);
      const convert = tableEntry(CODECS, op)?.[direction];
      if (!convert) throw new NodeError(`unknown operation '${op}' (expected one of ${options.join(', ')})`);
      return convert(bytes, () => new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes));
    },
  };
}

const stringEncode = codecNode('encode');
const stringDecode = codecNode('decode');

// ---- hash and length ------------------------------------------------------------------------------

type Hasher = { update(chunk: Buffer): void; digest(): string };

const NODE_HASHES: Record<string, string> = {
  sha1: 'sha1',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  sha3_256: 'sha3-256',
  sha3_384: 'sha3-384',
  sha3_512: 'sha3-512',
  md5: 'md5',
  blake2b512: 'blake2b512',
};
const HASH_OPTIONS = ['sha1', 'sha224', 'sha256', 'sha384', 'sha512', 'sha3_256', 'sha3_384', 'sha3_512', 'md5', 'crc32', 'blake2b256', 'blake2b384', 'blake2b512'];

async function hasher(algorithm: string): Promise<Hasher> {
  const native = tableEntry(NODE_HASHES, algorithm);
  if (native) {
    const hash = createHash(native);
    return { update: (chunk) => hash.update(chunk), digest: () => hash.digest('hex') };
  }
  if (algorithm === 'crc32') {
    let value = 0;
    // IEEE polynomial, printed big-endian as Go's hash/crc32 Sum does.
    return { update: (chunk) => (value = crc32(chunk, value)), digest: () => hex(value >>> 0).padStart(8, '0') };
  }
  // BLAKE2b with a 256- or 384-bit digest is its own function (the length is part of the parameters),
  // not a truncated BLAKE2b-512, and node:crypto offers only the 512-bit one.
  const blake = /^blake2b(256|384)$/.exec(algorithm);
  if (blake) {
    const { blake2b } = await import('@noble/hashes/blake2.js');
    const hash = blake2b.create({ dkLen: Number(blake[1]) / 8 });
    return { update: (chunk) => hash.update(chunk), digest: () => Buffer.from(hash.digest()).toString('hex') };
  }
  throw new NodeError(`unsupported hash algorithm: ${algorithm} (expected one of ${HASH_OPTIONS.join(', ')})`);
}

const hashNode: NodeDef = {
  type: 'core/hash@v1',
  ports: staticPorts([exec('exec'), option('algorithm', HASH_OPTIONS, 'sha256'), data('input', 'stream', { required: true })], [exec('exec-success'), exec('exec-err'), data('hash', 'string')]),
  async execute(ctx) {
    const input = await requiredStream(ctx, 'input');
    let hash: Hasher;
    try {
      // The reference compares algorithm names ignoring case.
      hash = await hasher((await ctx.string('algorithm')).toLowerCase());
    } catch (error) {
      input.discard();
      throw error;
    }
    let failure: unknown;
    try {
      for await (const chunk of addAbortSignal(ctx.signal, input.take())) hash.update(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
    } catch (error) {
      if (ctx.signal.aborted) throw new CancelledError();
      failure = error;
    }
    // As in the reference, the hash of what could be read is set even when reading failed.
    ctx.set('hash', hash.digest());
    if (failure !== undefined) throw new NodeFailure(`error reading stream: ${describeError(failure)}`);
    return 'exec-success';
  },
};

/**
 * Bytes of a string (UTF-8), items of a list, keys of a map, bytes of a stream whose size is known.
 * Anything else is 0, and so is a stream of unknown size (a pipe, an HTTP body), as in the reference:
 * counting it would consume it.
 */
const length: NodeDef = {
  type: 'core/length@v1',
  ports: staticPorts([data('input', 'any')], [data('result', 'number')]),
  async evaluate(ctx) {
    const value = await ctx.read('input');
    if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
    if (Array.isArray(value) || Buffer.isBuffer(value)) return value.length;
    if (value instanceof DataStream) return Math.max(value.length, 0);
    if (isMap(value)) return Object.keys(value).length;
    return 0;
  },
};

export const stringNodes: readonly NodeDef[] = [
  constString,
  constNumber,
  constBool,
  stringFmt,
  stringMatch,
  stringMatchRegex,
  stringReplace,
  stringSplit,
  stringJoin,
  stringJoinArray,
  stringArray,
  stringTransform,
  stringEncode,
  stringDecode,
  hashNode,
  length,
];
