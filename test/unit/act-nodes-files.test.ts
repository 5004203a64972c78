// The file system nodes: files, directories, paths and archives. Expected values come from the node
// documentation and from running the same graphs through the reference engine (actrun); where Bellows
// deliberately differs, the test says so.

import { randomBytes } from 'node:crypto';
import { chmodSync, createReadStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, crc32 } from 'node:zlib';
import { extract as tarExtract, pack as tarPack } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { nodeDef } from '../../agent/act';
import type { NodeContext } from '../../agent/act/act-node-def';
import type { DataStream } from '../../agent/act/act-values';
import { fromBuffer as zipFromBuffer, type Entry as ZipEntry, type ZipFile } from 'yauzl';
import { archiveName } from '../../agent/act/nodes/archive.nodes';
import { BadPatternError, goMatch } from '../../agent/act/nodes/file.nodes';
import { posixGoPath, windowsGoPath } from '../../agent/act/nodes/filepath.nodes';
import { compareGoStrings, lazyReadable } from '../../agent/act/nodes/node-helpers';
import { actYaml, fakeHost, runText, waitUntil, type FakeHost, type TestEdge, type TestNode } from './act-test-host';

type Run = { status: string; error?: string; host: FakeHost };

async function run(nodes: TestNode[], executions: TestEdge[], connections: TestEdge[] = [], host: FakeHost = fakeHost()): Promise<Run> {
  const result = await runText(actYaml(nodes, executions, connections), host);
  return { status: result.status, error: result.error, host };
}

/** What print node `id` printed, without the final newline. */
const printed = (host: FakeHost, id: string): string => host.text(id).replace(/\n$/, '');

/** start → print(values[0] ← source): the value of a data node's output as print shows it. */
async function evaluate(nodes: TestNode[], source: string, host: FakeHost = fakeHost()): Promise<string> {
  const outcome = await run([...nodes, { id: 'out', type: 'core/print@v1', inputs: { 'values[0]': null } }], [['start.exec', 'out.exec']], [[source, 'out.values[0]']], host);
  expect(outcome.status, host.text()).toBe('succeeded');
  return printed(host, 'out');
}

/** The failure of a graph that reads a data node's output. */
async function evaluationError(nodes: TestNode[], source: string, host: FakeHost = fakeHost()): Promise<string> {
  const outcome = await run([...nodes, { id: 'out', type: 'core/print@v1', inputs: { 'values[0]': null } }], [['start.exec', 'out.exec']], [[source, 'out.values[0]']], host);
  expect(outcome.status).toBe('failed');
  return outcome.error ?? '';
}

function write(root: string, files: Record<string, string | Buffer>): void {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), content);
  }
}

/** Every regular file under `root`, relative, with its bytes. */
function tree(root: string, prefix = ''): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const entry of readdirSync(join(root, prefix), { withFileTypes: true })) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) Object.assign(out, tree(root, rel));
    else if (entry.isFile()) out[rel] = readFileSync(join(root, rel));
  }
  return out;
}

// ---- archive inspection helpers (independent of the nodes under test) ------------------------------

type ZipListing = { name: string; method: number; data: Buffer };

async function listZip(buffer: Buffer): Promise<ZipListing[]> {
  const zip = await new Promise<ZipFile>((resolve, reject) => zipFromBuffer(buffer, { lazyEntries: true }, (error, file) => (error ? reject(error) : resolve(file))));
  const out: ZipListing[] = [];
  for await (const entry of zip.eachEntry() as AsyncIterable<ZipEntry>) {
    const stream = await zip.openReadStreamPromise(entry);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    out.push({ name: entry.fileName, method: entry.compressionMethod, data: Buffer.concat(chunks) });
  }
  return out;
}

type TarListing = { name: string; type: string; mode: number; data: Buffer };

async function listTar(buffer: Buffer): Promise<TarListing[]> {
  const extract = tarExtract();
  const out: TarListing[] = [];
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      out.push({ name: entry.header.name, type: entry.header.type, mode: entry.header.mode, data: Buffer.concat(chunks) });
    }
  })();
  extract.end(buffer);
  await done;
  return out;
}

type CraftedEntry = { name: string; data?: string; type?: 'file' | 'symlink' | 'directory'; linkname?: string };

async function craftTar(entries: CraftedEntry[]): Promise<Buffer> {
  const pack = tarPack();
  for (const entry of entries) {
    if (entry.type === 'symlink') pack.entry({ name: entry.name, type: 'symlink', linkname: entry.linkname ?? 'x' });
    else if (entry.type === 'directory') pack.entry({ name: entry.name, type: 'directory' });
    else pack.entry({ name: entry.name }, entry.data ?? '');
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A stored (uncompressed) zip written byte by byte, so names no zip library would write can be tested. */
function craftZip(entries: CraftedEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.type === 'directory' && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name, 'utf8');
    const body = Buffer.from(entry.type === 'symlink' ? (entry.linkname ?? 'x') : (entry.data ?? ''), 'utf8');
    const mode = entry.type === 'symlink' ? 0o120777 : entry.type === 'directory' ? 0o040755 : 0o100644;
    const crc = crc32(body);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(body.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(body.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((mode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

// ---- files ----------------------------------------------------------------------------------------

describe('core/file-read@v1', () => {
  it('streams the content of a file relative to the workspace and says it exists', async () => {
    const host = fakeHost();
    write(host.workDir, { 'notes/hello.txt': 'hello this is a simple test' });
    const outcome = await run(
      [
        { id: 'read', type: 'core/file-read@v1', inputs: { path: 'notes/hello.txt' } },
        { id: 'show', type: 'core/print@v1', inputs: { 'values[0]': null, 'values[1]': null } },
      ],
      [
        ['start.exec', 'read.exec'],
        ['read.exec-success', 'show.exec'],
      ],
      [
        ['read.data', 'show.values[0]'],
        ['read.exists', 'show.values[1]'],
      ],
      host,
    );
    expect(outcome.status, host.text()).toBe('succeeded');
    expect(host.text('show')).toBe('hello this is a simple test\ntrue\n');
  });

  it('a missing file continues on exec-err with exists=false; unconnected, it fails the graph', async () => {
    const handled = await run(
      [
        { id: 'read', type: 'core/file-read@v1', inputs: { path: 'nope.txt' } },
        { id: 'caught', type: 'core/print@v1', inputs: { 'values[0]': null } },
      ],
      [
        ['start.exec', 'read.exec'],
        ['read.exec-err', 'caught.exec'],
      ],
      [['read.exists', 'caught.values[0]']],
    );
    expect(handled.status).toBe('succeeded');
    expect(printed(handled.host, 'caught')).toBe('false');
    expect(handled.host.text()).toContain('open nope.txt: no such file or directory');

    const unhandled = await run([{ id: 'read', type: 'core/file-read@v1', inputs: { path: 'nope.txt' } }], [['start.exec', 'read.exec']]);
    expect(unhandled.status).toBe('failed');
    expect(unhandled.error).toContain('open nope.txt: no such file or directory');
  });

  it('a directory exists but cannot be read: exec-err with exists=true', async () => {
    const host = fakeHost();
    mkdirSync(join(host.workDir, 'adir'));
    const outcome = await run(
      [
        { id: 'read', type: 'core/file-read@v1', inputs: { path: 'adir' } },
        { id: 'caught', type: 'core/print@v1', inputs: { 'values[0]': null } },
      ],
      [
        ['start.exec', 'read.exec'],
        ['read.exec-err', 'caught.exec'],
      ],
      [['read.exists', 'caught.values[0]']],
      host,
    );
    expect(outcome.status).toBe('succeeded');
    expect(printed(host, 'caught')).toBe('true');
    expect(host.text()).toContain('stat adir: is a directory');
  });
});

describe('compareGoStrings', () => {
  it("orders as Go's < on strings: by the UTF-8 bytes, not by UTF-16 units", () => {
    const words = ['z', 'é', '\uff5e', '\u{1f600}', '\u{10000}', 'Z', '', 'a', 'ab', '\ue000', '\ud7ff', 'é\u{1f600}', 'é\uffff'];
    const byBytes = [...words].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...words].sort(compareGoStrings)).toEqual(byBytes);
    // Where UTF-16 differs: U+FF5E is below U+1F600 in UTF-8, above its surrogates in UTF-16.
    expect(compareGoStrings('\uff5e', '\u{1f600}')).toBeLessThan(0);
    expect('\uff5e' < '\u{1f600}').toBe(false);
    expect(compareGoStrings('é', 'z')).toBeGreaterThan(0);
    expect(compareGoStrings('ab', 'ab')).toBe(0);
    expect(compareGoStrings('a', 'ab')).toBeLessThan(0);
  });
});

describe('lazyReadable (the streams of file-read and tar.gz)', () => {
  it('opens its source on the first read and never when destroyed unread; errors and destruction pass through', async () => {
    let opened = 0;
    const counted = (make: () => Readable) => (): Readable => {
      opened++;
      return make();
    };
    const stream = lazyReadable(counted(() => Readable.from([Buffer.from('ab'), Buffer.from('c')])));
    // A turn of the event loop, in which a stream that opened eagerly would have started.
    await new Promise(setImmediate);
    expect(opened).toBe(0);
    expect(Buffer.concat(await stream.toArray()).toString()).toBe('abc');
    expect(opened).toBe(1);

    const unread = lazyReadable(counted(() => Readable.from([Buffer.from('x')])));
    unread.destroy();
    await once(unread, 'close');
    expect(opened).toBe(1);

    // A source that fails to open, or fails while read.
    await expect(
      lazyReadable(() => {
        throw new Error('cannot open');
      }).toArray(),
    ).rejects.toThrow('cannot open');
    await expect(lazyReadable(() => createReadStream(tmpdir())).toArray()).rejects.toThrow(/EISDIR/);

    // A reader that stops early closes the source.
    const endless = new Readable({
      read() {
        this.push(Buffer.alloc(1024));
      },
    });
    for await (const _chunk of lazyReadable(() => endless)) break;
    await waitUntil(() => endless.destroyed, 60_000);
  });
});

describe('core/file-write@v1', () => {
  it('writes text, and bytes from another stream unchanged', async () => {
    const host = fakeHost();
    const bytes = Buffer.from([0, 255, 1, 128, 10, 13, 0xc3]);
    write(host.workDir, { 'in.bin': bytes });
    const outcome = await run(
      [
        { id: 'text', type: 'core/file-write@v1', inputs: { path: 'text.txt', data: 'héllo\n' } },
        { id: 'read', type: 'core/file-read@v1', inputs: { path: 'in.bin' } },
        { id: 'copy', type: 'core/file-write@v1', inputs: { path: 'copy.bin' } },
        { id: 'again', type: 'core/file-write@v1', inputs: { path: 'text.txt', data: 'short' } },
      ],
      [
        ['start.exec', 'text.exec'],
        ['text.exec-success', 'read.exec'],
        ['read.exec-success', 'copy.exec'],
        ['copy.exec-success', 'again.exec'],
      ],
      [['read.data', 'copy.data']],
      host,
    );
    expect(outcome.status, host.text()).toBe('succeeded');
    expect(readFileSync(join(host.workDir, 'copy.bin'))).toEqual(bytes);
    // An existing file is truncated, as os.Create does.
    expect(readFileSync(join(host.workDir, 'text.txt'), 'utf8')).toBe('short');
  });

  it('a file that cannot be created fails the graph even with exec-err connected (as in the reference); numbers are refused', async () => {
    const nodes = (data: unknown, path: string): TestNode[] => [
      { id: 'w', type: 'core/file-write@v1', inputs: { path, data } },
      { id: 'caught', type: 'core/print@v1', inputs: { 'values[0]': 'caught' } },
    ];
    const edges: TestEdge[] = [
      ['start.exec', 'w.exec'],
      ['w.exec-err', 'caught.exec'],
    ];
    const noParent = await run(nodes('x', 'missing/dir/out.txt'), edges);
    expect(noParent.status).toBe('failed');
    expect(noParent.error).toMatch(/error creating file missing\/dir\/out\.txt: no such file or directory/);
    expect(noParent.host.text('caught')).toBe('');

    const directory = await run(nodes('x', '.'), edges);
    expect(directory.error).toMatch(/error creating file \.: .*directory/);

    const number = await run(nodes(42, 'n.txt'), edges);
    expect(number.status).toBe('failed');
    expect(number.error).toMatch(/unsupported type 'int'/);
    expect(existsSync(join(number.host.workDir, 'n.txt'))).toBe(false);
  });
});

// ---- directories ----------------------------------------------------------------------------------

/** walk/{1,2}.{jpg,txt}, walk/sub/… two levels deep, as the reference's e2e walk uses. */
function walkFixture(host: FakeHost): string {
  const root = join(host.workDir, 'walk');
  for (const dir of ['', 'sub', 'sub/deep']) for (const file of ['1.jpg', '1.txt', '2.jpg', '2.txt']) write(root, { [dir === '' ? file : `${dir}/${file}`]: '' });
  return root;
}

function walkNodes(inputs: Record<string, unknown>): TestNode[] {
  return [
    { id: 'walk', type: 'core/dir-walk@v1', inputs },
    { id: 'rel', type: 'core/print@v1', inputs: { 'values[0]': null } },
    { id: 'abs', type: 'core/print@v1', inputs: { 'values[0]': null } },
    { id: 'caught', type: 'core/print@v1', inputs: { 'values[0]': null } },
  ];
}

async function walk(host: FakeHost, inputs: Record<string, unknown>): Promise<{ status: string; rel: string; abs: string; caught: string; error?: string }> {
  const outcome = await run(
    walkNodes(inputs),
    [
      ['start.exec', 'walk.exec'],
      ['walk.exec-success', 'rel.exec'],
      ['rel.exec', 'abs.exec'],
      ['walk.exec-err', 'caught.exec'],
    ],
    [
      ['walk.items_rel', 'rel.values[0]'],
      ['walk.items_abs', 'abs.values[0]'],
      ['walk.items_rel', 'caught.values[0]'],
    ],
    host,
  );
  return { status: outcome.status, rel: printed(host, 'rel'), abs: printed(host, 'abs'), caught: printed(host, 'caught'), error: outcome.error };
}

describe('core/dir-walk@v1', () => {
  it('walks recursively in a fixed order (names sorted, each directory before its contents), both lists aligned', async () => {
    const host = fakeHost();
    const root = walkFixture(host);
    const all = await walk(host, { path: 'walk' });
    const expected = ['1.jpg', '1.txt', '2.jpg', '2.txt', 'sub', 'sub/1.jpg', 'sub/1.txt', 'sub/2.jpg', 'sub/2.txt', 'sub/deep', 'sub/deep/1.jpg', 'sub/deep/1.txt', 'sub/deep/2.jpg', 'sub/deep/2.txt'];
    expect(all.rel).toBe(`[${expected.join(' ')}]`);
    expect(all.abs).toBe(`[${expected.map((rel) => join(root, rel)).join(' ')}]`);

    // The glob applies to names, of files and directories alike; `;` separates globs.
    expect((await walk(fakeHost({ workDir: host.workDir }), { path: 'walk', glob: '*.jpg' })).rel).toBe('[1.jpg 2.jpg sub/1.jpg sub/2.jpg sub/deep/1.jpg sub/deep/2.jpg]');
    expect((await walk(fakeHost({ workDir: host.workDir }), { path: 'walk', glob: 'deep;1.*', files: false })).rel).toBe('[sub/deep]');
    expect((await walk(fakeHost({ workDir: host.workDir }), { path: 'walk', glob: '2.t?t;[s]ub', dirs: false })).rel).toBe('[2.txt sub/2.txt sub/deep/2.txt]');
    // An empty glob among others takes everything; "0" is a non-empty text, so it reads as true (as in the reference).
    expect((await walk(fakeHost({ workDir: host.workDir }), { path: 'walk', glob: 'x;', recursive: false, files: '0' })).rel).toBe('[1.jpg 1.txt 2.jpg 2.txt sub]');
  });

  it('without recursion lists one level; symbolic links count as files and are not followed', async () => {
    const host = fakeHost();
    write(host.workDir, { 'top/b.txt': 'b', 'top/inner/c.txt': 'c' });
    symlinkSync('inner', join(host.workDir, 'top/a-link'));
    expect((await walk(host, { path: 'top', recursive: false })).rel).toBe('[a-link b.txt inner]');
    expect((await walk(fakeHost({ workDir: host.workDir }), { path: 'top', dirs: false })).rel).toBe('[a-link b.txt inner/c.txt]');
    // "." is the workspace.
    expect((await walk(fakeHost({ workDir: host.workDir }), { path: '.', recursive: false, files: false })).rel).toBe('[top]');
    // A link given as the directory itself is followed (the reference's recursive walk reports nothing for it).
    expect((await walk(fakeHost({ workDir: host.workDir }), { path: 'top/a-link' })).rel).toBe('[c.txt]');
  });

  it('a bad glob, a missing path or a file continue on exec-err with empty lists; an empty path fails the graph', async () => {
    const host = fakeHost();
    walkFixture(host);
    write(host.workDir, { 'plain.txt': '' });
    for (const inputs of [{ path: 'walk', glob: '[' }, { path: 'walk', glob: 'a[b-' }, { path: 'walk', glob: '\\' }, { path: 'missing' }, { path: 'plain.txt' }, { path: 'plain.txt', recursive: false }]) {
      const outcome = await walk(fakeHost({ workDir: host.workDir }), inputs);
      expect(outcome.status, JSON.stringify(inputs)).toBe('succeeded');
      expect(outcome.caught, JSON.stringify(inputs)).toBe('[]');
    }
    const empty = await walk(fakeHost({ workDir: host.workDir }), { path: '' });
    expect(empty.status).toBe('failed');
    expect(empty.error).toContain('dir path is empty');
  });

  it("globs follow Go's filepath.Match", () => {
    const cases: Array<[string, string, boolean]> = [
      ['*.txt', 'a.txt', true],
      ['*.txt', '.txt', true],
      ['a*b*c', 'aXbYbc', true],
      ['a?c', 'abc', true],
      ['a?c', 'ac', false],
      ['[a-c]x', 'bx', true],
      ['[^a-c]x', 'bx', false],
      ['[\\]]', ']', true],
      ['\\*', '*', true],
      ['\\*', 'x', false],
      ['*', '', true],
      ['ä?', 'äö', true],
    ];
    for (const [pattern, name, expected] of cases) expect(goMatch(pattern, name), `${pattern} ~ ${name}`).toBe(expected);
    for (const pattern of ['[', '[]a]', '[a-', 'a\\', '[x-]']) expect(() => goMatch(pattern, 'a'), pattern).toThrow(BadPatternError);
    // Like Go's filepath.Match (the reference's glob filter; path.Match would refuse these), a malformed
    // part after the point where matching failed is not looked at: actrun's dir-walk lists nothing, successfully.
    expect(goMatch('b*[', 'a')).toBe(false);
    expect(goMatch('x*[', 'a')).toBe(false);
    expect(goMatch('[b]x*[', 'a')).toBe(false);
    // Reached, it is an error (Go: "a*[" on "abc").
    expect(() => goMatch('a*[', 'abc')).toThrow(BadPatternError);
  });
});

describe('core/dir-create@v1', () => {
  it('creates parents by default and accepts an existing directory', async () => {
    const host = fakeHost();
    const outcome = await run(
      [
        { id: 'make', type: 'core/dir-create@v1', inputs: { path: 'a/b/c' } },
        { id: 'again', type: 'core/dir-create@v1', inputs: { path: 'a/b/c' } },
        { id: 'single', type: 'core/dir-create@v1', inputs: { path: 'a/b/d', create_parents: false } },
      ],
      [
        ['start.exec', 'make.exec'],
        ['make.exec-success', 'again.exec'],
        ['again.exec-success', 'single.exec'],
      ],
      [],
      host,
    );
    expect(outcome.status, host.text()).toBe('succeeded');
    expect(statSync(join(host.workDir, 'a/b/c')).isDirectory()).toBe(true);
    expect(statSync(join(host.workDir, 'a/b/d')).isDirectory()).toBe(true);
  });

  it('without create_parents a missing parent or an existing directory is an error; so is a file in the way', async () => {
    const host = fakeHost();
    mkdirSync(join(host.workDir, 'exists'));
    write(host.workDir, { 'file.txt': '' });
    for (const inputs of [{ path: 'x/y', create_parents: false }, { path: 'exists', create_parents: false }, { path: 'file.txt' }, { path: 'file.txt/sub' }]) {
      const outcome = await run(
        [
          { id: 'make', type: 'core/dir-create@v1', inputs },
          { id: 'caught', type: 'core/print@v1', inputs: { 'values[0]': 'caught' } },
        ],
        [
          ['start.exec', 'make.exec'],
          ['make.exec-err', 'caught.exec'],
        ],
        [],
        fakeHost({ workDir: host.workDir }),
      );
      expect(outcome.status, JSON.stringify(inputs)).toBe('succeeded');
      expect(printed(outcome.host, 'caught'), JSON.stringify(inputs)).toBe('caught');
      expect(outcome.host.text()).toContain('failed to create directory');
    }
    expect(existsSync(join(host.workDir, 'x'))).toBe(false);
  });
});

describe('core/item-stats@v1', () => {
  const statNodes = (path: string): TestNode[] => [
    { id: 'stats', type: 'core/item-stats@v1', inputs: { path } },
    { id: 'yes', type: 'core/print@v1', inputs: { 'values[0]': null, 'values[1]': null, 'values[2]': null, 'values[3]': null, 'values[4]': null } },
    { id: 'no', type: 'core/print@v1', inputs: { 'values[0]': null, 'values[1]': null } },
  ];
  const statEdges: TestEdge[] = [
    ['start.exec', 'stats.exec'],
    ['stats.exec-exists', 'yes.exec'],
    ['stats.exec-noexists', 'no.exec'],
  ];
  const statConnections: TestEdge[] = [
    ['stats.exists', 'yes.values[0]'],
    ['stats.isdir', 'yes.values[1]'],
    ['stats.isfile', 'yes.values[2]'],
    ['stats.size', 'yes.values[3]'],
    ['stats.permissions', 'yes.values[4]'],
    ['stats.exists', 'no.values[0]'],
    ['stats.size', 'no.values[1]'],
  ];

  it('reports a file and a directory; permissions read as their octal digits', async () => {
    const host = fakeHost();
    write(host.workDir, { 'data.bin': Buffer.alloc(1234) });
    chmodSync(join(host.workDir, 'data.bin'), 0o640);
    const file = await run(statNodes('data.bin'), statEdges, statConnections, host);
    expect(file.status).toBe('succeeded');
    expect(host.text('yes')).toBe('true\nfalse\ntrue\n1234\n640\n');

    mkdirSync(join(host.workDir, 'folder'));
    chmodSync(join(host.workDir, 'folder'), 0o751);
    const folder = await run(statNodes('folder'), statEdges, statConnections, fakeHost({ workDir: host.workDir }));
    expect(folder.host.text('yes')).toMatch(/^true\ntrue\nfalse\n\d+\n751\n$/);
  });

  it('a missing path or a dangling link takes exec-noexists with zero values', async () => {
    const host = fakeHost();
    symlinkSync('nowhere', join(host.workDir, 'dangling'));
    for (const path of ['missing.txt', 'dangling', '']) {
      const outcome = await run(statNodes(path), statEdges, statConnections, fakeHost({ workDir: host.workDir }));
      expect(outcome.status).toBe('succeeded');
      expect(outcome.host.text('no'), path).toBe('false\n0\n');
      expect(outcome.host.text('yes')).toBe('');
    }
  });
});

// ---- paths ----------------------------------------------------------------------------------------

describe('core/filepath-join@v1 and core/filepath-join-array@v1', () => {
  it('join the segments and clean the result', async () => {
    const join2 = (segments: string[]): TestNode[] => [{ id: 'j', type: 'core/filepath-join@v1', inputs: Object.fromEntries(segments.map((segment, i) => [`segments[${i}]`, segment])) }];
    expect(await evaluate(join2(['path', 'to', 'file.txt']), 'j.result')).toBe('path/to/file.txt');
    expect(await evaluate(join2(['/', 'path', 'to', 'file.txt']), 'j.result')).toBe('/path/to/file.txt');
    expect(await evaluate(join2(['a/', '', './b/../c', 'd/']), 'j.result')).toBe('a/c/d');
    expect(await evaluate([{ id: 'j', type: 'core/filepath-join-array@v1', inputs: { segments: ['/usr', 'local/', '..', 'bin'] } }], 'j.result')).toBe('/usr/bin');
  });

  it('nothing to join is the empty path, not "."', async () => {
    expect(await evaluate([{ id: 'j', type: 'core/filepath-join@v1', inputs: { 'segments[0]': '', 'segments[1]': '' } }], 'j.result')).toBe('');
    expect(await evaluate([{ id: 'j', type: 'core/filepath-join-array@v1', inputs: {} }], 'j.result')).toBe('');
    expect(await evaluationError([{ id: 'j', type: 'core/filepath-join-array@v1', inputs: { segments: 'a/b' } }], 'j.result')).toMatch(/expected array/);
  });
});

describe('core/filepath-op@v1', () => {
  it("every operation gives Go's answers (as the reference prints them)", async () => {
    const table: Record<string, Record<string, string>> = {
      base: { '': '.', '/': '/', '//a//b/../c/.': '.', 'a/b/': 'b', '../../x': 'x', '/home/user/file.txt': 'file.txt' },
      clean: { '': '.', '/': '/', '//a//b/../c/.': '/a/c', 'a/b/': 'a/b', '../../x': '../../x', '/home/user/./file.txt': '/home/user/file.txt' },
      dir: { '': '.', '/': '/', '//a//b/../c/.': '/a/c', 'a/b/': 'a/b', '../../x': '../..', 'file.txt': '.' },
      ext: { '': '', 'file.tar.gz': '.gz', '/a/.b': '.b', 'x.': '.', 'a.b/c': '' },
      from_slash: { '//a//b/../c/.': '//a//b/../c/.', '': '' },
      to_slash: { '/home/user/file.txt': '/home/user/file.txt' },
      volume: { '/home/user/file.txt': '', '': '' },
    };
    for (const [op, cases] of Object.entries(table)) {
      for (const [path, expected] of Object.entries(cases)) expect(await evaluate([{ id: 'o', type: 'core/filepath-op@v1', inputs: { path, op } }], 'o.result'), `${op}(${path})`).toBe(expected);
    }
  });

  it('an unknown operation fails the graph', async () => {
    expect(await evaluationError([{ id: 'o', type: 'core/filepath-op@v1', inputs: { path: 'a', op: 'upper' } }], 'o.result')).toContain("unknown operation 'upper'");
    // Only the table's own names: Object.prototype's are no operations.
    expect(await evaluationError([{ id: 'o', type: 'core/filepath-op@v1', inputs: { path: 'a', op: 'constructor' } }], 'o.result')).toContain("unknown operation 'constructor'");
  });

  it('Windows agents get Windows rules (drive letters, UNC shares, both slashes)', () => {
    const win = windowsGoPath;
    expect(win.base('C:\\Users\\user\\file.txt')).toBe('file.txt');
    expect(win.base('C:\\Users\\user\\')).toBe('user');
    expect(win.clean('C:\\Users\\user\\..\\user\\file.txt')).toBe('C:\\Users\\user\\file.txt');
    expect(win.clean('C:/Users/./user/')).toBe('C:\\Users\\user');
    expect(win.clean('a/../c:')).toBe('.\\c:');
    expect(win.dir('C:\\Users\\user\\')).toBe('C:\\Users\\user');
    expect(win.dir('\\\\host\\share\\x')).toBe('\\\\host\\share\\');
    expect(win.ext('C:\\Users\\user\\file.txt')).toBe('.txt');
    expect(win.fromSlash('C:/Users/user/file.txt')).toBe('C:\\Users\\user\\file.txt');
    expect(win.toSlash('C:\\Users\\user\\file.txt')).toBe('C:/Users/user/file.txt');
    expect(win.volumeName('C:\\Users\\user\\file.txt')).toBe('C:');
    expect(win.volumeName('//host/share/x')).toBe('\\\\host\\share');
    // Go joins a bare drive without a separator: the drive-relative C:path (the node's table says C:\path).
    expect(win.join('C:', 'path', 'to', 'file.txt')).toBe('C:path\\to\\file.txt');
    expect(win.join('C:\\', 'path')).toBe('C:\\path');
    expect(win.rel('C:\\a\\b\\c', 'C:\\a\\b\\c\\d\\e')).toBe('d\\e');
    expect(win.rel('C:\\a\\b\\c', 'c:\\A\\b\\d\\e')).toBe('..\\d\\e');
    expect(() => win.rel('C:\\a\\b', 'D:\\c\\d')).toThrow("Rel: can't make D:\\c\\d relative to C:\\a\\b");
  });
});

describe('core/filepath-rel@v1', () => {
  it("finds the relative path as Go's filepath.Rel does", async () => {
    const rel = (basepath: string, targpath: string): Promise<string> => evaluate([{ id: 'r', type: 'core/filepath-rel@v1', inputs: { basepath, targpath } }], 'r.result');
    expect(await rel('/a/b/c', '/a/b/c/d/e')).toBe('d/e');
    expect(await rel('/a/b/c', '/a/b/d/e')).toBe('../d/e');
    expect(await rel('/a/b', '/c/d')).toBe('../../c/d');
    expect(await rel('../a', '../b')).toBe('../b');
    expect(await rel('a/b', 'a/b')).toBe('.');
    expect(await rel('a', '')).toBe('..');
    expect(await rel('a/..', 'b')).toBe('b');
    expect(await rel('/', '/a')).toBe('a');
  });

  it('mixing absolute and relative paths, or climbing out of a base with "..", is an error', async () => {
    const relError = (basepath: string, targpath: string): Promise<string> => evaluationError([{ id: 'r', type: 'core/filepath-rel@v1', inputs: { basepath, targpath } }], 'r.result');
    expect(await relError('a', '/b')).toContain("Rel: can't make /b relative to a");
    expect(await relError('/a', 'b')).toContain("Rel: can't make b relative to /a");
    expect(await relError('..', 'a')).toContain("Rel: can't make a relative to ..");
    expect(await relError('../..', '../x')).toContain("Rel: can't make ../x relative to ../..");
  });
});

describe('core/filepath-sort@v1', () => {
  const sorted = (paths: string[], sort_by?: string): Promise<string> =>
    evaluate([{ id: 's', type: 'core/filepath-sort@v1', inputs: sort_by === undefined ? { paths } : { paths, sort_by } }], 's.result');

  it('sorts by every criterion; ties keep their order', async () => {
    const paths = ['b/a.txt', 'a/z.go', 'A.md', 'a/b/c.txt', 'zz'];
    expect(await sorted(paths)).toBe('[A.md a/b/c.txt a/z.go b/a.txt zz]');
    expect(await sorted(paths, 'reverse_alphabetical')).toBe('[zz b/a.txt a/z.go a/b/c.txt A.md]');
    expect(await sorted(paths, 'by_extension')).toBe('[zz a/z.go A.md b/a.txt a/b/c.txt]');
    expect(await sorted(paths, 'by_directory_depth')).toBe('[A.md zz b/a.txt a/z.go a/b/c.txt]');
    // Lengths in bytes, as Go counts them: "ééé" is six, longer than "abcd".
    expect(await sorted(['x/abcd', 'ééé', 'y/abc', 'a'], 'by_filename_length')).toBe('[a y/abc x/abcd ééé]');
    // Byte order: a character above U+FFFF sorts after U+FFFD, unlike JavaScript's default order.
    expect(await sorted(['\u{1F600}', '\uFFFD'])).toBe('[\uFFFD \u{1F600}]');
  });

  it('an unknown criterion fails the graph; no paths sort to an empty list', async () => {
    expect(await evaluationError([{ id: 's', type: 'core/filepath-sort@v1', inputs: { paths: ['a'], sort_by: 'by_size' } }], 's.result')).toContain("unknown sorting option 'by_size'");
    expect(await evaluationError([{ id: 's', type: 'core/filepath-sort@v1', inputs: { paths: ['a'], sort_by: 'toString' } }], 's.result')).toContain("unknown sorting option 'toString'");
    expect(await sorted([])).toBe('[]');
  });
});

describe('core/filepath-location@v1', () => {
  const location = (value: string, host?: FakeHost): Promise<string> => evaluate([{ id: 'l', type: 'core/filepath-location@v1', inputs: { location: value } }], 'l.result', host);

  it('answers every location from the job (workspace, its environment) and the machine', async () => {
    const home = mkdtempSync(join(tmpdir(), 'act-home-'));
    const host = fakeHost();
    Object.assign(host.env, { HOME: home, TMPDIR: '/var/tmp/job', XDG_CONFIG_HOME: '' });
    expect(await location('working_dir', host)).toBe(host.workDir);
    expect(await location('home', fakeHost({ env: { HOME: home } }))).toBe(home);
    expect(await location('temp_dir', fakeHost({ env: { TMPDIR: '/var/tmp/job' } }))).toBe('/var/tmp/job');
    expect(await location('temp_dir', fakeHost({ env: {} }))).toBe('/tmp');
    expect(await location('root_dir')).toBe('/');
    expect(await location('exe_dir')).toBe(dirname(process.execPath));
    expect(await location('user_config_dir', fakeHost({ env: { HOME: home } }))).toBe(join(home, '.config'));
    expect(await location('user_config_dir', fakeHost({ env: { HOME: home, XDG_CONFIG_HOME: '/etc/xdg-user' } }))).toBe('/etc/xdg-user');
    mkdirSync(join(home, 'Desktop'));
    expect(await location('desktop_dir', fakeHost({ env: { HOME: home } }))).toBe(join(home, 'Desktop'));
    // An option may also be given by its position.
    expect(await evaluate([{ id: 'l', type: 'core/filepath-location@v1', inputs: { location: 5 } }], 'l.result', fakeHost({ workDir: host.workDir }))).toBe(host.workDir);
  });

  it('what cannot be answered fails the graph: no graph file, no desktop, a relative XDG_CONFIG_HOME', async () => {
    const home = mkdtempSync(join(tmpdir(), 'act-home-'));
    const fails = (value: string, host?: FakeHost): Promise<string> => evaluationError([{ id: 'l', type: 'core/filepath-location@v1', inputs: { location: value } }], 'l.result', host);
    expect(await fails('current_graph')).toContain('current graph path not found');
    expect(await fails('desktop_dir', fakeHost({ env: { HOME: home } }))).toContain('no desktop directory found');
    expect(await fails('user_config_dir', fakeHost({ env: { HOME: home, XDG_CONFIG_HOME: 'rel/dir' } }))).toContain('relative');
    expect(await fails('downloads')).toContain("unknown location 'downloads'");
    expect(await fails('hasOwnProperty')).toContain("unknown location 'hasOwnProperty'");
  });

  it('current_graph is the graph file of a host that ran one, made absolute', async () => {
    const host = Object.assign(fakeHost(), { graphFile: 'graphs/../build.act' });
    expect(await location('current_graph', host)).toBe(join(host.workDir, 'build.act'));
  });
});

// ---- archives -------------------------------------------------------------------------------------

/** compress (inputs) → file-write(out) → print(suffix); the archive's bytes and the suffix. */
async function compress(host: FakeHost, inputs: Record<string, unknown>): Promise<{ status: string; error?: string; bytes?: Buffer; suffix: string }> {
  const outcome = await run(
    [
      { id: 'pack', type: 'core/file-compress@v1', inputs },
      { id: 'save', type: 'core/file-write@v1', inputs: { path: 'archive.out' } },
      { id: 'suffix', type: 'core/print@v1', inputs: { 'values[0]': null } },
      { id: 'caught', type: 'core/print@v1', inputs: { 'values[0]': 'caught' } },
    ],
    [
      ['start.exec', 'pack.exec'],
      ['pack.exec-success', 'save.exec'],
      ['save.exec-success', 'suffix.exec'],
      ['pack.exec-err', 'caught.exec'],
    ],
    [
      ['pack.data', 'save.data'],
      ['pack.suffix', 'suffix.values[0]'],
    ],
    host,
  );
  const file = join(host.workDir, 'archive.out');
  return { status: outcome.status, error: outcome.error, bytes: existsSync(file) ? readFileSync(file) : undefined, suffix: printed(host, 'suffix') };
}

async function entryNames(format: string, bytes: Buffer): Promise<string[]> {
  if (format === 'zip') return (await listZip(bytes)).map((entry) => entry.name);
  return (await listTar(format === 'targz' ? gunzipSync(bytes) : bytes)).map((entry) => entry.name);
}

describe('core/file-compress@v1', () => {
  it('packs files and directories (recursively) under names relative to the workspace, in every format', async () => {
    const host = fakeHost();
    // The reference's own e2e layout: a file list plus a directory given by its name.
    write(host.workDir, {
      'compress_me/file1.txt': 'Hello Foo 1\n',
      'compress_me/subdir/foo1.txt': 'Hello Bar 12\n',
      'compress_me/subdir/bar/bar.txt': 'Hello Zip 123\n',
      'compress_me2/a.txt': '12\n',
      'compress_me2/subdir/b.txt': 'abc\n',
    });
    mkdirSync(join(host.workDir, 'compress_me2/empty'));
    symlinkSync('a.txt', join(host.workDir, 'compress_me2/link.txt'));
    const paths = ['compress_me/file1.txt', 'compress_me/subdir/foo1.txt', 'compress_me/subdir/bar/bar.txt', 'compress_me2'];
    const names = ['compress_me/file1.txt', 'compress_me/subdir/bar/bar.txt', 'compress_me/subdir/foo1.txt', 'compress_me2/a.txt', 'compress_me2/subdir/b.txt'];
    for (const [format, suffix] of [
      ['zip', '.zip'],
      ['tar', '.tar'],
      ['targz', '.tar.gz'],
    ]) {
      const packed = await compress(fakeHost({ workDir: host.workDir }), { format, paths });
      expect(packed.status, packed.error).toBe('succeeded');
      expect(packed.suffix).toBe(suffix);
      // Symbolic links and empty directories are left out; files come in byte order of their paths.
      expect(await entryNames(format, packed.bytes as Buffer), format).toEqual(names);
    }
    const tar = await listTar((await compress(fakeHost({ workDir: host.workDir }), { format: 'tar', paths })).bytes as Buffer);
    expect(tar.map((entry) => [entry.type, entry.data.toString()])).toEqual([
      ['file', 'Hello Foo 1\n'],
      ['file', 'Hello Zip 123\n'],
      ['file', 'Hello Bar 12\n'],
      ['file', '12\n'],
      ['file', 'abc\n'],
    ]);
  });

  it('base_path trims names; files outside it keep their absolute path without the leading slash; level picks store or deflate', async () => {
    const host = fakeHost();
    write(host.workDir, { 'sub/a.txt': 'a'.repeat(1000), 'sub/inner/b.txt': 'b' });
    const outside = mkdtempSync(join(tmpdir(), 'act-outside-'));
    write(outside, { 'o.txt': 'o' });
    const zipped = await compress(host, { paths: ['sub', join(outside, 'o.txt'), './sub/a.txt'], base_path: 'sub', level: 9 });
    const entries = await listZip(zipped.bytes as Buffer);
    const names = entries.map((entry) => entry.name);
    // In the byte order of the files' absolute paths (here the outside directory sorts first).
    const order = [join(outside, 'o.txt'), join(host.workDir, 'sub/a.txt'), join(host.workDir, 'sub/inner/b.txt')].sort();
    expect(names).toEqual(order.map((path) => (path.startsWith(join(host.workDir, 'sub/')) ? path.slice(join(host.workDir, 'sub/').length) : path.slice(1))));
    expect(entries.every((entry) => entry.method === 8)).toBe(true);
    expect(entries.find((entry) => entry.name === 'a.txt')?.data.toString()).toBe('a'.repeat(1000));
    // Levels outside 0–9 are clamped: below 0 stores.
    const stored = await listZip((await compress(fakeHost({ workDir: host.workDir }), { paths: ['sub'], level: -3 })).bytes as Buffer);
    expect(stored.map((entry) => [entry.name, entry.method])).toEqual([
      ['sub/a.txt', 0],
      ['sub/inner/b.txt', 0],
    ]);
    expect(archiveName('/w/sub/a.txt', '/w')).toBe('sub/a.txt');
    expect(archiveName('/elsewhere/x', '/w')).toBe('elsewhere/x');
    expect(archiveName('/w/x', '/')).toBe('w/x');
  });

  it.runIf(process.platform === 'linux')('a reader that drops the archive stream half-way leaves no file open and no unhandled rejection', async () => {
    const host = fakeHost();
    // Larger than the stream buffers, so the packer is still inside the first file when the reader goes.
    write(host.workDir, { 'big.bin': Buffer.alloc(8 * 1024 * 1024, 1), 'small.bin': 'x' });
    const openInWorkspace = (): string[] =>
      readdirSync('/proc/self/fd')
        .map((fd) => {
          try {
            return readlinkSync(`/proc/self/fd/${fd}`);
          } catch {
            return '';
          }
        })
        .filter((target) => target.startsWith(host.workDir));
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown): void => {
      rejections.push(reason);
    };
    process.on('unhandledRejection', onRejection);
    try {
      for (const format of ['tar', 'targz', 'zip']) {
        const outputs = new Map<string, unknown>();
        const ctx = {
          path: 'pack',
          host,
          signal: new AbortController().signal,
          strings: async () => ['big.bin', 'small.bin'],
          string: async (port: string) => (port === 'format' ? format : ''),
          int: async () => 6,
          set: (port: string, value: unknown) => outputs.set(port, value),
        } as unknown as NodeContext;
        await nodeDef('core/file-compress@v1')?.execute?.(ctx, 'exec');
        // One chunk, then the reader goes away (a cancelled graph, a file-write that failed).
        for await (const _chunk of (outputs.get('data') as DataStream).take()) break;
        // The give-up is 60 s (closing is instant when idle; a loaded CI machine once took over 2 s): only a leak meets it.
        await waitUntil(() => openInWorkspace().length === 0, 60_000).catch(() => undefined);
        expect(openInWorkspace(), format).toEqual([]);
      }
      // Rejections are reported after the microtasks that caused them.
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off('unhandledRejection', onRejection);
    }
    expect(rejections).toEqual([]);
  });

  it('a path that does not exist fails the graph even with exec-err connected (as in the reference), an empty one too', async () => {
    for (const paths of [['missing.txt'], ['']]) {
      const packed = await compress(fakeHost(), { format: 'tar', paths });
      expect(packed.status).toBe('failed');
      expect(packed.error).toContain('failed to stat file');
      expect(packed.bytes).toBeUndefined();
    }
    const unknown = await compress(fakeHost(), { format: 'rar', paths: [] });
    expect(unknown.error).toContain('unknown compression format: rar');
  });
});

/** compress(src) → decompress(into dest) → print(files); also prints the files of a failure. */
async function roundTrip(host: FakeHost, format: string, dest: string): Promise<{ status: string; files: string; error?: string }> {
  const outcome = await run(
    [
      { id: 'pack', type: 'core/file-compress@v1', inputs: { format, paths: ['src'], base_path: 'src', level: 9 } },
      { id: 'unpack', type: 'core/file-decompress@v1', inputs: { format, dest_path: dest } },
      { id: 'files', type: 'core/print@v1', inputs: { 'values[0]': null } },
    ],
    [
      ['start.exec', 'pack.exec'],
      ['pack.exec-success', 'unpack.exec'],
      ['unpack.exec-success', 'files.exec'],
    ],
    [
      ['pack.data', 'unpack.data'],
      ['unpack.files', 'files.values[0]'],
    ],
    host,
  );
  return { status: outcome.status, files: printed(host, 'files'), error: outcome.error };
}

/** file-read(archive file) → decompress → print(files) on success, print(files) on exec-err. */
async function decompress(host: FakeHost, archive: Buffer, format: string, dest = 'dest'): Promise<{ status: string; files: string; caught: string; error?: string }> {
  writeFileSync(join(host.workDir, 'crafted.bin'), archive);
  const outcome = await run(
    [
      { id: 'read', type: 'core/file-read@v1', inputs: { path: 'crafted.bin' } },
      { id: 'unpack', type: 'core/file-decompress@v1', inputs: { format, dest_path: dest } },
      { id: 'files', type: 'core/print@v1', inputs: { 'values[0]': null } },
      { id: 'caught', type: 'core/print@v1', inputs: { 'values[0]': null } },
    ],
    [
      ['start.exec', 'read.exec'],
      ['read.exec-success', 'unpack.exec'],
      ['unpack.exec-success', 'files.exec'],
      ['unpack.exec-err', 'caught.exec'],
    ],
    [
      ['read.data', 'unpack.data'],
      ['unpack.files', 'files.values[0]'],
      ['unpack.files', 'caught.values[0]'],
    ],
    host,
  );
  return { status: outcome.status, files: printed(host, 'files'), caught: printed(host, 'caught'), error: outcome.error };
}

describe('core/file-decompress@v1', () => {
  it('round-trips every format with file-compress: same tree, same bytes, executable bits kept', async () => {
    const host = fakeHost();
    const files = {
      'top.txt': 'top\n',
      'empty.txt': '',
      'dir/nested/deep.bin': randomBytes(300_000),
      'dir/ünï cödé.txt': 'unicode names survive\n',
      'tool.sh': '#!/bin/sh\necho hi\n',
    };
    write(join(host.workDir, 'src'), files);
    chmodSync(join(host.workDir, 'src/tool.sh'), 0o755);
    const listed = ['dir/nested/deep.bin', 'dir/ünï cödé.txt', 'empty.txt', 'tool.sh', 'top.txt'];
    for (const format of ['zip', 'tar', 'targz']) {
      const dest = `out-${format}`;
      const outcome = await roundTrip(fakeHost({ workDir: host.workDir }), format, dest);
      expect(outcome.status, outcome.error).toBe('succeeded');
      expect(tree(join(host.workDir, dest)), format).toEqual(Object.fromEntries(Object.entries(files).map(([name, content]) => [name, Buffer.from(content)])));
      // `files`: the absolute paths of the extracted files, in archive order.
      expect(outcome.files, format).toBe(`[${listed.map((name) => join(host.workDir, dest, name)).join(' ')}]`);
      expect(statSync(join(host.workDir, dest, 'tool.sh')).mode & 0o111, format).not.toBe(0);
      expect(statSync(join(host.workDir, dest, 'top.txt')).mode & 0o111, format).toBe(0);
    }
  });

  it('refuses entries that climb out of the destination (zip and tar); absolute names stay inside', async () => {
    const host = fakeHost();
    const entries: CraftedEntry[] = [{ name: 'ok.txt', data: 'fine' }, { name: '../evil.txt', data: 'escaped' }, { name: 'late.txt', data: 'never' }];
    for (const [format, archive] of [
      ['zip', craftZip(entries)],
      ['tar', await craftTar(entries)],
      ['tar', await craftTar([{ name: 'a/../../evil.txt', data: 'escaped' }])],
    ] as const) {
      const outcome = await decompress(fakeHost({ workDir: host.workDir }), archive, format, 'dest');
      expect(outcome.status, format).toBe('succeeded');
      expect(existsSync(join(host.workDir, 'evil.txt')), format).toBe(false);
      expect(existsSync(join(host.workDir, 'dest/late.txt')), format).toBe(false);
      expect(outcome.files).toBe('');
    }
    const last = await decompress(fakeHost({ workDir: host.workDir }), craftZip(entries), 'zip', 'dest');
    expect(last.caught).toBe(`[${join(host.workDir, 'dest/ok.txt')}]`);

    const absolute = await decompress(fakeHost({ workDir: host.workDir }), await craftTar([{ name: '/etc/abs.txt', data: 'inside' }, { name: './x/../y.txt', data: 'y' }]), 'tar', 'dest2');
    expect(absolute.status).toBe('succeeded');
    expect(readFileSync(join(host.workDir, 'dest2/etc/abs.txt'), 'utf8')).toBe('inside');
    expect(readFileSync(join(host.workDir, 'dest2/y.txt'), 'utf8')).toBe('y');
  });

  it('skips symbolic links in archives and never writes through a link planted in the destination', async () => {
    const host = fakeHost();
    const withLinks: CraftedEntry[] = [
      { name: 'link', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'folder', type: 'directory' },
      { name: 'folder/real.txt', data: 'real' },
    ];
    for (const [format, archive] of [
      ['zip', craftZip(withLinks)],
      ['tar', await craftTar(withLinks)],
    ] as const) {
      const dest = `links-${format}`;
      const outcome = await decompress(fakeHost({ workDir: host.workDir }), archive, format, dest);
      expect(outcome.status).toBe('succeeded');
      expect(outcome.files).toBe(`[${join(host.workDir, dest, 'folder/real.txt')}]`);
      expect(existsSync(join(host.workDir, dest, 'link'))).toBe(false);
    }

    const outside = mkdtempSync(join(tmpdir(), 'act-outside-'));
    mkdirSync(join(host.workDir, 'planted'));
    symlinkSync(outside, join(host.workDir, 'planted/escape'));
    symlinkSync(join(outside, 'victim.txt'), join(host.workDir, 'planted/victim.txt'));
    writeFileSync(join(outside, 'victim.txt'), 'untouched');
    const through = await decompress(fakeHost({ workDir: host.workDir }), await craftTar([{ name: 'escape/sub/x.txt', data: 'x' }]), 'tar', 'planted');
    expect(through.caught).toBe('[]');
    expect(readdirSync(outside)).toEqual(['victim.txt']);
    // A link at the very target is replaced by the file, not followed.
    const replaced = await decompress(fakeHost({ workDir: host.workDir }), craftZip([{ name: 'victim.txt', data: 'new' }]), 'zip', 'planted');
    expect(replaced.status).toBe('succeeded');
    expect(readFileSync(join(outside, 'victim.txt'), 'utf8')).toBe('untouched');
    expect(lstatSync(join(host.workDir, 'planted/victim.txt')).isSymbolicLink()).toBe(false);
  });

  it('damaged archives continue on exec-err; data that is not gzip at all fails the graph (as in the reference)', async () => {
    const host = fakeHost();
    const good = await craftTar([{ name: 'a.txt', data: 'x'.repeat(5000) }]);
    for (const [format, archive] of [
      ['zip', randomBytes(2000)],
      ['zip', Buffer.alloc(0)],
      ['tar', good.subarray(0, 1024)],
      ['targz', Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), randomBytes(100)])],
    ] as const) {
      const outcome = await decompress(fakeHost({ workDir: host.workDir }), archive, format, `broken-${format}`);
      expect(outcome.status, `${format} ${archive.length}`).toBe('succeeded');
      expect(outcome.files).toBe('');
      expect(outcome.caught).not.toBe('');
    }
    const notGzip = await decompress(fakeHost({ workDir: host.workDir }), good, 'targz', 'not-gzip');
    expect(notGzip.status).toBe('failed');
    expect(notGzip.error).toContain('gzip: invalid header');
    const unknown = await decompress(fakeHost({ workDir: host.workDir }), good, '7z', 'unknown');
    expect(unknown.error).toContain('unknown decompression format: 7z');
    // An empty tar is an empty archive.
    const empty = await decompress(fakeHost({ workDir: host.workDir }), Buffer.alloc(0), 'tar', 'empty');
    expect(empty.files).toBe('[]');
  });
});

describe('Go path rules on this platform', () => {
  it('posix Clean/Base/Dir edge cases', () => {
    expect(posixGoPath.clean('')).toBe('.');
    expect(posixGoPath.clean('a/../..')).toBe('..');
    expect(posixGoPath.base('///')).toBe('/');
    expect(posixGoPath.dir('/a')).toBe('/');
    expect(posixGoPath.join('', '')).toBe('');
  });
});
