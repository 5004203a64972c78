import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import { CONFIG, type Config } from '../config/config';
import { createLivePool } from './postgres-adapter';

/** The API process's one pg.Pool for the Socket.IO Postgres adapter; ended after the Socket.IO server closed. */
@Injectable()
export class LivePool implements OnApplicationShutdown {
  private readonly logger = new Logger('live-pool');
  readonly pool: Pool;

  constructor(@Inject(CONFIG) config: Config) {
    this.pool = createLivePool(config.databaseUrl, 'bellows-api-live', (error) => this.logger.warn(`socket.io postgres: ${error.message}`));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
