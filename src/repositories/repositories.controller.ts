import { Controller, Param, Query } from '@nestjs/common';
import { api } from '../../contract';
import type { RouteQuery, RouteResult } from '../../contract/http';
import { CurrentToken } from '../auth/auth.decorators';
import type { TokenPrincipal } from '../auth/principal';
import { queryOf, Route } from '../common/contract-route';
import { ProjectsService } from '../projects/projects.service';
import { RepositoriesService } from './repositories.service';

const routes = api.repositories;

@Controller()
export class RepositoriesController {
  constructor(
    private readonly projects: ProjectsService,
    private readonly repositories: RepositoriesService,
  ) {}

  @Route(routes.branches)
  async branches(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string): Promise<RouteResult<typeof routes.branches>> {
    return this.repositories.branches(await this.projects.get(principal, slug));
  }

  @Route(routes.refs)
  async refs(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string, @Query(queryOf(routes.refs)) query: RouteQuery<typeof routes.refs>): Promise<RouteResult<typeof routes.refs>> {
    return this.repositories.refs(await this.projects.get(principal, slug), query);
  }

  @Route(routes.pipelineFiles)
  async pipelineFiles(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string): Promise<RouteResult<typeof routes.pipelineFiles>> {
    return this.repositories.pipelineFiles(await this.projects.get(principal, slug));
  }
}
