import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Config } from '../config/config';
import { S3ArtifactStorage } from './s3-artifact-storage';

/** Where artifact bytes live. Local disk by default; any backend that can stream in and out fits. */
export type ArtifactStorage = {
  /** Streams `body` to `key` atomically: a reader never sees a partial object. */
  write(key: string, body: Readable): Promise<void>;
  read(key: string, range?: { start: number; end: number }): Promise<Readable>;
  remove(key: string): Promise<void>;
};

export const ARTIFACT_STORAGE = Symbol('ARTIFACT_STORAGE');

export class DiskArtifactStorage implements ArtifactStorage {
  constructor(private readonly root: string) {}

  async write(key: string, body: Readable): Promise<void> {
    const target = this.path(key);
    const partial = `${target}.partial-${process.pid}-${Date.now()}`;
    await mkdir(dirname(target), { recursive: true });
    try {
      await pipeline(body, createWriteStream(partial, { flags: 'wx' }));
      await rename(partial, target);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }

  async read(key: string, range?: { start: number; end: number }): Promise<Readable> {
    await stat(this.path(key));
    return createReadStream(this.path(key), range);
  }

  async remove(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  private path(key: string): string {
    return join(this.root, key);
  }
}

/** The configured backend; S3 buckets are created on first use. */
export async function createArtifactStorage(config: Config): Promise<ArtifactStorage> {
  if (config.artifactStore.kind === 'disk') return new DiskArtifactStorage(join(config.dataDir, 'artifacts'));
  const storage = new S3ArtifactStorage(config.artifactStore);
  await storage.ensureBucket();
  return storage;
}
