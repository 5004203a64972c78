import { Body, Controller, Query } from '@nestjs/common';
import { api } from '../../contract';
import type { RouteBody, RouteQuery, RouteResult } from '../../contract/http';
import { CurrentToken } from '../auth/auth.decorators';
import type { TokenPrincipal } from '../auth/principal';
import { bodyOf, queryOf, Route } from '../common/contract-route';
import { QueueService } from './queue.service';

const routes = api.queue;

@Controller()
export class QueueController {
  constructor(private readonly queue: QueueService) {}

  @Route(routes.list)
  list(@CurrentToken() principal: TokenPrincipal, @Query(queryOf(routes.list)) query: RouteQuery<typeof routes.list>): Promise<RouteResult<typeof routes.list>> {
    return this.queue.list(principal, { cursor: query.cursor, limit: query.limit });
  }

  @Route(routes.move)
  move(@CurrentToken() principal: TokenPrincipal, @Body(bodyOf(routes.move)) body: RouteBody<typeof routes.move>): Promise<RouteResult<typeof routes.move>> {
    return this.queue.move(principal, body.jobId, { before: body.beforeJobId, after: body.afterJobId });
  }
}
