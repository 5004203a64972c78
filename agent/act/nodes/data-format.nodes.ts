// Structured data: parsing text (JSON, YAML, TOML, INI) into maps and lists, writing them back as
// text, and reading or changing one value inside them by a property path (`a.b[0][4].c`).
//
// Output follows the reference engine's libraries where it can be seen (Go's encoding/json with two
// spaces, go-yaml with four, BurntSushi/toml's layout, go-ini's aligned keys). Numbers are JS numbers,
// so a whole number always prints as an integer: the reference prints JSON-sourced whole numbers as
// floats in TOML (`1.0`) and as `1e+06` from a million on in YAML.

import { Document, parseAllDocuments, visit, type Pair, type ScalarTag, type Tags } from 'yaml';
import { NodeError, NodeFailure, data, describeError, exec, option, staticPorts, type NodeContext, type NodeDef } from '../act-node-def';
import { DataStream, SecretValue, decodeBytes, formatFloatPlain, isMap, toText, typeName, type ActMap } from '../act-values';
import { compareGoStrings, inputLabel, tableEntry } from './node-helpers';

/** The section go-ini puts keys that come before any `[section]` into. */
const INI_DEFAULT = 'DEFAULT';

// ---- plain data ----------------------------------------------------------------------------------

/** Sets `key` as an own property even when it is `__proto__`, which plain assignment would not. */
function setKey(map: ActMap, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
  else map[key] = value;
}

/** What a parser library returned, as engine values: plain maps, TOML dates as their text. */
function fromParsed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromParsed);
  // TOML date-times (smol-toml's TomlDate) print as the text they were written as.
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (typeof value === 'object' && value !== null) {
    const out: ActMap = {};
    for (const [key, item] of Object.entries(value)) setKey(out, key, fromParsed(item));
    return out;
  }
  return value;
}

/** Why a value cannot be serialized: continues on exec-err, as the reference's encoders' errors do. */
class SerializeError extends Error {}

/**
 * The value to serialize as plain data: streams are read into their text (the reference would encode
 * the stream object's fields), bytes become base64 for JSON (as Go encodes []byte) and text otherwise.
 */
async function toPlainData(value: unknown, format: string, where = 'the object'): Promise<unknown> {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (value instanceof DataStream) return decodeBytes(await value.readAll());
  if (Buffer.isBuffer(value)) return format === 'json' ? value.toString('base64') : decodeBytes(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const [i, item] of value.entries()) out.push(await toPlainData(item, format, `${where}[${i}]`));
    return out;
  }
  if (isMap(value)) {
    const out: ActMap = {};
    for (const [key, item] of Object.entries(value)) setKey(out, key, await toPlainData(item, format, `${where}.${key}`));
    return out;
  }
  // Secrets are never written out as text; credentials, repositories and the like have no data form.
  if (value instanceof SecretValue) throw new SerializeError(`${where} is a secret, which is never serialized`);
  throw new SerializeError(`${where} is a ${typeName(value)}, which has no ${format.toUpperCase()} form`);
}

/** A map's entries in Go's key order (encoding/json and BurntSushi/toml sort keys as Go strings). */
const sortedEntries = (map: ActMap): Array<[string, unknown]> => Object.entries(map).sort(([a], [b]) => compareGoStrings(a, b));

/** strconv.FormatFloat(f, 'g', -1, 64): shortest digits, an exponent below 1e-4 and from 1e6 on. */
function goFloatG(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const [mantissa, exponentText] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent >= -4 && exponent < 6) return String(value);
  return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

// ---- JSON ----------------------------------------------------------------------------------------

/** JSON text as Go's encoding/json writes it: <, >, & and the JS line separators escaped. */
function jsonString(text: string): string {
  return JSON.stringify(text).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** json.MarshalIndent(value, "", "  "): keys sorted, two-space indent, `[]` and `{}` when empty. */
function serializeJson(value: unknown, indent = ''): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new SerializeError(`json: unsupported value: ${goFloatG(value)}`);
    // JS and Go switch to exponents at the same magnitudes (below 1e-6, from 1e21 on).
    return Object.is(value, -0) ? '-0' : JSON.stringify(value);
  }
  if (typeof value === 'string') return jsonString(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((item) => inner + serializeJson(item, inner)).join(',\n')}\n${indent}]`;
  }
  const entries = sortedEntries(value as ActMap);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([key, item]) => `${inner}${jsonString(key)}: ${serializeJson(item, inner)}`).join(',\n')}\n${indent}}`;
}

function parseJson(text: string): unknown {
  return JSON.parse(text) as unknown;
}

// ---- YAML ----------------------------------------------------------------------------------------

/**
 * Integer forms go-yaml reads that the YAML 1.2 core schema does not: `0b101`, `1_000` and the
 * old octal `017` (go-yaml hands plain scalars to Go's ParseInt, base 0, with underscores removed).
 */
const GO_INTEGER_TAGS: ScalarTag[] = [
  { tag: 'tag:yaml.org,2002:int', default: true, format: 'BIN', test: /^[-+]?0b[01_]+$/, resolve: (text) => signed(text, (digits) => Number.parseInt(digits.slice(2), 2)) },
  { tag: 'tag:yaml.org,2002:int', default: true, format: 'OCT', test: /^[-+]?0[0-7_]+$/, resolve: (text) => signed(text, (digits) => Number.parseInt(digits, 8)) },
  { tag: 'tag:yaml.org,2002:int', default: true, test: /^[-+]?[0-9][0-9_]*_[0-9_]*$/, resolve: (text) => signed(text, (digits) => Number.parseInt(digits, 10)) },
];

function signed(text: string, parse: (digits: string) => number): number {
  const digits = text.replace(/_/g, '');
  const negative = digits.startsWith('-');
  const value = parse(digits.replace(/^[-+]/, ''));
  return negative ? -value : value;
}

function parseYaml(text: string): unknown {
  const documents = parseAllDocuments(text, { merge: true, customTags: (tags: Tags) => [...GO_INTEGER_TAGS, ...tags] });
  // go-yaml's Unmarshal reads the first document of a stream.
  const first = Array.isArray(documents) ? documents[0] : undefined;
  if (!first) return null;
  const problem = first.errors[0];
  if (problem) throw new Error(problem.message);
  return first.toJS({ maxAliasCount: 1000 });
}

/**
 * Floats as go-yaml writes them (Go's %g: `1e-07`, `1e+21`, `.inf`); whole numbers are written by the
 * default integer tag.
 */
const GO_FLOAT_TAG: ScalarTag = {
  tag: 'tag:yaml.org,2002:float',
  default: true,
  identify: (value) => typeof value === 'number' && !Number.isSafeInteger(value),
  // Never matches: only here so that the stringifier prefers this tag over the core float tags
  // (it ranks tags that have a test first); reading plain scalars stays with the core tags.
  test: /(?!)/,
  resolve: (text) => Number(text),
  stringify: (item) => {
    const value = Number(item.value);
    if (Number.isNaN(value)) return '.nan';
    if (!Number.isFinite(value)) return value > 0 ? '.inf' : '-.inf';
    return goFloatG(value);
  },
};

/**
 * Text that a YAML reader would take for something else, which go-yaml double-quotes: null, bool
 * (YAML 1.1's y/yes/on too), number, timestamp and sexagesimal forms, the merge key, and "".
 */
function yamlNeedsDoubleQuotes(text: string): boolean {
  if (text.includes('\n')) return false;
  return (
    text === '' ||
    text === '<<' ||
    /^(~|null|Null|NULL)$/.test(text) ||
    /^(true|True|TRUE|false|False|FALSE|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/.test(text) ||
    /^[-+]?(0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)$/.test(text) ||
    /^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$/.test(text) ||
    /^[-+]?\.(inf|Inf|INF)$/.test(text) ||
    /^\.(nan|NaN|NAN)$/.test(text) ||
    /^\d{4}-\d{1,2}-\d{1,2}([Tt ].*)?$/.test(text) ||
    /^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$/.test(text)
  );
}

const isLetter = (cp: number): boolean => /^\p{L}$/u.test(String.fromCodePoint(cp));
const isDigit = (cp: number): boolean => /^\p{Nd}$/u.test(String.fromCodePoint(cp));
const DIGIT_ZERO = 0x30;

/**
 * go-yaml's order of map keys (its keyList.Less), over code points: letters compare by code point; a
 * non-letter comes before a letter, except right after a digit, where the letter comes first; runs of
 * digits compare as numbers (a2 < a10), the shorter run first when equal (a1 < a01).
 */
function goYamlKeyLess(a: string, b: string): boolean {
  const ar = Array.from(a, (char) => char.codePointAt(0) ?? 0);
  const br = Array.from(b, (char) => char.codePointAt(0) ?? 0);
  let afterDigit = false;
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) {
      afterDigit = isDigit(ar[i]);
      continue;
    }
    const aLetter = isLetter(ar[i]);
    const bLetter = isLetter(br[i]);
    if (aLetter && bLetter) return ar[i] < br[i];
    if (aLetter || bLetter) return afterDigit ? aLetter : bLetter;
    // Neither is a letter: compare the digit runs that start here as numbers (a run of none is 0). Where
    // one side is a 0 after equal digits that are not all zeros, both start from 1, so that 0 keeps its
    // place value rather than reading as a leading zero.
    let an = 0n;
    let bn = 0n;
    if (ar[i] === DIGIT_ZERO || br[i] === DIGIT_ZERO) {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]); j--) {
        if (ar[j] !== DIGIT_ZERO) {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && isDigit(ar[ai]); ai++) an = an * 10n + BigInt(ar[ai] - DIGIT_ZERO);
    let bi = i;
    for (; bi < br.length && isDigit(br[bi]); bi++) bn = bn * 10n + BigInt(br[bi] - DIGIT_ZERO);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ar[i] < br[i];
  }
  return ar.length < br.length;
}

const goYamlKeyOrder = (a: string, b: string): number => (goYamlKeyLess(a, b) ? -1 : goYamlKeyLess(b, a) ? 1 : 0);

const pairKey = (pair: Pair): string => {
  const key = pair.key as { value?: unknown } | string;
  return typeof key === 'string' ? key : String(key?.value ?? '');
};

function serializeYaml(value: unknown): string {
  const document = new Document(value, {
    // A list held twice (freeze, array-add) is written twice, never as an anchor and alias.
    aliasDuplicateObjects: false,
    customTags: (tags: Tags) => [GO_FLOAT_TAG, ...tags],
    sortMapEntries: (a: Pair, b: Pair) => goYamlKeyOrder(pairKey(a), pairKey(b)),
  });
  visit(document, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && yamlNeedsDoubleQuotes(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  // Four spaces and no line folding, as go-yaml; other quoting (': ', a leading space) in single quotes.
  return document.toString({ indent: 4, indentSeq: true, lineWidth: 0, singleQuote: true });
}

// ---- TOML ----------------------------------------------------------------------------------------

async function parseToml(text: string): Promise<unknown> {
  const { parse } = await import('smol-toml');
  return parse(text);
}

const TOML_BARE_KEY = /^[A-Za-z0-9_-]+$/;

const TOML_ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r' };

/** A TOML basic string as BurntSushi/toml writes it: other control characters as \u00XX. */
function tomlString(text: string): string {
  let out = '"';
  for (const c of text) {
    const code = c.charCodeAt(0);
    out += TOML_ESCAPES[c] ?? (code < 0x20 || code === 0x7f ? `\\u${code.toString(16).padStart(4, '0')}` : c);
  }
  return `${out}"`;
}

const tomlKey = (key: string): string => (key === '' ? '""' : TOML_BARE_KEY.test(key) ? key : tomlString(key));

/** A value that TOML writes under a header: a map, or a non-empty list of maps ([[name]]). */
function isTomlTable(value: unknown): boolean {
  return isMap(value) || (Array.isArray(value) && value.length > 0 && value.every(isMap));
}

/**
 * TOML in BurntSushi/toml's layout: keys sorted, plain keys before tables, nested headers indented two
 * spaces per level, a blank line before top-level tables and before every [[array]] entry, nulls left
 * out (TOML has none) and refused inside lists.
 */
class TomlWriter {
  private text = '';

  write(value: unknown): string {
    if (!isMap(value)) throw new SerializeError(`TOML needs a map at the top level, not ${typeName(value)}`);
    this.table([], value);
    return this.text;
  }

  /** A line break, unless nothing has been written yet. */
  private newline(): void {
    if (this.text !== '') this.text += '\n';
  }

  private indent(depth: number): string {
    return '  '.repeat(Math.max(0, depth));
  }

  private table(path: string[], map: ActMap): void {
    const entries = sortedEntries(map).filter(([, item]) => item !== null && item !== undefined);
    for (const [key, item] of entries) {
      if (isTomlTable(item)) continue;
      this.text += `${this.indent(path.length)}${tomlKey(key)} = ${this.inline(item, [...path, key])}`;
      this.newline();
    }
    for (const [key, item] of entries) {
      if (!isTomlTable(item)) continue;
      const inner = [...path, key];
      const header = inner.map(tomlKey).join('.');
      if (isMap(item)) {
        if (inner.length === 1) this.newline();
        this.text += `${this.indent(inner.length - 1)}[${header}]`;
        this.newline();
        this.table(inner, item);
      } else {
        for (const element of item as ActMap[]) {
          this.newline();
          this.text += `${this.indent(inner.length - 1)}[[${header}]]`;
          this.newline();
          this.table(inner, element);
        }
      }
    }
  }

  private inline(value: unknown, path: string[]): string {
    if (typeof value === 'string') return tomlString(value);
    if (typeof value === 'boolean') return String(value);
    if (typeof value === 'number') {
      if (Number.isNaN(value)) return 'nan';
      if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
      if (Number.isSafeInteger(value)) return String(value);
      const text = goFloatG(value);
      return /[.e]/.test(text) ? text : `${text}.0`;
    }
    if (Array.isArray(value)) {
      return `[${value
        .map((item, i) => {
          if (item === null || item === undefined) throw new SerializeError(`toml: cannot encode a list with a null item (at ${path.join('.')}[${i}])`);
          return this.inline(item, [...path, String(i)]);
        })
        .join(', ')}]`;
    }
    if (isMap(value)) {
      const entries = sortedEntries(value).filter(([, item]) => item !== null && item !== undefined);
      // Plain values first, then nested tables, as in headers.
      const ordered = [...entries.filter(([, item]) => !isTomlTable(item)), ...entries.filter(([, item]) => isTomlTable(item))];
      return `{${ordered.map(([key, item]) => `${tomlKey(key)} = ${this.inline(item, [...path, key])}`).join(', ')}}`;
    }
    throw new SerializeError(`toml: cannot encode ${typeName(value)} at ${path.join('.')}`);
  }
}

// ---- INI -----------------------------------------------------------------------------------------

/**
 * INI as go-ini reads it with its default options: `;`/`#` comment lines, `[section]` headers (a
 * repeated header continues the section), `key = value` or `key: value`, an inline `;`/`#` ending the
 * value, surrounding quotes dropped, backtick and triple-quoted values taken as written (over several
 * lines if needed), a trailing backslash continuing the value, `-` keys numbered `#1`, `#2` …
 * Every value is text. Keys before the first header belong to the DEFAULT section, which is left out
 * when it is empty.
 *
 * The `ini` package from npm was not used: it nests dotted section names (`[a.b]`) and turns
 * true/false/null into non-text values, which go-ini does not.
 */
function parseIni(text: string): ActMap {
  const sections = new Map<string, ActMap>([[INI_DEFAULT, {}]]);
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let section = sections.get(INI_DEFAULT) as ActMap;
  let counter = 1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trimStart();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      const close = line.lastIndexOf(']');
      if (close === -1) throw new Error(`unclosed section: ${line}`);
      const name = line.slice(1, close);
      if (name === '') throw new Error(`empty section name (line ${i + 1})`);
      section = sections.get(name) ?? {};
      sections.set(name, section);
      counter = 1;
      continue;
    }
    const { key, rest } = iniKey(line, i + 1);
    const read = iniValue(rest, lines, i);
    i = read.lastLine;
    setKey(section, key === '-' ? `#${counter++}` : key, read.value);
  }
  const out: ActMap = {};
  for (const [name, keys] of sections) {
    if (name === INI_DEFAULT && Object.keys(keys).length === 0) continue;
    setKey(out, name, keys);
  }
  return out;
}

function iniKey(line: string, number: number): { key: string; rest: string } {
  const quote = line.startsWith('"""') && line.length > 6 ? '"""' : line.startsWith('"') ? '"' : line.startsWith('`') ? '`' : '';
  if (quote !== '') {
    const close = line.indexOf(quote, quote.length);
    if (close === -1) throw new Error(`missing closing key quote (line ${number}): ${line}`);
    const delimiter = line.slice(close + quote.length).search(/[=:]/);
    if (delimiter === -1) throw new Error(`key-value delimiter not found (line ${number}): ${line}`);
    return { key: line.slice(quote.length, close).trim(), rest: line.slice(close + quote.length + delimiter + 1) };
  }
  const delimiter = line.search(/[=:]/);
  if (delimiter === -1) throw new Error(`key-value delimiter not found (line ${number}): ${line}`);
  if (delimiter === 0) throw new Error(`empty key name (line ${number}): ${line}`);
  return { key: line.slice(0, delimiter).trim(), rest: line.slice(delimiter + 1) };
}

function iniValue(rest: string, lines: string[], at: number): { value: string; lastLine: number } {
  const text = rest.trimStart();
  if (text === '') return { value: '', lastLine: at };
  const quote = text.length > 3 && text.startsWith('"""') ? '"""' : text.startsWith('`') ? '`' : '';
  if (quote !== '') {
    const body = text.slice(quote.length);
    const close = body.lastIndexOf(quote);
    if (close !== -1) return { value: body.slice(0, close), lastLine: at };
    // The value goes on until a line with the closing quote.
    let value = body;
    for (let i = at + 1; i < lines.length; i++) {
      const end = lines[i].indexOf(quote);
      if (end !== -1) return { value: `${value}\n${lines[i].slice(0, end)}`, lastLine: i };
      value += `\n${lines[i]}`;
    }
    throw new Error(`missing closing quote ${quote} of a value (line ${at + 1})`);
  }
  let value = text.trim();
  if (value.endsWith('\\')) {
    value = value.slice(0, -1);
    let i = at;
    while (i + 1 < lines.length) {
      const next = lines[++i].trim();
      if (next === '') break;
      value += next;
      if (!value.endsWith('\\')) break;
      value = value.slice(0, -1);
    }
    return { value, lastLine: i };
  }
  const comment = value.search(/[#;]/);
  if (comment !== -1) value = value.slice(0, comment).trim();
  for (const mark of ["'", '"']) {
    if (value.length >= 2 && value.startsWith(mark) && value.endsWith(mark) && value.indexOf(mark, 1) === value.length - 1) value = value.slice(1, -1);
  }
  return { value, lastLine: at };
}

function iniText(value: unknown, where: string): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return formatFloatPlain(value);
  if (typeof value === 'boolean') return String(value);
  throw new SerializeError(`INI values are text: ${where} is a ${typeName(value)}`);
}

/**
 * INI as go-ini writes it: the DEFAULT section without a header, `=` aligned within each section,
 * a blank line between sections, values quoted where reading them back would change them. Sections
 * keep the object's order (the reference's order is Go's random map order). Plain values at the top
 * level go to the DEFAULT section (the reference drops them silently); a value that is neither text
 * nor a number nor a bool is refused (the reference crashes).
 */
function serializeIni(value: unknown): string {
  if (!isMap(value)) throw new NodeError(`data must be a map (the object is ${typeName(value)})`);
  const defaults: Array<[string, string]> = [];
  const sections: Array<[string, Array<[string, string]>]> = [];
  for (const [name, item] of Object.entries(value)) {
    if (item === null || item === undefined) continue;
    if (isMap(item)) {
      const keys = Object.entries(item).map(([key, text]): [string, string] => [key, iniText(text, `${name}.${key}`)]);
      if (name === INI_DEFAULT) defaults.push(...keys);
      else sections.push([name, keys]);
    } else if (Array.isArray(item)) {
      throw new SerializeError(`INI has no lists: '${name}' is a list`);
    } else defaults.push([name, iniText(item, name)]);
  }
  const blocks: string[] = [];
  if (defaults.length > 0) blocks.push(iniLines(defaults));
  for (const [name, keys] of sections) blocks.push(`[${name}]\n${iniLines(keys)}`);
  return blocks.join('\n');
}

function iniLines(entries: Array<[string, string]>): string {
  // go-ini's key quoting, plus keys that would read back as a comment or a header (`#1` from `-` keys).
  const keys = entries.map(([key]) => (/["=:]/.test(key) || /^[#;[]/.test(key) ? `\`${key}\`` : key.includes('`') ? `"""${key}"""` : key));
  const width = Math.max(0, ...keys.map((key) => Buffer.byteLength(key)));
  return entries
    .map(([, text], i) => {
      const shown = /[\n`]/.test(text) ? `"""${text}"""` : /[#;]/.test(text) ? `\`${text}\`` : text.trim() !== text ? `"${text}"` : text;
      return `${keys[i]}${' '.repeat(width - Buffer.byteLength(keys[i]))} = ${shown}\n`;
    })
    .join('');
}

// ---- parser and serializer nodes -----------------------------------------------------------------

/** The reference's auto-detection, rule for rule (so `[1, 2]` is read as TOML, as there). */
function detectFormat(text: string): string {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return 'json';
  if (trimmed.startsWith('<')) return 'xml';
  if (text.includes('=')) return 'ini';
  if (text.includes('[')) return 'toml';
  return 'yaml';
}

const PARSERS: Record<string, (text: string) => unknown> = { json: parseJson, yaml: parseYaml, toml: parseToml, ini: parseIni };

const parser: NodeDef = {
  type: 'core/parser@v1',
  ports: staticPorts([exec('exec'), data('input', 'string'), option('format', ['auto', ...Object.keys(PARSERS)], 'auto')], [exec('exec-success'), exec('exec-err'), data('object', 'unknown')]),
  async execute(ctx) {
    const text = await ctx.string('input');
    const chosen = await ctx.string('format');
    const format = chosen === 'auto' ? detectFormat(text) : chosen;
    const parse = tableEntry(PARSERS, format);
    if (!parse) throw new NodeError(`unsupported format: ${format}${format === 'xml' ? ' (the input looks like XML, which the parser does not read)' : ''}`);
    // A failed parse leaves no object behind (not the one of an earlier run of this node).
    ctx.set('object', undefined);
    let parsed: unknown;
    try {
      parsed = fromParsed(await parse(text));
    } catch (error) {
      if (error instanceof NodeError) throw error;
      // The reference crashes on every parse error (and on all INI input) while copying the result.
      throw new NodeFailure(`failed to parse ${format.toUpperCase()}: ${describeError(error)}`);
    }
    // Nothing cannot travel along a connection (the reference fails the same way on an empty document).
    if (parsed === null || parsed === undefined) throw new NodeFailure(`the ${format.toUpperCase()} input holds no value (it is empty or null)`);
    ctx.set('object', parsed);
    return 'exec-success';
  },
};

const SERIALIZERS: Record<string, (plain: unknown) => string> = {
  json: (plain) => serializeJson(plain),
  yaml: serializeYaml,
  toml: (plain) => new TomlWriter().write(plain),
  ini: serializeIni,
};

const serializer: NodeDef = {
  type: 'core/serializer@v1',
  ports: staticPorts([exec('exec'), data('object', 'unknown'), option('format', Object.keys(SERIALIZERS), 'json')], [exec('exec-success'), exec('exec-err'), data('output', 'string')]),
  async execute(ctx) {
    const object = await ctx.read('object');
    const format = await ctx.string('format');
    const write = tableEntry(SERIALIZERS, format);
    if (!write) throw new NodeError(`unsupported format: ${format}`);
    let output: string;
    try {
      output = write(await toPlainData(object, format));
    } catch (error) {
      if (!(error instanceof SerializeError)) throw error;
      ctx.set('output', '');
      throw new NodeFailure(`failed to serialize ${format.toUpperCase()}: ${error.message}`);
    }
    ctx.set('output', output);
    return 'exec-success';
  },
};

// ---- property paths ------------------------------------------------------------------------------

type PathStep = { key: string; index?: undefined } | { index: number; key?: undefined };

/** The largest list index property-setter grows a list to: the reference would allocate any size. */
const MAX_SET_INDEX = 1_000_000;

/**
 * A property path: names separated by dots, each optionally followed by list indices (`b[0][4]`).
 * As in the reference, text after the first `[` of a part other than indices is ignored, a part with
 * no brackets is a name as written (even `a[0` or `a]`), and empty parts are skipped, so `.` alone
 * addresses the whole object. Indices are zero-based; a negative one is refused (the reference crashes).
 */
function parsePropertyPath(path: string): PathStep[] {
  if (path === '') throw new NodeFailure('path cannot be empty');
  const steps: PathStep[] = [];
  for (const part of path.split('.')) {
    const indices = [...part.matchAll(/\[(.*?)\]/g)].map((match) => match[1]);
    const key = indices.length === 0 ? part : part.slice(0, part.indexOf('['));
    if (key !== '') steps.push({ key });
    for (const text of indices) {
      if (text === '') throw new NodeFailure(`invalid array index: ${part}`);
      if (!/^[+-]?\d+$/.test(text)) throw new NodeFailure(`invalid array index '${text}' in '${part}': not an integer`);
      const index = Number(text);
      if (index < 0) throw new NodeFailure(`invalid array index '${text}' in '${part}': indices start at 0`);
      if (!Number.isSafeInteger(index)) throw new NodeFailure(`invalid array index '${text}' in '${part}': too large`);
      steps.push({ index });
    }
  }
  return steps;
}

const describePath = (steps: readonly PathStep[]): string =>
  steps.length === 0 ? 'the object' : `'${steps.map((step, i) => (step.key !== undefined ? `${i === 0 ? '' : '.'}${step.key}` : `[${step.index}]`)).join('')}'`;

function getAtPath(root: ActMap, steps: readonly PathStep[]): unknown {
  let current: unknown = root;
  for (const [i, step] of steps.entries()) {
    // Described only for a message: describing it at every step made a deep path's read quadratic.
    const at = (): string => describePath(steps.slice(0, i));
    if (step.key !== undefined) {
      if (!isMap(current)) throw new NodeFailure(`expected map at path ${at()}, found ${typeName(current)}`);
      if (!Object.hasOwn(current, step.key)) throw new NodeFailure(`key not found: ${step.key}${i > 0 ? ` (in ${at()})` : ''}`);
      current = current[step.key];
    } else {
      if (!Array.isArray(current) && !Buffer.isBuffer(current)) throw new NodeFailure(`expected array at path ${at()}, found ${typeName(current)}`);
      if (step.index >= current.length) throw new NodeFailure(`index ${step.index} out of range (${at()} has ${current.length} item${current.length === 1 ? '' : 's'})`);
      current = current[step.index];
    }
  }
  return current;
}

/** A shallow copy of a map, keeping `__proto__` as an own key. */
function copyMap(map: ActMap): ActMap {
  const out: ActMap = {};
  for (const [key, item] of Object.entries(map)) setKey(out, key, item);
  return out;
}

/**
 * `current` with `value` placed at `steps[from…]`, as a new value: only the maps and lists along the path
 * are copied (one level each), everything beside it is shared, which is safe because values are never
 * changed in place. Copying the whole object (as this did) made a loop of N sets on a growing object
 * O(N²). Missing maps and lists on the way are created and a value of the wrong kind on the way is
 * replaced, as in the reference; lists grow with nulls. An absent value removes the key (Go's SetMapIndex
 * with nothing deletes).
 */
function setAtPath(current: unknown, steps: readonly PathStep[], value: unknown, from = 0): unknown {
  const step = steps[from];
  if (step === undefined) return value;
  if (step.key !== undefined) {
    const map: ActMap = isMap(current) ? copyMap(current) : {};
    const next = setAtPath(Object.hasOwn(map, step.key) ? map[step.key] : undefined, steps, value, from + 1);
    if (next === undefined) delete map[step.key];
    else setKey(map, step.key, next);
    return map;
  }
  if (step.index > MAX_SET_INDEX) throw new NodeFailure(`index ${step.index} is too large (at most ${MAX_SET_INDEX})`);
  const list: unknown[] = Array.isArray(current) ? [...current] : Buffer.isBuffer(current) ? [...current.values()] : [];
  while (list.length <= step.index) list.push(null);
  list[step.index] = setAtPath(list[step.index], steps, value, from + 1) ?? null;
  return list;
}

/** The `object` input as a map: not set is an empty map, anything but a map is an error (as there). */
async function objectInput(ctx: NodeContext): Promise<ActMap> {
  const object = await ctx.read('object');
  if (object === undefined || object === null) return {};
  if (!isMap(object)) throw new NodeError(`unable to convert '${typeName(object)}' to a map at ${inputLabel(ctx, 'object')}: property paths start at a map`);
  return object;
}

const propertyGetter: NodeDef = {
  type: 'core/property-getter@v1',
  ports: staticPorts(
    [exec('exec'), data('object', 'unknown'), data('path', 'string')],
    [exec('exec-success'), exec('exec-err'), data('value', 'unknown'), data('found', 'bool')],
  ),
  async execute(ctx) {
    const object = await objectInput(ctx);
    const path = await ctx.string('path');
    let value: unknown;
    try {
      value = getAtPath(object, parsePropertyPath(path));
    } catch (error) {
      ctx.set('found', false);
      throw error;
    }
    ctx.set('found', true);
    // A null cannot travel along a connection; the reference fails outright, here exec-err can handle it.
    if (value === null || value === undefined) throw new NodeFailure(`the value at path '${path}' is null`);
    ctx.set('value', value);
    return 'exec-success';
  },
};

const propertySetter: NodeDef = {
  type: 'core/property-setter@v1',
  ports: staticPorts(
    [exec('exec'), data('object', 'unknown'), data('path', 'string'), data('value', 'unknown')],
    [exec('exec-success'), exec('exec-err'), data('object', 'unknown')],
  ),
  async execute(ctx) {
    const object = await objectInput(ctx);
    const path = await ctx.string('path');
    let value = await ctx.read('value');
    // A stream is stored as its text, as the reference does (a stream would be readable only once).
    if (value instanceof DataStream) value = await toText(value, inputLabel(ctx, 'value'));
    const steps = parsePropertyPath(path);
    ctx.set('object', setAtPath(object, steps, value));
    return 'exec-success';
  },
};

export const dataFormatNodes: readonly NodeDef[] = [parser, serializer, propertyGetter, propertySetter];
