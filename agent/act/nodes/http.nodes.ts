// core/http@v1: one HTTP request. The node finishes when the response headers have arrived; the body is
// handed on as a data stream that stays open until it is read (or goes idle and is dropped).
//
// Behaviour follows the reference engine (a Go net/http client): a 2xx status continues on exec-success,
// any other status and any connection failure on exec-err (status_code and body are set either way, so an
// error path can read a 404 page); a bad method, header line or URL fails the graph. node:http is used
// rather than fetch because fetch refuses CONNECT and TRACE and a body on GET, which the reference sends.

import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CancelledError } from '../act-errors';
import { NodeError, NodeFailure, data, describeError, exec, option, staticPorts, type NodeDef } from '../act-node-def';
import { DataStream } from '../act-values';
import { redactUrlCredentials } from '../../secret-masker';

const METHODS = ['options', 'get', 'head', 'post', 'put', 'delete', 'trace', 'connect'] as const;

/** The reference's client gives up after 30 s; here the limit applies to getting the response headers. */
const RESPONSE_TIMEOUT_MS = 30_000;
/** A body that delivers nothing for this long is dropped (frees the connection of a body nobody reads). */
const BODY_IDLE_TIMEOUT_MS = 30_000;
/** Go's client follows at most 10 redirects. */
const MAX_REDIRECTS = 10;
/** Bodies up to this size are held in memory, so a 307/308 redirect can send them again. */
const RESENDABLE_BODY_BYTES = 1024 * 1024;
const USER_AGENT = 'bellows-act';

/** Headers that must not follow a redirect to another host (as Go's client drops them). */
const SENSITIVE_HEADERS = ['authorization', 'www-authenticate', 'cookie', 'cookie2'];

type Header = { name: string; value: string };
type RequestBody = { bytes?: Buffer; stream?: Readable; length: number };
/** `tunnel`: a CONNECT answer, whose body would be the tunnel itself (not offered as a stream). */
type Exchange = { response: http.IncomingMessage; request: http.ClientRequest; tunnel?: boolean };

const httpNode: NodeDef = {
  type: 'core/http@v1',
  ports: staticPorts(
    [exec('exec'), option('method', METHODS, 'get'), data('url', 'string', { required: true }), data('body', 'stream'), data('header', '[]string')],
    [exec('exec-success'), exec('exec-err'), data('status_code', 'number'), data('body', 'stream')],
  ),
  async execute(ctx) {
    const bodyStream = await ctx.stream('body');
    try {
      const method = (await ctx.string('method')).toUpperCase();
      if (!METHODS.includes(method.toLowerCase() as (typeof METHODS)[number])) throw new NodeError(`invalid method: ${method}`);
      const target = parseTarget(await ctx.string('url'));
      const headers = parseHeaders(await ctx.strings('header'));
      const body = bodyStream ? await requestBody(bodyStream) : undefined;

      let outcome: { status: number; stream: DataStream } | { error: string };
      try {
        const exchange = await send(method, target, headers, body, ctx.signal);
        outcome = { status: exchange.response.statusCode ?? 0, stream: responseStream(exchange, method, headers, ctx.signal, target, (origin) =>
          ctx.warnOnce(`the response body of ${origin} was read more than once; the second reader gets nothing (use core/stream-cache@v1)`),
        ) };
      } catch (error) {
        if (ctx.signal.aborted) throw new CancelledError();
        outcome = { error: error instanceof HttpProblem ? error.message : describeError(error) };
      }
      if ('error' in outcome) {
        ctx.set('status_code', 0);
        ctx.set('body', new DataStream(Buffer.alloc(0), 0, redactUrl(target)));
        throw new NodeFailure(`connection error: ${method} ${redactUrl(target)}: ${outcome.error}`);
      }
      ctx.set('status_code', outcome.status);
      ctx.set('body', outcome.stream);
      if (outcome.status < 200 || outcome.status >= 300) throw new NodeFailure(`non-2xx status code: ${outcome.status} (${method} ${redactUrl(target)})`);
      return 'exec-success';
    } finally {
      // The request body is spent either way (sent, or not needed because the request never started).
      if (bodyStream && !bodyStream.wasConsumed) bodyStream.discard();
    }
  },
};

/** A problem found before or while sending that is the connection's, not the graph's (exec-err). */
class HttpProblem extends Error {}

type Target = { url?: URL; text: string };

/**
 * Go parses the URL first (a malformed one fails the graph) and only the transport rejects a missing or
 * unknown scheme (exec-err); the same split here.
 */
function parseTarget(text: string): Target {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(text)?.[1];
  if (scheme === undefined) {
    if (/^[^/?#]*:/.test(text)) throw new NodeError(`invalid URL in input 'url' (${redactText(text)}): first path segment in URL cannot contain colon`);
    return { text };
  }
  try {
    return { url: new URL(text), text };
  } catch (error) {
    throw new NodeError(`invalid URL in input 'url' (${redactText(text)}): ${describeError(error)}`);
  }
}

/** `Name: value` lines; empty lines are skipped, a later line replaces an earlier one of the same name. */
function parseHeaders(lines: string[]): Map<string, Header> {
  const headers = new Map<string, Header>();
  for (const [index, line] of lines.entries()) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    // The line itself is not repeated: it may well be a credential that lost its colon.
    if (colon < 0) throw new NodeError(`invalid header at item ${index} of input 'header': expected 'Name: value'`);
    const name = line.slice(0, colon).trim();
    if (name === '') continue;
    headers.set(name.toLowerCase(), { name, value: line.slice(colon + 1).trim() });
  }
  return headers;
}

/** Small bodies of known size are read now so that a 307/308 redirect can repeat them; others stream. */
async function requestBody(stream: DataStream): Promise<RequestBody | undefined> {
  if (stream.length >= 0 && stream.length <= RESENDABLE_BODY_BYTES) {
    const bytes = await stream.readAll();
    return bytes.length === 0 ? undefined : { bytes, length: bytes.length };
  }
  return { stream: stream.take(), length: stream.length };
}

/** Sends the request and follows redirects the way Go's http.Client does. */
async function send(method: string, target: Target, userHeaders: Map<string, Header>, body: RequestBody | undefined, signal: AbortSignal): Promise<Exchange> {
  if (!target.url) throw new HttpProblem('unsupported protocol scheme "" (the URL must start with http:// or https://)');
  const first = target.url;
  let url = first;
  let currentMethod = method;
  let currentBody = body;
  let headers = userHeaders;
  let referer: string | undefined;
  for (let redirects = 0; ; redirects++) {
    const exchange = await sendOnce(currentMethod, url, headers, currentBody, referer, signal);
    const status = exchange.response.statusCode ?? 0;
    const location = exchange.response.headers.location;
    if (![301, 302, 303, 307, 308].includes(status) || !location) return exchange;
    let nextMethod = currentMethod;
    let nextBody = currentBody;
    if (status === 307 || status === 308) {
      // A streamed body cannot be sent twice: the redirect response itself is the answer.
      if (currentBody?.stream) return exchange;
    } else {
      if (currentMethod !== 'GET' && currentMethod !== 'HEAD') nextMethod = 'GET';
      nextBody = undefined;
    }
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      exchange.response.destroy();
      throw new HttpProblem(`failed to parse Location header of a ${status} redirect`);
    }
    exchange.response.resume();
    if (redirects + 1 >= MAX_REDIRECTS) throw new HttpProblem(`stopped after ${MAX_REDIRECTS} redirects`);
    headers = new Map(headers);
    if (!nextBody) {
      headers.delete('content-type');
      headers.delete('content-length');
    }
    if (!sameOrSubdomain(next.hostname, first.hostname)) for (const name of SENSITIVE_HEADERS) headers.delete(name);
    referer = url.protocol === 'https:' && next.protocol === 'http:' ? undefined : stripCredentials(url);
    // Credentials in the first URL belong to that URL only.
    next.username = '';
    next.password = '';
    url = next;
    currentMethod = nextMethod;
    currentBody = nextBody;
  }
}

function sendOnce(method: string, url: URL, userHeaders: Map<string, Header>, body: RequestBody | undefined, referer: string | undefined, signal: AbortSignal): Promise<Exchange> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new HttpProblem(`unsupported protocol scheme "${url.protocol.slice(0, -1)}"`));
  const headers: Record<string, string> = {};
  const set = (name: string, value: string): void => {
    try {
      http.validateHeaderName(name);
      http.validateHeaderValue(name, value);
    } catch {
      throw new HttpProblem(`invalid header field ${JSON.stringify(name)}`);
    }
    headers[name] = value;
  };
  if (!userHeaders.has('user-agent')) set('User-Agent', USER_AGENT);
  // Asked for compressed bodies only when the graph did not choose; then decompressed here, as Go does.
  if (!userHeaders.has('accept-encoding') && !userHeaders.has('range') && method !== 'HEAD') set('Accept-Encoding', 'gzip');
  if (referer) set('Referer', referer);
  for (const { name, value } of userHeaders.values()) if (name.toLowerCase() !== 'content-length' && name.toLowerCase() !== 'transfer-encoding') set(name, value);
  if (body) {
    if (body.length >= 0) set('Content-Length', String(body.length));
    else set('Transfer-Encoding', 'chunked');
  } else if (['POST', 'PUT'].includes(method)) set('Content-Length', '0');

  return new Promise<Exchange>((resolve, reject) => {
    const transport = url.protocol === 'https:' ? https : http;
    const request = transport.request(url, {
      method,
      headers,
      // Userinfo in the URL becomes Basic auth unless the graph set Authorization itself.
      auth: url.username ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` : undefined,
    });
    let settled = false;
    const finish = (error?: Error, response?: http.IncomingMessage, tunnel?: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (error) {
        request.destroy();
        body?.stream?.destroy();
        reject(error);
      } else resolve({ request, response: response as http.IncomingMessage, tunnel });
    };
    const onAbort = (): void => finish(new CancelledError());
    const timer = setTimeout(() => finish(new HttpProblem(`no response within ${RESPONSE_TIMEOUT_MS / 1000} s`)), RESPONSE_TIMEOUT_MS);
    signal.addEventListener('abort', onAbort, { once: true });
    request.on('error', (error) => finish(error));
    request.on('response', (response) => finish(undefined, response));
    // Node reports a CONNECT answer separately; the tunnel it opens is of no use to a graph.
    request.on('connect', (response, socket) => {
      socket.destroy();
      finish(undefined, response, true);
    });
    if (signal.aborted) return onAbort();
    if (body?.bytes) request.end(body.bytes);
    else if (body?.stream) {
      body.stream.on('error', (error) => finish(new HttpProblem(`reading the request body failed: ${describeError(error)}`)));
      body.stream.pipe(request);
    } else request.end();
  });
}

/** The response body as a data stream; cancelling the graph or a long silence destroys it. */
function responseStream(exchange: Exchange, method: string, userHeaders: Map<string, Header>, signal: AbortSignal, target: Target, onReread: (origin: string) => void): DataStream {
  const { response } = exchange;
  const origin = redactUrl(target);
  if (exchange.tunnel) return new DataStream(Buffer.alloc(0), 0, origin);
  const onAbort = (): void => void response.destroy(new CancelledError());
  signal.addEventListener('abort', onAbort, { once: true });
  response.once('close', () => signal.removeEventListener('abort', onAbort));
  response.setTimeout(BODY_IDLE_TIMEOUT_MS, () => response.destroy(new Error(`the response body of ${origin} sent nothing for ${BODY_IDLE_TIMEOUT_MS / 1000} s`)));
  const encoding = String(response.headers['content-encoding'] ?? '').toLowerCase();
  const decompress = encoding === 'gzip' && !userHeaders.has('accept-encoding') && method !== 'HEAD';
  if (decompress) {
    const gunzip = createGunzip();
    response.on('error', (error) => gunzip.destroy(error));
    gunzip.on('close', () => response.destroy());
    return new DataStream(response.pipe(gunzip), -1, origin, onReread);
  }
  const declared = Number(response.headers['content-length']);
  return new DataStream(response, method !== 'HEAD' && Number.isInteger(declared) && declared >= 0 ? declared : -1, origin, onReread);
}

function sameOrSubdomain(host: string, original: string): boolean {
  return host === original || host.endsWith(`.${original}`);
}

function stripCredentials(url: URL): string {
  const copy = new URL(url);
  copy.username = '';
  copy.password = '';
  copy.hash = '';
  return copy.toString();
}

/** A URL for messages: no userinfo, no query (either may carry a token). */
function redactUrl(target: Target): string {
  if (!target.url) return redactText(target.text);
  return `${target.url.protocol}//${target.url.host}${target.url.pathname}${target.url.search ? '?…' : ''}`;
}

/** Text that failed to parse as a URL: its user-info (redact's rule) and its query dropped. */
function redactText(text: string): string {
  return redactUrlCredentials(text).replace(/\?.*$/, '?…');
}

export const httpNodes: readonly NodeDef[] = [httpNode];
