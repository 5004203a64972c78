// `${{ … }}` expressions inside string values, in the GitHub Actions expression language the reference
// engine evaluates: contexts (inputs, env, secrets, matrix, runner, github, needs), literals, `!`, `==`,
// `!=`, `<`, `<=`, `>`, `>=`, `&&`, `||`, property and index access, `.*` and the functions always(),
// success(), failure(), cancelled(), contains(), startsWith(), endsWith(), format(), join(), toJSON(),
// fromJSON() and hashFiles(). Hand-written because no maintained JS package implements this grammar
// with these semantics (~300 lines), and the reference's quirks (case rules, coercions) must be exact.

import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { glob } from 'tinyglobby';
import { formatValue, isMap } from './act-values';

export type ExpressionContext = {
  /** `inputs.NAME`: the run's input, or (inside a group) the group node's input. */
  input(name: string): Promise<unknown>;
  env: Record<string, string>;
  /** Every secret, for the context used as a whole value (`toJSON(secrets)`). */
  secrets: Record<string, string>;
  /** `secrets.NAME`: the run's one lookup rule (RunState.secret), undefined when it is not set. */
  secret(name: string): string | undefined;
  matrix: Record<string, unknown>;
  github: Record<string, unknown>;
  needs: Record<string, unknown>;
  runner: Record<string, unknown>;
  /** Where hashFiles() patterns are relative to. */
  workDir: string;
  /** A `secrets.NAME` that is not set (it evaluates to nothing, as in the reference). */
  onMissingSecret?(name: string): void;
};

class ExpressionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExpressionError';
  }
}

// ---- lexer ----------------------------------------------------------------------------------------

type Token =
  | { kind: 'num'; value: number; pos: number }
  | { kind: 'str'; value: string; pos: number }
  | { kind: 'ident'; value: string; pos: number }
  | { kind: 'op'; value: string; pos: number }
  | { kind: 'end'; pos: number };

const OPERATORS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '[', ']', '.', ',', '*'];

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i];
    if (/\s/.test(char)) {
      i++;
      continue;
    }
    if (char === "'") {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw new ExpressionError(`unterminated string literal at ${i}`);
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += text[j++];
      }
      tokens.push({ kind: 'str', value, pos: i });
      i = j + 1;
      continue;
    }
    const number = /^(0x[0-9a-fA-F]+|0o[0-7]+|-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)/.exec(text.slice(i));
    if (number && (char !== '-' || /\d|\./.test(text[i + 1] ?? ''))) {
      const raw = number[0];
      const value = raw.startsWith('0x') ? Number.parseInt(raw.slice(2), 16) : raw.startsWith('0o') ? Number.parseInt(raw.slice(2), 8) : Number(raw);
      tokens.push({ kind: 'num', value, pos: i });
      i += raw.length;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(text.slice(i));
    if (ident) {
      tokens.push({ kind: 'ident', value: ident[0], pos: i });
      i += ident[0].length;
      continue;
    }
    const op = OPERATORS.find((candidate) => text.startsWith(candidate, i));
    if (!op) throw new ExpressionError(`unexpected character ${JSON.stringify(char)} at ${i}`);
    tokens.push({ kind: 'op', value: op, pos: i });
    i += op.length;
  }
  tokens.push({ kind: 'end', pos: text.length });
  return tokens;
}

// ---- parser ---------------------------------------------------------------------------------------

type Expr =
  | { kind: 'literal'; value: unknown }
  | { kind: 'variable'; name: string }
  | { kind: 'property'; receiver: Expr; name: string; raw: string }
  | { kind: 'index'; receiver: Expr; index: Expr }
  | { kind: 'star'; receiver: Expr }
  | { kind: 'call'; name: string; args: Expr[] }
  | { kind: 'not'; operand: Expr }
  | { kind: 'logical'; op: '&&' | '||'; left: Expr; right: Expr }
  | { kind: 'compare'; op: string; left: Expr; right: Expr };

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): Expr {
    const expr = this.or();
    const next = this.peek();
    if (next.kind !== 'end') throw new ExpressionError(`unexpected ${describe(next)} at ${next.pos}`);
    return expr;
  }

  private peek(): Token {
    return this.tokens[this.i];
  }

  private take(): Token {
    return this.tokens[this.i++];
  }

  private isOp(value: string): boolean {
    const token = this.peek();
    return token.kind === 'op' && token.value === value;
  }

  private expectOp(value: string): void {
    const token = this.take();
    if (token.kind !== 'op' || token.value !== value) throw new ExpressionError(`expected ${JSON.stringify(value)} but found ${describe(token)} at ${token.pos}`);
  }

  private or(): Expr {
    let left = this.and();
    while (this.isOp('||')) {
      this.take();
      left = { kind: 'logical', op: '||', left, right: this.and() };
    }
    return left;
  }

  private and(): Expr {
    let left = this.equality();
    while (this.isOp('&&')) {
      this.take();
      left = { kind: 'logical', op: '&&', left, right: this.equality() };
    }
    return left;
  }

  private equality(): Expr {
    let left = this.relational();
    while (this.isOp('==') || this.isOp('!=')) {
      const op = (this.take() as { value: string }).value;
      left = { kind: 'compare', op, left, right: this.relational() };
    }
    return left;
  }

  private relational(): Expr {
    let left = this.unary();
    while (this.isOp('<') || this.isOp('<=') || this.isOp('>') || this.isOp('>=')) {
      const op = (this.take() as { value: string }).value;
      left = { kind: 'compare', op, left, right: this.unary() };
    }
    return left;
  }

  private unary(): Expr {
    if (this.isOp('!')) {
      this.take();
      return { kind: 'not', operand: this.unary() };
    }
    return this.postfix(this.primary());
  }

  private primary(): Expr {
    const token = this.take();
    if (token.kind === 'num' || token.kind === 'str') return { kind: 'literal', value: token.value };
    if (token.kind === 'op' && token.value === '(') {
      const inner = this.or();
      this.expectOp(')');
      return inner;
    }
    if (token.kind === 'ident') {
      const lower = token.value.toLowerCase();
      if (this.isOp('(')) {
        this.take();
        const args: Expr[] = [];
        if (!this.isOp(')')) {
          args.push(this.or());
          while (this.isOp(',')) {
            this.take();
            args.push(this.or());
          }
        }
        this.expectOp(')');
        return { kind: 'call', name: lower, args };
      }
      if (lower === 'true' || lower === 'false') return { kind: 'literal', value: lower === 'true' };
      if (lower === 'null') return { kind: 'literal', value: null };
      if (token.value === 'NaN') return { kind: 'literal', value: NaN };
      if (token.value === 'Infinity') return { kind: 'literal', value: Infinity };
      return { kind: 'variable', name: lower };
    }
    throw new ExpressionError(`unexpected ${describe(token)} at ${token.pos}`);
  }

  private postfix(expr: Expr): Expr {
    for (;;) {
      if (this.isOp('.')) {
        this.take();
        const token = this.take();
        if (token.kind === 'op' && token.value === '*') {
          expr = { kind: 'star', receiver: expr };
          continue;
        }
        if (token.kind !== 'ident') throw new ExpressionError(`expected a property name after "." at ${token.pos}`);
        // Property names are case-insensitive, except under env, whose names keep their case.
        const keepCase = expr.kind === 'variable' && expr.name === 'env';
        expr = { kind: 'property', receiver: expr, name: keepCase ? token.value : token.value.toLowerCase(), raw: token.value };
        continue;
      }
      if (this.isOp('[')) {
        this.take();
        const index = this.or();
        this.expectOp(']');
        expr = { kind: 'index', receiver: expr, index };
        continue;
      }
      return expr;
    }
  }
}

function describe(token: Token): string {
  if (token.kind === 'end') return 'the end of the expression';
  return JSON.stringify(String(token.value));
}

const parsed = new Map<string, Expr>();

/** Parses one expression body (between `${{` and `}}`); cached, since the same literal is read many times. */
function parseExpression(body: string): Expr {
  let expr = parsed.get(body);
  if (!expr) {
    expr = new Parser(tokenize(body)).parse();
    if (parsed.size > 10_000) parsed.clear();
    parsed.set(body, expr);
  }
  return expr;
}

// ---- finding expressions in text -------------------------------------------------------------------

type ExpressionPart = { text: string } | { body: string; start: number };

/** Splits text into literal parts and `${{ body }}` parts; an unclosed `${{` is an error. */
export function splitExpressions(text: string): ExpressionPart[] {
  const parts: ExpressionPart[] = [];
  let last = 0;
  while (last < text.length) {
    const start = text.indexOf('${{', last);
    if (start === -1) {
      parts.push({ text: text.slice(last) });
      break;
    }
    if (start > last) parts.push({ text: text.slice(last, start) });
    const end = text.indexOf('}}', start + 3);
    if (end === -1) throw new ExpressionError(`unclosed expression starting at ${start}`);
    parts.push({ body: text.slice(start + 3, end), start });
    last = end + 2;
  }
  return parts;
}

/** Syntax problems of every expression in a text, for validation before anything runs. */
export function expressionProblems(text: string): string[] {
  if (!text.includes('${{')) return [];
  try {
    return splitExpressions(text).flatMap((part) => {
      if (!('body' in part)) return [];
      try {
        parseExpression(part.body);
        return [];
      } catch (error) {
        return [`\${{${part.body}}}: ${(error as Error).message}`];
      }
    });
  } catch (error) {
    return [(error as Error).message];
  }
}

// ---- evaluation -----------------------------------------------------------------------------------

/**
 * Evaluates the expressions in a string value. A value that is one whole expression yields that
 * expression's value; otherwise the parts are joined as text (a missing value adds nothing).
 */
export async function evaluateText(text: string, context: ExpressionContext): Promise<unknown> {
  if (!text.includes('${{')) return text;
  const parts = splitExpressions(text);
  const values: unknown[] = [];
  for (const part of parts) {
    if ('text' in part) {
      values.push(part.text);
      continue;
    }
    try {
      // A context named on its own (`${{ env }}`) is its map: the marker never leaves this module.
      values.push(resolveContext(await evaluate(parseExpression(part.body), context), context));
    } catch (error) {
      throw new ExpressionError(`failed to evaluate the expression at ${part.start} (\${{${part.body}}}): ${(error as Error).message}`);
    }
  }
  if (parts.length === 1 && 'body' in parts[0]) return values[0];
  return values.map((value) => (value === undefined || value === null ? '' : formatValue(value))).join('');
}

const ROOTS = ['env', 'secrets', 'github', 'needs', 'inputs', 'matrix', 'runner', 'steps', 'job'] as const;

type ContextName = (typeof ROOTS)[number];

/**
 * A context named in an expression (`secrets`, `inputs` …), whose lookups have their own rules. A class
 * private to this module, so that no data (a map parsed by fromJSON, say) can ever pass for one.
 */
class ContextRef {
  constructor(readonly name: ContextName) {}
}

function isContextName(name: string): name is ContextName {
  return (ROOTS as readonly string[]).includes(name);
}

async function evaluate(expr: Expr, context: ExpressionContext): Promise<unknown> {
  switch (expr.kind) {
    case 'literal':
      return expr.value;
    case 'variable':
      if (expr.name === 'job') throw new ExpressionError("access to the 'job' context is not supported");
      if (expr.name === 'runner') return context.runner;
      if (expr.name === 'steps') return {};
      return isContextName(expr.name) ? new ContextRef(expr.name) : undefined;
    case 'property':
      return property(await evaluate(expr.receiver, context), expr.name, context, expr.raw);
    case 'index':
      return index(await evaluate(expr.receiver, context), resolveContext(await evaluate(expr.index, context), context), context);
    case 'star': {
      const receiver = resolveContext(await evaluate(expr.receiver, context), context);
      if (!isMap(receiver)) return [];
      return Object.keys(receiver)
        .sort()
        .map((key) => receiver[key]);
    }
    case 'call': {
      const args: unknown[] = [];
      for (const arg of expr.args) args.push(resolveContext(await evaluate(arg, context), context));
      return call(expr.name, args, context);
    }
    case 'not':
      return !truthy(resolveContext(await evaluate(expr.operand, context), context));
    case 'logical': {
      const left = resolveContext(await evaluate(expr.left, context), context);
      if (expr.op === '&&' ? !truthy(left) : truthy(left)) return left;
      return resolveContext(await evaluate(expr.right, context), context);
    }
    case 'compare': {
      const left = resolveContext(await evaluate(expr.left, context), context);
      const right = resolveContext(await evaluate(expr.right, context), context);
      return compare(expr.op, left, right);
    }
  }
}

/** A context used as a value (in toJSON(inputs), say): its map. */
function resolveContext(value: unknown, context: ExpressionContext): unknown {
  if (!(value instanceof ContextRef)) return value;
  switch (value.name) {
    case 'env':
      return { ...context.env };
    case 'secrets':
      return { ...context.secrets };
    case 'github':
      return context.github;
    case 'needs':
      return context.needs;
    case 'matrix':
      return context.matrix;
    default:
      return {};
  }
}

async function property(receiver: unknown, name: string, context: ExpressionContext, raw = name): Promise<unknown> {
  if (receiver instanceof ContextRef) {
    switch (receiver.name) {
      case 'inputs':
        return context.input(name);
      case 'secrets':
        return secret(raw, context);
      case 'env':
        return Object.prototype.hasOwnProperty.call(context.env, name) ? context.env[name] : undefined;
      default:
        return lookupEitherCase(resolveContext(receiver, context), name);
    }
  }
  if (Array.isArray(receiver)) return receiver.map((item) => (isMap(item) && Object.prototype.hasOwnProperty.call(item, name) ? item[name] : undefined));
  return lookupEitherCase(receiver, name);
}

/** `secrets.NAME` by the context's lookup rule; a missing one is reported, and reads as nothing. */
function secret(name: string, context: ExpressionContext): unknown {
  const value = context.secret(name);
  if (value === undefined) context.onMissingSecret?.(name);
  return value;
}

function lookupEitherCase(receiver: unknown, name: string): unknown {
  if (!isMap(receiver)) return undefined;
  for (const key of [name.toUpperCase(), name.toLowerCase(), name]) if (Object.prototype.hasOwnProperty.call(receiver, key)) return receiver[key];
  return undefined;
}

async function index(receiver: unknown, key: unknown, context: ExpressionContext): Promise<unknown> {
  if (receiver === undefined || receiver === null) return undefined;
  if (receiver instanceof ContextRef) {
    const name = formatValue(key);
    if (receiver.name === 'env') return Object.prototype.hasOwnProperty.call(context.env, name) ? context.env[name] : undefined;
    if (receiver.name === 'inputs') return context.input(name.toLowerCase());
    if (receiver.name === 'secrets') return secret(name, context);
    receiver = resolveContext(receiver, context);
  }
  if (Array.isArray(receiver)) {
    const position = toIndex(key);
    if (position !== undefined) return position >= 0 && position < receiver.length ? receiver[position] : undefined;
    if (typeof key === 'string') return Promise.all(receiver.map((item) => index(item, key, context)));
    throw new ExpressionError(`an array index must be an integer or a string (got ${formatValue(key)})`);
  }
  if (isMap(receiver)) {
    const name = formatValue(key);
    if (Object.prototype.hasOwnProperty.call(receiver, name)) return receiver[name];
    const found = Object.keys(receiver).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
    return found === undefined ? undefined : receiver[found];
  }
  throw new ExpressionError(`cannot index a ${typeof receiver}`);
}

function toIndex(value: unknown): number | undefined {
  if (typeof value === 'number') return Math.trunc(value);
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Math.trunc(Number(value));
  return undefined;
}

function truthy(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') return value !== '';
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  return true;
}

/** GitHub's coercion to a number: null → 0, booleans → 0/1, text parsed ('' → 0, junk → NaN). */
function toNumber(value: unknown): number | undefined {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '') return 0;
  if (/^[+-]?(inf|infinity)$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^0x[0-9a-f]+$/i.test(text)) return Number.parseInt(text, 16);
  return /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text) ? Number(text) : NaN;
}

function compare(op: string, left: unknown, right: unknown): boolean {
  if (op === '==' || op === '!=') {
    const equal = equals(left, right);
    return op === '==' ? equal : !equal;
  }
  if (typeof left === 'string' && typeof right === 'string') {
    const a = left.toLowerCase();
    const b = right.toLowerCase();
    return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
  }
  const a = toNumber(left);
  const b = toNumber(right);
  if (a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b)) return false;
  return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
}

function equals(left: unknown, right: unknown): boolean {
  if ((left === undefined || left === null) && (right === undefined || right === null)) return true;
  if (typeof left === 'string' && typeof right === 'string') return left.toLowerCase() === right.toLowerCase();
  const a = toNumber(left);
  const b = toNumber(right);
  if (a !== undefined && b !== undefined) return !Number.isNaN(a) && !Number.isNaN(b) && a === b;
  return JSON.stringify(left) === JSON.stringify(right);
}

async function call(name: string, args: unknown[], context: ExpressionContext): Promise<unknown> {
  switch (name) {
    case 'always':
    case 'success':
      return true;
    case 'failure':
    case 'cancelled':
      return false;
    case 'fromjson': {
      if (args.length < 1) throw new ExpressionError('fromJSON requires 1 argument');
      if (typeof args[0] !== 'string') return args[0];
      try {
        return JSON.parse(args[0]) as unknown;
      } catch (error) {
        throw new ExpressionError(`fromJSON: ${(error as Error).message}`);
      }
    }
    case 'tojson':
      if (args.length < 1) throw new ExpressionError('toJSON requires 1 argument');
      return JSON.stringify(args[0] ?? null, null, 2);
    case 'contains': {
      if (args.length < 2) return false;
      const [container, item] = args;
      if (typeof container === 'string') return container.includes(item === undefined || item === null ? '' : formatValue(item));
      if (Array.isArray(container)) return container.some((element) => equals(element, item));
      return false;
    }
    case 'startswith':
      return args.length >= 2 && typeof args[0] === 'string' && typeof args[1] === 'string' && args[0].startsWith(args[1]);
    case 'endswith':
      return args.length >= 2 && typeof args[0] === 'string' && typeof args[1] === 'string' && args[0].endsWith(args[1]);
    case 'format': {
      if (args.length < 1) return '';
      let text = typeof args[0] === 'string' ? args[0] : '';
      args.slice(1).forEach((arg, i) => {
        text = text.replaceAll(`{${i}}`, arg === undefined || arg === null ? '<nil>' : formatValue(arg));
      });
      return text;
    }
    case 'join': {
      if (args.length < 2 || !Array.isArray(args[0])) return '';
      const separator = typeof args[1] === 'string' ? args[1] : '';
      return args[0].map((item) => (item === undefined || item === null ? '<nil>' : formatValue(item))).join(separator);
    }
    case 'hashfiles':
      return hashFiles(
        args.filter((arg): arg is string => typeof arg === 'string'),
        context.workDir,
      );
    default:
      throw new ExpressionError(`unknown function: ${name}`);
  }
}

/** SHA-256 over the matching regular files, in sorted path order; '' when nothing matches. */
async function hashFiles(patterns: string[], workDir: string): Promise<string> {
  if (patterns.length === 0) return '';
  const files = new Set<string>();
  for (const pattern of patterns) {
    const absolute = isAbsolute(pattern);
    for (const match of await glob(pattern, { cwd: absolute ? '/' : workDir, absolute: true, dot: true, onlyFiles: true })) files.add(match);
  }
  const sorted = [...files].sort();
  if (sorted.length === 0) return '';
  const hash = createHash('sha256');
  for (const file of sorted) {
    try {
      if (!(await stat(file)).isFile()) continue;
      hash.update(await readFile(file));
    } catch {
      // A file that vanished between the glob and the read is skipped, like the reference does.
    }
  }
  return hash.digest('hex');
}

/** The `runner` context: operating system, architecture and the runner's directories. */
export function runnerContext(env: Record<string, string>): Record<string, unknown> {
  const os = process.platform === 'win32' ? 'Windows' : process.platform === 'darwin' ? 'macOS' : process.platform;
  const arches: Record<string, string> = { x64: 'X64', ia32: 'X86', arm64: 'ARM64', arm: 'ARM' };
  return { os, arch: arches[process.arch] ?? process.arch, name: env.RUNNER_NAME ?? '', temp: env.RUNNER_TEMP ?? '', tool_cache: env.RUNNER_TOOL_CACHE ?? '' };
}

