import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiQuery, ApiTags } from '@nestjs/swagger';
import { CurrentToken, RequireScope } from '../auth/auth.decorators';
import type { TokenPrincipal } from '../auth/principal';
import { BulkCancelDto, RerunDto, TriggerRunDto } from './runs.dto';
import { RunsService } from './runs.service';
import { idParam } from '../common/validation';

const runId = idParam('run');

@ApiTags('runs')
@ApiBearerAuth()
@Controller('api/v1')
export class RunsController {
  constructor(private readonly runs: RunsService) {}

  @Post('projects/:slug/pipelines/:name/runs')
  @RequireScope('trigger')
  @ApiHeader({ name: 'X-Bellows-Trigger', required: false, description: '`manual` when a person started the run (the web UI sends it).' })
  trigger(
    @CurrentToken() principal: TokenPrincipal,
    @Param('slug') slug: string,
    @Param('name') name: string,
    @Body() body: TriggerRunDto,
    @Headers('x-bellows-trigger') kind: string | undefined,
  ) {
    return this.runs.trigger(principal, slug, name, body, { kind: kind === 'manual' ? 'manual' : 'api', actor: principal.name, tokenId: principal.tokenId });
  }

  @Get('runs')
  @RequireScope('read')
  @ApiQuery({ name: 'project', required: false })
  @ApiQuery({ name: 'pipeline', required: false })
  @ApiQuery({ name: 'status', required: false, enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'limit', required: false, type: Number })
  list(
    @CurrentToken() principal: TokenPrincipal,
    @Query() query: { project?: string; pipeline?: string; status?: string; cursor?: string; limit?: string },
  ) {
    return this.runs.list(principal, query);
  }

  @Get('runs/:id')
  @RequireScope('read')
  get(@CurrentToken() principal: TokenPrincipal, @Param('id', runId) id: number) {
    return this.runs.get(principal, id);
  }

  @Post('runs/cancel')
  @RequireScope('write')
  @HttpCode(200)
  cancelMany(@CurrentToken() principal: TokenPrincipal, @Body() body: BulkCancelDto) {
    return this.runs.cancelMany(principal, body.ids);
  }

  @Post('runs/:id/cancel')
  @RequireScope('write')
  @HttpCode(200)
  cancel(@CurrentToken() principal: TokenPrincipal, @Param('id', runId) id: number) {
    return this.runs.cancel(principal, id);
  }

  @Post('runs/:id/rerun')
  @RequireScope('write')
  rerun(@CurrentToken() principal: TokenPrincipal, @Param('id', runId) id: number, @Body() body: RerunDto) {
    return this.runs.rerun(principal, id, body.failedOnly ?? false);
  }
}
