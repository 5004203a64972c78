import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { PeriodicTask } from '../common/periodic-task';
import { RunsRepository } from './runs.repository';
import { RunsService } from './runs.service';

// Hands Temporal the attempts it never received (it was down, or the API died in between).
// Any API instance may run this: starting a workflow is idempotent on its business key.
@Injectable()
export class AttemptStarterService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly task = new PeriodicTask('attempt-starter', 5000, async () => {
    for (const attempt of await this.runs.unstartedAttempts(5)) {
      await this.service.startAttempt(attempt.runId, attempt.attempt, attempt.failedOnly);
    }
  });

  constructor(
    private readonly runs: RunsRepository,
    private readonly service: RunsService,
  ) {}

  onApplicationBootstrap(): void {
    this.task.start();
  }

  onApplicationShutdown(): void {
    this.task.stop();
  }
}
