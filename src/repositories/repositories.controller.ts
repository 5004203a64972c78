import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiQuery, ApiTags } from '@nestjs/swagger';
import { CurrentToken, RequireScope } from '../auth/auth.decorators';
import type { TokenPrincipal } from '../auth/principal';
import { badRequest } from '../common/api-error';
import { ProjectsService } from '../projects/projects.service';
import { RepositoriesService } from './repositories.service';

@ApiTags('repositories')
@ApiBearerAuth()
@Controller('api/v1/projects/:slug')
export class RepositoriesController {
  constructor(
    private readonly projects: ProjectsService,
    private readonly repositories: RepositoriesService,
  ) {}

  @Get('branches')
  @RequireScope('read')
  async branches(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string) {
    return this.repositories.branches(await this.projects.get(principal, slug));
  }

  @Get('refs')
  @RequireScope('read')
  @ApiQuery({ name: 'q', required: false, description: 'Part of a branch or tag name (case-insensitive).' })
  @ApiQuery({ name: 'limit', required: false, type: Number })
  async refs(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string, @Query('q') q?: string, @Query('limit') limit?: string) {
    const max = limit === undefined ? 100 : Number(limit);
    if (!Number.isInteger(max) || max < 1 || max > 1000) throw badRequest(`limit must be an integer from 1 to 1000; got "${limit}".`);
    return this.repositories.refs(await this.projects.get(principal, slug), q ?? '', max);
  }

  @Get('pipeline-files')
  @RequireScope('read')
  async pipelineFiles(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string) {
    return this.repositories.pipelineFiles(await this.projects.get(principal, slug));
  }
}
