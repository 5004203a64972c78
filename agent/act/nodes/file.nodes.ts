// File system nodes: reading and writing files, walking and creating directories, and facts about a
// path. Relative paths are relative to the job's workspace (ctx.host.workDir), which is what the
// reference's process working directory is for a graph run by hand.

import { createReadStream, type Stats } from 'node:fs';
import { mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { CancelledError } from '../act-errors';
import { NodeError, NodeFailure, data, describeError, exec, staticPorts, type NodeDef } from '../act-node-def';
import { DataStream } from '../act-values';
import { goPath } from './filepath.nodes';
import { errnoText, isMissing, lazyReadable, localPath, requiredStream, walkDirectory } from './node-helpers';

// ---- Go's filepath.Match, for dir-walk globs ----------------------------------------------------

export class BadPatternError extends Error {
  constructor() {
    super('syntax error in pattern');
    this.name = 'BadPatternError';
  }
}

/** `\` escapes the next character in a pattern, except on Windows where it is the separator. */
const ESCAPES = goPath.separator !== '\\';

type Chunk = { star: boolean; chunk: string[]; rest: string[] };

/** Splits off leading stars and the literal/class part up to the next star outside a class. */
function scanChunk(pattern: string[]): Chunk {
  let start = 0;
  while (start < pattern.length && pattern[start] === '*') start++;
  let end = start;
  let inClass = false;
  for (; end < pattern.length; end++) {
    const char = pattern[end];
    if (char === '\\' && ESCAPES) {
      if (end + 1 < pattern.length) end++;
    } else if (char === '[') inClass = true;
    else if (char === ']') inClass = false;
    else if (char === '*' && !inClass) break;
  }
  return { star: start > 0, chunk: pattern.slice(start, end), rest: pattern.slice(end) };
}

/** One character of a class (`a`, `\]`), and where the class continues; malformed classes throw. */
function classChar(chunk: string[], at: number): { char: string; next: number } {
  if (at >= chunk.length || chunk[at] === '-' || chunk[at] === ']') throw new BadPatternError();
  if (chunk[at] === '\\' && ESCAPES) {
    at++;
    if (at >= chunk.length) throw new BadPatternError();
  }
  // A class must be closed, so something has to follow.
  if (at + 1 >= chunk.length) throw new BadPatternError();
  return { char: chunk[at], next: at + 1 };
}

const codePoint = (char: string): number => char.codePointAt(0) ?? 0;

/**
 * Matches `chunk` at the start of `text`: what is left of `text`, or undefined. The whole chunk is
 * always parsed, so a malformed pattern is an error even where the text already failed to match.
 */
function matchChunk(chunk: string[], text: string[]): string[] | undefined {
  let failed = false;
  let at = 0;
  let c = 0;
  while (c < chunk.length) {
    if (!failed && at >= text.length) failed = true;
    const char = chunk[c];
    if (char === '[') {
      const subject = failed ? undefined : text[at++];
      c++;
      const negated = chunk[c] === '^';
      if (negated) c++;
      let inClass = false;
      for (let ranges = 0; ; ranges++) {
        if (c < chunk.length && chunk[c] === ']' && ranges > 0) {
          c++;
          break;
        }
        const low = classChar(chunk, c);
        let high = low.char;
        c = low.next;
        if (chunk[c] === '-') {
          const upper = classChar(chunk, c + 1);
          high = upper.char;
          c = upper.next;
        }
        if (subject !== undefined && codePoint(low.char) <= codePoint(subject) && codePoint(subject) <= codePoint(high)) inClass = true;
      }
      if (inClass === negated) failed = true;
    } else if (char === '?') {
      if (!failed) {
        if (text[at] === goPath.separator) failed = true;
        at++;
      }
      c++;
    } else {
      let literal = char;
      if (char === '\\' && ESCAPES) {
        c++;
        if (c >= chunk.length) throw new BadPatternError();
        literal = chunk[c];
      }
      if (!failed) {
        if (literal !== text[at]) failed = true;
        at++;
      }
      c++;
    }
  }
  return failed ? undefined : text.slice(at);
}

/** Go's filepath.Match: `*`, `?`, `[a-z]`, `[^…]`, `\` escapes; the whole name must match. */
export function goMatch(patternText: string, nameText: string): boolean {
  let pattern = [...patternText];
  let name = [...nameText];
  chunks: while (pattern.length > 0) {
    const { star, chunk, rest } = scanChunk(pattern);
    pattern = rest;
    // A trailing star takes the rest of the name, unless that crosses a separator.
    if (star && chunk.length === 0) return !name.includes(goPath.separator);
    const here = matchChunk(chunk, name);
    // The last chunk must use up the name; otherwise the star may still find a later match.
    if (here !== undefined && (here.length === 0 || pattern.length > 0)) {
      name = here;
      continue;
    }
    if (star) {
      for (let skip = 0; skip < name.length && name[skip] !== goPath.separator; skip++) {
        const later = matchChunk(chunk, name.slice(skip + 1));
        if (later === undefined || (pattern.length === 0 && later.length > 0)) continue;
        name = later;
        continue chunks;
      }
    }
    // No match. What follows in the pattern is not checked, as in Go's filepath.Match (the reference's
    // glob filter); only path.Match, which the reference does not use, reports a malformed rest.
    return false;
  }
  return name.length === 0;
}

/** dir-walk's filter: `;`-separated globs on the item's name; no glob, or an empty one, takes everything. */
export function globAccepts(patterns: string[] | undefined, name: string): boolean {
  if (!patterns) return true;
  for (const pattern of patterns) {
    if (pattern === '') return true;
    if (goMatch(pattern.replaceAll('/', goPath.separator), name)) return true;
  }
  return false;
}

// ---- nodes ---------------------------------------------------------------------------------------

/** A file's bytes as a stream, opened when first read; a directory or a missing file fails the read. */
function fileStream(path: string, origin: string, size = -1): DataStream {
  return new DataStream(lazyReadable(() => createReadStream(path)), size, origin);
}

const fileRead: NodeDef = {
  type: 'core/file-read@v1',
  ports: staticPorts([exec('exec'), data('path', 'string', { required: true })], [exec('exec-success'), exec('exec-err'), data('exists', 'bool'), data('data', 'stream')]),
  async execute(ctx) {
    const given = await ctx.string('path');
    const path = localPath(ctx.host.workDir, given);
    let info: Stats;
    try {
      info = await stat(path);
    } catch (error) {
      // The reference fails the whole graph when the file cannot be opened, which leaves `exists`
      // unable to ever say false; here a missing file sets exists=false and continues on exec-err.
      ctx.set('exists', !isMissing(error));
      ctx.set('data', fileStream(path, given));
      throw new NodeFailure(`open ${given}: ${errnoText(error)}`);
    }
    ctx.set('exists', true);
    if (info.isDirectory()) {
      // As in the reference: the stream exists, but reading it fails.
      ctx.set('data', fileStream(path, given));
      throw new NodeFailure(`stat ${given}: is a directory`);
    }
    ctx.set('data', fileStream(path, given, info.size));
    return 'exec-success';
  },
};

const fileWrite: NodeDef = {
  type: 'core/file-write@v1',
  ports: staticPorts([exec('exec'), data('path', 'string', { required: true }), data('data', 'any', { required: true })], [exec('exec-success'), exec('exec-err')]),
  async execute(ctx) {
    // Text, bytes and streams; anything else (a number, a list) is refused, as the reference does.
    const input = await requiredStream(ctx, 'data');
    const given = await ctx.string('path');
    let handle: FileHandle;
    try {
      handle = await open(localPath(ctx.host.workDir, given), 'w');
    } catch (error) {
      input.discard();
      // As in the reference, a file that cannot be created (no parent directory, a directory at the
      // path, no permission) fails the graph; core/dir-create@v1 makes parent directories.
      throw new NodeError(`error creating file ${given}: ${errnoText(error)}`);
    }
    try {
      await pipeline(input.take(), handle.createWriteStream(), { signal: ctx.signal });
    } catch (error) {
      if (ctx.signal.aborted) throw new CancelledError();
      throw new NodeFailure(`writing ${given} failed: ${errnoText(error)}`);
    }
    return 'exec-success';
  },
};

const dirWalk: NodeDef = {
  type: 'core/dir-walk@v1',
  ports: staticPorts(
    [
      exec('exec'),
      data('path', 'string', { required: true }),
      data('glob', 'string'),
      data('recursive', 'bool', { default: true }),
      data('dirs', 'bool', { default: true }),
      data('files', 'bool', { default: true }),
    ],
    [exec('exec-success'), exec('exec-err'), data('items_abs', '[]string'), data('items_rel', '[]string')],
  ),
  async execute(ctx) {
    const glob = await ctx.string('glob');
    const given = await ctx.string('path');
    const recursive = await ctx.bool('recursive');
    const withDirs = await ctx.bool('dirs');
    const withFiles = await ctx.bool('files');
    if (given === '') throw new NodeError('dir path is empty (use . for the workspace)');
    const patterns = glob === '' ? undefined : glob.split(';');
    const root = localPath(ctx.host.workDir, given);
    // One order for both lists (the reference returns them in unrelated random orders): Go's walk order.
    const abs: string[] = [];
    const rel: string[] = [];
    const publish = (): void => {
      ctx.set('items_abs', abs);
      ctx.set('items_rel', rel);
    };
    try {
      // A symbolic link given as the root is followed: the graph named that directory.
      const info = await stat(root).catch((error: unknown) => {
        throw new Error(`failed to read directory: open ${given}: ${errnoText(error)}`);
      });
      // The documented contract; the reference's recursive walk instead reports nothing, successfully.
      if (!info.isDirectory()) throw new Error(`failed to read directory: ${given} is not a directory`);
      await walkDirectory(root, recursive, ctx.signal, ({ abs: itemAbs, rel: itemRel, entry }) => {
        if (!globAccepts(patterns, entry.name)) return;
        // Anything that is not a directory counts as a file, symbolic links included (never followed).
        if (entry.isDirectory() ? withDirs : withFiles) {
          abs.push(itemAbs);
          rel.push(itemRel);
        }
      });
    } catch (error) {
      if (error instanceof CancelledError) throw error;
      publish();
      throw new NodeFailure(error instanceof BadPatternError ? `invalid glob '${glob}': ${error.message}` : describeError(error));
    }
    publish();
    return 'exec-success';
  },
};

const dirCreate: NodeDef = {
  type: 'core/dir-create@v1',
  ports: staticPorts([exec('exec'), data('path', 'string', { required: true }), data('create_parents', 'bool', { default: true })], [exec('exec-success'), exec('exec-err')]),
  async execute(ctx) {
    const given = await ctx.string('path');
    const parents = await ctx.bool('create_parents');
    try {
      // With parents, an existing directory is fine (mkdir -p); without, it is an error (mkdir).
      await mkdir(localPath(ctx.host.workDir, given), { recursive: parents, mode: 0o755 });
    } catch (error) {
      throw new NodeFailure(`failed to create directory: mkdir ${given}: ${errnoText(error)}`);
    }
    return 'exec-success';
  },
};

const itemStats: NodeDef = {
  type: 'core/item-stats@v1',
  ports: staticPorts(
    [exec('exec'), data('path', 'string', { required: true })],
    [
      exec('exec-exists'),
      exec('exec-noexists'),
      data('exists', 'bool'),
      data('isdir', 'bool'),
      data('isfile', 'bool'),
      data('size', 'number'),
      data('permissions', 'number'),
    ],
  ),
  async execute(ctx) {
    const given = await ctx.string('path');
    let exists = true;
    let isDir = false;
    let isFile = false;
    let size = 0;
    let permissions = 0;
    try {
      // Symbolic links are followed; a dangling one does not exist.
      const info = await stat(localPath(ctx.host.workDir, given));
      isDir = info.isDirectory();
      isFile = info.isFile();
      size = info.size;
      // The permission bits written as their octal digits (0o755 → 755), as the reference reports them.
      permissions = Number((info.mode & 0o777).toString(8));
    } catch (error) {
      if (!isMissing(error)) throw new NodeError(`error getting file stats: stat ${given}: ${errnoText(error)}`);
      exists = false;
    }
    ctx.set('exists', exists);
    ctx.set('isdir', isDir);
    ctx.set('isfile', isFile);
    ctx.set('size', size);
    ctx.set('permissions', permissions);
    return exists ? 'exec-exists' : 'exec-noexists';
  },
};

export const fileNodes: readonly NodeDef[] = [fileRead, fileWrite, dirWalk, dirCreate, itemStats];
