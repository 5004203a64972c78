import { Body, Controller, Headers, Param, Query } from '@nestjs/common';
import { api } from '../../contract';
import type { RouteBody, RouteParams, RouteQuery, RouteResult } from '../../contract/http';
import { CurrentToken } from '../auth/auth.decorators';
import type { TokenPrincipal } from '../auth/principal';
import { bodyOf, paramsOf, queryOf, Route } from '../common/contract-route';
import { RunsService } from './runs.service';

const routes = api.runs;

@Controller()
export class RunsController {
  constructor(private readonly runs: RunsService) {}

  @Route(routes.trigger)
  trigger(
    @CurrentToken() principal: TokenPrincipal,
    @Param('slug') slug: string,
    @Param('name') name: string,
    @Body(bodyOf(routes.trigger)) body: RouteBody<typeof routes.trigger>,
    @Headers('x-bellows-trigger') kind: string | undefined,
  ): Promise<RouteResult<typeof routes.trigger>> {
    return this.runs.trigger(principal, slug, name, body, { kind: kind === 'manual' ? 'manual' : 'api', actor: principal.name, tokenId: principal.tokenId });
  }

  @Route(routes.list)
  list(@CurrentToken() principal: TokenPrincipal, @Query(queryOf(routes.list)) query: RouteQuery<typeof routes.list>): Promise<RouteResult<typeof routes.list>> {
    return this.runs.list(principal, query);
  }

  @Route(routes.get)
  get(@CurrentToken() principal: TokenPrincipal, @Param(paramsOf(routes.get)) params: RouteParams<typeof routes.get>): Promise<RouteResult<typeof routes.get>> {
    return this.runs.get(principal, params.id);
  }

  @Route(routes.cancelMany)
  cancelMany(@CurrentToken() principal: TokenPrincipal, @Body(bodyOf(routes.cancelMany)) body: RouteBody<typeof routes.cancelMany>): Promise<RouteResult<typeof routes.cancelMany>> {
    return this.runs.cancelMany(principal, body.ids);
  }

  @Route(routes.cancel)
  cancel(@CurrentToken() principal: TokenPrincipal, @Param(paramsOf(routes.cancel)) params: RouteParams<typeof routes.cancel>): Promise<RouteResult<typeof routes.cancel>> {
    return this.runs.cancel(principal, params.id);
  }

  @Route(routes.rerun)
  rerun(
    @CurrentToken() principal: TokenPrincipal,
    @Param(paramsOf(routes.rerun)) params: RouteParams<typeof routes.rerun>,
    @Body(bodyOf(routes.rerun)) body: RouteBody<typeof routes.rerun>,
  ): Promise<RouteResult<typeof routes.rerun>> {
    return this.runs.rerun(principal, params.id, body);
  }
}
