import { Injectable } from '@nestjs/common';
import { assertProjectAccess } from '../auth/project-access';
import type { TokenPrincipal } from '../auth/principal';
import { conflict, forbidden, notFound } from '../common/api-error';
import { ProjectsRepository, type Project } from './projects.repository';

@Injectable()
export class ProjectsService {
  constructor(private readonly projects: ProjectsRepository) {}

  async create(principal: TokenPrincipal, slug: string, name: string): Promise<Project> {
    if (principal.projectId !== null) throw forbidden('A project-bound token cannot create projects.');
    const project = await this.projects.insert(slug, name);
    if (!project) throw conflict(`A project with slug "${slug}" already exists.`, 'project_exists');
    return project;
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
}
