import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { HttpException } from '@nestjs/common';
import type { TokenPrincipal } from '../src/auth/principal';
import { isTerminal } from '../contract/runs.contract';
import type { RunsRepository } from '../src/runs/runs.repository';
import type { RunsService } from '../src/runs/runs.service';
import type { ScheduleRow, SchedulesRepository } from '../src/schedules/schedules.repository';

export type ScheduledRunActivityDeps = {
  schedules: SchedulesRepository;
  runsService: RunsService;
  runs: RunsRepository;
  /** Removes a Temporal Schedule whose Bellows schedule is gone (its project was deleted); a no-op when already gone. */
  dropTemporalSchedule: (scheduleId: string) => Promise<void>;
};

/** Runs a schedule starts are keyed by the firing's workflow id: a retried start lands on the same run. */
export const scheduleIdempotencyKey = (scheduleId: string, workflowId: string): string => `schedule:${scheduleId}:${workflowId}`;

/** A schedule acts with trigger rights on its own project only, as a webhook does. */
export const schedulePrincipal = (schedule: Pick<ScheduleRow, 'id' | 'projectId'>): TokenPrincipal => ({
  kind: 'token',
  tokenId: `schedule:${schedule.id}`,
  name: `schedule ${schedule.id}`,
  scopes: ['trigger'],
  projectId: schedule.projectId,
});

// An API answer in 4xx (the pipeline is gone, an input is now required...) will not change on a retry:
// the firing fails at once and the Temporal UI shows why. Anything else (Postgres down) is retried.
function rethrow(error: unknown): never {
  if (error instanceof HttpException && error.getStatus() < 500) {
    const body = error.getResponse() as { error?: { message?: string; code?: string } };
    throw ApplicationFailure.nonRetryable(body.error?.message ?? error.message, body.error?.code ?? 'rejected');
  }
  throw error;
}

export function createScheduledRunActivities({ schedules, runsService, runs, dropTemporalSchedule }: ScheduledRunActivityDeps) {
  return {
    /** The run of this firing (created by the first call, found by every repeat); null when the schedule was deleted. */
    async startScheduledRun({ scheduleId, workflowId }: { scheduleId: string; workflowId: string }): Promise<number | null> {
      const schedule = await schedules.get(scheduleId);
      if (!schedule) {
        // Its row went with its project (on delete cascade): stop the Temporal Schedule firing for nothing.
        await dropTemporalSchedule(scheduleId);
        return null;
      }
      const trigger = { kind: 'schedule' as const, actor: `schedule ${schedule.id}`, scheduleId: schedule.id };
      // Alive while the trigger works (a repository fetch may take a while): within the workflow's 20 s heartbeat timeout.
      const context = Context.current();
      const heartbeat = setInterval(() => context.heartbeat(), 5000);
      try {
        const { run } = await runsService.triggerOnce(
          schedulePrincipal(schedule),
          schedule.project,
          schedule.pipeline,
          { ...(schedule.ref === null ? {} : { ref: schedule.ref }), inputs: schedule.inputs },
          trigger,
          scheduleIdempotencyKey(schedule.id, workflowId),
        );
        return run.id;
      } catch (error) {
        rethrow(error);
      } finally {
        clearInterval(heartbeat);
      }
    },

    async runStatus({ runId }: { runId: number }): Promise<string> {
      const run = await runs.get(runId);
      // A run deleted under us (its project removed) has nothing left to wait for.
      return run?.status ?? 'cancelled';
    },

    async cancelRun({ runId }: { runId: number }): Promise<void> {
      const run = await runs.get(runId);
      if (!run || isTerminal(run.status)) return;
      const principal: TokenPrincipal = { kind: 'token', tokenId: 'schedule', name: 'schedule overlap', scopes: ['write'], projectId: run.projectId };
      try {
        await runsService.cancel(principal, runId);
      } catch (error) {
        // 409: it ended meanwhile, which is what we wanted.
        if (error instanceof HttpException && error.getStatus() === 409) return;
        rethrow(error);
      }
    },
  };
}

export type ScheduledRunActivities = ReturnType<typeof createScheduledRunActivities>;
