import { Injectable } from '@nestjs/common';
import type { Namespace } from 'socket.io';

const agentRoom = (agentId: string) => `agent:${agentId}`;

/**
 * The agents' stream connections, by agent, for the rules that must end them (a deleted agent).
 * Set up by AgentStreamGateway; a separate provider so AgentsService can use it without depending
 * on the gateway that depends on it.
 */
@Injectable()
export class AgentConnections {
  private namespace: Namespace | undefined;

  attach(namespace: Namespace): void {
    this.namespace = namespace;
  }

  register(socket: { join(room: string): unknown }, agentId: string): void {
    void socket.join(agentRoom(agentId));
  }

  /** Closes the agent's connections on every API instance (through the adapter). */
  drop(agentId: string): void {
    this.namespace?.in(agentRoom(agentId)).disconnectSockets(true);
  }
}
