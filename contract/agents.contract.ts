// Agents as people manage them (list, relabel, remove); what agents themselves call is agent-protocol.
import { z } from 'zod';
import { agentLabels } from './agent-protocol.contract';
import { timestamp } from './common';
import { defineRoute } from './http';

/** `busy`: running a job; `offline`: no heartbeat within the server's lost-agent time. */
export const AGENT_STATUSES = ['online', 'busy', 'offline'] as const;
export const AgentStatus = z.enum(AGENT_STATUSES).meta({ id: 'AgentStatus' });
export type AgentStatus = z.infer<typeof AgentStatus>;

export const Agent = z
  .object({
    id: z.string(),
    name: z.string(),
    /** The labels jobs match against: the override when an admin set one, else what the agent declared. */
    labels: z.array(z.string()).meta({ description: 'The labels jobs match against: the override when an admin set one, else what the agent declared.' }),
    declaredLabels: z.array(z.string()),
    labelsOverride: z.array(z.string()).nullable(),
    status: AgentStatus,
    hostname: z.string().nullable(),
    os: z.string().nullable(),
    arch: z.string().nullable(),
    version: z.string().nullable(),
    lastSeenAt: timestamp,
    currentJobId: z.number().nullable(),
    createdAt: timestamp,
  })
  .meta({ id: 'Agent' });
export type Agent = z.input<typeof Agent>;

export const AgentList = z.object({ agents: z.array(Agent) }).meta({ id: 'AgentList' });
export type AgentList = z.input<typeof AgentList>;

export const UpdateAgent = z
  .strictObject({
    labels: agentLabels.nullable().optional().meta({ description: 'Server-side labels that replace what the agent declared; null restores them.' }),
  })
  .meta({ id: 'UpdateAgent' });
export type UpdateAgent = z.input<typeof UpdateAgent>;

const tag = 'agents';

export const agentRoutes = {
  list: defineRoute({ method: 'GET', path: '/api/v1/agents', tag, summary: 'Agents, with status and current job', auth: 'read', status: 200, response: AgentList }),
  update: defineRoute({ method: 'PATCH', path: '/api/v1/agents/:id', tag, summary: "Override an agent's labels (null restores its own)", auth: 'admin', status: 200, body: UpdateAgent, response: Agent }),
  delete: defineRoute({ method: 'DELETE', path: '/api/v1/agents/:id', tag, summary: 'Remove an agent', auth: 'admin', status: 204, response: 'empty' }),
};
