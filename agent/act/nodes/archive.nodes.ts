// Archives: files and directories packed into a zip, tar or tar.gz stream (file-compress), and such a
// stream unpacked into a directory (file-decompress).
//
// The archive libraries (yazl, yauzl, tar-stream) are loaded when an archive is made or read, never at
// start: the server imports the node registry only to validate graphs.

import { createReadStream, createWriteStream, type ReadStream, type Stats } from 'node:fs';
import { lstat, mkdir, mkdtemp, realpath, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { Pack } from 'tar-stream';
import type { Entry as ZipEntry } from 'yauzl';
import { CancelledError, throwIfAborted } from '../act-errors';
import { NodeError, NodeFailure, data, describeError, exec, option, staticPorts, type NodeDef } from '../act-node-def';
import { DataStream } from '../act-values';
import { compareGoStrings, errnoText, isMissing, lazyReadable, localPath, requiredStream, walkDirectory } from './node-helpers';

const FORMATS = ['zip', 'tar', 'targz'] as const;
type Format = (typeof FORMATS)[number];
const SUFFIXES: Record<Format, string> = { zip: '.zip', tar: '.tar', targz: '.tar.gz' };
const isFormat = (value: string): value is Format => (FORMATS as readonly string[]).includes(value);

// ---- packing -------------------------------------------------------------------------------------

type ArchiveFile = { path: string; name: string };

/**
 * The regular files named by `paths` (directories walked recursively), as absolute paths in byte
 * order. Symbolic links are skipped, as documented; so are sockets and FIFOs, which the reference
 * would try to read (and wait on forever).
 */
async function collectFiles(paths: string[], workDir: string, signal: AbortSignal): Promise<string[]> {
  const found = new Set<string>();
  for (const given of paths) {
    const path = localPath(workDir, given);
    let info: Stats;
    try {
      info = await lstat(path);
    } catch (error) {
      throw new NodeError(`failed to stat file '${given}': lstat ${given}: ${errnoText(error)}`);
    }
    if (info.isDirectory()) {
      try {
        await walkDirectory(path, true, signal, ({ abs, entry }) => {
          if (entry.isFile()) found.add(abs);
        });
      } catch (error) {
        if (error instanceof CancelledError) throw error;
        throw new NodeError(`failed to walk directory '${given}': ${describeError(error)}`);
      }
    } else if (info.isFile()) {
      found.add(path);
    }
  }
  return [...found].sort(compareGoStrings);
}

/**
 * The name of a file inside the archive: relative to `base` when under it, forward slashes, no drive
 * colon (`C:\x\y` → `c/x/y`) and no leading slash, so every name is relative.
 */
export function archiveName(path: string, base: string): string {
  const prefix = base.endsWith(sep) ? base : base + sep;
  let name = path.startsWith(prefix) ? path.slice(prefix.length) : path;
  if (sep === '\\') name = name.replaceAll('\\', '/');
  if (name.length > 1 && name[1] === ':') name = name[0].toLowerCase() + name.slice(2);
  return name.replace(/^\/+/, '');
}

async function* zipChunks(files: ArchiveFile[], level: number): AsyncGenerator<Buffer> {
  const { ZipFile } = await import('yazl');
  const zip = new ZipFile();
  const output = zip.outputStream as Readable;
  zip.on('error', (error: Error) => output.destroy(error));
  // The file streams are ours, not yazl's (addFile keeps its own): a reader that leaves half-way would
  // leave yazl's open for good, so they are closed below, and none is opened after that.
  const opened: ReadStream[] = [];
  let abandoned = false;
  // Level 0 stores, 1–9 deflate; names, modes and times as Go's archive/zip writes them (Unix
  // attributes, DOS time plus the extended UTC timestamp).
  for (const file of files) {
    const info = await stat(file.path);
    if (!info.isFile()) throw new Error(`not a file: ${file.path}`);
    zip.addReadStreamLazy(file.name, { compressionLevel: level, mtime: info.mtime, mode: info.mode }, (done) => {
      if (abandoned) return done(new Error('the archive was abandoned by its reader'), undefined as unknown as Readable);
      const stream = createReadStream(file.path);
      opened.push(stream);
      done(null, stream);
    });
  }
  zip.end();
  try {
    for await (const chunk of output) yield chunk as Buffer;
  } finally {
    abandoned = true;
    for (const stream of opened) stream.destroy();
  }
}

type TarSink = ReturnType<Pack['entry']>;

/** Resolves once a tar entry can take more data, or is gone. */
function drained(sink: TarSink): Promise<void> {
  return new Promise((resolveDrained) => {
    // A destroyed entry has already sent its 'close': waiting for it would hang with the file open.
    if (sink.destroyed) return resolveDrained();
    const done = (): void => {
      sink.off('drain', done);
      sink.off('close', done);
      resolveDrained();
    };
    sink.once('drain', done);
    sink.once('close', done);
  });
}

async function* tarChunks(files: ArchiveFile[]): AsyncGenerator<Buffer> {
  const tar = await import('tar-stream');
  const pack = tar.pack();
  const feed = async (): Promise<void> => {
    for (const file of files) {
      const info = await lstat(file.path);
      if (!info.isFile()) throw new Error(`${file.path} is no longer a regular file`);
      // USTAR headers (PAX for long names), modification time to the second, as Go's tar writer does.
      const header = { name: file.name, type: 'file' as const, size: info.size, mode: info.mode & 0o7777, uid: info.uid, gid: info.gid, mtime: new Date(Math.round(info.mtimeMs / 1000) * 1000) };
      let finish: (error?: Error | null) => void = () => undefined;
      const written = new Promise<void>((resolveWritten, reject) => (finish = (error) => (error ? reject(error) : resolveWritten())));
      const sink = pack.entry(header, (error) => finish(error));
      // When the reader destroys the archive, the entry fails while this loop waits on drained(), not
      // on `written`: unobserved, that rejection would take the whole agent down. It is awaited below.
      written.catch(() => undefined);
      // Exactly the size the header announced: a file that grows meanwhile cannot corrupt the archive.
      if (info.size > 0) {
        for await (const chunk of createReadStream(file.path, { start: 0, end: info.size - 1 })) {
          if (!sink.write(chunk)) await drained(sink);
          // Leaving the loop closes the file; nobody reads the archive any more.
          if (sink.destroyed) break;
        }
      }
      sink.end(null);
      await written;
    }
    pack.finalize();
  };
  const feeding = feed().catch((error: unknown) => {
    pack.destroy(error as Error);
  });
  for await (const chunk of pack) yield chunk as Buffer;
  await feeding;
}

/** The archive, produced only as it is read (files are opened one at a time, when their turn comes). */
function archiveStream(format: Format, files: ArchiveFile[], level: number): Readable {
  if (format === 'zip') return Readable.from(zipChunks(files, level));
  if (format === 'tar') return Readable.from(tarChunks(files));
  return lazyReadable(() => {
    const tar = Readable.from(tarChunks(files));
    const gzip = createGzip({ level });
    tar.once('error', (error) => gzip.destroy(error));
    gzip.once('close', () => tar.destroy());
    return tar.pipe(gzip);
  });
}

const fileCompress: NodeDef = {
  type: 'core/file-compress@v1',
  ports: staticPorts(
    [exec('exec'), option('format', FORMATS, 'zip'), data('base_path', 'string'), data('level', 'number', { default: 6 }), data('paths', '[]string')],
    [exec('exec-success'), exec('exec-err'), data('suffix', 'string'), data('data', 'stream')],
  ),
  async execute(ctx) {
    const paths = await ctx.strings('paths');
    const basePath = await ctx.string('base_path');
    const format = await ctx.string('format');
    // Levels outside 0–9 are clamped; 0 means no compression (zip entries are then stored).
    const level = Math.min(9, Math.max(0, await ctx.int('level')));
    if (!isFormat(format)) throw new NodeError(`unknown compression format: ${format} (expected one of ${FORMATS.join(', ')})`);
    // An empty base is the workspace; resolve() also drops a trailing slash the reference would keep.
    const base = resolve(ctx.host.workDir, basePath);
    // Every path is made absolute before names are taken, so a relative file is named relative to the
    // base like a walked one (the reference names it as typed: `../x` or `./a` inside the archive).
    const files = (await collectFiles(paths, ctx.host.workDir, ctx.signal)).map((path) => ({ path, name: archiveName(path, base) }));
    ctx.set('suffix', SUFFIXES[format]);
    ctx.set('data', new DataStream(archiveStream(format, files, level), -1, `archive${SUFFIXES[format]}`));
    return 'exec-success';
  },
};

// ---- unpacking -----------------------------------------------------------------------------------

/** The directory an archive is unpacked into; every path an entry names is checked against it. */
class Destination {
  constructor(
    readonly dir: string,
    private readonly realDir: string,
  ) {}

  /**
   * Where entry `name` goes. An absolute name lands inside the directory (`/etc/x` → `<dest>/etc/x`),
   * as Go's Join places it; a name that climbs out (`../x`, `a/../../x`) is refused.
   */
  place(name: string): string {
    const target = join(this.dir, name);
    if (!this.contains(this.dir, target) || (process.platform === 'win32' && relative(this.dir, target).includes(':'))) {
      throw new Error(`illegal path in archive: ${name} would be written outside ${this.dir}`);
    }
    return target;
  }

  private contains(root: string, path: string): boolean {
    const rel = relative(root, path);
    return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
  }

  /**
   * Creates `dir` (and its parents) after checking that none of what already exists leads outside
   * through a symbolic link: a link planted in the destination must not redirect the extraction.
   */
  async directory(dir: string, name: string): Promise<void> {
    for (let probe = dir; ; probe = dirname(probe)) {
      try {
        this.assertInside(await realpath(probe), name);
        break;
      } catch (error) {
        if (!isMissing(error) || dirname(probe) === probe) throw error;
      }
    }
    await mkdir(dir, { recursive: true, mode: 0o755 });
    this.assertInside(await realpath(dir), name);
  }

  private assertInside(real: string, name: string): void {
    if (!this.contains(this.realDir, real)) throw new Error(`illegal path in archive: ${name} leads outside ${this.dir} through a symbolic link`);
  }

  /** Writes a regular file; its executable bits are kept, the rest is 0666 less the umask (as os.Create makes). */
  async file(target: string, name: string, content: AsyncIterable<unknown>, archiveMode: number, signal: AbortSignal): Promise<void> {
    await this.directory(dirname(target), name);
    // A symbolic link already at the target is replaced, never written through.
    try {
      if ((await lstat(target)).isSymbolicLink()) await unlink(target);
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    // Read through a generator: a tar entry is not a Node stream, and Node's pipeline would wait
    // forever on one that was destroyed (a truncated archive) before the pipeline started.
    const chunks = async function* (): AsyncGenerator<unknown> {
      for await (const chunk of content) yield chunk;
    };
    await pipeline(chunks, createWriteStream(target, { mode: 0o666 | (archiveMode & 0o111) }), { signal });
  }
}

const ZIP_CREATOR_FAT = 0;
const ZIP_CREATOR_UNIX = 3;
const ZIP_CREATOR_NTFS = 11;
const ZIP_CREATOR_VFAT = 14;
const ZIP_CREATOR_MACOS = 19;
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/** What a zip entry is, read from its attributes the way Go's archive/zip reads them. */
function zipEntryKind(entry: ZipEntry, name: string): { symlink: boolean; dir: boolean; mode: number } {
  const creator = entry.versionMadeBy >> 8;
  let type = 0;
  let mode = 0o666;
  if (creator === ZIP_CREATOR_UNIX || creator === ZIP_CREATOR_MACOS) {
    const unixMode = entry.externalFileAttributes >>> 16;
    type = unixMode & S_IFMT;
    mode = unixMode & 0o777;
  } else if ((creator === ZIP_CREATOR_FAT || creator === ZIP_CREATOR_NTFS || creator === ZIP_CREATOR_VFAT) && (entry.externalFileAttributes & 0x10) !== 0) {
    type = S_IFDIR;
  }
  return { symlink: type === S_IFLNK, dir: name.endsWith('/') || type === S_IFDIR, mode };
}

/** A zip needs its central directory, at the end: the stream is spooled to a temporary file first. */
async function extractZip(source: Readable, destination: Destination, files: string[], signal: AbortSignal): Promise<void> {
  const yauzl = await import('yauzl');
  const spool = await mkdtemp(join(tmpdir(), 'bellows-unzip-'));
  try {
    const file = join(spool, 'archive.zip');
    try {
      await pipeline(source, createWriteStream(file), { signal });
    } catch (error) {
      throw new Error(`failed to read zip stream: ${errnoText(error)}`);
    }
    // Names are decoded here rather than by yauzl, which would reject absolute names outright.
    const zip = await yauzl.openPromise(file, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: true }).catch((error: unknown) => {
      throw new Error(`failed to open zip archive: ${describeError(error)}`);
    });
    try {
      for await (const entry of zip.eachEntry()) {
        throwIfAborted(signal);
        const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, false);
        const kind = zipEntryKind(entry, name);
        // Symbolic links are skipped, as documented.
        if (kind.symlink) continue;
        const target = destination.place(name);
        if (kind.dir) {
          await destination.directory(target, name);
          continue;
        }
        const content = await zip.openReadStreamPromise(entry);
        await destination.file(target, name, content, kind.mode, signal);
        files.push(target);
      }
    } finally {
      zip.close();
    }
  } finally {
    await rm(spool, { recursive: true, force: true });
  }
}

async function extractTar(source: Readable, destination: Destination, files: string[], signal: AbortSignal): Promise<void> {
  const tar = await import('tar-stream');
  const extract = tar.extract();
  source.once('error', (error) => extract.destroy(error));
  source.pipe(extract);
  try {
    for await (const entry of extract) {
      throwIfAborted(signal);
      const { name, type, mode } = entry.header;
      // Symbolic and hard links are skipped, as documented.
      if (type === 'symlink' || type === 'link') {
        entry.resume();
        continue;
      }
      const target = destination.place(name);
      if (type === 'file') {
        await destination.file(target, name, entry, mode ?? 0, signal);
        files.push(target);
      } else {
        if (type === 'directory') await destination.directory(target, name);
        // Devices, FIFOs and the like are not extracted.
        entry.resume();
      }
    }
  } catch (error) {
    source.unpipe(extract);
    source.destroy();
    throw error;
  }
}

/**
 * A gunzipped view of `source`. The gzip header is read first: a stream that is not gzip at all is
 * an input error that fails the graph, as in the reference; damage further in goes to exec-err.
 */
async function gunzipped(source: Readable): Promise<Readable> {
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let length = 0;
  while (length < 10) {
    const next = await chunks.next();
    if (next.done) break;
    head.push(next.value);
    length += next.value.length;
  }
  const prefix = Buffer.concat(head);
  if (prefix.length < 10) throw new NodeError(`failed to create gzip reader: ${prefix.length === 0 ? 'the data stream is empty' : 'unexpected EOF'}`);
  if (prefix[0] !== 0x1f || prefix[1] !== 0x8b || prefix[2] !== 8) throw new NodeError('failed to create gzip reader: gzip: invalid header (the data is not gzip-compressed)');
  const rest = async function* (): AsyncGenerator<Buffer> {
    yield prefix;
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
  };
  const compressed = Readable.from(rest());
  const gunzip = createGunzip();
  compressed.once('error', (error) => gunzip.destroy(error));
  return compressed.pipe(gunzip);
}

const fileDecompress: NodeDef = {
  type: 'core/file-decompress@v1',
  ports: staticPorts(
    [exec('exec'), option('format', FORMATS, 'zip'), data('dest_path', 'string', { required: true }), data('data', 'stream', { required: true })],
    [exec('exec-success'), exec('exec-err'), data('files', '[]string')],
  ),
  async execute(ctx) {
    const input = await requiredStream(ctx, 'data');
    const format = await ctx.string('format');
    const destPath = await ctx.string('dest_path');
    if (!isFormat(format)) {
      input.discard();
      throw new NodeError(`unknown decompression format: ${format} (expected one of ${FORMATS.join(', ')})`);
    }
    const dir = resolve(ctx.host.workDir, destPath);
    try {
      await mkdir(dir, { recursive: true, mode: 0o755 });
    } catch (error) {
      input.discard();
      throw new NodeError(`failed to create destination directory ${destPath}: ${errnoText(error)}`);
    }
    const destination = new Destination(dir, await realpath(dir));
    const source = input.take();
    // Absolute paths of the extracted regular files, in archive order.
    const files: string[] = [];
    try {
      if (format === 'zip') await extractZip(source, destination, files, ctx.signal);
      else await extractTar(format === 'targz' ? await gunzipped(source) : source, destination, files, ctx.signal);
    } catch (error) {
      source.destroy();
      if (error instanceof NodeError || error instanceof CancelledError) throw error;
      if (ctx.signal.aborted) throw new CancelledError();
      // What was extracted before the failure stays, and is listed.
      ctx.set('files', files);
      throw new NodeFailure(`decompressing into ${destPath || '.'} failed: ${errnoText(error)}`);
    }
    ctx.set('files', files);
    return 'exec-success';
  },
};

export const archiveNodes: readonly NodeDef[] = [fileCompress, fileDecompress];
