import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskArtifactStorage, type ArtifactStorage } from '../../src/artifacts/artifact-storage';
import { S3ArtifactStorage } from '../../src/artifacts/s3-artifact-storage';
import { startS3TestServer, type S3TestServer } from '../support/s3-test-server';
import { api, startStack, type Stack } from '../support/stack';

// One contract, every backend: the disk store and an S3-compatible server must behave alike.
let s3: S3TestServer;

beforeAll(async () => {
  s3 = await startS3TestServer();
});

afterAll(async () => {
  await s3?.stop();
});

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.from(part as Buffer));
  return Buffer.concat(parts);
}

const backends: { name: string; make: () => Promise<ArtifactStorage> }[] = [
  { name: 'disk', make: async () => new DiskArtifactStorage(mkdtempSync(join(tmpdir(), 'bellows-disk-store-'))) },
  {
    name: 's3',
    make: async () => {
      const storage = new S3ArtifactStorage({
        bucket: `contract-${Date.now()}`,
        endpoint: s3.endpoint,
        region: 'us-east-1',
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
        forcePathStyle: true,
        prefix: 'bellows',
      });
      await storage.ensureBucket();
      return storage;
    },
  },
];

describe.each(backends)('artifact storage: $name', ({ make }) => {
  it('stores, reads whole and by range, replaces, and removes', async () => {
    const storage = await make();
    await storage.write('1/a', Readable.from([Buffer.from('hello '), Buffer.from('world')]));
    expect((await readAll(await storage.read('1/a'))).toString()).toBe('hello world');
    expect((await readAll(await storage.read('1/a', { start: 6, end: 10 }))).toString()).toBe('world');
    await storage.write('1/a', Readable.from([Buffer.from('replaced')]));
    expect((await readAll(await storage.read('1/a'))).toString()).toBe('replaced');
    await storage.remove('1/a');
    await expect(storage.read('1/a').then(readAll)).rejects.toThrow();
  });

  it('streams a body larger than one multipart part intact', async () => {
    const storage = await make();
    const chunk = randomBytes(1024 * 1024);
    const expected = createHash('sha256');
    for (let i = 0; i < 20; i++) expected.update(chunk);
    await storage.write('2/big', Readable.from((function* () { for (let i = 0; i < 20; i++) yield chunk; })()));
    const actual = createHash('sha256');
    for await (const part of await storage.read('2/big')) actual.update(part as Buffer);
    expect(actual.digest('hex')).toBe(expected.digest('hex'));
  });

  it('leaves nothing behind when the source fails mid-way', async () => {
    const storage = await make();
    const source = new Readable({
      read() {
        this.push(Buffer.alloc(64 * 1024, 1));
        setTimeout(() => this.destroy(new Error('agent went away')), 10);
      },
    });
    await expect(storage.write('3/broken', source)).rejects.toThrow();
    await expect(storage.read('3/broken').then(readAll)).rejects.toThrow();
  });
});

describe('artifacts through the API on the S3 backend', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      agents: [{ name: 's3-agent', labels: 'pool=s3' }],
      env: {
        BELLOWS_ARTIFACT_STORE: 's3',
        BELLOWS_S3_ENDPOINT: s3.endpoint,
        BELLOWS_S3_BUCKET: `api-${Date.now()}`,
        BELLOWS_S3_ACCESS_KEY_ID: s3.accessKeyId,
        BELLOWS_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      },
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('uploads from an agent, lists, downloads whole and by range with the SHA-256 as ETag', async () => {
    expect((await stack.api.raw(api.projects.create, { body: { slug: 's3', name: 'S3' } })).status).toBe(201);
    const content = 'printf "built\\n" > "$BELLOWS_ARTIFACTS_DIR/report.txt"\nhead -c 3000000 /dev/urandom > "$BELLOWS_ARTIFACTS_DIR/blob.bin"\n';
    await stack.api.call(api.pipelines.put, { params: { slug: 's3', name: 'build' }, body: { content, labels: ['pool=s3'] } });
    const runId = (await stack.api.call(api.runs.trigger, { params: { slug: 's3', name: 'build' }, body: {} })).id;
    await stack.waitFor(async () => (await stack.api.call(api.runs.get, { params: { id: runId } })).status === 'succeeded', {
      timeoutMs: 60_000,
      message: 'the run to succeed',
    });
    const listed = await stack.api.call(api.artifacts.list, { query: { runId: String(runId) } });
    const report = listed.artifacts.find((a) => a.name === 'report.txt')!;
    const blob = listed.artifacts.find((a) => a.name === 'blob.bin')!;
    expect(report).toMatchObject({ size: 6, sha256: createHash('sha256').update('built\n').digest('hex') });
    expect(blob.size).toBe(3_000_000);

    const whole = await fetch(`${stack.apiUrl}${blob.downloadUrl}`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
    expect(whole.status).toBe(200);
    expect(whole.headers.get('etag')).toBe(`"${blob.sha256}"`);
    expect(createHash('sha256').update(Buffer.from(await whole.arrayBuffer())).digest('hex')).toBe(blob.sha256);
    const part = await stack.request<string>('GET', report.downloadUrl, { headers: { range: 'bytes=1-3' } });
    expect(part.status).toBe(206);
    expect(part.body).toBe('uil');
  });
});
