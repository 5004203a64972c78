import { Controller, Header, Inject, Req } from '@nestjs/common';
import type { Request } from 'express';
import { api } from '../../contract';
import { constantTimeEqual } from '../auth/token-codec';
import { unauthorized } from '../common/api-error';
import { Route } from '../common/contract-route';
import { CONFIG, type Config } from '../config/config';
import { MetricsService } from './metrics.service';

@Controller()
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  // Open by default like most exporters; BELLOWS_METRICS_TOKEN makes scrapers authenticate.
  @Route(api.system.metrics)
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  render(@Req() req: Request): Promise<string> {
    const expected = this.config.metricsToken;
    if (expected && !constantTimeEqual(req.headers.authorization ?? '', `Bearer ${expected}`)) {
      throw unauthorized('Scraping /metrics needs "Authorization: Bearer <BELLOWS_METRICS_TOKEN>".');
    }
    return this.metrics.render();
  }
}
