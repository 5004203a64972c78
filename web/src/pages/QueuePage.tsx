// Pending jobs in claim order (drag to reorder, select to cancel in bulk) and the jobs running now.
import { useState, type DragEvent } from 'react';
import { api, query } from '../api/client';
import type { QueueEntry, RunDetail, RunList } from '../api/types';
import { Empty, ErrorBanner, Labels, PageHeader, StatusBadge } from '../components/common';
import { errorMessage, useAsync } from '../components/use-async';
import { formatAgo, formatDuration } from '../format';
import { useLiveRefetch } from '../live/hooks';
import { href, runPath } from '../router';

type RunningJob = { runId: number; runNumber: number; project: string; pipeline: string; jobId: number; name: string; agent: string | null; startedAt: string | null; durationMs: number | null };

async function loadRunning(): Promise<RunningJob[]> {
  const list = await api<RunList>(`runs${query({ status: 'running', limit: 100 })}`);
  const details = await Promise.all(list.runs.map((run) => api<RunDetail>(`runs/${run.id}`).catch(() => null)));
  return details.flatMap((run) =>
    run
      ? run.jobs
          .filter((job) => job.status === 'running')
          .map((job) => ({ runId: run.id, runNumber: run.number, project: run.project, pipeline: run.pipeline, jobId: job.id, name: job.name, agent: job.agent, startedAt: job.startedAt, durationMs: job.durationMs }))
      : [],
  );
}

type DropTarget = { jobId: number; where: 'before' | 'after' };

function PendingTable({ jobs, onMove, selected, onToggle }: { jobs: QueueEntry[]; onMove: (jobId: number, target: DropTarget) => void; selected: Set<number>; onToggle: (jobId: number, on: boolean) => void }) {
  const [dragging, setDragging] = useState<number | null>(null);
  const [target, setTarget] = useState<DropTarget | null>(null);

  const whereIn = (event: DragEvent<HTMLTableRowElement>): 'before' | 'after' => {
    const rect = event.currentTarget.getBoundingClientRect();
    return event.clientY < rect.top + rect.height / 2 ? 'before' : 'after';
  };

  const allSelected = jobs.length > 0 && jobs.every((job) => selected.has(job.id));
  return (
    <table className="table queue-table">
      <thead>
        <tr>
          <th className="check">
            <input type="checkbox" aria-label="Select all" checked={allSelected} onChange={(event) => jobs.forEach((job) => onToggle(job.id, event.target.checked))} />
          </th>
          <th>#</th>
          <th>Job</th>
          <th>Run</th>
          <th>Labels</th>
          <th>Agents</th>
          <th>Queued</th>
        </tr>
      </thead>
      <tbody>
        {jobs.map((job) => (
          <tr
            key={job.id}
            data-job-id={job.id}
            data-run-id={job.runId}
            draggable
            className={[
              'draggable',
              dragging === job.id ? 'dragging' : '',
              target?.jobId === job.id ? `drop-${target.where}` : '',
              selected.has(job.id) ? 'selected' : '',
            ].join(' ')}
            onDragStart={(event) => {
              event.dataTransfer.effectAllowed = 'move';
              event.dataTransfer.setData('text/plain', String(job.id));
              setDragging(job.id);
            }}
            onDragEnd={() => {
              setDragging(null);
              setTarget(null);
            }}
            onDragOver={(event) => {
              if (dragging === null || dragging === job.id) return;
              event.preventDefault();
              event.dataTransfer.dropEffect = 'move';
              const where = whereIn(event);
              if (target?.jobId !== job.id || target.where !== where) setTarget({ jobId: job.id, where });
            }}
            onDrop={(event) => {
              event.preventDefault();
              const moving = Number(event.dataTransfer.getData('text/plain')) || dragging;
              setDragging(null);
              setTarget(null);
              if (moving && moving !== job.id) onMove(moving, { jobId: job.id, where: whereIn(event) });
            }}
          >
            <td className="check">
              <input type="checkbox" aria-label={`Select job ${job.id}`} checked={selected.has(job.id)} onChange={(event) => onToggle(job.id, event.target.checked)} />
            </td>
            <td className="position">
              <span className="grip" aria-hidden="true">
                ⋮⋮
              </span>
              {job.position}
            </td>
            <td>
              <a href={href(runPath(job.runId, job.id))}>{job.name}</a>
            </td>
            <td>
              {job.project}/{job.pipeline} #{job.runNumber}
            </td>
            <td>
              <Labels labels={job.labels} />
            </td>
            <td>
              <span className={job.matchingAgents ? '' : 'warn'} data-testid="matching-agents">
                {job.matchingAgents} matching
              </span>
              {job.waitingBecause && <div className="muted small waiting">{job.waitingBecause}</div>}
            </td>
            <td className="muted">{formatAgo(job.queuedAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function RunningTable({ jobs }: { jobs: RunningJob[] }) {
  if (!jobs.length) return <Empty>Nothing is running.</Empty>;
  return (
    <table className="table">
      <thead>
        <tr>
          <th>Job</th>
          <th>Run</th>
          <th>Agent</th>
          <th>Running for</th>
        </tr>
      </thead>
      <tbody>
        {jobs.map((job) => (
          <tr key={job.jobId} data-job-id={job.jobId}>
            <td>
              <StatusBadge status="running" /> <a href={href(runPath(job.runId, job.jobId))}>{job.name}</a>
            </td>
            <td>
              {job.project}/{job.pipeline} #{job.runNumber}
            </td>
            <td>{job.agent ?? '—'}</td>
            <td>{formatDuration(job.durationMs)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function QueuePage() {
  const queue = useAsync(() => api<{ jobs: QueueEntry[] }>('queue'), 'queue');
  const running = useAsync(loadRunning, 'running');
  const [optimistic, setOptimistic] = useState<QueueEntry[] | null>(null);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const refresh = () => {
    queue.reload();
    running.reload();
  };
  useLiveRefetch(['queue', 'agents', 'runs'], ['queue.changed', 'agent.updated', 'run.updated'], refresh);

  const jobs = optimistic ?? queue.data?.jobs ?? [];
  const present = new Set(jobs.map((job) => job.id));
  const chosen = [...selected].filter((id) => present.has(id));

  const move = (jobId: number, target: DropTarget) => {
    const moving = jobs.find((job) => job.id === jobId);
    if (!moving) return;
    const rest = jobs.filter((job) => job.id !== jobId);
    const at = rest.findIndex((job) => job.id === target.jobId) + (target.where === 'after' ? 1 : 0);
    setOptimistic([...rest.slice(0, at), moving, ...rest.slice(at)].map((job, index) => ({ ...job, position: index + 1 })));
    setError(null);
    api<{ jobs: QueueEntry[] }>('queue/move', { method: 'POST', body: target.where === 'before' ? { jobId, beforeJobId: target.jobId } : { jobId, afterJobId: target.jobId } })
      .catch((failure: unknown) => setError(errorMessage(failure)))
      .finally(() => {
        setOptimistic(null);
        queue.reload();
      });
  };

  const cancelSelected = async () => {
    const runIds = [...new Set(jobs.filter((job) => chosen.includes(job.id)).map((job) => job.runId))];
    setError(null);
    try {
      const result = await api<{ cancelled: number[]; skipped: { id: number; reason: string }[] }>('runs/cancel', { method: 'POST', body: { ids: runIds } });
      setNotice(
        `Cancelled ${result.cancelled.length} run${result.cancelled.length === 1 ? '' : 's'}` +
          (result.skipped.length ? `; skipped ${result.skipped.map((s) => `${s.id} (${s.reason})`).join(', ')}` : '.'),
      );
      setSelected(new Set());
      refresh();
    } catch (failure) {
      setError(errorMessage(failure));
    }
  };

  const toggle = (jobId: number, on: boolean) =>
    setSelected((current) => {
      const next = new Set(current);
      if (on) next.add(jobId);
      else next.delete(jobId);
      return next;
    });

  return (
    <>
      <PageHeader title="Queue">
        <button type="button" className="danger" disabled={!chosen.length} onClick={cancelSelected}>
          Cancel selected runs{chosen.length ? ` (${chosen.length})` : ''}
        </button>
      </PageHeader>
      <ErrorBanner error={error ?? queue.error ?? running.error} />
      {notice && (
        <div className="notice" role="status">
          {notice}
        </div>
      )}
      <h2>Pending · {jobs.length}</h2>
      <p className="muted small">Agents take jobs top to bottom. Drag a row to change its place.</p>
      {queue.data && (jobs.length ? <PendingTable jobs={jobs} onMove={move} selected={selected} onToggle={toggle} /> : <Empty>The queue is empty.</Empty>)}
      <h2>Running · {running.data?.length ?? 0}</h2>
      {running.data && <RunningTable jobs={running.data} />}
    </>
  );
}
