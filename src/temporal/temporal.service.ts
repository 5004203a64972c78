import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { withIds } from '../common/log-fields';
import { CONFIG, type Config } from '../config/config';
import { pipelineSearchAttribute, projectSearchAttribute, runNumberSearchAttribute } from './search-attributes';
import {
  cancelSignal,
  jobClaimedSignal,
  jobFinishedSignal,
  jobLostSignal,
  workflowIdFor,
  type JobClaimed,
  type JobFinished,
  type JobLost,
} from '../../workflows/messages';

export type AttemptToStart = { runId: number; attempt: number; failedOnly: boolean; project: string; pipeline: string; number: number };

/**
 * The API's side of Temporal: starting run-attempt workflows and telling them what happened.
 * Signals are best effort here: Postgres already holds the truth, and each workflow reconciles
 * against it, so a signal lost to a crash delays a run but never corrupts it.
 */
@Injectable()
export class TemporalService implements OnModuleDestroy {
  private readonly logger = new Logger('temporal');
  private readonly connection: Connection;
  readonly client: Client;

  constructor(@Inject(CONFIG) private readonly config: Config) {
    this.connection = Connection.lazy({ address: config.temporalAddress });
    this.client = new Client({ connection: this.connection, namespace: config.temporalNamespace });
  }

  async startAttempt(attempt: AttemptToStart): Promise<void> {
    await this.client.workflow.start('runAttemptWorkflow', {
      taskQueue: this.config.taskQueue,
      workflowId: workflowIdFor(attempt.runId, attempt.attempt),
      // A running attempt is reused (a retried start is a no-op). A closed one may be started again:
      // its activities are keyed writes, so a repeat only re-confirms the outcome, and a Temporal
      // that outlived its database (a reset dev setup) must not swallow new runs with old ids.
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      args: [
        {
          runId: attempt.runId,
          attempt: attempt.attempt,
          failedOnly: attempt.failedOnly,
          maxTries: this.config.maxTries,
          reconcileSeconds: this.config.reconcileSeconds,
          cancelGraceSeconds: this.config.cancelGraceSeconds,
        },
      ],
      typedSearchAttributes: [
        { key: projectSearchAttribute, value: attempt.project },
        { key: pipelineSearchAttribute, value: attempt.pipeline },
        { key: runNumberSearchAttribute, value: attempt.number },
      ],
    });
  }

  signalClaimed(runId: number, attempt: number, claim: JobClaimed): Promise<void> {
    return this.signal(runId, attempt, (handle) => handle.signal(jobClaimedSignal, claim));
  }

  signalFinished(runId: number, attempt: number, finished: JobFinished): Promise<void> {
    return this.signal(runId, attempt, (handle) => handle.signal(jobFinishedSignal, finished));
  }

  signalLost(runId: number, attempt: number, lost: JobLost): Promise<void> {
    return this.signal(runId, attempt, (handle) => handle.signal(jobLostSignal, lost));
  }

  signalCancel(runId: number, attempt: number, by: string): Promise<void> {
    return this.signal(runId, attempt, (handle) => handle.signal(cancelSignal, { by }));
  }

  async healthy(): Promise<boolean> {
    const check = (async () => {
      await this.connection.ensureConnected();
      await this.connection.workflowService.getSystemInfo({});
      return true;
    })().catch(() => false);
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3000).unref());
    return Promise.race([check, timeout]);
  }

  async onModuleDestroy(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }

  private async signal(runId: number, attempt: number, send: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<void>): Promise<void> {
    try {
      await send(this.client.workflow.getHandle(workflowIdFor(runId, attempt)));
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return;
      this.logger.warn(
        withIds(`signal failed; the workflow will reconcile: ${(error as Error).message}`, { runId, attempt, workflowId: workflowIdFor(runId, attempt) }),
      );
    }
  }
}
