import type { RunSummary } from '../api/types';
import { Empty, StatusBadge, TriggerText } from '../components/common';
import { formatAgo, formatDuration } from '../format';
import { href, runPath } from '../router';

export function RunsTable({ runs, showProject = true }: { runs: RunSummary[]; showProject?: boolean }) {
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
            <td>{formatDuration(run.durationMs)}</td>
            <td className="muted">{formatAgo(run.createdAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
