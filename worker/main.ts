import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ScheduleNotFoundError } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createRunActivities, createScheduledRunActivities } from '../activities';
import { loadConfig } from '../src/config/config';
import { applyMigrations } from '../src/database/migrations';
import { ConcurrencyRepository } from '../src/concurrency/concurrency.repository';
import { ConcurrencyService } from '../src/concurrency/concurrency.service';
import { createSql } from '../src/database/sql';
import { JobsRepository } from '../src/jobs/jobs.repository';
import { LivePublisher, sinkOf } from '../src/live/live-publisher';
import { LiveRepository } from '../src/live/live.repository';
import { createLiveEmitter, createLivePool } from '../src/live/postgres-adapter';
import { PipelinesRepository } from '../src/pipelines/pipelines.repository';
import { PipelinesService } from '../src/pipelines/pipelines.service';
import { ProjectsRepository } from '../src/projects/projects.repository';
import { ProjectsService } from '../src/projects/projects.service';
import { RepositoriesRepository } from '../src/repositories/repositories.repository';
import { RepositoriesService } from '../src/repositories/repositories.service';
import { RunsRepository } from '../src/runs/runs.repository';
import { RunsService } from '../src/runs/runs.service';
import { SchedulesRepository } from '../src/schedules/schedules.repository';
import { SecretBox } from '../src/secrets/secret-box';
import { SecretsRepository } from '../src/secrets/secrets.repository';
import { SecretsService } from '../src/secrets/secrets.service';
import { TemporalService } from '../src/temporal/temporal.service';
import { temporalScheduleIdFor } from '../workflows/messages';

/** The secrets key; a second try reads the file an API instance created in the same instant. */
function loadSecretBox(config: ReturnType<typeof loadConfig>): SecretBox {
  try {
    return SecretBox.load(config.secretsKey, config.dataDir);
  } catch {
    return SecretBox.load(config.secretsKey, config.dataDir);
  }
}

// The Temporal worker: runs run-attempt workflows and their activities. Stateless; start as many as you like.
async function main(): Promise<void> {
  const config = loadConfig();
  const sql = createSql(config.databaseUrl, { max: 5, applicationName: 'bellows-worker' });
  await applyMigrations(sql);
  // Live events of job and run changes reach every API instance's Socket.IO clients through Postgres.
  const warn = (message: string) => console.error(JSON.stringify({ level: 'warn', msg: message }));
  const livePool = createLivePool(config.databaseUrl, 'bellows-worker-live', (error) => warn(`live events: ${error.message}`));
  const emitter = createLiveEmitter(livePool, (error) => warn(`live event not sent: ${error.message}`));
  const live = new LivePublisher(sinkOf((targets) => emitter.to(targets)), new LiveRepository(sql), warn);
  // Scheduled runs are created through the API's own run service (the same checks, the same idempotency
  // key handling and workflow start as POST .../runs), built here without Nest's container.
  const temporal = new TemporalService(config);
  const runs = new RunsRepository(sql);
  const jobs = new JobsRepository(sql);
  const pipelines = new PipelinesRepository(sql);
  const concurrency = new ConcurrencyRepository(sql);
  const repositoryLocks = new RepositoriesRepository(config);
  const runsService = new RunsService(
    runs,
    jobs,
    new ProjectsService(new ProjectsRepository(sql), config),
    new PipelinesService(pipelines),
    temporal,
    live,
    new RepositoriesService(config, repositoryLocks, new SecretsService(new SecretsRepository(sql), loadSecretBox(config))),
    new ConcurrencyService(concurrency),
  );
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const bundlePath = resolve(__dirname, '../workflow-bundle.js');
  const worker = await Worker.create({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    ...(existsSync(bundlePath) ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath: require.resolve('../workflows') }),
    activities: {
      ...createRunActivities({ jobs, pipelines, concurrency, maxTries: config.maxTries, live }),
      ...createScheduledRunActivities({
        schedules: new SchedulesRepository(sql),
        runsService,
        runs,
        dropTemporalSchedule: (scheduleId) =>
          temporal.client.schedule
            .getHandle(temporalScheduleIdFor(scheduleId))
            .delete()
            .catch((error: unknown) => {
              if (!(error instanceof ScheduleNotFoundError)) throw error;
            }),
      }),
    },
  });
  const stop = () => worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log(JSON.stringify({ level: 'info', msg: 'worker started', taskQueue: config.taskQueue, namespace: config.temporalNamespace }));
  await worker.run();
  await connection.close();
  await temporal.onModuleDestroy();
  await repositoryLocks.onModuleDestroy();
  await livePool.end().catch(() => undefined);
  await sql.end({ timeout: 5 });
}

main().catch((error: unknown) => {
  console.error(JSON.stringify({ level: 'error', msg: 'worker failed', error: error instanceof Error ? error.message : String(error) }));
  process.exit(1);
});
