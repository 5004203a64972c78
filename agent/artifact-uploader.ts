// Uploads everything a job left in its artifacts directory. Each file is hashed before sending so the
// server can verify the streamed body (and reject a file that changed while being read).

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { formatBytes } from '../contract/format';
import { describeError, isJobGone, isSuccess, LocalFileError, type ApiClient } from './api-client';

export { formatBytes };

export type ArtifactFile = { absolutePath: string; relativePath: string };

export type UploadArtifactsOptions = {
  client: ApiClient;
  jobId: number;
  artifactsDir: string;
  /** A system line for the job log. */
  report: (text: string) => void;
  signal?: AbortSignal;
};

export type UploadOutcome = 'done' | 'job-gone';

export async function uploadArtifacts(options: UploadArtifactsOptions): Promise<UploadOutcome> {
  const files = await listArtifactFiles(options.artifactsDir, options.report);
  for (const file of files) {
    if ((await uploadOne(options, file)) === 'job-gone') return 'job-gone';
  }
  return 'done';
}

async function uploadOne(options: UploadArtifactsOptions, file: ArtifactFile): Promise<UploadOutcome> {
  const { client, jobId, report } = options;
  // One retry on 422: the file may have been rewritten between hashing and sending.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const { size, sha256 } = await hashFile(file.absolutePath);
      if (attempt === 0) report(`Uploading artifact ${file.relativePath} (${formatBytes(size)})`);
      const response = await client.upload({ params: { id: jobId, name: file.relativePath } }, { path: file.absolutePath, size, sha256 }, { signal: options.signal });
      if (isSuccess(response)) return 'done';
      if (isJobGone(response) || response.status === 404) return 'job-gone';
      if (response.status === 422 && attempt === 0) continue;
      if (response.status === 413) report(`Artifact ${file.relativePath} is larger than the server accepts; skipped`);
      else if (response.status === 422) report(`Artifact ${file.relativePath} failed checksum verification twice; skipped`);
      else report(`Artifact ${file.relativePath} was rejected (HTTP ${response.status}${describeError(response)}); skipped`);
      return 'done';
    } catch (error) {
      if (!(error instanceof LocalFileError) && !isFsError(error)) throw error;
      report(`Artifact ${file.relativePath} could not be read (${error.message}); skipped`);
      return 'done';
    }
  }
  return 'done';
}

/** Regular files only, depth first, sorted; symlinks are skipped so a job cannot upload files outside its directory. */
export async function listArtifactFiles(root: string, report?: (text: string) => void): Promise<ArtifactFile[]> {
  const out: ArtifactFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const absolutePath = join(dir, entry.name);
      const relativePath = relative(root, absolutePath).split(sep).join('/');
      if (entry.isDirectory()) await walk(absolutePath);
      else if (entry.isFile()) out.push({ absolutePath, relativePath });
      else if (entry.isSymbolicLink()) report?.(`Skipping artifact ${relativePath}: symbolic links are not uploaded`);
    }
  };
  try {
    await walk(root);
  } catch (error) {
    if (!isFsError(error)) throw error;
    report?.(`Cannot list artifacts: ${error.message}`);
  }
  return out;
}

export async function hashFile(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const part of createReadStream(path)) {
    const buffer = part as Buffer;
    hash.update(buffer);
    size += buffer.length;
  }
  // Size from what was hashed, not stat, so Content-Length and checksum describe the same bytes.
  return { size, sha256: hash.digest('hex') };
}

function isFsError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && (error as NodeJS.ErrnoException).syscall !== undefined;
}

