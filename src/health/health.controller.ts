import { Controller, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { api } from '../../contract';
import type { RouteResult } from '../../contract/http';
import { Route } from '../common/contract-route';
import { SQL, type Sql } from '../database/sql';
import { TemporalService } from '../temporal/temporal.service';

@Controller()
export class HealthController {
  constructor(
    @Inject(SQL) private readonly sql: Sql,
    private readonly temporal: TemporalService,
  ) {}

  // @Res: a degraded server answers 503 with the same body, so load balancers and people read one shape.
  @Route(api.system.health)
  async health(@Res() res: Response): Promise<void> {
    const [database, temporal] = await Promise.all([
      Promise.race([this.sql`select 1`.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 3000).unref())]).catch(() => false),
      this.temporal.healthy(),
    ]);
    const ok = database && temporal;
    const body: RouteResult<typeof api.system.health> = { status: ok ? 'ok' : 'degraded', database: database ? 'up' : 'down', temporal: temporal ? 'up' : 'down' };
    res.status(ok ? 200 : 503).json(body);
  }
}
