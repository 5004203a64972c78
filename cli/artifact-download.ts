import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { api } from '../contract';
import type { Artifact } from '../contract/artifacts.contract';
import type { ApiClient } from './api-client';
import { CliError } from './cli-errors';
import { progressLine } from './cli-output';


export type DownloadResult = { name: string; path: string; size: number; sha256: string };

/** Where an artifact lands under `dir`; names come from the server, so one that climbs out of `dir` is refused. */
export function targetPath(dir: string, name: string): string {
  const target = resolve(dir, name);
  const inside = relative(resolve(dir), target);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) throw new CliError(`Refusing to write artifact "${name}" outside ${dir}.`);
  return target;
}

/**
 * Streams one artifact to `<dir>/<name>` through a `.part` file, hashing as it goes; the file takes its
 * name only when its SHA-256 matches the one the server recorded at upload.
 */
export async function downloadArtifact(
  client: ApiClient,
  artifact: Artifact,
  dir: string,
  fileName: string,
  progress: ((line: string) => void) | null,
): Promise<DownloadResult> {
  const path = targetPath(dir, fileName);
  mkdirSync(dirname(path), { recursive: true });
  const partial = `${path}.part`;
  const response = await client.raw(api.artifacts.download, { params: { id: artifact.id } });
  if (!response.body) throw new CliError(`The server sent no content for artifact "${artifact.name}".`);
  const hash = createHash('sha256');
  let done = 0;
  let lastDraw = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      done += chunk.length;
      const now = Date.now();
      if (progress && now - lastDraw > 100) {
        lastDraw = now;
        progress(progressLine(fileName, done, artifact.size, process.stderr.columns ?? 80));
      }
      callback(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>), meter, createWriteStream(partial));
  } catch (error) {
    rmSync(partial, { force: true });
    throw new CliError(`Downloading "${artifact.name}" failed: ${(error as Error).message}.`);
  }
  progress?.(progressLine(fileName, done, artifact.size, process.stderr.columns ?? 80));
  const sha256 = hash.digest('hex');
  if (sha256 !== artifact.sha256 || done !== artifact.size) {
    rmSync(partial, { force: true });
    throw new CliError(
      `Checksum mismatch for "${artifact.name}": expected sha256 ${artifact.sha256} (${artifact.size} bytes), got ${sha256} (${done} bytes); the file was not kept.`,
    );
  }
  renameSync(partial, path);
  return { name: artifact.name, path, size: done, sha256 };
}
