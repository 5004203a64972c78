import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { PeriodicTask } from '../common/periodic-task';
import { CONFIG, type Config } from '../config/config';
import { LiveEvents } from './live-events.service';

/**
 * Agents going offline is the absence of a request, so no request can announce it: like the lease
 * reaper, every instance sweeps periodically, and the conditional UPDATE behind
 * announceStatusChanges makes each transition announced once across instances.
 */
@Injectable()
export class AgentPresenceService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly task: PeriodicTask;

  constructor(
    private readonly events: LiveEvents,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.task = new PeriodicTask('agent-presence', Math.max(1, config.reaperIntervalSeconds) * 1000, () =>
      this.events.announceStatusChanges(this.config.agentLostAfterSeconds),
    );
  }

  onApplicationBootstrap(): void {
    this.task.start();
  }

  onApplicationShutdown(): void {
    this.task.stop();
  }
}
