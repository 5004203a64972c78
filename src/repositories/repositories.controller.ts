import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiQuery, ApiTags } from '@nestjs/swagger';
import { CurrentToken, RequireScope } from '../auth/auth.decorators';
import type { TokenPrincipal } from '../auth/principal';
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
  @ApiQuery({ name: 'kind', required: false, enum: ['branch', 'tag'] })
  @ApiQuery({ name: 'limit', required: false, type: Number, description: '1 to 1000; default 100.' })
  async refs(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string, @Query('q') q?: string, @Query('kind') kind?: string, @Query('limit') limit?: string) {
    return this.repositories.refs(await this.projects.get(principal, slug), { q, kind, limit });
  }

  @Get('pipeline-files')
  @RequireScope('read')
  async pipelineFiles(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string) {
    return this.repositories.pipelineFiles(await this.projects.get(principal, slug));
  }
}
