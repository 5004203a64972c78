import { Body, Controller, Get, Param, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiQuery, ApiTags } from '@nestjs/swagger';
import { CurrentToken, RequireScope } from '../auth/auth.decorators';
import type { TokenPrincipal } from '../auth/principal';
import { badRequest } from '../common/api-error';
import { ProjectsService } from '../projects/projects.service';
import { PutPipelineDto } from './pipelines.dto';
import { PipelinesService } from './pipelines.service';

@ApiTags('pipelines')
@ApiBearerAuth()
@Controller('api/v1/projects/:slug/pipelines')
export class PipelinesController {
  constructor(
    private readonly projects: ProjectsService,
    private readonly pipelines: PipelinesService,
  ) {}

  @Put(':name')
  @RequireScope('write')
  async put(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string, @Param('name') name: string, @Body() body: PutPipelineDto) {
    return this.pipelines.put(await this.projects.get(principal, slug), name, body);
  }

  @Get()
  @RequireScope('read')
  async list(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string) {
    return { pipelines: await this.pipelines.list(await this.projects.get(principal, slug)) };
  }

  @Get(':name')
  @RequireScope('read')
  @ApiQuery({ name: 'version', required: false, type: Number })
  async get(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string, @Param('name') name: string, @Query('version') version?: string) {
    const { pipelineId: _pipelineId, ...view } = await this.pipelines.get(await this.projects.get(principal, slug), name, parseVersion(version));
    return view;
  }

  @Get(':name/versions')
  @RequireScope('read')
  async versions(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string, @Param('name') name: string) {
    return { versions: await this.pipelines.versions(await this.projects.get(principal, slug), name) };
  }
}

function parseVersion(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const version = Number(raw);
  if (!Number.isInteger(version) || version < 1) throw badRequest(`version must be a positive integer, got "${raw}".`);
  return version;
}
