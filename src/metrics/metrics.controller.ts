import { Controller, Get, Header, Inject, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Public } from '../auth/auth.decorators';
import { constantTimeEqual } from '../auth/token-codec';
import { unauthorized } from '../common/api-error';
import { CONFIG, type Config } from '../config/config';
import { MetricsService } from './metrics.service';

@ApiTags('metrics')
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  // Open by default like most exporters; BELLOWS_METRICS_TOKEN makes scrapers authenticate.
  @Get()
  @Public()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  render(@Req() req: Request) {
    const expected = this.config.metricsToken;
    if (expected && !constantTimeEqual(req.headers.authorization ?? '', `Bearer ${expected}`)) {
      throw unauthorized('Scraping /metrics needs "Authorization: Bearer <BELLOWS_METRICS_TOKEN>".');
    }
    return this.metrics.render();
  }
}
