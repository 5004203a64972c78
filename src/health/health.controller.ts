import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/auth.decorators';
import { SQL, type Sql } from '../database/sql';
import { TemporalService } from '../temporal/temporal.service';

@ApiTags('health')
@Controller('api/v1/health')
export class HealthController {
  constructor(
    @Inject(SQL) private readonly sql: Sql,
    private readonly temporal: TemporalService,
  ) {}

  @Get()
  @Public()
  async health(@Res() res: Response) {
    const [database, temporal] = await Promise.all([
      Promise.race([this.sql`select 1`.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 3000).unref())]).catch(() => false),
      this.temporal.healthy(),
    ]);
    const ok = database && temporal;
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'degraded', database: database ? 'up' : 'down', temporal: temporal ? 'up' : 'down' });
  }
}
