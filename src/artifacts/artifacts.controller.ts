import { pipeline } from 'node:stream/promises';
import { Controller, Param, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { api } from '../../contract';
import type { RouteQuery, RouteResult } from '../../contract/http';
import { CurrentToken } from '../auth/auth.decorators';
import type { TokenPrincipal } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { queryOf, Route } from '../common/contract-route';
import { ArtifactsService } from './artifacts.service';

const routes = api.artifacts;

// Artifact ids stay plain strings in the path: one that is not a UUID names no artifact (404).
@Controller()
export class ArtifactsController {
  constructor(private readonly artifacts: ArtifactsService) {}

  @Route(routes.list)
  list(@CurrentToken() principal: TokenPrincipal, @Query(queryOf(routes.list)) query: RouteQuery<typeof routes.list>): Promise<RouteResult<typeof routes.list>> {
    return this.artifacts.list(principal, query);
  }

  @Route(routes.get)
  async get(@CurrentToken() principal: TokenPrincipal, @Param('id') id: string): Promise<RouteResult<typeof routes.get>> {
    return this.artifacts.view(await this.artifacts.get(principal, id));
  }

  /** Answers 200, 206 (a range), 304 (the ETag matched) or 416: the status depends on the request. */
  @Route(routes.download)
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
