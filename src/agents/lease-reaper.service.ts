import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { withIds } from '../common/log-fields';
import { PeriodicTask } from '../common/periodic-task';
import { CONFIG, type Config } from '../config/config';
import { TemporalService } from '../temporal/temporal.service';
import { AgentsRepository } from './agents.repository';

/**
 * Finds running tries whose agent stopped heartbeating and tells their workflow, which decides
 * whether to queue the job again. Safe on every API instance: each expired lease is taken once.
 */
@Injectable()
export class LeaseReaperService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('lease-reaper');
  private readonly task: PeriodicTask;

  constructor(
    private readonly agents: AgentsRepository,
    private readonly temporal: TemporalService,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.task = new PeriodicTask('lease-reaper', config.reaperIntervalSeconds * 1000, () => this.reap());
  }

  async onApplicationBootstrap(): Promise<void> {
    // Agents could not heartbeat while this instance was down; give them one lease, plus their
    // longest retry backoff (10 s), to find it again before anyone is declared lost.
    await this.agents.extendAllLeases(this.config.agentLostAfterSeconds + 10);
    this.task.start();
  }

  onApplicationShutdown(): void {
    this.task.stop();
  }

  private async reap(): Promise<void> {
    for (const lease of await this.agents.takeExpiredLeases(this.config.agentLostAfterSeconds)) {
      this.logger.warn(
        withIds(`agent lost: no heartbeat for ${this.config.agentLostAfterSeconds}s`, { runId: lease.runId, attempt: lease.attempt, jobId: lease.jobId, try: lease.try }),
      );
      await this.temporal.signalLost(lease.runId, lease.attempt, { jobId: lease.jobId, try: lease.try });
    }
  }
}
