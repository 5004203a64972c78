import type { RunSummary } from '../api/wire';
import { Empty, StatusBadge, TriggerText } from '../components/common';
import { agoInterval, useNow } from '../components/use-now';
import { elapsedMs, formatAgo, formatDuration } from '../format';
import { href, runPath } from '../router';

export function RunsTable({ runs, showProject = true }: { runs: RunSummary[]; showProject?: boolean }) {
  const live = runs.some((run) => run.status === 'running' || run.status === 'queued');
  const now = useNow(!runs.length ? null : live ? 1000 : agoInterval(runs.map((run) => run.createdAt)));
  if (!runs.length) return <Empty>No runs match.</Empty>;
  return (
    <table className="table runs-table">
      <thead>
        <tr>
          <th>Status</th>
          <th>Run</th>
          {showProject && <th>Project</th>}
          <th>Pipeline</th>
          <th>Ref</th>
          <th>Attempt</th>
          <th>Trigger</th>
          <th>Duration</th>
          <th>Created</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.id} data-run-id={run.id}>
            <td>
              <StatusBadge status={run.status} />
            </td>
            <td>
              <a href={href(runPath(run.id))}>
                #{run.number} <span className="muted">(id {run.id})</span>
              </a>
            </td>
            {showProject && <td>{run.project}</td>}
            <td>{run.pipeline}</td>
            <td>
              <code>{run.ref}</code>
            </td>
            <td>{run.attempt}</td>
            <td>
              <TriggerText trigger={run.trigger} />
            </td>
            <td>{formatDuration(elapsedMs(run.startedAt, run.finishedAt, now))}</td>
            <td className="muted">{formatAgo(run.createdAt, now)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
