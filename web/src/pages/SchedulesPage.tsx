import { useQuery } from '@tanstack/react-query';
import { errorText } from '../api/client';
import { useScheduleAction } from '../api/mutations';
import { queries } from '../api/queries';
import { ConfirmButton, Empty, ErrorBanner, PageHeader, StatusBadge } from '../components/common';
import { formatTime } from '../format';
import { useLiveRooms } from '../live/hooks';
import { href, runPath } from '../router';

export function SchedulesPage() {
  const schedules = useQuery(queries.schedules());
  // Runs a schedule starts change its "last run": the runs room rereads it.
  useLiveRooms(['runs']);
  const act = useScheduleAction();
  const list = schedules.data ?? [];
  return (
    <>
      <PageHeader title="Schedules">
        <span className="muted">Each is a Temporal Schedule (schedule-&lt;id&gt;), also paused and resumed in the Temporal UI.</span>
      </PageHeader>
      <ErrorBanner error={errorText(schedules.error) ?? errorText(act.error)} />
      {schedules.data && list.length === 0 && <Empty>No schedules. Create one with bellows schedule create &lt;project&gt;/&lt;pipeline&gt; --cron "0 3 * * *".</Empty>}
      {list.length > 0 && (
        <table className="table" data-testid="schedules">
          <thead>
            <tr>
              <th>Pipeline</th>
              <th>When</th>
              <th>State</th>
              <th>Next run</th>
              <th>Last runs</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((schedule) => (
              <tr key={schedule.id} data-schedule={schedule.id}>
                <td>
                  <a href={href(`/projects/${encodeURIComponent(schedule.project)}`)}>{schedule.project}</a>/<strong>{schedule.pipeline}</strong>
                  {schedule.ref ? <span className="muted"> @ {schedule.ref}</span> : null}
                </td>
                <td>
                  <code>{schedule.cron ?? `every ${schedule.every}`}</code>
                  {schedule.cron && schedule.timezone !== 'UTC' ? <span className="muted"> {schedule.timezone}</span> : null}
                  <div className="muted">overlap: {schedule.overlap}</div>
                </td>
                <td>{schedule.paused ? <StatusBadge status="paused" /> : <span>active</span>}</td>
                {/* A paused schedule has no next run: the server sends null. */}
                <td className="muted">{formatTime(schedule.nextRunAt)}</td>
                <td>
                  {schedule.recentRuns.length === 0 && <span className="muted">none yet</span>}
                  {schedule.recentRuns.map((run) => (
                    <a key={run.id} href={href(runPath(run.id))} title={`run ${run.id}, ${formatTime(run.createdAt)}`} style={{ marginRight: 6 }}>
                      #{run.number} <StatusBadge status={run.status} />
                    </a>
                  ))}
                </td>
                <td>
                  <button type="button" disabled={act.isPending} onClick={() => act.mutate({ scheduleId: schedule.id, action: 'trigger' })}>
                    Run now
                  </button>{' '}
                  <button type="button" disabled={act.isPending} onClick={() => act.mutate({ scheduleId: schedule.id, action: schedule.paused ? 'resume' : 'pause' })}>
                    {schedule.paused ? 'Resume' : 'Pause'}
                  </button>{' '}
                  <ConfirmButton question="Delete this schedule?" confirmLabel="Delete" disabled={act.isPending} onConfirm={() => act.mutate({ scheduleId: schedule.id, action: 'delete' })}>
                    Delete
                  </ConfirmButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
