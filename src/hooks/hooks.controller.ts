import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { CurrentToken, Public, RequireScope } from '../auth/auth.decorators';
import type { TokenPrincipal } from '../auth/principal';
import type { HookRequest } from './hook-body.middleware';
import { CreateHookDto } from './hooks.dto';
import { HookDeliveryLog } from './hook-delivery-log.service';
import { HookReceiver } from './hook-receiver.service';
import { HooksService } from './hooks.service';
import { idParam } from '../common/validation';

const deliveryId = idParam('delivery');

function baseUrlOf(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}

@ApiTags('hooks')
@Controller('api/v1')
export class HooksController {
  constructor(
    private readonly hooks: HooksService,
    private readonly receiver: HookReceiver,
    private readonly deliveryLog: HookDeliveryLog,
  ) {}

  @Post('projects/:slug/hooks')
  @ApiBearerAuth()
  @RequireScope('write')
  @ApiOperation({ summary: 'Create a webhook; the answer holds its URL and, once, its secret (or token).' })
  create(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string, @Body() body: CreateHookDto, @Req() req: Request) {
    return this.hooks.create(principal, slug, body, baseUrlOf(req));
  }

  @Get('projects/:slug/hooks')
  @ApiBearerAuth()
  @RequireScope('read')
  list(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string, @Req() req: Request) {
    return this.hooks.list(principal, slug, baseUrlOf(req));
  }

  // Public: the caller is authenticated by the delivery's signature (or bearer token, for token hooks).
  @Post('hooks/:hookId')
  @Public()
  @ApiOperation({ summary: 'Receive a delivery: 201 run started, 200 duplicate/skipped/ping, 401 bad signature.' })
  async deliver(@Param('hookId') hookId: string, @Req() req: HookRequest, @Res({ passthrough: true }) res: Response) {
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

  @Get('hooks/:hookId')
  @ApiBearerAuth()
  @RequireScope('read')
  get(@CurrentToken() principal: TokenPrincipal, @Param('hookId') hookId: string, @Req() req: Request) {
    return this.hooks.get(principal, hookId, baseUrlOf(req));
  }

  @Delete('hooks/:hookId')
  @ApiBearerAuth()
  @RequireScope('write')
  @HttpCode(204)
  async remove(@CurrentToken() principal: TokenPrincipal, @Param('hookId') hookId: string) {
    await this.hooks.remove(principal, hookId);
  }

  @Get('hooks/:hookId/deliveries')
  @ApiBearerAuth()
  @RequireScope('read')
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'limit', required: false, type: Number })
  deliveries(@CurrentToken() principal: TokenPrincipal, @Param('hookId') hookId: string, @Query() query: { cursor?: string; limit?: string }) {
    return this.deliveryLog.deliveries(principal, hookId, query);
  }

  @Get('hooks/:hookId/deliveries/:id')
  @ApiBearerAuth()
  @RequireScope('read')
  delivery(@CurrentToken() principal: TokenPrincipal, @Param('hookId') hookId: string, @Param('id', deliveryId) id: number) {
    return this.deliveryLog.delivery(principal, hookId, id);
  }

  @Post('hooks/:hookId/deliveries/:id/redeliver')
  @ApiBearerAuth()
  @RequireScope('write')
  @HttpCode(200)
  @ApiOperation({ summary: 'Process a stored, verified delivery again under its original delivery id.' })
  redeliver(@CurrentToken() principal: TokenPrincipal, @Param('hookId') hookId: string, @Param('id', deliveryId) id: number) {
    return this.receiver.redeliver(principal, hookId, id);
  }
}
