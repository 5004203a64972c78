import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentToken, RequireScope } from '../auth/auth.decorators';
import type { TokenPrincipal } from '../auth/principal';
import { badRequest } from '../common/api-error';
import { JobsService } from './jobs.service';
import { idParam } from '../common/validation';

const jobId = idParam('job');

@ApiTags('jobs')
@ApiBearerAuth()
@RequireScope('read')
@Controller('api/v1/jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Get(':id')
  get(@CurrentToken() principal: TokenPrincipal, @Param('id', jobId) id: number) {
    return this.jobs.get(principal, id);
  }

  @Get(':id/graph')
  graph(@CurrentToken() principal: TokenPrincipal, @Param('id', jobId) id: number) {
    return this.jobs.graph(principal, id);
  }

  @Get(':id/logs')
  @ApiQuery({ name: 'after', required: false, type: Number, description: 'Return chunks with seq greater than this.' })
  @ApiQuery({ name: 'limit', required: false, type: Number })
  @ApiQuery({ name: 'format', required: false, enum: ['json', 'text'] })
  async logs(
    @CurrentToken() principal: TokenPrincipal,
    @Param('id', jobId) id: number,
    @Query('after') after: string | undefined,
    @Query('limit') limit: string | undefined,
    @Query('format') format: string | undefined,
    @Res() res: Response,
  ) {
    if (format !== undefined && format !== 'json' && format !== 'text') throw badRequest('format must be json or text.');
    if (format !== 'text') {
      res.json(await this.jobs.logs(principal, id, after, limit));
      return;
    }
    const pages = this.jobs.text(principal, id);
    const first = await pages.next();
    res.type('text/plain; charset=utf-8');
    if (!first.done) res.write(first.value);
    for await (const page of pages) res.write(page);
    res.end();
  }
}
