import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { RunsRepository } from './runs.repository';
import { RunsService } from './runs.service';

// Any API instance may run this: starting a workflow is idempotent on its business key.
@Injectable()
export class AttemptStarterService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('attempt-starter');
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly runs: RunsRepository,
    private readonly service: RunsService,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), 5000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async sweep(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const attempt of await this.runs.unstartedAttempts(5)) {
        await this.service.startAttempt(attempt.runId, attempt.attempt, attempt.failedOnly);
      }
    } catch (error) {
      this.logger.warn(`sweep failed: ${(error as Error).message}`);
    } finally {
      this.running = false;
    }
  }
}
