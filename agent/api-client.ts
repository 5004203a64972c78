// HTTP to the Bellows API: bearer auth, JSON bodies, retry with backoff on outages, and re-registration
// when the server stops recognising our secret. Requests are built from the contract's routes and every
// 2xx answer is checked against the route's schema here, at the edge: a malformed field is one clear
// result for the caller to handle, never a crash deep inside a job. Callers decide what a 4xx means.

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { api } from '../contract';
import type { LogBatchRequest } from '../contract/agent-protocol.contract';
import { ContractViolation, describeIssues, ErrorBody, routeUrl, type RouteDef, type RouteInput, type RouteResponse } from '../contract/http';
import { AgentStream } from './agent-stream';
import { AbortError, backoffDelay, DEFAULT_BACKOFF, isAbortError, sleep, type BackoffOptions } from './backoff';
import { errorMessage, type Logger } from './logger';

/** What came back, before the route's schema had its say. */
export type ApiResponse = { status: number; body: unknown };

/**
 * A route's answer: `ok` when it is the route's success, with a body its schema accepts. Anything else
 * (an error status, a 204 where a body was due, a 2xx whose body breaks the schema: `violation` says how)
 * keeps the raw body.
 */
export type CallResult<R extends RouteDef> =
  | { ok: true; status: number; body: RouteResponse<R> }
  | { ok: false; status: number; body: unknown; violation?: string };

const routes = api.agentProtocol;

/** Path parameters and query of a streamed route (its body is a file). */
type StreamInput<R extends RouteDef> = Omit<RouteInput<R>, 'body'>;

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
  async sendLogBatch(jobId: number, batch: LogBatchRequest, options: RequestOptions = {}): Promise<CallResult<typeof routes.logs>> {
    const streamed = await this.stream?.sendLogBatch({ ...batch, jobId });
    if (streamed) return checked(routes.logs, streamed);
    return this.call(routes.logs, { params: { id: jobId }, body: batch }, options);
  }

  /** Called (once for a burst of concurrent 401s) to obtain a new secret; may throw to give up. */
  onUnauthorized(handler: () => Promise<void>): void {
    this.reauthenticate = handler;
  }

  /** Calls a JSON route of the agent protocol; the answer is checked against the route's schema. */
  async call<R extends RouteDef>(route: R, input: RouteInput<R>, options: RequestOptions = {}): Promise<CallResult<R>> {
    const { params, query, body } = input as { params?: Record<string, string | number>; query?: Record<string, unknown>; body?: unknown };
    return checked(route, await this.send(route.method, routeUrl(route, params, query), body, options));
  }

  /** A JSON request by method and full path, answered unchecked. */
  private send(method: string, path: string, body: unknown, options: RequestOptions): Promise<ApiResponse> {
    return this.withRetry(options, async (bearer) => {
      const timeout = AbortSignal.timeout(options.timeoutMs ?? this.defaultTimeoutMs);
      const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
      const headers: Record<string, string> = { accept: 'application/json' };
      if (bearer) headers.authorization = `Bearer ${bearer}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
      return { status: response.status, body: parseJson(await response.text()) };
    });
  }

  /** Uploads a file as a streamed body (fetch would need the whole file or duplex streams for that). */
  async upload(input: StreamInput<typeof routes.uploadArtifact>, file: UploadFile, options: RequestOptions = {}): Promise<CallResult<typeof routes.uploadArtifact>> {
    const path = routeUrl(routes.uploadArtifact, input.params);
    return checked(routes.uploadArtifact, await this.withRetry(options, (bearer) => this.putFile(path, file, bearer, options)));
  }

  /**
   * Downloads an artifact into `destination`, checking the server's X-Checksum-Sha256 while streaming.
   * `ok` when the file was written and verified.
   */
  async download(input: StreamInput<typeof routes.downloadArtifact>, destination: string, options: RequestOptions = {}): Promise<ApiResponse & { ok: boolean }> {
    const path = routeUrl(routes.downloadArtifact, input.params, input.query);
    const response = await this.withRetry(options, (bearer) => this.getFile(path, destination, bearer, options));
    return { ...response, ok: response.status === 200 };
  }

  private getFile(path: string, destination: string, bearer: string | undefined, options: RequestOptions): Promise<ApiResponse> {
    const url = new URL(`${this.baseUrl}${path}`);
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
          failure = `HTTP ${response.status}${describeError(response)}`;
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

  private putFile(path: string, file: UploadFile, bearer: string | undefined, options: RequestOptions): Promise<ApiResponse> {
    const url = new URL(`${this.baseUrl}${path}`);
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

/** The answer as the route's result: its schema decides whether a 2xx is `ok`. */
export function checked<R extends RouteDef>(route: R, response: ApiResponse): CallResult<R> {
  const { status, body } = response;
  if (status < 200 || status >= 300) return { ok: false, status, body };
  if (typeof route.response === 'string') return { ok: true, status, body: body as RouteResponse<R> };
  // Only the claim's long poll answers 204 on a route with a body: no job came.
  if (status === 204) return { ok: false, status, body };
  const parsed = route.response.safeParse(body);
  if (parsed.success) return { ok: true, status, body: body as RouteResponse<R> };
  return { ok: false, status, body, violation: new ContractViolation(route, describeIssues(parsed.error.issues)).message };
}

/** The `error` of an `{error: {code, message, …}}` body, if the body has that shape. */
export function errorOf(body: unknown): ErrorBody['error'] | undefined {
  const parsed = ErrorBody.safeParse(body);
  return parsed.success ? parsed.data.error : undefined;
}

export function errorCode(body: unknown): string | undefined {
  return errorOf(body)?.code;
}

/** `: the server's sentence` for a log line, or the contract violation of a 2xx; '' when there is neither. */
export function describeError(response: ApiResponse & { violation?: string }): string {
  if (response.violation) return `: ${response.violation}`;
  const error = errorOf(response.body);
  return error ? `: ${error.message}` : '';
}

export function isSuccess(response: ApiResponse): boolean {
  return response.status >= 200 && response.status < 300;
}

/** 409/410 on a job endpoint: the server gave the job to someone else or already closed it. */
export function isJobGone(response: ApiResponse): boolean {
  return response.status === 409 || response.status === 410;
}
