// The agent's persistent Socket.IO connection to the API (namespace /agents). Log batches go over
// it when it is up; when it is not (connecting, lost, refused, a proxy without WebSockets) callers
// fall back to HTTP, so this is an optimisation that can never lose or block output.

import { io, type Socket } from 'socket.io-client';
import { AGENT_STREAM_NAMESPACE, StreamReply, type AgentStreamClientEvents, type StreamedLogBatch } from '../contract/agent-protocol.contract';
import type { Logger } from './logger';

/** Long enough for a slow commit, short enough that a silently dead connection costs little before HTTP takes over. */
export const STREAM_ACK_TIMEOUT_MS = 5000;

type StreamSocket = Socket<Record<string, never>, AgentStreamClientEvents>;

export class AgentStream {
  private readonly socket: StreamSocket;
  private everConnected = false;
  private closed = false;

  constructor(
    baseUrl: string,
    secret: () => string | undefined,
    private readonly logger: Logger,
    private readonly ackTimeoutMs = STREAM_ACK_TIMEOUT_MS,
  ) {
    const url = new URL(baseUrl);
    // Same origin and path prefix as the REST API (a reverse proxy may mount Bellows under a path).
    const path = `${url.pathname.replace(/\/+$/, '')}/socket.io`;
    this.socket = io(`${url.origin}${AGENT_STREAM_NAMESPACE}`, {
      path,
      transports: ['websocket'],
      auth: (send) => send({ secret: secret() }),
      reconnectionDelay: 1000,
      reconnectionDelayMax: 10_000,
    });
    this.socket.on('connect', () => {
      if (!this.everConnected) this.logger.info('Log stream connected; batches go over it (HTTP when it is down)');
      this.everConnected = true;
    });
    this.socket.on('connect_error', () => {
      // Refused by the server (unknown secret): Socket.IO stops retrying; try again later, the
      // secret may have been renewed by then (setSecret reconnects at once; this timer must then
      // leave the working connection alone). Transport errors retry by themselves.
      if (!this.socket.active && !this.closed) setTimeout(() => !this.socket.connected && this.reconnect(), 10_000).unref();
    });
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  /** The stream's answer, or undefined when the caller should use HTTP instead. */
  async sendLogBatch(batch: StreamedLogBatch): Promise<StreamReply | undefined> {
    if (!this.socket.connected) return undefined;
    try {
      const reply = StreamReply.safeParse(await this.socket.timeout(this.ackTimeoutMs).emitWithAck('logs', batch));
      // A server error, or an acknowledgement outside the contract, is retried over HTTP (which has the
      // backoff and checks its answer); everything else is the answer.
      return reply.success && reply.data.status < 500 ? reply.data : undefined;
    } catch {
      return undefined;
    }
  }

  /** After re-registration: the connection must present the new secret. */
  reconnect(): void {
    if (this.closed) return;
    this.socket.disconnect().connect();
  }

  close(): void {
    this.closed = true;
    this.socket.disconnect();
  }
}
