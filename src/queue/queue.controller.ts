import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiPropertyOptional, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsInt, IsOptional, Min } from 'class-validator';
import { CurrentToken, RequireScope } from '../auth/auth.decorators';
import type { TokenPrincipal } from '../auth/principal';
import { QueueService } from './queue.service';

export class MoveJobDto {
  @ApiProperty() @IsInt() @Min(1) jobId!: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(1) beforeJobId?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(1) afterJobId?: number;
}

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
