import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AgentProtocolController } from './agents/agent-protocol.controller';
import { AgentsController } from './agents/agents.controller';
import { AgentsRepository } from './agents/agents.repository';
import { AgentsService } from './agents/agents.service';
import { AgentConnections } from './agents/agent-connections';
import { AgentStreamGateway } from './agents/agent-stream.gateway';
import { LeaseReaperService } from './agents/lease-reaper.service';
import { ARTIFACT_STORAGE, createArtifactStorage } from './artifacts/artifact-storage';
import { ArtifactsController } from './artifacts/artifacts.controller';
import { ArtifactsRepository } from './artifacts/artifacts.repository';
import { ArtifactsService } from './artifacts/artifacts.service';
import { AuthGuard } from './auth/auth.guard';
import { CONFIG, type Config } from './config/config';
import { DatabaseModule } from './database/database.module';
import { HealthController } from './health/health.controller';
import { MetricsController } from './metrics/metrics.controller';
import { MetricsRepository } from './metrics/metrics.repository';
import { MetricsService } from './metrics/metrics.service';
import { HooksController } from './hooks/hooks.controller';
import { HooksRepository } from './hooks/hooks.repository';
import { HookDeliveryLog } from './hooks/hook-delivery-log.service';
import { HookReceiver } from './hooks/hook-receiver.service';
import { HooksService } from './hooks/hooks.service';
import { JobsController } from './jobs/jobs.controller';
import { AgentPresenceService } from './live/agent-presence.service';
import { DeliveryGate } from './live/delivery-gate';
import { LiveAuth } from './live/live-auth';
import { LiveEvents } from './live/live-events.service';
import { LiveGateway } from './live/live.gateway';
import { LivePool } from './live/live-pool';
import { LiveRepository } from './live/live.repository';
import { LiveService } from './live/live.service';
import { JobsRepository } from './jobs/jobs.repository';
import { JobsService } from './jobs/jobs.service';
import { ConcurrencyRepository } from './concurrency/concurrency.repository';
import { ConcurrencyService } from './concurrency/concurrency.service';
import { LogsRepository } from './jobs/logs.repository';
import { PipelinesController } from './pipelines/pipelines.controller';
import { PipelinesRepository } from './pipelines/pipelines.repository';
import { PipelinesService } from './pipelines/pipelines.service';
import { ProjectsController } from './projects/projects.controller';
import { ProjectsRepository } from './projects/projects.repository';
import { ProjectsService } from './projects/projects.service';
import { QueueNotifier } from './queue/queue-notifier.service';
import { QueueController } from './queue/queue.controller';
import { QueueRepository } from './queue/queue.repository';
import { QueueService } from './queue/queue.service';
import { AttemptStarterService } from './runs/attempt-starter.service';
import { RunsController } from './runs/runs.controller';
import { RunsRepository } from './runs/runs.repository';
import { RunsService } from './runs/runs.service';
import { SchedulesController } from './schedules/schedules.controller';
import { SchedulesRepository } from './schedules/schedules.repository';
import { SchedulesService } from './schedules/schedules.service';
import { SecretsController } from './secrets/secrets.controller';
import { SecretsRepository } from './secrets/secrets.repository';
import { SecretsService } from './secrets/secrets.service';
import { TemporalService } from './temporal/temporal.service';
import { TokensController } from './tokens/tokens.controller';
import { RepositoriesController } from './repositories/repositories.controller';
import { RepositoriesRepository } from './repositories/repositories.repository';
import { RepositoriesService } from './repositories/repositories.service';
import { TokensRepository } from './tokens/tokens.repository';
import { TokensService } from './tokens/tokens.service';
import { SecretBox } from './secrets/secret-box';

@Module({
  imports: [DatabaseModule],
  controllers: [
    HealthController,
    MetricsController,
    TokensController,
    ProjectsController,
    SecretsController,
    PipelinesController,
    RunsController,
    QueueController,
    JobsController,
    ArtifactsController,
    AgentsController,
    AgentProtocolController,
    HooksController,
    RepositoriesController,
    SchedulesController,
  ],
  providers: [
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: ARTIFACT_STORAGE, inject: [CONFIG], useFactory: (config: Config) => createArtifactStorage(config) },
    // One key for project secrets and hook secrets, loaded (or made, on a first start) once.
    { provide: SecretBox, inject: [CONFIG], useFactory: (config: Config) => SecretBox.load(config.secretsKey, config.dataDir) },
    MetricsRepository,
    MetricsService,
    TemporalService,
    TokensRepository,
    TokensService,
    ProjectsRepository,
    ProjectsService,
    SecretsRepository,
    SecretsService,
    PipelinesRepository,
    PipelinesService,
    RepositoriesRepository,
    RepositoriesService,
    RunsRepository,
    RunsService,
    SchedulesRepository,
    SchedulesService,
    AttemptStarterService,
    JobsRepository,
    LogsRepository,
    JobsService,
    ConcurrencyRepository,
    ConcurrencyService,
    QueueRepository,
    QueueService,
    QueueNotifier,
    AgentsRepository,
    AgentsService,
    AgentConnections,
    AgentStreamGateway,
    LeaseReaperService,
    ArtifactsRepository,
    ArtifactsService,
    HooksRepository,
    HooksService,
    HookDeliveryLog,
    HookReceiver,
    LivePool,
    DeliveryGate,
    LiveAuth,
    LiveRepository,
    LiveService,
    LiveGateway,
    LiveEvents,
    AgentPresenceService,
  ],
})
export class AppModule {}
