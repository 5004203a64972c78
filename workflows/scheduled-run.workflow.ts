import { CancellationScope, continueAsNew, isCancellation, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { ScheduledRunActivities } from '../activities';
import type { ScheduledRunInput, ScheduledRunResult } from './messages';

// Ordinary (not local) activities: each is a few queries, but the start goes through the API's run
// service (repository resolution may fetch git), which can take longer than a local activity should hold a task.
// A task taken by a worker that then dies is only retried once its timeout passes, so each timeout is as
// short as its work allows: the start heartbeats (a dead worker is noticed in 20 s, not 2 minutes), and a
// status read or a cancel is one or two queries.
const retry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' };
const start = proxyActivities<ScheduledRunActivities>({ startToCloseTimeout: '2 minutes', heartbeatTimeout: '20 seconds', retry });
const quick = proxyActivities<ScheduledRunActivities>({ startToCloseTimeout: '15 seconds', retry });

const TERMINAL: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);
const MAX_POLL_MS = 30_000;
/** Long runs poll for hours; a fresh history keeps replays short. */
const CONTINUE_AS_NEW_AFTER_EVENTS = 2000;

/**
 * One firing of a schedule: creates the run (keyed by this workflow's id, so a retried or replayed
 * start finds the same run) and waits for it to end. Cancelled by Temporal (overlap cancel_other, or a
 * person), it cancels the run it started before it ends.
 */
export async function scheduledRunWorkflow(input: ScheduledRunInput): Promise<ScheduledRunResult> {
  const { workflowId } = workflowInfo();
  // Not cancellable: a run created while the cancel arrived must still be known, to be cancelled below.
  const runId = input.runId ?? (await CancellationScope.nonCancellable(() => start.startScheduledRun({ scheduleId: input.scheduleId, workflowId })));
  if (runId === null) return { runId: null, status: 'schedule_gone' };
  try {
    let pollMs = 1000;
    for (;;) {
      const status = await quick.runStatus({ runId });
      if (TERMINAL.has(status)) return { runId, status: status as ScheduledRunResult['status'] };
      await sleep(pollMs);
      pollMs = Math.min(pollMs * 2, MAX_POLL_MS);
      if (workflowInfo().historyLength > CONTINUE_AS_NEW_AFTER_EVENTS) await continueAsNew<typeof scheduledRunWorkflow>({ scheduleId: input.scheduleId, runId });
    }
  } catch (error) {
    if (isCancellation(error)) await CancellationScope.nonCancellable(() => quick.cancelRun({ runId }));
    throw error;
  }
}
