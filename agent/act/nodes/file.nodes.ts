// Files in the work directory and job artifacts (through the host's callbacks).

import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { NodeFailure, data, exec, staticPorts, type NodeContext, type NodeDef } from '../act-node-def';
import { toText } from '../act-values';

async function pathInput(ctx: NodeContext): Promise<string> {
  const path = await ctx.readString('path');
  if (path.trim() === '') throw new NodeFailure('path is empty');
  return resolve(ctx.host.workDir, path);
}

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  return code ? `${code}: ${message}` : message;
}

const fileRead: NodeDef = {
  type: 'core/file-read@v1',
  ports: staticPorts([data('path', 'string', { required: true })], [data('content', 'any')]),
  async evaluate(ctx) {
    const path = await pathInput(ctx);
    try {
      // A Buffer, so binary content reaches hash/file-write unchanged; string ports decode it as UTF-8.
      return { content: await readFile(path) };
    } catch (error) {
      throw new NodeFailure(`cannot read ${path}: ${describe(error)}`);
    }
  },
};

const fileWrite: NodeDef = {
  type: 'core/file-write@v1',
  ports: staticPorts([exec('exec'), data('path', 'string', { required: true }), data('data', 'any')], [exec('exec-success'), exec('exec-err')]),
  async execute(ctx) {
    const path = await pathInput(ctx);
    const content = await ctx.read('data');
    try {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, Buffer.isBuffer(content) ? content : toText(content));
    } catch (error) {
      throw new NodeFailure(`cannot write ${path}: ${describe(error)}`);
    }
    return 'exec-success';
  },
};

const artifactUpload: NodeDef = {
  type: 'core/artifact-upload@v1',
  ports: staticPorts([exec('exec'), data('name', 'string', { required: true }), data('path', 'string', { required: true })], [exec('exec-success'), exec('exec-err')]),
  async execute(ctx) {
    const upload = ctx.host.uploadArtifact;
    if (!upload) throw new NodeFailure('artifact upload is not available here (the host provides no uploadArtifact)');
    const name = await ctx.readString('name');
    if (name.trim() === '') throw new NodeFailure('name is empty');
    const path = await pathInput(ctx);
    try {
      if (!(await stat(path)).isFile()) throw new NodeFailure(`${path} is not a file`);
    } catch (error) {
      if (error instanceof NodeFailure) throw error;
      throw new NodeFailure(`cannot upload ${path}: ${describe(error)}`);
    }
    try {
      await upload.call(ctx.host, name, path);
    } catch (error) {
      throw new NodeFailure(`upload of artifact ${name} failed: ${describe(error)}`);
    }
    return 'exec-success';
  },
};

const artifactDownload: NodeDef = {
  type: 'core/artifact-download@v1',
  ports: staticPorts([exec('exec'), data('name', 'string', { required: true }), data('path', 'string', { required: true })], [exec('exec-success'), exec('exec-err')]),
  async execute(ctx) {
    const download = ctx.host.downloadArtifact;
    if (!download) throw new NodeFailure('artifact download is not available here (the host provides no downloadArtifact)');
    const name = await ctx.readString('name');
    if (name.trim() === '') throw new NodeFailure('name is empty');
    const path = await pathInput(ctx);
    try {
      await mkdir(dirname(path), { recursive: true });
      await download.call(ctx.host, name, path);
    } catch (error) {
      throw new NodeFailure(`download of artifact ${name} failed: ${describe(error)}`);
    }
    return 'exec-success';
  },
};

export const fileNodes: readonly NodeDef[] = [fileRead, fileWrite, artifactUpload, artifactDownload];
