import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { CONFIG, loadConfig, type Config } from '../config/config';
import { applyMigrations } from './migrations';
import { createSql, SQL, type Sql } from './sql';

// Migrations run before anything can touch the database: the SQL provider resolves only after them.
@Global()
@Module({
  providers: [
    { provide: CONFIG, useFactory: () => loadConfig() },
    {
      provide: SQL,
      inject: [CONFIG],
      useFactory: async (config: Config) => {
        const sql = createSql(config.databaseUrl, { max: 20, applicationName: 'bellows-api' });
        await applyMigrations(sql);
        return sql;
      },
    },
  ],
  exports: [CONFIG, SQL],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(SQL) private readonly sql: Sql) {}

  async onApplicationShutdown(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}
