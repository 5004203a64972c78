import { Body, Controller, Param } from '@nestjs/common';
import { api } from '../../contract';
import type { RouteBody, RouteResult } from '../../contract/http';
import { CurrentToken } from '../auth/auth.decorators';
import type { TokenPrincipal } from '../auth/principal';
import { bodyOf, Route } from '../common/contract-route';
import { SchedulesService } from './schedules.service';

const routes = api.schedules;

@Controller()
export class SchedulesController {
  constructor(private readonly schedules: SchedulesService) {}

  @Route(routes.create)
  create(
    @CurrentToken() principal: TokenPrincipal,
    @Param('slug') slug: string,
    @Body(bodyOf(routes.create)) body: RouteBody<typeof routes.create>,
  ): Promise<RouteResult<typeof routes.create>> {
    return this.schedules.create(principal, slug, body);
  }

  @Route(routes.list)
  list(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string): Promise<RouteResult<typeof routes.list>> {
    return this.schedules.list(principal, slug);
  }

  @Route(routes.get)
  get(@CurrentToken() principal: TokenPrincipal, @Param('scheduleId') id: string): Promise<RouteResult<typeof routes.get>> {
    return this.schedules.get(principal, id);
  }

  @Route(routes.update)
  update(
    @CurrentToken() principal: TokenPrincipal,
    @Param('scheduleId') id: string,
    @Body(bodyOf(routes.update)) body: RouteBody<typeof routes.update>,
  ): Promise<RouteResult<typeof routes.update>> {
    return this.schedules.update(principal, id, body);
  }

  @Route(routes.delete)
  async remove(@CurrentToken() principal: TokenPrincipal, @Param('scheduleId') id: string): Promise<void> {
    await this.schedules.remove(principal, id);
  }

  @Route(routes.trigger)
  trigger(@CurrentToken() principal: TokenPrincipal, @Param('scheduleId') id: string): Promise<RouteResult<typeof routes.trigger>> {
    return this.schedules.trigger(principal, id);
  }
}
