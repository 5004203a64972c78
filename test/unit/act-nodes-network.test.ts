// The network and storage nodes (core/http@v1, core/storage-*@v1) against real servers started here:
// a node:http server for the http node and the s3rver-based S3 server for the storage family; and the
// git smart-HTTP server the git tests use.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHttpServer } from '../support/git-http-server';
import { startS3TestServer, type S3TestServer } from '../support/s3-test-server';
import { actYaml, fakeHost, runText, waitUntil, type FakeHost, type TestEdge, type TestNode } from './act-test-host';

type Seen = { method: string; url: string; headers: IncomingMessage['headers']; body: Buffer };

/** 12 MiB of deterministic bytes, sent in chunks without a length (so the upload cannot know the size). */
const BIG_SIZE = 12 * 1024 * 1024;
const bigChunk = (index: number): Buffer => Buffer.alloc(1024 * 1024, index % 251);
const bigDigest = (): string => {
  const hash = createHash('sha256');
  for (let i = 0; i < BIG_SIZE / (1024 * 1024); i++) hash.update(bigChunk(i));
  return hash.digest('hex');
};

let server: Server;
let base = '';
const seen: Seen[] = [];
/** Requests to /hang that are still open, by path. */
const hanging = new Set<string>();
const closedHangs: string[] = [];

function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  const url = req.url ?? '/';
  seen.push({ method: req.method ?? '', url, headers: req.headers, body });
  if (url.startsWith('/status/')) {
    res.writeHead(Number(url.slice('/status/'.length)), { 'content-type': 'text/plain' });
    res.end(`page for ${url}`);
  } else if (url === '/redirect-302') {
    res.writeHead(302, { location: '/echo?from=302' });
    res.end();
  } else if (url === '/redirect-307') {
    res.writeHead(307, { location: '/echo?from=307' });
    res.end();
  } else if (url === '/gzip') {
    res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' });
    res.end(gzipSync('unpacked by the node'));
  } else if (url === '/big') {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let i = 0;
    const next = (): void => {
      if (i === BIG_SIZE / (1024 * 1024)) return void res.end();
      if (res.write(bigChunk(i++))) next();
      else res.once('drain', next);
    };
    next();
  } else if (url === '/hash') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`${body.length} ${createHash('sha256').update(body).digest('hex')}`);
  } else if (url.startsWith('/hang')) {
    // Headers (and a first line) for /hang-body, nothing at all for /hang: the client must give up itself.
    hanging.add(url);
    res.once('close', () => {
      hanging.delete(url);
      closedHangs.push(url);
    });
    if (url === '/hang-body') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first line\n');
    }
  } else {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`${req.method} ${url} x-test=${req.headers['x-test'] ?? '-'} body=${body.toString('utf8')}`);
  }
}

beforeAll(async () => {
  server = createServer((req, res) => {
    // /hang answers before the (never ending) request body would be read.
    if (req.url?.startsWith('/hang')) return handle(req, res, Buffer.alloc(0));
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const lastSeen = (path: string): Seen | undefined => [...seen].reverse().find((request) => request.url === path);

/** start → http → print "ok <status> <body>" on success, "err <status> <body>" on exec-err (unless `noErr`). */
function httpGraph(inputs: Record<string, unknown>, options: { noErr?: boolean; extra?: TestNode[]; connections?: TestEdge[] } = {}): string {
  const nodes: TestNode[] = [
    { id: 'h', type: 'core/http@v1', inputs },
    { id: 'ok', type: 'core/print@v1', inputs: { 'values[0]': 'ok', 'values[1]': null, 'values[2]': null } },
    ...(options.noErr ? [] : [{ id: 'err', type: 'core/print@v1', inputs: { 'values[0]': 'err', 'values[1]': null, 'values[2]': null } }]),
    ...(options.extra ?? []),
  ];
  const executions: TestEdge[] = [
    ['start.exec', 'h.exec'],
    ['h.exec-success', 'ok.exec'],
  ];
  const connections: TestEdge[] = [
    ['h.status_code', 'ok.values[1]'],
    ['h.body', 'ok.values[2]'],
  ];
  if (!options.noErr) {
    executions.push(['h.exec-err', 'err.exec']);
    connections.push(['h.status_code', 'err.values[1]'], ['h.body', 'err.values[2]']);
  }
  return actYaml(nodes, executions, [...connections, ...(options.connections ?? [])]);
}

/** What the print nodes printed, one entry per print node that ran. */
const printed = (host: FakeHost): string => host.text('ok') + host.text('err');

describe('core/http@v1', () => {
  it('GET: 2xx continues on exec-success with the status and the body stream', async () => {
    const host = fakeHost();
    const result = await runText(httpGraph({ url: `${base}/echo` }), host);
    expect(result, host.text()).toEqual({ status: 'succeeded', exitCode: 0 });
    expect(printed(host)).toBe('ok\n200\nGET /echo x-test=- body=\n');
    const request = lastSeen('/echo');
    expect(request?.headers['user-agent']).toBe('bellows-act');
  });

  it('POST sends the body and the header list (trimmed, later lines win, empty lines skipped)', async () => {
    const host = fakeHost();
    const inputs = { url: `${base}/echo`, method: 'post', body: 'hello there', header: ['X-Test:  first ', '', 'x-test: second', 'User-Agent: graph/1.0', 'Content-Type: text/plain'] };
    const result = await runText(httpGraph(inputs), host);
    expect(result, host.text()).toEqual({ status: 'succeeded', exitCode: 0 });
    expect(printed(host)).toBe('ok\n200\nPOST /echo x-test=second body=hello there\n');
    const request = lastSeen('/echo');
    expect(request?.headers).toMatchObject({ 'user-agent': 'graph/1.0', 'content-type': 'text/plain', 'content-length': '11' });
  });

  it('a stream of unknown length is sent chunked as the request body', async () => {
    // /big streams 12 MiB without a length; the second http node posts that stream to /hash.
    const host = fakeHost();
    const text = actYaml(
      [
        { id: 'src', type: 'core/http@v1', inputs: { url: `${base}/big` } },
        { id: 'h', type: 'core/http@v1', inputs: { url: `${base}/hash`, method: 'put' } },
        { id: 'ok', type: 'core/print@v1', inputs: { 'values[0]': null } },
      ],
      [
        ['start.exec', 'src.exec'],
        ['src.exec-success', 'h.exec'],
        ['h.exec-success', 'ok.exec'],
      ],
      [
        ['src.body', 'h.body'],
        ['h.body', 'ok.values[0]'],
      ],
    );
    const result = await runText(text, host);
    expect(result, host.text()).toEqual({ status: 'succeeded', exitCode: 0 });
    expect(host.text('ok')).toBe(`${BIG_SIZE} ${bigDigest()}\n`);
    expect(lastSeen('/hash')?.headers['transfer-encoding']).toBe('chunked');
  });

  it('a non-2xx status continues on exec-err, with status_code and the error page readable', async () => {
    const host = fakeHost();
    const result = await runText(httpGraph({ url: `${base}/status/404` }), host);
    expect(result, host.text()).toEqual({ status: 'succeeded', exitCode: 0 });
    expect(printed(host)).toBe('err\n404\npage for /status/404\n');
    expect(host.text()).toContain('non-2xx status code: 404');
  });

  it('a non-2xx status fails the graph when exec-err is not connected', async () => {
    const host = fakeHost();
    const result = await runText(httpGraph({ url: `${base}/status/500` }, { noErr: true }), host);
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBe(1);
    expect(result.error).toContain('non-2xx status code: 500');
    expect(host.text('ok')).toBe('');
  });

  it('redirects are followed as Go does: 302 turns POST into GET, 307 repeats the body', async () => {
    const host = fakeHost();
    await runText(httpGraph({ url: `${base}/redirect-302`, method: 'post', body: 'payload' }), host);
    expect(printed(host)).toBe('ok\n200\nGET /echo?from=302 x-test=- body=\n');
    const host2 = fakeHost();
    await runText(httpGraph({ url: `${base}/redirect-307`, method: 'post', body: 'payload' }), host2);
    expect(printed(host2)).toBe('ok\n200\nPOST /echo?from=307 x-test=- body=payload\n');
  });

  it('a gzip-encoded answer arrives decompressed', async () => {
    const host = fakeHost();
    await runText(httpGraph({ url: `${base}/gzip` }), host);
    expect(printed(host)).toBe('ok\n200\nunpacked by the node\n');
  });

  it('an unreachable host continues on exec-err with status 0 and an empty body', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const host = fakeHost();
    const result = await runText(httpGraph({ url: `http://127.0.0.1:${port}/x` }), host);
    expect(result, host.text()).toEqual({ status: 'succeeded', exitCode: 0 });
    expect(printed(host)).toBe('err\n0\n\n');
    expect(host.text()).toMatch(/connection error: GET http:\/\/127\.0\.0\.1:\d+\/x: .*ECONNREFUSED/);
  });

  it('a URL without a scheme is a connection error (exec-err); a malformed one fails the graph', async () => {
    const host = fakeHost();
    await runText(httpGraph({ url: 'example.com/x' }), host);
    expect(printed(host)).toBe('err\n0\n\n');
    expect(host.text()).toContain('unsupported protocol scheme ""');
    const host2 = fakeHost();
    const result = await runText(httpGraph({ url: '127.0.0.1:8080/x' }), host2);
    expect(result.status).toBe('failed');
    expect(printed(host2)).toBe('');
  });

  it('a header line without a colon or an unknown method fails the graph even with exec-err connected', async () => {
    const host = fakeHost();
    const result = await runText(httpGraph({ url: `${base}/echo`, header: ['Authorization Bearer tok-12345'] }), host);
    expect(result.status).toBe('failed');
    expect(result.error).toContain("invalid header at item 0 of input 'header'");
    // The line may be a credential: it is not repeated.
    expect(host.text()).not.toContain('tok-12345');
    expect(printed(host)).toBe('');

    const host2 = fakeHost({ inputs: { method: 'patch' } });
    const result2 = await runText(httpGraph({ url: `${base}/echo`, method: '${{ inputs.method }}' }), host2);
    expect(result2.status).toBe('failed');
    expect(result2.error).toContain('invalid method: PATCH');
  });

  it('user info in the URL becomes Basic auth and never shows in messages', async () => {
    const host = fakeHost();
    await runText(httpGraph({ url: `http://robot:pa55word@127.0.0.1:${new URL(base).port}/status/403` }), host);
    expect(lastSeen('/status/403')?.headers.authorization).toBe(`Basic ${Buffer.from('robot:pa55word').toString('base64')}`);
    expect(host.text()).toContain('non-2xx status code: 403');
    expect(host.text()).not.toContain('pa55word');
  });

  it('cancelling the graph aborts a request that is waiting for its response', async () => {
    const host = fakeHost();
    const running = runText(httpGraph({ url: `${base}/hang` }), host);
    await waitUntil(() => hanging.has('/hang'));
    const requestsBefore = seen.filter((request) => request.url === '/hang').length;
    host.controller.abort();
    const result = await running;
    // Cancelled by the abort, not failed by the node's own 30 s response limit (nor its message shown).
    expect(result.status).toBe('cancelled');
    expect(host.text()).not.toContain('no response within');
    await waitUntil(() => closedHangs.includes('/hang'));
    // One request, not retried after the abort.
    expect(seen.filter((request) => request.url === '/hang').length).toBe(requestsBefore);
    expect(printed(host)).toBe('');
  });

  it('cancelling the graph also stops a body that is being read', async () => {
    const host = fakeHost();
    const running = runText(httpGraph({ url: `${base}/hang-body` }), host);
    await waitUntil(() => hanging.has('/hang-body') && host.states.some((entry) => entry.node === 'ok' && entry.state === 'running'));
    const requestsBefore = seen.filter((request) => request.url === '/hang-body').length;
    host.controller.abort();
    const result = await running;
    // Cancelled, not ended by the 30 s limit on a body that sends nothing.
    expect(result.status).toBe('cancelled');
    expect(host.text()).not.toContain('sent nothing for');
    await waitUntil(() => closedHangs.includes('/hang-body'));
    expect(seen.filter((request) => request.url === '/hang-body').length).toBe(requestsBefore);
  });
});

// ---- storage ------------------------------------------------------------------------------------------

let s3: S3TestServer;
let admin: S3Client;
const WALK_BUCKET = 'walk-bucket';

beforeAll(async () => {
  s3 = await startS3TestServer('graph-bucket');
  admin = new S3Client({
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  await admin.send(new CreateBucketCommand({ Bucket: WALK_BUCKET }));
  for (const key of ['a.txt', 'b.jpg', 'docs/', 'docs/x.txt', 'docs/y.md', 'docs/deep/z.txt', 'other/q.txt']) {
    await admin.send(new PutObjectCommand({ Bucket: WALK_BUCKET, Key: key, Body: `content of ${key}` }));
  }
});

afterAll(async () => {
  admin.destroy();
  await s3.stop();
});

const s3Host = (overrides: Parameters<typeof fakeHost>[0] = {}): FakeHost => fakeHost({ secrets: { S3_KEY: s3.accessKeyId, S3_SECRET: s3.secretAccessKey }, ...overrides });

/** A credential node and a provider node (ids `cred` and `p`), wired together unless `withCredentials` is false. */
function providerNodes(inputs: Record<string, unknown> = {}, withCredentials = true): { nodes: TestNode[]; connections: TestEdge[] } {
  return {
    nodes: [
      { id: 'cred', type: 'core/credentials-accesskey@v1', inputs: { access_key: 'S3_KEY', access_password: 'S3_SECRET' } },
      { id: 'p', type: 'core/storage-provider-s3@v1', inputs: { bucket: 'graph-bucket', region: 'us-east-1', endpoint: s3.endpoint, ...inputs } },
    ],
    connections: withCredentials ? [['cred.credential', 'p.credentials']] : [],
  };
}

async function objectText(bucket: string, key: string): Promise<string | undefined> {
  try {
    const response = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await response.Body?.transformToString('utf8');
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

async function keysUnder(bucket: string, prefix: string): Promise<string[]> {
  const listing = await admin.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (listing.Contents ?? []).map((item) => item.Key ?? '').sort();
}

/** start → node `x` (exec-success → print "ok", exec-err → print "err"), with the provider wired to x. */
function storageGraph(node: TestNode, outputs: string[], provider = providerNodes(), extra: { nodes?: TestNode[]; connections?: TestEdge[] } = {}): string {
  const values = (label: string): Record<string, unknown> => Object.fromEntries([['values[0]', label], ...outputs.map((_, i) => [`values[${i + 1}]`, null])]);
  return actYaml(
    [...provider.nodes, node, { id: 'ok', type: 'core/print@v1', inputs: values('ok') }, { id: 'err', type: 'core/print@v1', inputs: values('err') }, ...(extra.nodes ?? [])],
    [
      ['start.exec', 'x.exec'],
      ['x.exec-success', 'ok.exec'],
      ['x.exec-err', 'err.exec'],
    ],
    [
      ...provider.connections,
      ['p.provider', 'x.provider'],
      ...outputs.flatMap((port, i): TestEdge[] => [
        [`x.${port}`, `ok.values[${i + 1}]`],
        [`x.${port}`, `err.values[${i + 1}]`],
      ]),
      ...(extra.connections ?? []),
    ],
  );
}

describe('core/storage-upload@v1 and core/storage-download@v1', () => {
  it('uploads text, downloads it again as a stream, and hands the provider on', async () => {
    const host = s3Host();
    const provider = providerNodes();
    const text = actYaml(
      [
        ...provider.nodes,
        { id: 'up', type: 'core/storage-upload@v1', inputs: { name: 'notes/hello.txt', data: 'hello object store' } },
        { id: 'down', type: 'core/storage-download@v1', inputs: { name: 'notes/hello.txt' } },
        { id: 'show', type: 'core/print@v1', inputs: { 'values[0]': null, 'values[1]': null } },
      ],
      [
        ['start.exec', 'up.exec'],
        ['up.exec-success', 'down.exec'],
        ['down.exec', 'show.exec'],
      ],
      // The download uses the provider the upload handed on; print shows the provider without its keys.
      [...provider.connections, ['p.provider', 'up.provider'], ['up.provider', 'down.provider'], ['down.data', 'show.values[0]'], ['down.provider', 'show.values[1]']],
    );
    const result = await runText(text, host);
    expect(result, host.text()).toEqual({ status: 'succeeded', exitCode: 0 });
    expect(host.text('show')).toBe('hello object store\n{aws-s3 graph-bucket}\n');
    expect(await objectText('graph-bucket', 'notes/hello.txt')).toBe('hello object store');
  });

  it('streams a multi-megabyte upload of unknown size (multipart) and downloads it intact', async () => {
    const host = s3Host();
    const provider = providerNodes();
    const text = actYaml(
      [
        ...provider.nodes,
        { id: 'src', type: 'core/http@v1', inputs: { url: `${base}/big` } },
        { id: 'up', type: 'core/storage-upload@v1', inputs: { name: 'big/blob.bin' } },
        { id: 'down', type: 'core/storage-download@v1', inputs: { name: 'big/blob.bin' } },
        { id: 'post', type: 'core/http@v1', inputs: { url: `${base}/hash`, method: 'post' } },
        { id: 'show', type: 'core/print@v1', inputs: { 'values[0]': null } },
      ],
      [
        ['start.exec', 'src.exec'],
        ['src.exec-success', 'up.exec'],
        ['up.exec-success', 'down.exec'],
        ['down.exec', 'post.exec'],
        ['post.exec-success', 'show.exec'],
      ],
      [...provider.connections, ['p.provider', 'up.provider'], ['p.provider', 'down.provider'], ['src.body', 'up.data'], ['down.data', 'post.body'], ['post.body', 'show.values[0]']],
    );
    const result = await runText(text, host);
    expect(result, host.text()).toEqual({ status: 'succeeded', exitCode: 0 });
    expect(host.text('show')).toBe(`${BIG_SIZE} ${bigDigest()}\n`);
  });

  it('a downloaded object uploaded on the same service is copied server-side', async () => {
    // A server-side copy keeps the source's content type; a streamed upload would not set one.
    await admin.send(new PutObjectCommand({ Bucket: 'graph-bucket', Key: 'copy/source file.txt', Body: 'copied, not carried', ContentType: 'text/x-source' }));
    const host = s3Host();
    const provider = providerNodes();
    const text = actYaml(
      [
        ...provider.nodes,
        { id: 'down', type: 'core/storage-download@v1', inputs: { name: 'copy/source file.txt' } },
        { id: 'x', type: 'core/storage-upload@v1', inputs: { name: 'copy/target.txt' } },
        { id: 'ok', type: 'core/print@v1', inputs: { 'values[0]': 'ok' } },
      ],
      [
        ['start.exec', 'down.exec'],
        ['down.exec', 'x.exec'],
        ['x.exec-success', 'ok.exec'],
      ],
      [...provider.connections, ['p.provider', 'down.provider'], ['p.provider', 'x.provider'], ['down.data', 'x.data']],
    );
    const result = await runText(text, host);
    expect(result, host.text()).toEqual({ status: 'succeeded', exitCode: 0 });
    expect(host.text('ok')).toBe('ok\n');
    expect(await objectText('graph-bucket', 'copy/target.txt')).toBe('copied, not carried');
    expect((await admin.send(new HeadObjectCommand({ Bucket: 'graph-bucket', Key: 'copy/target.txt' }))).ContentType).toBe('text/x-source');
  });

  it('a download of a missing object fails the graph (the node has no exec-err)', async () => {
    const host = s3Host();
    const provider = providerNodes();
    const text = actYaml(
      [...provider.nodes, { id: 'down', type: 'core/storage-download@v1', inputs: { name: 'no/such.txt' } }, { id: 'show', type: 'core/print@v1', inputs: { 'values[0]': null } }],
      [
        ['start.exec', 'down.exec'],
        ['down.exec', 'show.exec'],
      ],
      [...provider.connections, ['p.provider', 'down.provider'], ['down.data', 'show.values[0]']],
    );
    const result = await runText(text, host);
    expect(result.status).toBe('failed');
    expect(result.error).toContain("failed to download object 'no/such.txt' from bucket 'graph-bucket': NoSuchKey");
  });

  it('wrong credentials continue on exec-err without revealing the keys', async () => {
    // Keys from the job environment (no credential node): the runtime does not know them as secrets.
    const host = s3Host({ env: { PATH: process.env.PATH ?? '/usr/bin:/bin', AWS_ACCESS_KEY_ID: 'AKWRONGKEY0001', AWS_SECRET_ACCESS_KEY: 'very-secret-value-0001' } });
    const text = storageGraph({ id: 'x', type: 'core/storage-upload@v1', inputs: { name: 'denied.txt', data: 'nope' } }, [], providerNodes({}, false));
    const result = await runText(text, host);
    expect(result, host.text()).toEqual({ status: 'succeeded', exitCode: 0 });
    expect(host.text('err')).toBe('err\n');
    expect(host.text()).toContain("failed to upload object 'denied.txt' to bucket 'graph-bucket': InvalidAccessKeyId");
    expect(host.text()).not.toContain('AKWRONGKEY0001');
    expect(host.text()).not.toContain('very-secret-value-0001');
    expect(await objectText('graph-bucket', 'denied.txt')).toBeUndefined();
  });

  it('a provider without endpoint and region is an error of the operation; bad data fails the graph', async () => {
    const host = s3Host();
    const text = storageGraph({ id: 'x', type: 'core/storage-upload@v1', inputs: { name: 'a.txt', data: 'x' } }, [], providerNodes({ endpoint: '', region: '' }));
    await runText(text, host);
    expect(host.text('err')).toBe('err\n');
    expect(host.text()).toContain('endpoint and region are both not set');

    const host2 = s3Host();
    const text2 = storageGraph({ id: 'x', type: 'core/storage-upload@v1', inputs: { name: 'n.txt', data: 42 } }, []);
    const result2 = await runText(text2, host2);
    expect(result2.status).toBe('failed');
    expect(result2.error).toContain("unsupported type 'int'");
  });
});

describe('core/storage-walk@v1', () => {
  async function walk(dir: string, glob = ''): Promise<string> {
    const host = s3Host();
    const text = storageGraph({ id: 'x', type: 'core/storage-walk@v1', inputs: { dir, glob } }, ['dirs', 'objects'], providerNodes({ bucket: WALK_BUCKET }));
    const result = await runText(text, host);
    expect(result, host.text()).toEqual({ status: 'succeeded', exitCode: 0 });
    return printed(host);
  }

  it('lists one level: sub-directories without their slash, objects by full key, the marker left out', async () => {
    expect(await walk('docs')).toBe('ok\n[docs/deep]\n[docs/x.txt docs/y.md]\n');
    expect(await walk('docs/')).toBe('ok\n[docs/deep]\n[docs/x.txt docs/y.md]\n');
    expect(await walk('docs/deep')).toBe('ok\n[]\n[docs/deep/z.txt]\n');
    // A directory is a whole path element, not any key prefix.
    expect(await walk('doc')).toBe('ok\n[]\n[]\n');
  });

  it('an empty dir lists the bucket root', async () => {
    expect(await walk('')).toBe('ok\n[docs other]\n[a.txt b.jpg]\n');
  });

  it('glob patterns (";"-separated) filter directories and objects by base name', async () => {
    expect(await walk('docs', '*.txt')).toBe('ok\n[]\n[docs/x.txt]\n');
    expect(await walk('docs', 'd*;*.md')).toBe('ok\n[docs/deep]\n[docs/y.md]\n');
    expect(await walk('', '?.[a-m]*')).toBe('ok\n[]\n[b.jpg]\n');
    expect(await walk('', '[^a]*')).toBe('ok\n[docs other]\n[b.jpg]\n');
    // An empty alternative matches everything.
    expect(await walk('docs', 'none;')).toBe('ok\n[docs/deep]\n[docs/x.txt docs/y.md]\n');
  });

  it('a leading slash and a malformed glob continue on exec-err with empty lists', async () => {
    expect(await walk('/docs')).toBe('err\n[]\n[]\n');
    expect(await walk('docs', '[')).toBe('err\n[]\n[]\n');
    expect(await walk('docs', '*.txt;a[z-]')).toBe('err\n[]\n[]\n');
  });

  it('a missing bucket continues on exec-err', async () => {
    const host = s3Host();
    const text = storageGraph({ id: 'x', type: 'core/storage-walk@v1', inputs: { dir: 'docs' } }, ['dirs', 'objects'], providerNodes({ bucket: 'no-such-bucket' }));
    await runText(text, host);
    expect(printed(host)).toBe('err\n[]\n[]\n');
    expect(host.text()).toContain('NoSuchBucket');
  });
});

describe('core/storage-delete@v1', () => {
  async function remove(name: string, isDir: boolean, host = s3Host()): Promise<string> {
    const text = storageGraph({ id: 'x', type: 'core/storage-delete@v1', inputs: { name, is_dir: isDir } }, ['deleted']);
    const result = await runText(text, host);
    expect(result, host.text()).toEqual({ status: 'succeeded', exitCode: 0 });
    return printed(host);
  }

  it('deletes one object (a missing one is not an error, as on S3)', async () => {
    for (const key of ['del/one.txt', 'del/two.txt']) await admin.send(new PutObjectCommand({ Bucket: 'graph-bucket', Key: key, Body: key }));
    expect(await remove('del/one.txt', false)).toBe('ok\ntrue\n');
    expect(await keysUnder('graph-bucket', 'del/')).toEqual(['del/two.txt']);
    expect(await remove('del/never-there.txt', false)).toBe('ok\ntrue\n');
  });

  it('is_dir deletes everything under the prefix, at any depth, and nothing beside it', async () => {
    for (const key of ['tree/', 'tree/a.txt', 'tree/sub/b.txt', 'tree/sub/deeper/c.txt', 'treehouse.txt', 'tree-other/d.txt']) {
      await admin.send(new PutObjectCommand({ Bucket: 'graph-bucket', Key: key, Body: key }));
    }
    expect(await remove('tree', true)).toBe('ok\ntrue\n');
    expect(await keysUnder('graph-bucket', 'tree')).toEqual(['tree-other/d.txt', 'treehouse.txt']);
  });

  it('refuses a directory delete of the whole bucket; wrong credentials report deleted=false', async () => {
    expect(await remove('', true)).toBe('err\nfalse\n');
    expect(await keysUnder('graph-bucket', '')).not.toEqual([]);

    await admin.send(new PutObjectCommand({ Bucket: 'graph-bucket', Key: 'keep/me.txt', Body: 'still here' }));
    const host = s3Host({ secrets: { S3_KEY: 'NOT-A-KEY', S3_SECRET: 'whatever' } });
    expect(await remove('keep/me.txt', false, host)).toBe('err\nfalse\n');
    expect(host.text()).toContain('InvalidAccessKeyId');
    expect(await objectText('graph-bucket', 'keep/me.txt')).toBe('still here');
  });
});

// ---- test support: the git smart-HTTP server ------------------------------------------------------

describe('git-http-server (test support)', () => {
  const auth = { authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` };

  it("serves with its own HOME: the caller's ~/.gitconfig does not reach git-http-backend", async () => {
    const root = mkdtempSync(join(tmpdir(), 'git-http-root-'));
    const home = mkdtempSync(join(tmpdir(), 'git-http-user-'));
    try {
      execFileSync('git', ['init', '--bare', '-q', join(root, 'r.git')]);
      // Read from HOME, this would refuse every fetch (403).
      writeFileSync(join(home, '.gitconfig'), '[http]\n\tuploadpack = false\n');
      const server = await startGitHttpServer(root, { alice: 'pw' }, { PATH: process.env.PATH, HOME: home });
      try {
        const response = await fetch(`${server.base}/r.git/info/refs?service=git-upload-pack`, { headers: auth });
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe('application/x-git-upload-pack-advertisement');
        expect((await fetch(`${server.base}/r.git/info/refs?service=git-upload-pack`)).status).toBe(401);
        expect(server.requests).toBe(2);
      } finally {
        await server.close();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('answers 500 when the backend cannot be started, and keeps serving', async () => {
    const root = mkdtempSync(join(tmpdir(), 'git-http-root-'));
    const server = await startGitHttpServer(root, { alice: 'pw' }, process.env, join(root, 'no-such-backend'));
    try {
      for (let i = 0; i < 2; i++) {
        const response = await fetch(`${server.base}/r.git/info/refs?service=git-upload-pack`, { headers: auth });
        expect(response.status).toBe(500);
        expect(await response.text()).toContain('ENOENT');
      }
    } finally {
      await server.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
