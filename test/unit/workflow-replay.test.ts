import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { expect, it } from 'vitest';

// Histories recorded from real runs (success, a failed need that skips dependants, a failed-only
// re-run, a cancel mid-run, automatic retries by exit code with the worker killed during a backoff, an approval decided
// while the worker was down; a schedule's firing across a worker kill, and one cancelled by overlap cancel_other;
// concurrency groups: a run that waited for its slot across a worker kill, one that superseded another
// (cancel_in_progress), and matrix legs taking a job-level slot in turn).
// Replaying them against today's workflow code catches changes that
// would break runs already in flight when a new version is deployed.
const dir = resolve('test/fixtures/histories');

it('replays every recorded run-attempt and scheduled-run history deterministically', async () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  expect(files.length).toBeGreaterThanOrEqual(11);
  const histories = files.map((file) => ({ workflowId: file, history: historyFromJSON(JSON.parse(readFileSync(join(dir, file), 'utf8'))) }));
  const results = Worker.runReplayHistories({ workflowsPath: resolve('workflows/index.ts'), replayName: 'bellows-replay' }, histories);
  const outcomes: { workflowId: string; error?: unknown }[] = [];
  for await (const result of results) outcomes.push({ workflowId: result.workflowId, error: result.error });
  expect(outcomes.map((o) => o.workflowId).sort()).toEqual([...files].sort());
  expect(outcomes.filter((o) => o.error).map((o) => `${o.workflowId}: ${String(o.error)}`)).toEqual([]);
}, 120_000);
