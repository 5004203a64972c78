// Helpers shared by several node files: Go's string order, reading inputs, and the file system as the
// file and archive nodes use it (paths relative to the job's workspace, Go's error texts and walk order).

import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { throwIfAborted } from '../act-errors';
import type { NodeContext } from '../act-node-def';
import type { DataStream } from '../act-values';

// ---- Go's string order ---------------------------------------------------------------------------

/**
 * Go's string order (`<` compares the bytes of UTF-8, which is code-point order), without encoding: it
 * sorts the entries of every walked directory and every map written out. JS's UTF-16 order is the same
 * except where both units are from U+D800 on: there a surrogate (half of a character above U+FFFF) sorts
 * before U+E000–U+FFFF in UTF-16 and after them in code points, so those units are moved apart first.
 */
export function compareGoStrings(a: string, b: string): number {
  const shared = Math.min(a.length, b.length);
  for (let i = 0; i < shared; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 || y < 0xd800) return x - y;
    return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** A UTF-16 unit from U+D800 on, ranked by the code points it can stand for: surrogates after U+FFFF. */
const codePointRank = (unit: number): number => (unit >= 0xe000 ? unit - 0x800 : unit + 0x2000);

// ---- option tables -------------------------------------------------------------------------------

/**
 * The entry `name` of an option table (operators, encodings, locations), or undefined. Only the table's own
 * keys count: plain indexing would take `constructor` or `toString` from Object.prototype for an option.
 */
export function tableEntry<T>(table: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

// ---- inputs --------------------------------------------------------------------------------------

/** Input `port` of the node as messages name it (`input 'values[2]' of node gate/pick`), as the runtime does. */
export const inputLabel = (ctx: NodeContext, port: string): string => `input '${port}' of node ${ctx.path}`;

/** The items of array input `base` (`base[0]`, `base[1]` …), each converted as an input of the item type is. */
export async function arrayItems<T>(ctx: NodeContext, base: string, convert: (item: unknown, what: string) => T | Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (const [i, item] of (await ctx.array(base)).entries()) out.push(await convert(item, inputLabel(ctx, `${base}[${i}]`)));
  return out;
}

/**
 * A required stream input. Reading an input never gives nothing (the scope's readInput throws "no value
 * for input" for an unset required input and for an absent value), so there is always a stream here.
 */
export async function requiredStream(ctx: NodeContext, port: string): Promise<DataStream> {
  return (await ctx.stream(port)) as DataStream;
}

// ---- files ---------------------------------------------------------------------------------------

/** A path as the graph gave it, made absolute against the workspace; "" stays "" (it names no file, as in Go). */
export function localPath(workDir: string, given: string): string {
  return given === '' ? '' : resolve(workDir, given);
}

/** The system's reason without Node's decoration: "no such file or directory" rather than "ENOENT: …, open '…'". */
export function errnoText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /^E[A-Z0-9]+: ([^,]+)/.exec(message)?.[1] ?? message;
}

/** Whether a failed stat means "there is nothing at this path". */
export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * A readable that calls `open` only when it is first read, and never when it is destroyed unread. A file
 * node's stream that nobody reads then holds no file descriptor (a loop over thousands of files would
 * otherwise exhaust them).
 */
export function lazyReadable(open: () => Readable): Readable {
  // A generator's body runs at its first next(), which Readable.from makes on the first read; destroying
  // the stream returns the generator, and with it the source it opened. Errors of either end it.
  async function* chunks(): AsyncGenerator<Buffer> {
    yield* open() as AsyncIterable<Buffer>;
  }
  return Readable.from(chunks(), { objectMode: false });
}

type WalkItem = { abs: string; rel: string; entry: Dirent };

/**
 * Visits what is under the directory `root` in Go's filepath.WalkDir order: names sorted (as bytes),
 * each directory before its contents. Symbolic links are reported, never followed. A directory that
 * cannot be read stops the walk with an error, after the directory itself was visited.
 */
export async function walkDirectory(root: string, recursive: boolean, signal: AbortSignal, visit: (item: WalkItem) => void): Promise<void> {
  const visitDirectory = async (dir: string, relDir: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      throw new Error(`open ${dir}: ${errnoText(error)}`);
    }
    entries.sort((a, b) => compareGoStrings(a.name, b.name));
    for (const entry of entries) {
      throwIfAborted(signal);
      const abs = join(dir, entry.name);
      const rel = relDir === '' ? entry.name : join(relDir, entry.name);
      visit({ abs, rel, entry });
      if (recursive && entry.isDirectory()) await visitDirectory(abs, rel);
    }
  };
  await visitDirectory(root, '');
}
