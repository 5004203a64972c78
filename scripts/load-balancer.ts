import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';

// A tiny round-robin HTTP + WebSocket load balancer for `npm run cluster`: agents and viewers take
// one address, as they would behind nginx/HAProxy/a cloud LB in production. A request whose upstream
// refuses the connection moves on to the next one, so a dead API instance costs a failed connect,
// not a failed request. Socket.IO long-polling sessions are pinned to the instance that issued their
// sid (what "sticky sessions" does in a real LB); WebSocket upgrades are piped as raw TCP.

export type Upstream = { host: string; port: number };
export type LoadBalancer = {
  url: string;
  port: number;
  /** Requests forwarded per upstream (`host:port`), for tests and the bench. */
  counts(): Record<string, number>;
  /** The upstream (`host:port`) a Socket.IO session id is pinned to, once its polling handshake went through. */
  upstreamOf(sid: string): string | null;
  close(): Promise<void>;
};

/** After a refused connect, an upstream is skipped this long (unless every upstream is down). */
const DOWN_FOR_MS = 1000;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

export async function startLoadBalancer(upstreams: Upstream[], options: { port?: number; host?: string } = {}): Promise<LoadBalancer> {
  const keyOf = (u: Upstream): string => `${u.host}:${u.port}`;
  const downUntil = new Map<string, number>();
  const counts = new Map<string, number>();
  const sessions = new Map<string, Upstream>();
  let next = 0;

  /** Upstreams in try order: round-robin start, healthy ones first. */
  const order = (): Upstream[] => {
    const start = next++ % upstreams.length;
    const rotated = [...upstreams.slice(start), ...upstreams.slice(0, start)];
    const now = Date.now();
    return [...rotated.filter((u) => (downUntil.get(keyOf(u)) ?? 0) <= now), ...rotated.filter((u) => (downUntil.get(keyOf(u)) ?? 0) > now)];
  };

  /** Connects to the first upstream that accepts; nothing of the request has been sent yet, so moving on is safe. */
  const connect = (candidates: Upstream[]): Promise<{ socket: net.Socket; upstream: Upstream }> =>
    new Promise((resolve, reject) => {
      const attempt = (index: number): void => {
        const upstream = candidates[index];
        if (!upstream) return reject(new Error('no upstream accepted the connection'));
        const socket = net.connect(upstream.port, upstream.host);
        socket.setNoDelay(true);
        socket.once('connect', () => {
          socket.removeAllListeners('error');
          downUntil.delete(keyOf(upstream));
          counts.set(keyOf(upstream), (counts.get(keyOf(upstream)) ?? 0) + 1);
          resolve({ socket, upstream });
        });
        socket.once('error', () => {
          downUntil.set(keyOf(upstream), Date.now() + DOWN_FOR_MS);
          socket.destroy();
          attempt(index + 1);
        });
      };
      attempt(0);
    });

  const sidOf = (url: string | undefined): string | null => (url?.startsWith('/socket.io/') ? new URL(url, 'http://lb').searchParams.get('sid') : null);

  const candidatesFor = (url: string | undefined): Upstream[] => {
    const sid = sidOf(url);
    const pinned = sid ? sessions.get(sid) : undefined;
    // A pinned session goes to its instance only: another one would answer "Session ID unknown" anyway,
    // and failing fast makes the client start a new session (through the balancer) at once.
    return pinned ? [pinned] : order();
  };

  const server = http.createServer((req, res) => {
    req.pause();
    connect(candidatesFor(req.url)).then(
      ({ socket, upstream }) => {
        const headers: http.OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value;
        headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
        // One upstream connection per request keeps "refused → next upstream" trivially safe.
        headers.connection = 'close';
        const proxied = http.request({ method: req.method, path: req.url, headers, createConnection: () => socket });
        proxied.once('response', (upstreamRes) => {
          const isHandshake = req.url?.startsWith('/socket.io/') && !sidOf(req.url) && upstreamRes.statusCode === 200;
          const outHeaders = Object.fromEntries(Object.entries(upstreamRes.headers).filter(([name]) => !HOP_BY_HOP.has(name)));
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, outHeaders);
          if (isHandshake) {
            // Learn the sid of a new polling session from the engine.io open packet (`0{"sid":"…",…}`).
            upstreamRes.once('data', (chunk: Buffer) => {
              const match = /"sid":"([^"]+)"/.exec(chunk.toString('utf8'));
              if (match) sessions.set(match[1], upstream);
              if (sessions.size > 100_000) sessions.clear();
            });
          }
          upstreamRes.pipe(res);
          upstreamRes.once('error', () => res.destroy());
        });
        proxied.once('error', () => {
          // The instance died mid-request (kill -9): the client sees a dropped connection and retries.
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":{"code":"bad_gateway","message":"The API instance went away."}}');
          else res.destroy();
        });
        res.once('close', () => {
          if (!res.writableFinished) proxied.destroy();
        });
        req.pipe(proxied);
        req.resume();
      },
      () => {
        res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":{"code":"bad_gateway","message":"No API instance is reachable."}}');
        req.resume();
      },
    );
  });
  // Long polls last up to a minute; the default 5 s keep-alive and request timeouts would cut them.
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 0;
  server.headersTimeout = 70_000;

  server.on('upgrade', (req: http.IncomingMessage, client: Duplex, head: Buffer) => {
    connect(candidatesFor(req.url)).then(
      ({ socket }) => {
        // Replay the request head verbatim; from here on it is a byte pipe in both directions.
        const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
        for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
        socket.write(`${lines.join('\r\n')}\r\n\r\n`);
        if (head.length) socket.write(head);
        socket.pipe(client).pipe(socket);
        const close = (): void => {
          socket.destroy();
          client.destroy();
        };
        socket.once('error', close).once('close', close);
        client.once('error', close).once('close', close);
      },
      () => client.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n'),
    );
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = address && typeof address === 'object' ? address.port : 0;
  return {
    url: `http://${host}:${port}`,
    port,
    counts: () => Object.fromEntries(counts),
    upstreamOf: (sid) => {
      const upstream = sessions.get(sid);
      return upstream ? keyOf(upstream) : null;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
