import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentToken, RequireScope } from '../auth/auth.decorators';
import type { TokenPrincipal } from '../auth/principal';
import { MoveJobDto } from './queue.dto';
import { QueueService } from './queue.service';

@ApiTags('queue')
@ApiBearerAuth()
@Controller('api/v1/queue')
export class QueueController {
  constructor(private readonly queue: QueueService) {}

  @Get()
  @RequireScope('read')
  list(@CurrentToken() principal: TokenPrincipal) {
    return this.queue.list(principal);
  }

  @Post('move')
  @RequireScope('write')
  @HttpCode(200)
  move(@CurrentToken() principal: TokenPrincipal, @Body() body: MoveJobDto) {
    return this.queue.move(principal, body.jobId, { before: body.beforeJobId, after: body.afterJobId });
  }
}
