import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

export type S3TestServer = { endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string; stop(): Promise<void> };

/** A real S3-compatible HTTP server (s3rver) on a free port, backed by a temp dir. */
export async function startS3TestServer(bucket = 'bellows-artifacts'): Promise<S3TestServer> {
  const directory = mkdtempSync(join(tmpdir(), 'bellows-s3-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const address = (await server.run()) as { port: number };
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    // s3rver's fixed development credentials.
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    stop: async () => {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
