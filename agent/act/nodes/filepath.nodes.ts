// File path nodes: joining, splitting, cleaning, relating and sorting paths as text, and well-known
// locations (home, temp, the job workspace …).
//
// Path text follows Go's path/filepath rules, because graphs are written against the reference engine
// and its outputs are Go's: Clean("") is ".", Base("/") is "/", Ext("x.") is ".", Rel refuses to mix
// absolute and relative paths. Node's `path` module differs in many such corners (normalize keeps
// trailing slashes, relative() resolves against the process cwd), so the rules are implemented here,
// for POSIX agents and for Windows agents (drive letters, UNC shares, both slashes).

import { stat } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname } from 'node:path';
import { NodeError, data, describeError, option, staticPorts, type NodeContext, type NodeDef } from '../act-node-def';
import { toText } from '../act-values';
import { arrayItems, compareGoStrings, errnoText, tableEntry } from './node-helpers';

// ---- Go's path/filepath ----------------------------------------------------------------------

/** Go's path/filepath for one platform. Its functions are closures (no `this`), so they can be passed on alone. */
type GoPath = {
  readonly separator: string;
  readonly isSeparator: (char: string | undefined) => boolean;
  readonly volumeName: (path: string) => string;
  readonly isAbs: (path: string) => boolean;
  readonly clean: (path: string) => string;
  readonly base: (path: string) => string;
  readonly dir: (path: string) => string;
  readonly ext: (path: string) => string;
  readonly join: (...elements: string[]) => string;
  /** The relative path from `base` to `target`; throws an Error with Go's message where there is none. */
  readonly rel: (base: string, target: string) => string;
  readonly fromSlash: (path: string) => string;
  readonly toSlash: (path: string) => string;
};

/**
 * The output of Clean, built the way Go builds it: nothing is copied while the output is a prefix of
 * the input. Whether a copy was made matters on Windows (see `guardWindowsClean`).
 */
class CleanBuffer {
  private copy: string[] | undefined;
  length = 0;

  constructor(
    private readonly path: string,
    private readonly volume: string,
  ) {}

  get copied(): boolean {
    return this.copy !== undefined;
  }

  at(index: number): string {
    return this.copy ? this.copy[index] : this.path[index];
  }

  push(char: string): void {
    if (!this.copy) {
      if (this.length < this.path.length && this.path[this.length] === char) {
        this.length++;
        return;
      }
      // Go's buffer is as long as the input; what lies past the output stays in it (see `stale`).
      this.copy = Array.from({ length: this.path.length }, (_, i) => (i < this.length ? this.path[i] : '\u0000'));
    }
    this.copy[this.length++] = char;
  }

  /** Every character of the copy, including stale ones past the output that backtracking left behind. */
  get stale(): readonly string[] {
    return this.copy ?? [];
  }

  prefix(text: string): void {
    this.copy = [...text, ...(this.copy ?? [])];
    this.length += text.length;
  }

  text(): string {
    return this.volume + (this.copy ? this.copy.slice(0, this.length).join('') : this.path.slice(0, this.length));
  }
}

function makeGoPath(windows: boolean): GoPath {
  const separator = windows ? '\\' : '/';
  const isSeparator = (char: string | undefined): boolean => char === '/' || (windows && char === '\\');
  const volumeLength = (path: string): number => (windows ? windowsVolumeLength(path) : 0);
  const fromSlash = (path: string): string => (windows ? path.replaceAll('/', '\\') : path);
  const toSlash = (path: string): string => (windows ? path.replaceAll('\\', '/') : path);
  const sameWord = (a: string, b: string): boolean => (windows ? a.toLowerCase() === b.toLowerCase() : a === b);

  // Go gives the volume with native separators (`//host/share` → `\\host\share`).
  const volumeName = (path: string): string => fromSlash(path.slice(0, volumeLength(path)));

  function clean(original: string): string {
    const volume = original.slice(0, volumeLength(original));
    const path = original.slice(volume.length);
    if (path === '') {
      // A UNC volume on its own (\\host\share) is already clean; anything else empty means ".".
      if (volume.length > 1 && isSeparator(original[0]) && isSeparator(original[1])) return fromSlash(original);
      return `${original}.`;
    }
    const rooted = isSeparator(path[0]);
    const out = new CleanBuffer(path, volume);
    let read = 0;
    // Where `..` may no longer remove an element: after the root, or after leading `..`s.
    let floor = 0;
    if (rooted) {
      out.push(separator);
      read = floor = 1;
    }
    while (read < path.length) {
      const here = path[read];
      const next = path[read + 1];
      if (isSeparator(here)) {
        read++;
      } else if (here === '.' && (next === undefined || isSeparator(next))) {
        read++;
      } else if (here === '.' && next === '.' && (read + 2 === path.length || isSeparator(path[read + 2]))) {
        read += 2;
        if (out.length > floor) {
          out.length--;
          while (out.length > floor && !isSeparator(out.at(out.length))) out.length--;
        } else if (!rooted) {
          if (out.length > 0) out.push(separator);
          out.push('.');
          out.push('.');
          floor = out.length;
        }
      } else {
        if ((rooted && out.length !== 1) || (!rooted && out.length !== 0)) out.push(separator);
        for (; read < path.length && !isSeparator(path[read]); read++) out.push(path[read]);
      }
    }
    if (out.length === 0) out.push('.');
    if (windows) guardWindowsClean(out, volume);
    return fromSlash(out.text());
  }

  /**
   * Go (1.20+) keeps Clean on Windows from inventing a volume: `a/../c:` must not become the drive
   * `c:`, nor `\a\..\??\x` a `\??\` device path.
   */
  function guardWindowsClean(out: CleanBuffer, volume: string): void {
    if (volume !== '' || !out.copied) return;
    // Go looks at its whole buffer here, stale characters included; so does this, to give Go's answers.
    const chars = out.stale;
    for (const char of chars) {
      if (isSeparator(char)) break;
      if (char === ':') return out.prefix(`.${separator}`);
    }
    if (chars.length >= 3 && isSeparator(chars[0]) && chars[1] === '?' && chars[2] === '?') out.prefix(`${separator}.`);
  }

  function base(path: string): string {
    if (path === '') return '.';
    let end = path.length;
    while (end > 0 && isSeparator(path[end - 1])) end--;
    let rest = path.slice(0, end);
    rest = rest.slice(volumeLength(rest));
    let i = rest.length - 1;
    while (i >= 0 && !isSeparator(rest[i])) i--;
    const last = rest.slice(i + 1);
    return last === '' ? separator : last;
  }

  function dir(path: string): string {
    const volume = volumeName(path);
    let i = path.length - 1;
    while (i >= volume.length && !isSeparator(path[i])) i--;
    const parent = clean(path.slice(volume.length, i + 1));
    // What is left of a UNC path is its volume.
    if (parent === '.' && volume.length > 2) return volume;
    return volume + parent;
  }

  function ext(path: string): string {
    for (let i = path.length - 1; i >= 0 && !isSeparator(path[i]); i--) if (path[i] === '.') return path.slice(i);
    return '';
  }

  function isAbs(path: string): boolean {
    if (!windows) return path.startsWith('/');
    const length = windowsVolumeLength(path);
    if (length === 0) return false;
    if (isSeparator(path[0]) && isSeparator(path[1])) return true;
    const rest = path.slice(length);
    return rest !== '' && isSeparator(rest[0]);
  }

  function join(...elements: string[]): string {
    if (!windows) {
      const first = elements.findIndex((element) => element !== '');
      return first < 0 ? '' : clean(elements.slice(first).join('/'));
    }
    let joined = '';
    for (let element of elements) {
      const last = joined[joined.length - 1];
      if (joined === '') {
        // The first non-empty element is taken as it is.
      } else if (isSeparator(last)) {
        // Never let two elements make a UNC path (\\) that neither was.
        while (element !== '' && isSeparator(element[0])) element = element.slice(1);
        if (joined.length === 1 && element.startsWith('??') && (element.length === 2 || isSeparator(element[2]))) joined += '.\\';
      } else if (last !== ':') {
        // After a bare drive (`C:`) nothing is inserted: Join("C:", "f") is the drive-relative "C:f".
        joined += '\\';
      }
      joined += element;
    }
    return joined === '' ? '' : clean(joined);
  }

  function rel(basePath: string, targetPath: string): string {
    const refuse = (): Error => new Error(`Rel: can't make ${targetPath} relative to ${basePath}`);
    const baseVolume = volumeName(basePath);
    const targetVolume = volumeName(targetPath);
    let base = clean(basePath);
    let target = clean(targetPath);
    if (sameWord(target, base)) return '.';
    base = base.slice(baseVolume.length);
    target = target.slice(targetVolume.length);
    if (base === '.') base = '';
    else if (base === '' && windowsVolumeLength(baseVolume) > 2) base = separator; // a bare UNC share is a root
    const baseRooted = base !== '' && base[0] === separator;
    const targetRooted = target !== '' && target[0] === separator;
    if (baseRooted !== targetRooted || !sameWord(baseVolume, targetVolume)) throw refuse();
    // Skip the elements both have in common.
    let b0 = 0;
    let bi = 0;
    let t0 = 0;
    let ti = 0;
    for (;;) {
      while (bi < base.length && base[bi] !== separator) bi++;
      while (ti < target.length && target[ti] !== separator) ti++;
      if (!sameWord(target.slice(t0, ti), base.slice(b0, bi))) break;
      // Both used up: the same place. (Go loops forever here, e.g. Rel(`\\\`, `/\\\\`) on Windows.)
      if (bi === base.length && ti === target.length) return '.';
      if (bi < base.length) bi++;
      if (ti < target.length) ti++;
      b0 = bi;
      t0 = ti;
    }
    // A `..` left in the base cannot be undone without knowing what it stands for.
    if (base.slice(b0, bi) === '..') throw refuse();
    if (b0 !== base.length) {
      const ups = base.slice(b0).split(separator).length;
      const climb = Array.from({ length: ups }, () => '..').join(separator);
      return clean(t0 !== target.length ? `${climb}${separator}${target.slice(t0)}` : climb);
    }
    return target.slice(t0);
  }

  return { separator, isSeparator, volumeName, isAbs, clean, base, dir, ext, join, rel, fromSlash, toSlash };
}

const isSlash = (char: string | undefined): boolean => char === '/' || char === '\\';

/** Whether `path` starts with `prefix` (slashes of either kind, letters in any case) followed by a slash or the end. */
function hasPrefixFold(path: string, prefix: string): boolean {
  if (path.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (isSlash(prefix[i]) ? !isSlash(path[i]) : prefix[i].toUpperCase() !== path[i].toUpperCase()) return false;
  }
  return path.length === prefix.length || isSlash(path[prefix.length]);
}

/** Length of the volume of a Windows path: `C:`, `\\host\share`, `\\.\device`, `\\?\…` (Go's rules). */
function windowsVolumeLength(path: string): number {
  const uncLength = (from: number): number => {
    let slashes = 0;
    for (let i = from; i < path.length; i++) {
      if (isSlash(path[i]) && ++slashes === 2) return i;
    }
    return path.length;
  };
  if (path.length >= 2 && path[1] === ':') return 2;
  if (path === '' || !isSlash(path[0])) return 0;
  if (hasPrefixFold(path, '\\\\.\\UNC')) return uncLength('\\\\.\\UNC\\'.length);
  if (hasPrefixFold(path, '\\\\.') || hasPrefixFold(path, '\\\\?') || hasPrefixFold(path, '\\??')) {
    if (path.length === 3) return 3;
    const rest = path.slice(4);
    const slash = [...rest].findIndex(isSlash);
    return slash < 0 ? path.length : 4 + slash;
  }
  if (path.length >= 2 && isSlash(path[1])) return uncLength(2);
  return 0;
}

export const posixGoPath: GoPath = makeGoPath(false);
export const windowsGoPath: GoPath = makeGoPath(true);
/** The rules of the platform the agent runs on, as the reference applies its own platform's. */
export const goPath: GoPath = process.platform === 'win32' ? windowsGoPath : posixGoPath;

// ---- nodes ---------------------------------------------------------------------------------------

const filepathJoin: NodeDef = {
  type: 'core/filepath-join@v1',
  ports: staticPorts([data('segments', 'string', { array: true })], [data('result', 'string')]),
  async evaluate(ctx) {
    return goPath.join(...(await arrayItems(ctx, 'segments', toText)));
  },
};

const filepathJoinArray: NodeDef = {
  type: 'core/filepath-join-array@v1',
  ports: staticPorts([data('segments', '[]string')], [data('result', 'string')]),
  async evaluate(ctx) {
    return goPath.join(...(await ctx.strings('segments')));
  },
};

const OPS: Record<string, (path: string) => string> = {
  base: goPath.base,
  clean: goPath.clean,
  dir: goPath.dir,
  ext: goPath.ext,
  from_slash: goPath.fromSlash,
  to_slash: goPath.toSlash,
  volume: goPath.volumeName,
};

const filepathOp: NodeDef = {
  type: 'core/filepath-op@v1',
  ports: staticPorts([data('path', 'string'), option('op', Object.keys(OPS), 'base')], [data('result', 'string')]),
  async evaluate(ctx) {
    const path = await ctx.string('path');
    const op = await ctx.string('op');
    const apply = tableEntry(OPS, op);
    if (!apply) throw new NodeError(`unknown operation '${op}' (expected one of ${Object.keys(OPS).join(', ')})`);
    return apply(path);
  },
};

const filepathRel: NodeDef = {
  type: 'core/filepath-rel@v1',
  ports: staticPorts([data('basepath', 'string'), data('targpath', 'string')], [data('result', 'string')]),
  async evaluate(ctx) {
    const base = await ctx.string('basepath');
    const target = await ctx.string('targpath');
    try {
      return goPath.rel(base, target);
    } catch (error) {
      throw new NodeError(describeError(error));
    }
  },
};

const depth = (path: string): number => goPath.toSlash(path).split('/').length;

/** Orderings by a key; ties keep their input order (Go's sort.Slice does too for up to 12 paths). */
const SORTS: Record<string, (a: string, b: string) => number> = {
  alphabetical: compareGoStrings,
  reverse_alphabetical: (a, b) => compareGoStrings(b, a),
  by_extension: (a, b) => compareGoStrings(goPath.ext(a), goPath.ext(b)),
  by_directory_depth: (a, b) => depth(a) - depth(b),
  // Go measures names in bytes.
  by_filename_length: (a, b) => Buffer.byteLength(goPath.base(a)) - Buffer.byteLength(goPath.base(b)),
};

const filepathSort: NodeDef = {
  type: 'core/filepath-sort@v1',
  ports: staticPorts([data('paths', '[]string'), option('sort_by', Object.keys(SORTS), 'alphabetical')], [data('result', '[]string')]),
  async evaluate(ctx) {
    const paths = await ctx.strings('paths');
    const sortBy = await ctx.string('sort_by');
    const compare = tableEntry(SORTS, sortBy);
    if (!compare) throw new NodeError(`unknown sorting option '${sortBy}' (expected one of ${Object.keys(SORTS).join(', ')})`);
    // A sorted copy: the reference sorts the list in place, which changes it for every other reader.
    return [...paths].sort(compare);
  },
};

/** A variable of the job's environment (what the graph's processes see); empty counts as unset, as in Go. */
function envValue(ctx: NodeContext, name: string): string | undefined {
  const value = ctx.state.env[name];
  return value === '' ? undefined : value;
}

function homeDirectory(ctx: NodeContext): string {
  const home = process.platform === 'win32' ? envValue(ctx, 'USERPROFILE') : envValue(ctx, 'HOME');
  if (home) return home;
  const fallback = homedir();
  if (fallback) return fallback;
  throw new NodeError(`unable to get home directory: ${process.platform === 'win32' ? '%userprofile%' : '$HOME'} is not defined`);
}

function userConfigDirectory(ctx: NodeContext): string {
  if (process.platform === 'win32') {
    const appData = envValue(ctx, 'AppData') ?? envValue(ctx, 'APPDATA');
    if (!appData) throw new NodeError('unable to get user config directory: %AppData% is not defined');
    return appData;
  }
  if (process.platform === 'darwin') return goPath.join(homeDirectory(ctx), 'Library', 'Application Support');
  const xdg = envValue(ctx, 'XDG_CONFIG_HOME');
  if (xdg) {
    if (!goPath.isAbs(xdg)) throw new NodeError('unable to get user config directory: path in $XDG_CONFIG_HOME is relative');
    return xdg;
  }
  const home = envValue(ctx, 'HOME');
  if (!home) throw new NodeError('unable to get user config directory: neither $XDG_CONFIG_HOME nor $HOME are defined');
  return goPath.join(home, '.config');
}

const LOCATIONS: Record<string, (ctx: NodeContext) => string | Promise<string>> = {
  home: homeDirectory,
  current_graph: (ctx) => {
    // A stored pipeline reaches the agent as text, not a file: only bellows-act and repository pipelines
    // (whose file is in the checkout) have a graph file to name.
    const graphFile = ctx.host.graphFile;
    if (graphFile === undefined || graphFile === '') {
      throw new NodeError('current graph path not found in context: this graph was not started from a graph file (a stored pipeline is sent to the agent as text)');
    }
    // Join cleans what it joins.
    return goPath.isAbs(graphFile) ? goPath.clean(graphFile) : goPath.join(ctx.host.workDir, graphFile);
  },
  temp_dir: (ctx) => (process.platform === 'win32' ? tmpdir() : (envValue(ctx, 'TMPDIR') ?? '/tmp')),
  // The directory of the program running the graph: the Node.js runtime of the agent (or the agent's
  // own binary when it is packaged as a single executable).
  exe_dir: () => dirname(process.execPath),
  root_dir: () => goPath.separator,
  // On an agent the job's workspace is the working directory of everything the graph runs.
  working_dir: (ctx) => ctx.host.workDir,
  user_config_dir: userConfigDirectory,
  desktop_dir: async (ctx) => {
    const desktop = goPath.join(homeDirectory(ctx), 'Desktop');
    try {
      await stat(desktop);
    } catch (error) {
      // Go's wording: "stat …: no such file or directory".
      throw new NodeError(`no desktop directory found: stat ${desktop}: ${errnoText(error)}`);
    }
    return desktop;
  },
};

const filepathLocation: NodeDef = {
  type: 'core/filepath-location@v1',
  ports: staticPorts([option('location', Object.keys(LOCATIONS), 'home')], [data('result', 'string')]),
  async evaluate(ctx) {
    const location = await ctx.string('location');
    const find = tableEntry(LOCATIONS, location);
    if (!find) throw new NodeError(`unknown location '${location}' (expected one of ${Object.keys(LOCATIONS).join(', ')})`);
    return find(ctx);
  },
};

export const filepathNodes: readonly NodeDef[] = [filepathJoin, filepathJoinArray, filepathOp, filepathRel, filepathSort, filepathLocation];
