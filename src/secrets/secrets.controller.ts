import { Body, Controller, Param } from '@nestjs/common';
import { api } from '../../contract';
import type { RouteBody, RouteResult } from '../../contract/http';
import { CurrentToken } from '../auth/auth.decorators';
import type { TokenPrincipal } from '../auth/principal';
import { bodyOf, Route } from '../common/contract-route';
import { ProjectsService } from '../projects/projects.service';
import { SecretsService } from './secrets.service';

const routes = api.secrets;

@Controller()
export class SecretsController {
  constructor(
    private readonly projects: ProjectsService,
    private readonly secrets: SecretsService,
  ) {}

  @Route(routes.put)
  async put(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string, @Param('name') name: string, @Body(bodyOf(routes.put)) body: RouteBody<typeof routes.put>): Promise<void> {
    const project = await this.projects.get(principal, slug);
    await this.secrets.put(project.id, name, body.value);
  }

  @Route(routes.list)
  async list(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string): Promise<RouteResult<typeof routes.list>> {
    const project = await this.projects.get(principal, slug);
    return { secrets: await this.secrets.listNames(project.id) };
  }

  @Route(routes.delete)
  async delete(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string, @Param('name') name: string): Promise<void> {
    const project = await this.projects.get(principal, slug);
    await this.secrets.delete(project.id, name);
  }
}
