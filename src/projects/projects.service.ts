import { Inject, Injectable } from '@nestjs/common';
import type { api } from '../../contract';
import type { RouteBody } from '../../contract/http';
import { assertProjectAccess } from '../auth/project-access';
import type { TokenPrincipal } from '../auth/principal';
import { conflict, forbidden, notFound, unprocessable } from '../common/api-error';
import { CONFIG, type Config } from '../config/config';
import { checkRepository, type RepositoryConfig, type RepositoryInput } from '../repositories/repository-spec';
import { ProjectsRepository, type Project } from './projects.repository';

@Injectable()
export class ProjectsService {
  constructor(
    private readonly projects: ProjectsRepository,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async create(principal: TokenPrincipal, { slug, name, repository }: RouteBody<typeof api.projects.create>): Promise<Project> {
    if (principal.projectId !== null) throw forbidden('A project-bound token cannot create projects.');
    const project = await this.projects.insert(slug, name, repository === undefined ? null : this.repository(repository));
    if (!project) throw conflict(`A project with slug "${slug}" already exists.`, 'project_exists');
    return project;
  }

  async update(principal: TokenPrincipal, slug: string, changes: RouteBody<typeof api.projects.update>): Promise<Project> {
    const project = await this.get(principal, slug);
    const repository = changes.repository === undefined || changes.repository === null ? changes.repository : this.repository(changes.repository);
    return this.projects.update(project.id, { name: changes.name, repository });
  }

  list(principal: TokenPrincipal): Promise<Project[]> {
    return this.projects.list(principal.projectId);
  }

  /** Looks a project up and checks the caller may touch it; every project-scoped route goes through here. */
  async get(principal: TokenPrincipal, slug: string): Promise<Project> {
    const project = await this.projects.findBySlug(slug);
    if (!project) throw notFound('project', slug);
    assertProjectAccess(principal, project);
    return project;
  }

  private repository(input: RepositoryInput): RepositoryConfig {
    const checked = checkRepository(input, this.config.allowFileRepositories);
    if (!checked.ok) throw unprocessable(`Invalid repository: ${checked.problem}.`, 'invalid_repository');
    return checked.value;
  }
}
