import { Body, Controller, Param, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { api } from '../../contract';
import type { RouteBody, RouteParams, RouteQuery, RouteResult } from '../../contract/http';
import { CurrentToken } from '../auth/auth.decorators';
import type { TokenPrincipal } from '../auth/principal';
import { bodyOf, paramsOf, queryOf, Route } from '../common/contract-route';
import { JobsService } from './jobs.service';

const routes = api.jobs;

@Controller()
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Route(routes.get)
  get(@CurrentToken() principal: TokenPrincipal, @Param(paramsOf(routes.get)) params: RouteParams<typeof routes.get>): Promise<RouteResult<typeof routes.get>> {
    return this.jobs.get(principal, params.id);
  }

  @Route(routes.approve)
  approve(
    @CurrentToken() principal: TokenPrincipal,
    @Param(paramsOf(routes.approve)) params: RouteParams<typeof routes.approve>,
    @Body(bodyOf(routes.approve)) body: RouteBody<typeof routes.approve>,
  ): Promise<RouteResult<typeof routes.approve>> {
    return this.jobs.decide(principal, params.id, 'approved', body.comment ?? null);
  }

  @Route(routes.reject)
  reject(
    @CurrentToken() principal: TokenPrincipal,
    @Param(paramsOf(routes.reject)) params: RouteParams<typeof routes.reject>,
    @Body(bodyOf(routes.reject)) body: RouteBody<typeof routes.reject>,
  ): Promise<RouteResult<typeof routes.reject>> {
    return this.jobs.decide(principal, params.id, 'rejected', body.comment ?? null);
  }

  @Route(routes.graph)
  graph(@CurrentToken() principal: TokenPrincipal, @Param(paramsOf(routes.graph)) params: RouteParams<typeof routes.graph>): Promise<RouteResult<typeof routes.graph>> {
    return this.jobs.graph(principal, params.id);
  }

  /** Serves api.jobs.logs (a JSON page) and api.jobs.logText (`?format=text`, the whole log streamed). */
  @Route(routes.logs)
  async logs(
    @CurrentToken() principal: TokenPrincipal,
    @Param(paramsOf(routes.logs)) params: RouteParams<typeof routes.logs>,
    @Query(queryOf(routes.logs)) query: RouteQuery<typeof routes.logs>,
    @Res() res: Response,
  ) {
    if (query.format !== 'text') {
      res.json(await this.jobs.logs(principal, params.id, query.after, query.limit));
      return;
    }
    const pages = this.jobs.text(principal, params.id);
    const first = await pages.next();
    res.type('text/plain; charset=utf-8');
    if (!first.done) res.write(first.value);
    for await (const page of pages) res.write(page);
    res.end();
  }
}
