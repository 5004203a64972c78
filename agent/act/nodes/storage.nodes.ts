// Remote object storage: the S3 provider node and the nodes that use a provider (upload, download, walk,
// delete). Any S3-compatible service works: with an endpoint the bucket is addressed path-style
// (`https://host/bucket/key`), which MinIO, Ceph, R2, B2 and Spaces all accept; without one it is AWS.
//
// The AWS SDK is loaded on first use, not when the node registry is imported (the server imports the
// registry to validate graphs and never talks to S3).

import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { CancelledError } from '../act-errors';
import { NodeError, NodeFailure, data, describeError, exec, staticPorts, type NodeContext, type NodeDef } from '../act-node-def';
import { DataStream, toStream, typeName } from '../act-values';
import { AccessKeyCredentials, UserPassCredentials, isCredentials } from './credentials.nodes';
import { redact } from '../../secret-masker';

type S3Sdk = typeof import('@aws-sdk/client-s3');
let sdk: Promise<S3Sdk> | undefined;
const loadSdk = (): Promise<S3Sdk> => (sdk ??= import('@aws-sdk/client-s3'));

/** Parts of a large upload (S3 allows 10 000 parts, so this covers objects up to ~80 GB). */
const PART_SIZE = 8 * 1024 * 1024;
/** A downloaded body that nobody reads for this long is dropped, so its connection does not linger. */
const DOWNLOAD_IDLE_TIMEOUT_MS = 120_000;
/** DeleteObjects takes at most 1000 keys per request. */
const DELETE_BATCH = 1000;

type StaticKeys = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

/**
 * A bucket on an S3-compatible service (`storage-provider` values). The keys are private fields: they
 * never show when the value is printed, serialised or described in a message.
 */
export class S3StorageProvider {
  readonly kind = 'aws-s3';
  readonly #keys: StaticKeys | undefined;
  readonly #profile: string | undefined;

  constructor(
    readonly bucket: string,
    readonly region: string,
    /** As given; empty for AWS itself. */
    readonly endpoint: string,
    keys: StaticKeys | undefined,
    profile?: string,
  ) {
    this.#keys = keys;
    this.#profile = profile;
  }

  toString(): string {
    return `{${this.kind} ${this.bucket}}`;
  }

  /** The endpoint URL (a scheme added where it was left out, https as the reference assumes), or undefined for AWS. */
  get endpointUrl(): string | undefined {
    if (this.endpoint === '') return undefined;
    return /^http/i.test(this.endpoint) ? this.endpoint : `https://${this.endpoint}`;
  }

  /** Whether an object of `source` can be copied server-side into this provider's bucket. */
  canCopyFrom(source: S3StorageProvider): boolean {
    return (source.endpointUrl ?? '').replace(/\/+$/, '') === (this.endpointUrl ?? '').replace(/\/+$/, '');
  }

  async client(): Promise<S3Client> {
    if (this.endpoint === '' && this.region === '') throw new Error('endpoint and region are both not set');
    const { S3Client } = await loadSdk();
    const custom = this.endpointUrl !== undefined;
    return new S3Client({
      // Signing needs a region even where the service ignores it.
      region: this.region || 'us-east-1',
      endpoint: this.endpointUrl,
      forcePathStyle: custom,
      // Without keys the SDK's default chain applies (environment, shared files, instance role).
      credentials: this.#keys,
      profile: this.#keys ? undefined : this.#profile,
      // Not every S3-compatible server understands the newer flexible checksums; send them only where required.
      requestChecksumCalculation: custom ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
      responseChecksumValidation: custom ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
    });
  }

  /** An error of an S3 call as text, with any key of this provider blanked out. */
  describe(error: unknown): string {
    const failure = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } } | undefined;
    const message = failure?.message || describeError(error);
    const name = failure?.name;
    let text = name && name !== 'Error' && !message.startsWith(name) ? `${name}: ${message}` : message;
    const status = failure?.$metadata?.httpStatusCode;
    if (status) text += ` (HTTP ${status})`;
    return redact(text, [this.#keys?.accessKeyId, this.#keys?.secretAccessKey, this.#keys?.sessionToken].filter((secret) => secret !== undefined));
  }
}

/** A downloaded object: upload can copy it server-side instead of streaming it through the agent. */
export class StorageObjectStream extends DataStream {
  constructor(
    source: Readable,
    length: number,
    readonly provider: S3StorageProvider,
    readonly key: string,
    onReread?: (origin: string) => void,
  ) {
    super(source, length, key, onReread);
  }
}

// ---- provider ---------------------------------------------------------------------------------------

const providerS3: NodeDef = {
  type: 'core/storage-provider-s3@v1',
  ports: staticPorts(
    [data('bucket', 'string', { required: true }), data('region', 'string', { required: true }), data('endpoint', 'string'), data('credentials', 'credentials')],
    [data('provider', 'storage-provider')],
  ),
  async evaluate(ctx) {
    const bucket = await ctx.string('bucket');
    const region = await ctx.string('region');
    const credentials = await ctx.read('credentials');
    const endpoint = await ctx.string('endpoint');
    let keys: StaticKeys | undefined;
    if (credentials instanceof AccessKeyCredentials) keys = { accessKeyId: credentials.accessKey, secretAccessKey: credentials.accessPassword };
    else if (credentials instanceof UserPassCredentials) keys = { accessKeyId: credentials.username, secretAccessKey: credentials.password };
    else if (credentials !== undefined && credentials !== null) {
      const what = isCredentials(credentials) ? 'SSH credentials' : `a ${typeName(credentials)}`;
      throw new NodeError(`input 'credentials' holds ${what}; S3 needs an access key and secret (core/credentials-accesskey@v1)`);
    }
    // Empty keys mean "not given", as in the reference.
    if (keys && keys.accessKeyId === '' && keys.secretAccessKey === '') keys = undefined;
    // The documented fallback is the usual AWS environment: this job's variables first, then the SDK's own chain.
    const env = ctx.state.env;
    if (!keys && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
      keys = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN || undefined };
    }
    return new S3StorageProvider(bucket, region, endpoint, keys, env.AWS_PROFILE || undefined);
  },
};

async function readProvider(ctx: NodeContext): Promise<S3StorageProvider> {
  const provider = await ctx.read('provider');
  if (provider instanceof S3StorageProvider) return provider;
  throw new NodeError(`input 'provider' must be a storage provider (core/storage-provider-s3@v1), got ${typeName(provider)}`);
}

/** Runs one S3 operation with a client of its own, stopped when the path is cancelled. */
async function withClient<T>(ctx: NodeContext, provider: S3StorageProvider, work: (client: S3Client) => Promise<T>, keepOpen = false): Promise<T> {
  const client = await provider.client();
  let handedOn = false;
  try {
    const result = await work(client);
    handedOn = keepOpen;
    return result;
  } catch (error) {
    if (ctx.signal.aborted) throw new CancelledError();
    throw error;
  } finally {
    if (!handedOn) client.destroy();
  }
}

// ---- upload -----------------------------------------------------------------------------------------

const upload: NodeDef = {
  type: 'core/storage-upload@v1',
  ports: staticPorts(
    [exec('exec'), data('name', 'string', { required: true }), data('data', 'any', { required: true }), data('provider', 'storage-provider', { required: true })],
    [exec('exec-success'), exec('exec-err'), data('provider', 'storage-provider')],
  ),
  async execute(ctx) {
    const value = await ctx.read('data');
    const stream = value instanceof DataStream ? value : undefined;
    try {
      const name = await ctx.string('name');
      const provider = await readProvider(ctx);
      if (value instanceof StorageObjectStream && provider.canCopyFrom(value.provider)) {
        // Object to object on the same service: the bytes never pass through this machine.
        await transfer(ctx, provider, `failed to copy object '${value.key}' of bucket '${value.provider.bucket}' to '${name}' in bucket '${provider.bucket}'`, (client) =>
          copyObject(client, provider, value, name, ctx.signal),
        );
      } else {
        const body = uploadBody(value);
        await transfer(ctx, provider, `failed to upload object '${name}' to bucket '${provider.bucket}'`, (client) => uploadObject(client, provider, name, body, ctx.signal));
      }
      ctx.set('provider', provider);
      return 'exec-success';
    } finally {
      if (stream && !stream.wasConsumed) stream.discard();
    }
  },
};

/** Text and bytes go as they are; anything else must be a stream (as the reference converts its input). */
function uploadBody(value: unknown): Buffer | Readable {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Buffer.isBuffer(value)) return value;
  const stream = toStream(value, "input 'data'");
  if (!stream) throw new NodeError("input 'data' has no value");
  return stream.take();
}

/** An operation whose failure continues on exec-err, described with the object it was about. */
async function transfer(ctx: NodeContext, provider: S3StorageProvider, what: string, work: (client: S3Client) => Promise<void>): Promise<void> {
  try {
    await withClient(ctx, provider, work);
  } catch (error) {
    if (error instanceof CancelledError || error instanceof NodeError) throw error;
    throw new NodeFailure(`${what}: ${provider.describe(error)}`);
  }
}

async function uploadObject(client: S3Client, provider: S3StorageProvider, key: string, body: Buffer | Readable, signal: AbortSignal): Promise<void> {
  const { Upload } = await import('@aws-sdk/lib-storage');
  // Multipart for large or unknown-size bodies, a single PUT for small ones; only a few parts in memory.
  const job = new Upload({ client, params: { Bucket: provider.bucket, Key: key, Body: body }, queueSize: 2, partSize: PART_SIZE, leavePartsOnError: false });
  const onAbort = (): void => void job.abort().catch(() => undefined);
  signal.addEventListener('abort', onAbort, { once: true });
  // A source that fails half-way must abort the upload, never complete a truncated object.
  const sourceFailed = Buffer.isBuffer(body) ? undefined : new Promise<never>((_, reject) => body.once('error', reject));
  sourceFailed?.catch(() => undefined);
  try {
    await (sourceFailed ? Promise.race([job.done(), sourceFailed]) : job.done());
  } catch (error) {
    await job.abort().catch(() => undefined);
    if (!Buffer.isBuffer(body)) body.destroy();
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

async function copyObject(client: S3Client, provider: S3StorageProvider, source: StorageObjectStream, key: string, signal: AbortSignal): Promise<void> {
  const { CopyObjectCommand } = await loadSdk();
  // CopySource is `bucket/key` with the key URL-encoded (slashes kept).
  const copySource = `${source.provider.bucket}/${encodeURIComponent(source.key).replace(/%2F/g, '/')}`;
  await client.send(new CopyObjectCommand({ Bucket: provider.bucket, Key: key, CopySource: copySource }), { abortSignal: signal });
  // The download's own connection is no longer needed.
  if (!source.wasConsumed) source.discard();
}

// ---- download ---------------------------------------------------------------------------------------

const download: NodeDef = {
  type: 'core/storage-download@v1',
  ports: staticPorts(
    [exec('exec'), data('name', 'string', { required: true }), data('provider', 'storage-provider', { required: true })],
    [exec('exec'), data('data', 'stream'), data('provider', 'storage-provider')],
  ),
  async execute(ctx) {
    const name = await ctx.string('name');
    const provider = await readProvider(ctx);
    const { GetObjectCommand } = await loadSdk();
    let client: S3Client | undefined;
    let body: Readable;
    let length = -1;
    try {
      body = await withClient(
        ctx,
        provider,
        async (opened) => {
          client = opened;
          const response = await opened.send(new GetObjectCommand({ Bucket: provider.bucket, Key: name }), { abortSignal: ctx.signal });
          const stream = response.Body as Readable | undefined;
          if (!stream || typeof stream.pipe !== 'function') throw new Error('the service returned no body');
          length = typeof response.ContentLength === 'number' ? response.ContentLength : -1;
          return stream;
        },
        true,
      );
    } catch (error) {
      if (error instanceof CancelledError) throw error;
      // The reference fails the graph here: the node has no exec-err output.
      throw new NodeFailure(`failed to download object '${name}' from bucket '${provider.bucket}': ${provider.describe(error)}`);
    }
    // The client lives as long as the body it delivers; cancelling the path or a long silence ends both.
    const onAbort = (): void => void body.destroy(new CancelledError());
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    body.once('close', () => {
      ctx.signal.removeEventListener('abort', onAbort);
      client?.destroy();
    });
    const timed = body as Readable & { setTimeout?: (ms: number, callback: () => void) => unknown };
    timed.setTimeout?.(DOWNLOAD_IDLE_TIMEOUT_MS, () => body.destroy(new Error(`download of '${name}' stalled for ${DOWNLOAD_IDLE_TIMEOUT_MS / 1000} s`)));
    ctx.set('provider', provider);
    ctx.set('data', new StorageObjectStream(body, length, provider, name, (origin) => ctx.warnOnce(`the data stream of object '${origin}' was read more than once; the second reader gets nothing (use core/stream-cache@v1)`)));
    return 'exec';
  },
};

// ---- walk -------------------------------------------------------------------------------------------

const walk: NodeDef = {
  type: 'core/storage-walk@v1',
  ports: staticPorts(
    [exec('exec'), data('dir', 'string'), data('glob', 'string'), data('provider', 'storage-provider', { required: true })],
    [exec('exec-success'), exec('exec-err'), data('dirs', '[]string'), data('objects', '[]string'), data('provider', 'storage-provider')],
  ),
  async execute(ctx) {
    const provider = await readProvider(ctx);
    const dir = await ctx.string('dir');
    const glob = await ctx.string('glob');
    ctx.set('provider', provider);
    ctx.set('dirs', []);
    ctx.set('objects', []);
    let patterns: GlobPattern[] | undefined;
    try {
      patterns = glob === '' ? undefined : glob.split(';').map(compileGlob);
    } catch (error) {
      // Documented as an exec-err case (the reference's code fails the graph instead).
      throw new NodeFailure(`invalid glob ${JSON.stringify(glob)} in input 'glob': ${(error as Error).message}`);
    }
    if (dir.startsWith('/')) throw new NodeFailure(`failed to list objects: dir path must not start with a slash '/' (got ${JSON.stringify(dir)})`);
    const prefix = dir === '' ? '' : `${dir.replace(/\/+$/, '')}/`;
    let listing: { dirs: string[]; objects: string[] };
    try {
      listing = await withClient(ctx, provider, (client) => listLevel(client, provider, prefix, ctx.signal));
    } catch (error) {
      if (error instanceof CancelledError) throw error;
      throw new NodeFailure(`failed to list objects under '${prefix}' in bucket '${provider.bucket}': ${provider.describe(error)}`);
    }
    const keep = (path: string): boolean => !patterns || patterns.some((pattern) => pattern.matches(baseName(path)));
    ctx.set('dirs', listing.dirs.filter(keep));
    ctx.set('objects', listing.objects.filter(keep));
    return 'exec-success';
  },
};

/**
 * One level below `prefix`: objects by full key, sub-directories (common prefixes) by full path without
 * the trailing slash. The prefix's own directory-marker object is left out.
 */
async function listLevel(client: S3Client, provider: S3StorageProvider, prefix: string, signal: AbortSignal): Promise<{ dirs: string[]; objects: string[] }> {
  const { ListObjectsV2Command } = await loadSdk();
  const dirs: string[] = [];
  const objects: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: provider.bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }), { abortSignal: signal });
    for (const item of page.Contents ?? []) if (item.Key !== undefined && item.Key !== prefix) objects.push(item.Key);
    for (const common of page.CommonPrefixes ?? []) if (common.Prefix !== undefined && common.Prefix !== prefix) dirs.push(common.Prefix.replace(/\/$/, ''));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return { dirs, objects };
}

// ---- delete -----------------------------------------------------------------------------------------

const remove: NodeDef = {
  type: 'core/storage-delete@v1',
  ports: staticPorts(
    [exec('exec'), data('name', 'string', { required: true }), data('is_dir', 'bool'), data('provider', 'storage-provider', { required: true })],
    [exec('exec-success'), exec('exec-err'), data('deleted', 'bool'), data('provider', 'storage-provider')],
  ),
  async execute(ctx) {
    const name = await ctx.string('name');
    const provider = await readProvider(ctx);
    const isDir = await ctx.bool('is_dir');
    ctx.set('provider', provider);
    ctx.set('deleted', false);
    if (isDir) {
      const prefix = `${name.replace(/\/+$/, '')}/`;
      // An empty name would be every object in the bucket: far more likely a missing value than the intent.
      if (prefix === '/') throw new NodeFailure(`refusing to delete every object of bucket '${provider.bucket}': input 'name' is empty and 'is_dir' is set`);
      await transfer(ctx, provider, `failed to delete directory '${prefix}' in bucket '${provider.bucket}'`, (client) => deletePrefix(client, provider, prefix, ctx.signal));
    } else {
      await transfer(ctx, provider, `failed to delete object '${name}' in bucket '${provider.bucket}'`, async (client) => {
        const { DeleteObjectCommand } = await loadSdk();
        await client.send(new DeleteObjectCommand({ Bucket: provider.bucket, Key: name }), { abortSignal: ctx.signal });
      });
    }
    ctx.set('deleted', true);
    return 'exec-success';
  },
};

/** Every object whose key starts with `prefix`, at any depth, deleted in batches. */
async function deletePrefix(client: S3Client, provider: S3StorageProvider, prefix: string, signal: AbortSignal): Promise<void> {
  const { DeleteObjectsCommand, ListObjectsV2Command } = await loadSdk();
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: provider.bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal: signal });
    const keys = (page.Contents ?? []).flatMap((item) => (item.Key === undefined ? [] : [item.Key]));
    for (let start = 0; start < keys.length; start += DELETE_BATCH) {
      const batch = keys.slice(start, start + DELETE_BATCH);
      const result = await client.send(
        new DeleteObjectsCommand({ Bucket: provider.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        { abortSignal: signal },
      );
      const failed = result.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0];
        throw new Error(`${failed.length} of ${batch.length} objects were not deleted (first: '${first.Key}': ${first.Code ?? 'error'}: ${first.Message ?? ''})`);
      }
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

// ---- glob -------------------------------------------------------------------------------------------

type GlobToken = { kind: 'star' } | { kind: 'one' } | { kind: 'char'; char: string } | { kind: 'class'; negated: boolean; ranges: Array<[number, number]> };
type GlobPattern = { matches(name: string): boolean };

/**
 * A pattern with the syntax of Go's filepath.Match, which the reference applies to each entry's base name:
 * `*` any run of characters, `?` one character, `[a-z]` / `[^…]` classes, `\` escapes. An empty pattern
 * matches everything. A malformed pattern is an error.
 */
function compileGlob(pattern: string): GlobPattern {
  if (pattern === '') return { matches: () => true };
  const chars = Array.from(pattern);
  const tokens: GlobToken[] = [];
  const bad = (): Error => new Error('syntax error in pattern');
  let i = 0;
  /** One class member, possibly escaped; `-` and `]` cannot start one. */
  const classChar = (): number => {
    if (i >= chars.length || chars[i] === '-' || chars[i] === ']') throw bad();
    if (chars[i] === '\\') {
      i++;
      if (i >= chars.length) throw bad();
    }
    const code = chars[i].codePointAt(0) as number;
    i++;
    if (i >= chars.length) throw bad();
    return code;
  };
  while (i < chars.length) {
    const char = chars[i];
    if (char === '*') {
      if (tokens.at(-1)?.kind !== 'star') tokens.push({ kind: 'star' });
      i++;
    } else if (char === '?') {
      tokens.push({ kind: 'one' });
      i++;
    } else if (char === '[') {
      i++;
      const negated = chars[i] === '^';
      if (negated) i++;
      const ranges: Array<[number, number]> = [];
      for (;;) {
        if (chars[i] === ']' && ranges.length > 0) {
          i++;
          break;
        }
        const low = classChar();
        let high = low;
        if (chars[i] === '-') {
          i++;
          high = classChar();
        }
        ranges.push([low, high]);
      }
      tokens.push({ kind: 'class', negated, ranges });
    } else if (char === '\\') {
      i++;
      if (i >= chars.length) throw bad();
      tokens.push({ kind: 'char', char: chars[i] });
      i++;
    } else {
      tokens.push({ kind: 'char', char });
      i++;
    }
  }
  return { matches: (name) => matchTokens(tokens, Array.from(name)) };
}

/** Dynamic programming over (token, position): no exponential backtracking on patterns like `*a*a*a`. */
function matchTokens(tokens: GlobToken[], name: string[]): boolean {
  // reachable[j]: the tokens so far can consume exactly the first j characters.
  let reachable = new Array<boolean>(name.length + 1).fill(false);
  reachable[0] = true;
  for (const token of tokens) {
    const next = new Array<boolean>(name.length + 1).fill(false);
    for (let j = 0; j <= name.length; j++) {
      if (token.kind === 'star') {
        // `*` never crosses a path separator (base names have none, but keep Go's rule).
        if (reachable[j] || (j > 0 && next[j - 1] && name[j - 1] !== '/')) next[j] = true;
        continue;
      }
      if (!reachable[j] || j === name.length) continue;
      const char = name[j];
      if (token.kind === 'one') next[j + 1] = char !== '/';
      else if (token.kind === 'char') next[j + 1] = char === token.char;
      else {
        const code = char.codePointAt(0) as number;
        const inside = token.ranges.some(([low, high]) => low <= code && code <= high);
        next[j + 1] = char !== '/' && inside !== token.negated;
      }
    }
    reachable = next;
  }
  return reachable[name.length];
}

/** Go's path.Base: the last element, trailing slashes ignored. */
function baseName(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed === '') return path === '' ? '.' : '/';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

export const storageNodes: readonly NodeDef[] = [providerS3, upload, download, walk, remove];
