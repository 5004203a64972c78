import { Body, Controller, Param, Query } from '@nestjs/common';
import { api } from '../../contract';
import type { RouteBody, RouteQuery, RouteResult } from '../../contract/http';
import { CurrentToken } from '../auth/auth.decorators';
import type { TokenPrincipal } from '../auth/principal';
import { bodyOf, queryOf, Route } from '../common/contract-route';
import { ProjectsService } from '../projects/projects.service';
import { PipelinesService } from './pipelines.service';

const routes = api.pipelines;

@Controller()
export class PipelinesController {
  constructor(
    private readonly projects: ProjectsService,
    private readonly pipelines: PipelinesService,
  ) {}

  @Route(routes.put)
  async put(
    @CurrentToken() principal: TokenPrincipal,
    @Param('slug') slug: string,
    @Param('name') name: string,
    @Body(bodyOf(routes.put)) body: RouteBody<typeof routes.put>,
  ): Promise<RouteResult<typeof routes.put>> {
    return this.pipelines.put(await this.projects.get(principal, slug), name, body);
  }

  @Route(routes.list)
  async list(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string): Promise<RouteResult<typeof routes.list>> {
    return { pipelines: await this.pipelines.list(await this.projects.get(principal, slug)) };
  }

  @Route(routes.get)
  async get(
    @CurrentToken() principal: TokenPrincipal,
    @Param('slug') slug: string,
    @Param('name') name: string,
    @Query(queryOf(routes.get)) query: RouteQuery<typeof routes.get>,
  ): Promise<RouteResult<typeof routes.get>> {
    const { pipelineId: _pipelineId, ...view } = await this.pipelines.get(await this.projects.get(principal, slug), name, query.version);
    return view;
  }

  @Route(routes.versions)
  async versions(@CurrentToken() principal: TokenPrincipal, @Param('slug') slug: string, @Param('name') name: string): Promise<RouteResult<typeof routes.versions>> {
    return { versions: await this.pipelines.versions(await this.projects.get(principal, slug), name) };
  }
}
