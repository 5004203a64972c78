import { BeforeApplicationShutdown, Logger } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayDisconnect,
  OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
} from '@nestjs/websockets';
import type { Server } from 'socket.io';
import { SubscribeRequest, type ClientToServerEvents, type ServerToClientEvents, type SubscribeReply } from '../../contract/live.contract';
import { ApiError, type ErrorBody } from '../common/api-error';
import { parseOrReject } from '../common/contract-route';
import { LiveError } from './live-auth';
import { LiveService, type LiveSocket, type LiveSocketData } from './live.service';

export type LiveServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, LiveSocketData>;

/**
 * Socket.IO endpoint of the live views (path /socket.io on the API port). No CORS headers: browsers
 * may only connect from the API's own origin (the web UI it serves). Rules live in LiveService.
 */
@WebSocketGateway()
export class LiveGateway implements OnGatewayInit<LiveServer>, OnGatewayDisconnect<LiveSocket>, BeforeApplicationShutdown {
  private readonly logger = new Logger('live');

  @WebSocketServer()
  server!: LiveServer;

  constructor(private readonly live: LiveService) {}

  afterInit(server: LiveServer): void {
    // Handshake middleware, so a refused client gets `connect_error` with our message (and `data.code`).
    server.use((socket, next) => {
      this.live.authenticate(socket.handshake.auth).then(
        (principal) => {
          socket.data = { principal, joined: new Map() };
          next();
        },
        (error: unknown) => {
          const refusal = error instanceof LiveError ? error : new LiveError('internal', 'Could not check the token; try again.');
          if (!(error instanceof LiveError)) this.logger.warn(`handshake failed: ${(error as Error).message}`);
          next(Object.assign(new Error(refusal.message), { data: { code: refusal.code } }));
        },
      );
    });
  }

  @SubscribeMessage('subscribe')
  async subscribe(@ConnectedSocket() socket: LiveSocket, @MessageBody() message: unknown): Promise<SubscribeReply> {
    let request: SubscribeRequest;
    try {
      request = parseOrReject(SubscribeRequest, message, 'message');
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      // A Socket.IO acknowledgement has no status: the refusal travels in the reply, as every refusal of a subscribe does.
      return { ok: false, error: { code: 'invalid_room', message: (error.getResponse() as ErrorBody).error.message } };
    }
    return this.live.subscribe(socket, request);
  }

  @SubscribeMessage('unsubscribe')
  unsubscribe(@ConnectedSocket() socket: LiveSocket, @MessageBody() request: unknown): Promise<{ ok: true }> {
    return this.live.unsubscribe(socket, request);
  }

  handleDisconnect(socket: LiveSocket): void {
    this.live.disconnected(socket);
  }

  /**
   * Before the HTTP server closes: drop every local connection at the transport level. Clients see
   * "transport close" and reconnect (to another instance, or to this one once restarted) and
   * re-subscribe with their last seq; a Socket.IO "disconnect" packet would stop them reconnecting.
   * Only this instance's sockets: `disconnectSockets()` would go through the adapter to all instances.
   */
  beforeApplicationShutdown(): void {
    const sockets = this.server?.sockets.sockets;
    if (!sockets?.size) return;
    this.logger.log(`closing ${sockets.size} live connection(s); clients will reconnect`);
    for (const socket of sockets.values()) socket.conn.close();
  }
}
