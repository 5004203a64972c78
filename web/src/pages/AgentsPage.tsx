import { useQuery } from '@tanstack/react-query';
import { errorText } from '../api/client';
import { queries } from '../api/queries';
import { Empty, ErrorBanner, Labels, PageHeader, StatusBadge } from '../components/common';
import { agoInterval, useNow } from '../components/use-now';
import { formatAgo } from '../format';
import { useLiveRooms } from '../live/hooks';

const ORDER = { busy: 0, online: 1, offline: 2 };

export function AgentsPage() {
  const agents = useQuery(queries.agents());
  useLiveRooms(['agents']);
  const list = [...(agents.data?.agents ?? [])].sort((a, b) => ORDER[a.status] - ORDER[b.status] || a.name.localeCompare(b.name));
  // Connected agents report every few seconds, so their "last seen" is always seconds old and ticks.
  const now = useNow(list.length ? agoInterval(list.map((agent) => agent.lastSeenAt)) : null);
  const counts = list.reduce<Record<string, number>>((acc, agent) => ({ ...acc, [agent.status]: (acc[agent.status] ?? 0) + 1 }), {});
  return (
    <>
      <PageHeader title="Agents">
        <span className="muted">
          {counts.busy ?? 0} busy · {counts.online ?? 0} idle · {counts.offline ?? 0} offline
        </span>
      </PageHeader>
      <ErrorBanner error={errorText(agents.error)} />
      {agents.data && list.length === 0 && <Empty>No agents registered. Start one with npm run agent.</Empty>}
      {list.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th>Agent</th>
              <th>Status</th>
              <th>Labels</th>
              <th>Current job</th>
              <th>Last seen</th>
            </tr>
          </thead>
          <tbody>
            {list.map((agent) => (
              <tr key={agent.id} data-agent={agent.name}>
                <td>
                  <strong>{agent.name}</strong>
                </td>
                <td>
                  <StatusBadge status={agent.status} />
                </td>
                <td>
                  <Labels labels={agent.labels} />
                </td>
                <td>{agent.currentJobId ?? <span className="muted">—</span>}</td>
                <td className="muted">{formatAgo(agent.lastSeenAt, now)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
