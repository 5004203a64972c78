import { Body, Controller, Param } from '@nestjs/common';
import { api } from '../../contract';
import type { RouteBody, RouteResult } from '../../contract/http';
import { bodyOf, Route } from '../common/contract-route';
import { AgentsService } from './agents.service';

const routes = api.agents;

// Agent ids stay plain strings in the path: one that is not a UUID names no agent (404), as before.
@Controller()
export class AgentsController {
  constructor(private readonly agents: AgentsService) {}

  @Route(routes.list)
  async list(): Promise<RouteResult<typeof routes.list>> {
    return { agents: await this.agents.list() };
  }

  @Route(routes.update)
  update(@Param('id') id: string, @Body(bodyOf(routes.update)) body: RouteBody<typeof routes.update>): Promise<RouteResult<typeof routes.update>> {
    return this.agents.setLabels(id, body.labels ?? null);
  }

  @Route(routes.delete)
  async delete(@Param('id') id: string): Promise<void> {
    await this.agents.delete(id);
  }
}
