import { Body, Controller, Param, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { api } from '../../contract';
import type { RouteBody, RouteParams, RouteQuery, RouteResult } from '../../contract/http';
import { CurrentToken } from '../auth/auth.decorators';
import type { TokenPrincipal } from '../auth/principal';
import { bodyOf, paramsOf, queryOf, Route } from '../common/contract-route';
import type { HookRequest } from './hook-body.middleware';
import { HookDeliveryLog } from './hook-delivery-log.service';
import { HookReceiver, type DeliveryAnswer } from './hook-receiver.service';
import { HooksService } from './hooks.service';

const routes = api.hooks;

function baseUrlOf(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}

@Controller()
export class HooksController {
  constructor(
    private readonly hooks: HooksService,
    private readonly receiver: HookReceiver,
    private readonly deliveryLog: HookDeliveryLog,
  ) {}

  @Route(routes.create)
  create(
    @CurrentToken() principal: TokenPrincipal,
    @Param('slug') slug: string,
    @Body(bodyOf(routes.create)) body: RouteBody<typeof routes.create>,
    @Req() req: Request,
  ): Promise<RouteResult<typeof routes.create>> {
    return this.hooks.create(principal, slug, body, baseUrlOf(req));
  }

  @Route(routes.list)
  list(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string, @Req() req: Request): Promise<RouteResult<typeof routes.list>> {
    return this.hooks.list(principal, slug, baseUrlOf(req));
  }

  // Public: the caller is authenticated by the delivery's signature (or bearer token, for token hooks).
  // The answer's status is the outcome's (201 run started, 200 duplicate/skipped/ping, 4xx refused).
  @Route(routes.deliver)
  async deliver(@Param('hookId') hookId: string, @Req() req: HookRequest, @Res({ passthrough: true }) res: Response): Promise<DeliveryAnswer['body']> {
    const body = req.hookBody;
    const answer = await this.receiver.receive({
      hookId,
      body: body && !body.tooLarge ? body.bytes : null,
      bodyBytes: body?.tooLarge ? body.declaredBytes : (body?.bytes.length ?? 0),
      headers: req.headers,
    });
    res.status(answer.status);
    return answer.body;
  }

  @Route(routes.get)
  get(@CurrentToken() principal: TokenPrincipal, @Param('hookId') hookId: string, @Req() req: Request): Promise<RouteResult<typeof routes.get>> {
    return this.hooks.get(principal, hookId, baseUrlOf(req));
  }

  @Route(routes.delete)
  async remove(@CurrentToken() principal: TokenPrincipal, @Param('hookId') hookId: string): Promise<void> {
    await this.hooks.remove(principal, hookId);
  }

  @Route(routes.deliveries)
  deliveries(
    @CurrentToken() principal: TokenPrincipal,
    @Param('hookId') hookId: string,
    @Query(queryOf(routes.deliveries)) query: RouteQuery<typeof routes.deliveries>,
  ): Promise<RouteResult<typeof routes.deliveries>> {
    return this.deliveryLog.deliveries(principal, hookId, query);
  }

  @Route(routes.delivery)
  delivery(@CurrentToken() principal: TokenPrincipal, @Param(paramsOf(routes.delivery)) params: RouteParams<typeof routes.delivery>): Promise<RouteResult<typeof routes.delivery>> {
    return this.deliveryLog.delivery(principal, params.hookId, params.id);
  }

  @Route(routes.redeliver)
  redeliver(@CurrentToken() principal: TokenPrincipal, @Param(paramsOf(routes.redeliver)) params: RouteParams<typeof routes.redeliver>): Promise<RouteResult<typeof routes.redeliver>> {
    return this.receiver.redeliver(principal, params.hookId, params.id);
  }
}
