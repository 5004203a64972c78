// What operators probe: health (for load balancers) and Prometheus metrics.
import { z } from 'zod';
import { defineRoute } from './http';

const upDown = z.enum(['up', 'down']);

/** 200 with status ok, or 503 with status degraded and which dependency is down. */
export const Health = z.object({ status: z.enum(['ok', 'degraded']), database: upDown, temporal: upDown }).meta({ id: 'Health' });
export type Health = z.input<typeof Health>;

export const systemRoutes = {
  health: defineRoute({ method: 'GET', path: '/api/v1/health', tag: 'system', summary: 'Health: 200 ok, 503 degraded (database or Temporal down)', auth: 'public', status: 200, response: Health }),
  metrics: defineRoute({ method: 'GET', path: '/metrics', tag: 'system', summary: 'Prometheus metrics (text exposition format)', auth: 'public', status: 200, response: 'text' }),
};
