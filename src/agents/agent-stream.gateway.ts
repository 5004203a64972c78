import { BeforeApplicationShutdown, HttpException, Logger } from '@nestjs/common';
import { ConnectedSocket, MessageBody, OnGatewayConnection, OnGatewayInit, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import type { AgentPrincipal } from '../auth/principal';
import { AGENT_STREAM_NAMESPACE, StreamedLogBatch, type StreamReply } from '../../contract/agent-protocol.contract';
import { parseOrReject } from '../common/contract-route';
import { AgentConnections } from './agent-connections';
import { AgentsService } from './agents.service';

type AgentSocket = Socket<Record<string, never>, Record<string, never>, Record<string, never>, { agent: AgentPrincipal }>;

/**
 * The agents' persistent connection: log batches without an HTTP request each. Same rules and
 * answers as POST …/jobs/:id/logs (AgentsService), returned as the acknowledgement.
 */
@WebSocketGateway({ namespace: AGENT_STREAM_NAMESPACE })
export class AgentStreamGateway implements OnGatewayInit<Namespace>, OnGatewayConnection<AgentSocket>, BeforeApplicationShutdown {
  private readonly logger = new Logger('agent-stream');

  @WebSocketServer()
  namespace!: Namespace;

  constructor(
    private readonly agents: AgentsService,
    private readonly connections: AgentConnections,
  ) {}

  afterInit(namespace: Namespace): void {
    this.connections.attach(namespace);
    namespace.use((socket, next) => {
      const secret = (socket.handshake.auth as { secret?: unknown }).secret;
      if (typeof secret !== 'string' || !secret) {
        next(refusal('unauthorized', 'Missing agent secret: connect with `auth: { secret }` (the secret from POST /api/v1/agents/register).'));
        return;
      }
      this.agents.principalForSecret(secret).then(
        (agent) => {
          if (!agent) return next(refusal('unauthorized', 'Unknown agent secret; register the agent again.'));
          (socket as AgentSocket).data.agent = agent;
          next();
        },
        (error: unknown) => {
          this.logger.warn(`handshake failed: ${error instanceof Error ? error.message : String(error)}`);
          next(refusal('internal', 'Could not check the agent secret; try again.'));
        },
      );
    });
  }

  handleConnection(socket: AgentSocket): void {
    this.connections.register(socket, socket.data.agent.agentId);
  }

  @SubscribeMessage('logs')
  async logs(@ConnectedSocket() socket: AgentSocket, @MessageBody() body: unknown): Promise<StreamReply> {
    try {
      const batch = parseOrReject(StreamedLogBatch, body, 'message');
      return { status: 200, body: await this.agents.appendLogs(socket.data.agent, batch.jobId, { seq: batch.seq, chunks: batch.chunks }) };
    } catch (error) {
      if (error instanceof HttpException) return { status: error.getStatus(), body: error.getResponse() };
      this.logger.error(`log batch from agent ${socket.data.agent.name} failed: ${error instanceof Error ? error.message : String(error)}`);
      return { status: 500, body: { error: { code: 'internal', message: 'The batch could not be stored; send it again.' } } };
    }
  }

  /** Like the live views: drop connections at the transport level so agents reconnect (elsewhere) rather than give up. */
  beforeApplicationShutdown(): void {
    for (const socket of this.namespace?.sockets.values() ?? []) socket.conn.close();
  }
}

function refusal(code: 'unauthorized' | 'internal', message: string): Error {
  return Object.assign(new Error(message), { data: { code } });
}
