// The queue: jobs waiting for an agent, in the order agents will claim them.
import { z } from 'zod';
import { defineRoute } from './http';

// TODO(schema): request and response schemas (replace every z.unknown()).
const TODO = z.unknown();

const tag = 'queue';

export const queueRoutes = {
  list: defineRoute({ method: 'GET', path: '/api/v1/queue', tag, summary: 'Queued jobs in claim order, with why each waits', auth: 'read', status: 200, response: TODO }),
  move: defineRoute({ method: 'POST', path: '/api/v1/queue/move', tag, summary: 'Move a queued job before or after another', auth: 'write', status: 200, body: TODO, response: TODO }),
};
