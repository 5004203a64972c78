import { pipeline } from 'node:stream/promises';
import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { CurrentToken, RequireScope } from '../auth/auth.decorators';
import type { TokenPrincipal } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { ArtifactsService } from './artifacts.service';

@ApiTags('artifacts')
@ApiBearerAuth()
@RequireScope('read')
@Controller('api/v1/artifacts')
export class ArtifactsController {
  constructor(private readonly artifacts: ArtifactsService) {}

  @Get()
  @ApiQuery({ name: 'q', required: false, description: 'Substring of the artifact name (case-insensitive).' })
  @ApiQuery({ name: 'project', required: false })
  @ApiQuery({ name: 'pipeline', required: false })
  @ApiQuery({ name: 'runId', required: false, type: Number })
  @ApiQuery({ name: 'from', required: false, description: 'ISO 8601' })
  @ApiQuery({ name: 'to', required: false, description: 'ISO 8601' })
  @ApiQuery({ name: 'minSize', required: false, type: Number })
  @ApiQuery({ name: 'maxSize', required: false, type: Number })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'limit', required: false, type: Number })
  list(@CurrentToken() principal: TokenPrincipal, @Query() query: Record<string, string | undefined>) {
    return this.artifacts.list(principal, query);
  }

  @Get(':id')
  async get(@CurrentToken() principal: TokenPrincipal, @Param('id') id: string) {
    return this.artifacts.view(await this.artifacts.get(principal, id));
  }

  @Get(':id/download')
  async download(@CurrentToken() principal: TokenPrincipal, @Param('id') id: string, @Req() req: Request, @Res() res: Response) {
    const row = await this.artifacts.get(principal, id);
    const etag = `"${row.sha256}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Content-Type', 'application/octet-stream');
    res.attachment(row.name.split('/').pop() ?? row.name);
    res.setHeader('X-Checksum-Sha256', row.sha256);
    if (req.headers['if-none-match'] === etag) {
      res.status(304).end();
      return;
    }
    const range = parseRange(req.headers.range, row.size, req.headers['if-range'], etag);
    if (range === 'unsatisfiable') {
      res.setHeader('Content-Range', `bytes */${row.size}`);
      throw new ApiError(416, 'range_not_satisfiable', `The range "${req.headers.range}" lies outside the artifact's ${row.size} bytes.`);
    }
    if (range) {
      res.status(206);
      res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${row.size}`);
      res.setHeader('Content-Length', String(range.end - range.start + 1));
    } else {
      res.setHeader('Content-Length', String(row.size));
    }
    if (req.method === 'HEAD' || row.size === 0) {
      res.end();
      return;
    }
    await pipeline(await this.artifacts.open(row, range ?? undefined), res);
  }
}

/** One byte range (`bytes=a-b`, `a-`, `-n`); several ranges are served whole, as RFC 9110 allows. */
function parseRange(header: string | undefined, size: number, ifRange: string | string[] | undefined, etag: string) {
  if (!header || (typeof ifRange === 'string' && ifRange !== etag)) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  let start: number;
  let end: number;
  if (match[1] === '') {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable' as const;
  return { start, end };
}
