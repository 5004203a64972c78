import { Inject, Injectable } from '@nestjs/common';
import { SQL, type Sql } from '../database/sql';

@Injectable()
export class RepositoriesRepository {
  constructor(@Inject(SQL) private readonly sql: Sql) {}

  /**
   * Runs `work` holding a PostgreSQL advisory lock on `key`: API instances sharing a data directory
   * then never clone or fetch the same mirror at once. One pooled connection is held meanwhile.
   */
  async withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
    const reserved = await this.sql.reserve();
    try {
      await reserved`select pg_advisory_lock(hashtextextended(${key}, 0))`;
      try {
        return await work();
      } finally {
        await reserved`select pg_advisory_unlock(hashtextextended(${key}, 0))`;
      }
    } finally {
      reserved.release();
    }
  }
}
