// What operators probe: health (for load balancers) and Prometheus metrics.
import { z } from 'zod';
import { defineRoute } from './http';

// TODO(schema): request and response schemas (replace every z.unknown()).
const TODO = z.unknown();

export const systemRoutes = {
  health: defineRoute({ method: 'GET', path: '/api/v1/health', tag: 'system', summary: 'Health: 200 ok, 503 degraded (database or Temporal down)', auth: 'public', status: 200, response: TODO }),
  metrics: defineRoute({ method: 'GET', path: '/metrics', tag: 'system', summary: 'Prometheus metrics (text exposition format)', auth: 'public', status: 200, response: 'text' }),
};
