import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentToken, RequireScope } from '../auth/auth.decorators';
import type { TokenPrincipal } from '../auth/principal';
import { ProjectsService } from '../projects/projects.service';
import { PutSecretDto } from './secrets.dto';
import { SecretsService } from './secrets.service';

@ApiTags('secrets')
@ApiBearerAuth()
@Controller('api/v1/projects/:slug/secrets')
export class SecretsController {
  constructor(
    private readonly projects: ProjectsService,
    private readonly secrets: SecretsService,
  ) {}

  @Put(':name')
  @RequireScope('write')
  @HttpCode(204)
  async put(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string, @Param('name') name: string, @Body() body: PutSecretDto) {
    const project = await this.projects.get(principal, slug);
    await this.secrets.put(project.id, name, body.value);
  }

  @Get()
  @RequireScope('read')
  async list(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string) {
    const project = await this.projects.get(principal, slug);
    return { secrets: await this.secrets.listNames(project.id) };
  }

  @Delete(':name')
  @RequireScope('write')
  @HttpCode(204)
  async delete(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string, @Param('name') name: string) {
    const project = await this.projects.get(principal, slug);
    await this.secrets.delete(project.id, name);
  }
}
