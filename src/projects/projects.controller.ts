import { Body, Controller, Get, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentToken, RequireScope } from '../auth/auth.decorators';
import type { TokenPrincipal } from '../auth/principal';
import { CreateProjectDto, UpdateProjectDto } from './projects.dto';
import { ProjectsService } from './projects.service';

@ApiTags('projects')
@ApiBearerAuth()
@Controller('api/v1/projects')
export class ProjectsController {
  constructor(private readonly projects: ProjectsService) {}

  @Post()
  @RequireScope('write')
  create(@CurrentToken() principal: TokenPrincipal, @Body() body: CreateProjectDto) {
    return this.projects.create(principal, body.slug, body.name, body.repository);
  }

  @Get()
  @RequireScope('read')
  async list(@CurrentToken() principal: TokenPrincipal) {
    return { projects: await this.projects.list(principal) };
  }

  @Get(':slug')
  @RequireScope('read')
  get(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string) {
    return this.projects.get(principal, slug);
  }

  @Patch(':slug')
  @RequireScope('write')
  update(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string, @Body() body: UpdateProjectDto) {
    return this.projects.update(principal, slug, body);
  }
}
