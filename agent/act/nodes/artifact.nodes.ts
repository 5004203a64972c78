// Job artifacts, through the host (the agent uploads to and downloads from the Bellows server).
//
// Two contracts meet here: the reference's (upload a data stream as `name`; download into a `data`
// stream, optionally of another run) and act-format.md's (upload the file at `path`; download to `path`).
// Both are served: `path` when given, else `data`.

import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NodeError, NodeFailure, data, describeError, exec, staticPorts, type NodeDef } from '../act-node-def';
import { DataStream, toStream } from '../act-values';

const artifactUpload: NodeDef = {
  type: 'core/artifact-upload@v1',
  ports: staticPorts([exec('exec'), data('name', 'string', { required: true }), data('data', 'any'), data('path', 'string')], [exec('exec-success'), exec('exec-err')]),
  async execute(ctx) {
    const upload = ctx.host.uploadArtifact;
    if (!upload) throw new NodeFailure('artifact upload is not available here: this graph runs outside a Bellows job');
    const name = await ctx.string('name');
    if (name.trim() === '') throw new NodeError("input 'name' is empty: an artifact needs a file name");
    if (ctx.hasValue('path')) {
      const path = resolve(ctx.host.workDir, await ctx.string('path'));
      try {
        if (!(await stat(path)).isFile()) throw new NodeFailure(`${path} is not a file`);
      } catch (error) {
        if (error instanceof NodeFailure) throw error;
        throw new NodeFailure(`cannot upload ${path}: ${describeError(error)}`);
      }
      await uploadFile(upload.bind(ctx.host), name, path);
      return 'exec-success';
    }
    if (!ctx.hasValue('data')) throw new NodeError("artifact-upload needs either input 'data' (a data stream) or input 'path' (a file)");
    const stream = toStream(await ctx.read('data'), `input 'data' of node ${ctx.path}`);
    // The host uploads files (it hashes and sizes them first), so a stream is spooled to a temporary one.
    const dir = await mkdtemp(join(tmpdir(), 'bellows-artifact-'));
    try {
      const file = join(dir, 'artifact');
      await pipeline((stream ?? new DataStream('')).take(), createWriteStream(file));
      await uploadFile(upload.bind(ctx.host), name, file);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return 'exec-success';
  },
};

async function uploadFile(upload: (name: string, path: string) => Promise<void>, name: string, path: string): Promise<void> {
  try {
    await upload(name, path);
  } catch (error) {
    throw new NodeFailure(`upload of artifact ${name} failed: ${describeError(error)}`);
  }
}

const artifactDownload: NodeDef = {
  type: 'core/artifact-download@v1',
  ports: staticPorts(
    [exec('exec'), data('name', 'string', { required: true }), data('run_id', 'string'), data('path', 'string')],
    [exec('exec-success'), exec('exec-err'), data('data', 'stream')],
  ),
  async execute(ctx) {
    const download = ctx.host.downloadArtifact;
    if (!download) throw new NodeFailure('artifact download is not available here: this graph runs outside a Bellows job');
    const name = await ctx.string('name');
    if (name.trim() === '') throw new NodeError("input 'name' is empty: which artifact should be downloaded?");
    const runId = (await ctx.string('run_id')).trim();
    const toPath = ctx.hasValue('path') ? resolve(ctx.host.workDir, await ctx.string('path')) : undefined;
    const dir = toPath ? undefined : await mkdtemp(join(tmpdir(), 'bellows-artifact-'));
    const file = toPath ?? join(dir as string, 'artifact');
    try {
      await mkdir(dirname(file), { recursive: true });
      await download.call(ctx.host, name, file, runId === '' ? undefined : runId);
    } catch (error) {
      if (dir) await rm(dir, { recursive: true, force: true });
      throw new NodeFailure(`download of artifact ${name} failed: ${describeError(error)}`);
    }
    const size = (await stat(file)).size;
    // The file is opened only when something reads the stream: most graphs that download to a path never
    // do, and an eagerly opened handle would stay open until the run ends.
    const stream = Readable.from(
      (async function* () {
        yield* createReadStream(file);
      })(),
      { objectMode: false },
    );
    if (dir) {
      // A spooled download is removed once its stream is done (read to the end, or discarded), and at the
      // latest when the run ends, for a stream nobody reads.
      const remove = (): Promise<void> => rm(dir, { recursive: true, force: true });
      stream.once('close', () => void remove());
      ctx.atRunEnd(remove);
    }
    ctx.set('data', new DataStream(stream, size, name));
    return 'exec-success';
  },
};

export const artifactNodes: readonly NodeDef[] = [artifactUpload, artifactDownload];
