// Baseline for the run-overhead bench: the least a Temporal workflow with Bellows' two job signals
// can cost. Same signal names as workflows/messages.ts so the server-side work per signal matches;
// defined here rather than imported so the baseline stays fixed when the real workflow changes.
import { condition, defineSignal, setHandler } from '@temporalio/workflow';

export type BareClaim = { jobId: number; try: number; agentId: string };
export type BareFinish = { jobId: number; try: number; status: 'succeeded' | 'failed'; exitCode: number | null };

export const bareClaimedSignal = defineSignal<[BareClaim]>('jobClaimed');
export const bareFinishedSignal = defineSignal<[BareFinish]>('jobFinished');

export async function bareRunWorkflow(): Promise<string> {
  let claimed = false;
  let finished: BareFinish | null = null;
  setHandler(bareClaimedSignal, () => void (claimed = true));
  setHandler(bareFinishedSignal, (event) => void (finished = event));
  // Two waits, like a real run (claimed, then finished), without timers or activities.
  await condition(() => claimed);
  await condition(() => finished !== null);
  return (finished as BareFinish | null)?.status ?? 'failed';
}
