import { Inject, Injectable } from '@nestjs/common';
import { SQL, type Sql } from '../database/sql';

@Injectable()
export class SecretsRepository {
  constructor(@Inject(SQL) private readonly sql: Sql) {}

  async upsert(projectId: string, name: string, ciphertext: string): Promise<void> {
    await this.sql`
      insert into secrets (project_id, name, ciphertext) values (${projectId}, ${name}, ${ciphertext})
      on conflict (project_id, name) do update set ciphertext = excluded.ciphertext, updated_at = now()`;
  }

  async listNames(projectId: string): Promise<{ name: string; updatedAt: Date }[]> {
    return this.sql<{ name: string; updatedAt: Date }[]>`
      select name, updated_at as "updatedAt" from secrets where project_id = ${projectId} order by name`;
  }

  async listSealed(projectId: string): Promise<{ name: string; ciphertext: string }[]> {
    return this.sql<{ name: string; ciphertext: string }[]>`select name, ciphertext from secrets where project_id = ${projectId}`;
  }

  async findSealed(projectId: string, name: string): Promise<string | undefined> {
    const [row] = await this.sql<{ ciphertext: string }[]>`select ciphertext from secrets where project_id = ${projectId} and name = ${name}`;
    return row?.ciphertext;
  }

  async delete(projectId: string, name: string): Promise<boolean> {
    return (await this.sql`delete from secrets where project_id = ${projectId} and name = ${name} returning name`).length > 0;
  }
}
