import { Inject, Injectable } from '@nestjs/common';
import type { z } from 'zod';
import type { Project as ProjectView } from '../../contract/projects.contract';
import type { RepositoryConfig } from '../../contract/repositories.contract';
import { SQL, type Sql } from '../database/sql';

/** A project as the API answers it: the row is the view. */
export type Project = z.output<typeof ProjectView>;

type ProjectRow = Omit<Project, 'repository'> & { repositoryUrl: string | null; repositoryDefaultBranch: string | null; repositoryCredentialsSecret: string | null };

function toProject(row: ProjectRow): Project {
  const { repositoryUrl, repositoryDefaultBranch, repositoryCredentialsSecret, ...project } = row;
  return {
    ...project,
    repository: repositoryUrl === null ? null : { url: repositoryUrl, defaultBranch: repositoryDefaultBranch, credentialsSecret: repositoryCredentialsSecret },
  };
}

@Injectable()
export class ProjectsRepository {
  constructor(@Inject(SQL) private readonly sql: Sql) {}

  private columns() {
    return this.sql`
      id, slug, name, created_at as "createdAt", repository_url as "repositoryUrl",
      repository_default_branch as "repositoryDefaultBranch", repository_credentials_secret as "repositoryCredentialsSecret"`;
  }

  /** Returns undefined when the slug is taken. */
  async insert(slug: string, name: string, repository: RepositoryConfig | null): Promise<Project | undefined> {
    const [row] = await this.sql<ProjectRow[]>`
      insert into projects (slug, name, repository_url, repository_default_branch, repository_credentials_secret)
      values (${slug}, ${name}, ${repository?.url ?? null}, ${repository?.defaultBranch ?? null}, ${repository?.credentialsSecret ?? null})
      on conflict (slug) do nothing
      returning ${this.columns()}`;
    return row && toProject(row);
  }

  /** `repository: null` removes it; undefined leaves it as it is. */
  async update(id: string, changes: { name?: string; repository?: RepositoryConfig | null }): Promise<Project> {
    const repository = changes.repository;
    const [row] = await this.sql<ProjectRow[]>`
      update projects set
        name = coalesce(${changes.name ?? null}, name),
        repository_url = case when ${repository !== undefined} then ${repository?.url ?? null} else repository_url end,
        repository_default_branch = case when ${repository !== undefined} then ${repository?.defaultBranch ?? null} else repository_default_branch end,
        repository_credentials_secret = case when ${repository !== undefined} then ${repository?.credentialsSecret ?? null} else repository_credentials_secret end
      where id = ${id}
      returning ${this.columns()}`;
    return toProject(row);
  }

  async findBySlug(slug: string): Promise<Project | undefined> {
    const [row] = await this.sql<ProjectRow[]>`select ${this.columns()} from projects where slug = ${slug}`;
    return row && toProject(row);
  }

  async list(onlyId: string | null): Promise<Project[]> {
    const rows = await this.sql<ProjectRow[]>`
      select ${this.columns()} from projects
      where ${onlyId}::uuid is null or id = ${onlyId}
      order by slug`;
    return rows.map(toProject);
  }
}
