import { Body, Controller, Param } from '@nestjs/common';
import { api } from '../../contract';
import type { RouteBody, RouteResult } from '../../contract/http';
import { CurrentToken } from '../auth/auth.decorators';
import type { TokenPrincipal } from '../auth/principal';
import { bodyOf, Route } from '../common/contract-route';
import { ProjectsService } from './projects.service';

const routes = api.projects;

@Controller()
export class ProjectsController {
  constructor(private readonly projects: ProjectsService) {}

  @Route(routes.create)
  create(@CurrentToken() principal: TokenPrincipal, @Body(bodyOf(routes.create)) body: RouteBody<typeof routes.create>): Promise<RouteResult<typeof routes.create>> {
    return this.projects.create(principal, body);
  }

  @Route(routes.list)
  async list(@CurrentToken() principal: TokenPrincipal): Promise<RouteResult<typeof routes.list>> {
    return { projects: await this.projects.list(principal) };
  }

  @Route(routes.get)
  get(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string): Promise<RouteResult<typeof routes.get>> {
    return this.projects.get(principal, slug);
  }

  @Route(routes.update)
  update(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string, @Body(bodyOf(routes.update)) body: RouteBody<typeof routes.update>): Promise<RouteResult<typeof routes.update>> {
    return this.projects.update(principal, slug, body);
  }
}
