import { Inject, Injectable } from '@nestjs/common';
import { SQL, type Sql } from '../database/sql';

export type Project = { id: string; slug: string; name: string; createdAt: Date };

@Injectable()
export class ProjectsRepository {
  constructor(@Inject(SQL) private readonly sql: Sql) {}

  /** Returns undefined when the slug is taken. */
  async insert(slug: string, name: string): Promise<Project | undefined> {
    const [row] = await this.sql<Project[]>`
      insert into projects (slug, name) values (${slug}, ${name})
      on conflict (slug) do nothing
      returning id, slug, name, created_at as "createdAt"`;
    return row;
  }

  async findBySlug(slug: string): Promise<Project | undefined> {
    const [row] = await this.sql<Project[]>`select id, slug, name, created_at as "createdAt" from projects where slug = ${slug}`;
    return row;
  }

  async list(onlyId: string | null): Promise<Project[]> {
    return this.sql<Project[]>`
      select id, slug, name, created_at as "createdAt" from projects
      where ${onlyId}::uuid is null or id = ${onlyId}
      order by slug`;
  }
}
