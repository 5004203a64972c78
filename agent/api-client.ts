// HTTP to the Bellows API: bearer auth, JSON bodies, retry with backoff on outages, and re-registration
// when the server stops recognising our secret. Callers get the status back and decide what a 4xx means.

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { agentPath, type LogBatchRequest } from '../src/agents/agent-protocol';
import { AgentStream } from './agent-stream';
import { AbortError, backoffDelay, DEFAULT_BACKOFF, isAbortError, sleep, type BackoffOptions } from './backoff';
import { errorMessage, type Logger } from './logger';

export const API_BASE_PATH = '/api/v1';

export type ApiResponse = { status: number; body: unknown };

export type RequestOptions = {
  signal?: AbortSignal;
  /** Per-attempt timeout; the long poll passes a bit more than its wait. */
  timeoutMs?: number;
  /** Retry network errors, 5xx and 429 with backoff until success or abort. Default true. */
  retry?: boolean;
  /** Overrides the agent secret (registration uses the registration token). */
  bearer?: string;
};

export type UploadFile = { path: string; size: number; sha256: string };

export type ApiClientOptions = {
  baseUrl: string;
  logger: Logger;
  backoff?: BackoffOptions;
  defaultTimeoutMs?: number;
};

/** A local read error while streaming an upload: retrying the request cannot fix it. */
export class LocalFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LocalFileError';
  }
}

/** Thrown for transport failures when the caller asked for no retry. */
export class ApiNetworkError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ApiNetworkError';
  }
}

export class ApiClient {
  readonly baseUrl: string;
  private secret: string | undefined;
  private reauthenticate: (() => Promise<void>) | undefined;
  private reauthInFlight: Promise<void> | undefined;
  private readonly logger: Logger;
  private readonly backoff: BackoffOptions;
  private readonly defaultTimeoutMs: number;
  private outageSince: number | undefined;
  private stream: AgentStream | undefined;

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.logger = options.logger;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
  }

  setSecret(secret: string): void {
    const renewed = this.secret !== undefined && this.secret !== secret;
    this.secret = secret;
    if (renewed) this.stream?.reconnect();
  }

  /** Opens the persistent log stream (after registration: it authenticates with the agent secret). */
  openStream(ackTimeoutMs?: number): void {
    this.stream ??= new AgentStream(this.baseUrl, () => this.secret, this.logger, ackTimeoutMs);
  }

  get streamConnected(): boolean {
    return this.stream?.connected ?? false;
  }

  close(): void {
    this.stream?.close();
    this.stream = undefined;
  }

  /** One log batch: over the stream when it is up, else (or when it fails) as POST …/jobs/:id/logs. */
  async sendLogBatch(jobId: number, batch: LogBatchRequest, options: RequestOptions = {}): Promise<ApiResponse> {
    const streamed = await this.stream?.sendLogBatch({ ...batch, jobId });
    if (streamed) return streamed;
    return this.request('POST', agentPath('logs', { id: jobId }), batch, options);
  }

  /** Called (once for a burst of concurrent 401s) to obtain a new secret; may throw to give up. */
  onUnauthorized(handler: () => Promise<void>): void {
    this.reauthenticate = handler;
  }

  request(method: string, path: string, body: unknown, options: RequestOptions = {}): Promise<ApiResponse> {
    return this.withRetry(options, async (bearer) => {
      const timeout = AbortSignal.timeout(options.timeoutMs ?? this.defaultTimeoutMs);
      const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
      const headers: Record<string, string> = { accept: 'application/json' };
      if (bearer) headers.authorization = `Bearer ${bearer}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(this.url(path), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
      return { status: response.status, body: parseJson(await response.text()) };
    });
  }

  /** PUT a file as a streamed body (fetch would need the whole file or duplex streams for that). */
  upload(path: string, file: UploadFile, options: RequestOptions = {}): Promise<ApiResponse> {
    return this.withRetry(options, (bearer) => this.putFile(path, file, bearer, options));
  }

  /**
   * GET a file into `destination`, checking the server's X-Checksum-Sha256 while streaming.
   * Resolves with the HTTP status (200 when the file was written and verified).
   */
  download(path: string, destination: string, options: RequestOptions = {}): Promise<ApiResponse> {
    return this.withRetry(options, (bearer) => this.getFile(path, destination, bearer, options));
  }

  private getFile(path: string, destination: string, bearer: string | undefined, options: RequestOptions): Promise<ApiResponse> {
    const url = new URL(this.url(path));
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<ApiResponse>((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = { accept: 'application/octet-stream' };
      if (bearer) headers.authorization = `Bearer ${bearer}`;
      const req = transport.request(url, { method: 'GET', headers, signal: options.signal });
      req.setTimeout(options.timeoutMs ?? 120_000, () => req.destroy(new Error('download stalled')));
      req.on('error', reject);
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          const parts: Buffer[] = [];
          res.on('data', (part: Buffer) => parts.push(part));
          res.on('end', () => resolve({ status, body: parseJson(Buffer.concat(parts).toString('utf8')) }));
          res.on('error', reject);
          return;
        }
        const expected = res.headers['x-checksum-sha256'];
        const hash = createHash('sha256');
        res.on('data', (part: Buffer) => hash.update(part));
        pipeline(res, createWriteStream(destination))
          .then(() => {
            const actual = hash.digest('hex');
            if (typeof expected === 'string' && expected !== actual) {
              reject(new LocalFileError(`download of ${path} arrived with SHA-256 ${actual}, expected ${expected}`));
            } else {
              resolve({ status, body: { sha256: actual } });
            }
          })
          .catch((error: Error) => reject(new LocalFileError(`cannot write ${destination}: ${error.message}`, { cause: error })));
      });
      req.end();
    });
  }

  private async withRetry(options: RequestOptions, send: (bearer: string | undefined) => Promise<ApiResponse>): Promise<ApiResponse> {
    const retry = options.retry ?? true;
    for (let attempt = 0; ; attempt++) {
      if (options.signal?.aborted) throw new AbortError();
      let failure: string;
      try {
        const bearer = options.bearer ?? this.secret;
        const response = await send(bearer);
        if (response.status === 401 && options.bearer === undefined && this.reauthenticate) {
          this.recovered();
          await this.reauthOnce();
          // A second 401 right after re-registering would loop tightly without the backoff below.
          if (attempt === 0) continue;
          failure = 'still unauthorized after re-registering';
        } else if (response.status >= 500 || response.status === 429) {
          failure = `HTTP ${response.status}${describeError(response.body)}`;
          if (!retry) {
            this.failed(failure);
            return response;
          }
        } else {
          this.recovered();
          return response;
        }
      } catch (error) {
        if (options.signal?.aborted) throw new AbortError();
        if (error instanceof LocalFileError) throw error;
        if (isAbortError(error)) failure = 'request timed out';
        else failure = errorMessage(error);
        if (!retry) {
          this.failed(failure);
          throw new ApiNetworkError(failure, { cause: error });
        }
      }
      this.failed(failure);
      await sleep(backoffDelay(attempt, this.backoff), options.signal);
    }
  }

  private reauthOnce(): Promise<void> {
    if (!this.reauthenticate) return Promise.resolve();
    this.reauthInFlight ??= this.reauthenticate().finally(() => {
      this.reauthInFlight = undefined;
    });
    return this.reauthInFlight;
  }

  /** One log line per outage (not per retry): printed when it starts and when it ends. */
  private failed(reason: string): void {
    if (this.outageSince !== undefined) return;
    this.outageSince = Date.now();
    this.logger.warn(`Bellows API at ${this.baseUrl} unavailable (${reason}); retrying with backoff`);
  }

  private recovered(): void {
    if (this.outageSince === undefined) return;
    const seconds = Math.round((Date.now() - this.outageSince) / 1000);
    this.outageSince = undefined;
    this.logger.info(`Bellows API reachable again after ${seconds} s`);
  }

  private url(path: string): string {
    return `${this.baseUrl}${API_BASE_PATH}${path}`;
  }

  private putFile(path: string, file: UploadFile, bearer: string | undefined, options: RequestOptions): Promise<ApiResponse> {
    const url = new URL(this.url(path));
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<ApiResponse>((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = {
        'content-type': 'application/octet-stream',
        'content-length': file.size,
        'x-checksum-sha256': file.sha256,
        accept: 'application/json',
      };
      if (bearer) headers.authorization = `Bearer ${bearer}`;
      const req = transport.request(url, { method: 'PUT', headers, signal: options.signal });
      // Idle timeout rather than a total one: large artifacts on slow links may legitimately take long.
      req.setTimeout(options.timeoutMs ?? 120_000, () => req.destroy(new Error('upload stalled')));
      req.on('error', reject);
      req.on('response', (res) => {
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: parseJson(Buffer.concat(parts).toString('utf8')) }));
      });
      const source = createReadStream(file.path);
      source.on('error', (error) => {
        const local = new LocalFileError(`cannot read ${file.path}: ${error.message}`, { cause: error });
        reject(local);
        req.destroy(local);
      });
      source.pipe(req);
    });
  }
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** `code` of an `{error: {code, message}}` body, if the body has that shape. */
export function errorCode(body: unknown): string | undefined {
  const error = isRecord(body) ? body.error : undefined;
  return isRecord(error) && typeof error.code === 'string' ? error.code : undefined;
}

export function describeError(body: unknown): string {
  const error = isRecord(body) ? body.error : undefined;
  if (isRecord(error) && typeof error.message === 'string') return `: ${error.message}`;
  return '';
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isSuccess(response: ApiResponse): boolean {
  return response.status >= 200 && response.status < 300;
}

/** 409/410 on a job endpoint: the server gave the job to someone else or already closed it. */
export function isJobGone(response: ApiResponse): boolean {
  return response.status === 409 || response.status === 410;
}
