// The wire contract between the API and agents: what an agent sends and what it is answered.
import { z } from 'zod';
import { defineRoute } from './http';

// TODO(schema): request and response schemas (replace every z.unknown()); the limits and types now in
// src/agents/agent-protocol.ts move here.
const TODO = z.unknown();

const tag = 'agent protocol';
const base = '/api/v1/agents';

export const agentProtocolRoutes = {
  register: defineRoute({ method: 'POST', path: `${base}/register`, tag, summary: 'Register (with a registration token); answers the agent secret', auth: 'registration', status: 201, body: TODO, response: TODO }),
  heartbeat: defineRoute({ method: 'POST', path: `${base}/heartbeat`, tag, summary: 'Heartbeat; answers the jobs to stop', auth: 'agent', status: 200, body: TODO, response: TODO }),
  signOff: defineRoute({ method: 'POST', path: `${base}/sign-off`, tag, summary: 'Going offline', auth: 'agent', status: 204, response: 'empty' }),
  claim: defineRoute({
    method: 'POST',
    path: `${base}/claim`,
    tag,
    summary: 'Long-poll for a job: 200 with the job, 204 when none came within ?wait= seconds',
    auth: 'agent',
    status: 200,
    query: z.object({ wait: z.string().optional() }),
    response: TODO,
  }),
  start: defineRoute({ method: 'POST', path: `${base}/jobs/:id/start`, tag, summary: 'The job started', auth: 'agent', status: 200, response: TODO }),
  logs: defineRoute({ method: 'POST', path: `${base}/jobs/:id/logs`, tag, summary: 'Append a log batch (the fallback of the agent stream)', auth: 'agent', status: 200, body: TODO, response: TODO }),
  nodes: defineRoute({ method: 'POST', path: `${base}/jobs/:id/nodes`, tag, summary: 'The graph nodes executing now', auth: 'agent', status: 200, body: TODO, response: TODO }),
  uploadArtifact: defineRoute({
    method: 'PUT',
    path: `${base}/jobs/:id/artifacts/:name`,
    tag,
    summary: 'Upload an artifact (streamed body, X-Checksum-Sha256)',
    auth: 'agent',
    status: 201,
    body: 'binary',
    response: TODO,
  }),
  downloadArtifact: defineRoute({
    method: 'GET',
    path: `${base}/jobs/:id/artifacts/:name`,
    tag,
    summary: "Download an artifact of this run (or of ?run=)",
    auth: 'agent',
    status: 200,
    query: z.object({ run: z.string().optional() }),
    response: 'binary',
  }),
  release: defineRoute({ method: 'POST', path: `${base}/jobs/:id/release`, tag, summary: 'Give a claimed job back to the queue', auth: 'agent', status: 200, response: TODO }),
  finish: defineRoute({ method: 'POST', path: `${base}/jobs/:id/finish`, tag, summary: 'The job ended', auth: 'agent', status: 200, body: TODO, response: TODO }),
};
