import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { CONFIG, type Config } from '../config/config';
import { createSql, type Sql } from '../database/sql';

/**
 * Mirror locks hold their connection for a whole clone or fetch (up to the mirror's 10-minute limit),
 * so they get a pool of their own: slow repositories can then never take the connections every other
 * request needs. In-process callers of one mirror already share one fetch, so a lock connection stands
 * for one mirror being changed; past 8 at once, further changes wait for a connection.
 */
const LOCK_CONNECTIONS = 8;

@Injectable()
export class RepositoriesRepository implements OnModuleDestroy {
  private lockSql: Sql | undefined;

  constructor(@Inject(CONFIG) private readonly config: Pick<Config, 'databaseUrl'>) {}

  /**
   * Runs `work` holding a PostgreSQL advisory lock on `key`: API instances sharing a data directory
   * then never clone or fetch the same mirror at once.
   */
  async withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
    this.lockSql ??= createSql(this.config.databaseUrl, { max: LOCK_CONNECTIONS, applicationName: 'bellows-api-git-locks' });
    const reserved = await this.lockSql.reserve();
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

  async onModuleDestroy(): Promise<void> {
    await this.lockSql?.end({ timeout: 5 });
  }
}
