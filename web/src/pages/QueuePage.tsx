// Pending jobs in claim order (drag to reorder) and the jobs running now; either can be selected to cancel their runs in bulk.
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useState, type DragEvent } from 'react';
import { errorMessage, errorText } from '../api/client';
import { useCancelRuns, useQueueMove } from '../api/mutations';
import { queries, type RunningJob } from '../api/queries';
import type { HeldEntry, QueueEntry } from '../api/wire';
import { ConfirmButton, Empty, ErrorBanner, Labels, PageHeader, StatusBadge } from '../components/common';
import { useNow } from '../components/use-now';
import { elapsedMs, formatAgo, formatDuration } from '../format';
import { useLiveRooms } from '../live/hooks';
import { href, runPath } from '../router';

type DropTarget = { jobId: number; where: 'before' | 'after' };

type Selection = { selected: Set<number>; onToggle: (jobId: number, on: boolean) => void };

function SelectAll({ ids, label, selected, onToggle }: Selection & { ids: number[]; label: string }) {
  const all = ids.length > 0 && ids.every((id) => selected.has(id));
  return <input type="checkbox" aria-label={label} checked={all} onChange={(event) => ids.forEach((id) => onToggle(id, event.target.checked))} />;
}

function PendingTable({ jobs, onMove, selected, onToggle, now }: Selection & { jobs: QueueEntry[]; onMove: (jobId: number, target: DropTarget) => void; now: number }) {
  const [dragging, setDragging] = useState<number | null>(null);
  const [target, setTarget] = useState<DropTarget | null>(null);

  const whereIn = (event: DragEvent<HTMLTableRowElement>): 'before' | 'after' => {
    const rect = event.currentTarget.getBoundingClientRect();
    return event.clientY < rect.top + rect.height / 2 ? 'before' : 'after';
  };

  return (
    <table className="table queue-table">
      <thead>
        <tr>
          <th className="check">
            <SelectAll ids={jobs.map((job) => job.id)} label="Select all pending" selected={selected} onToggle={onToggle} />
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
              {job.priority !== 0 && (
                <span className="badge priority" title="Priority: higher goes first, then the queue's order">
                  priority {job.priority}
                </span>
              )}
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
            <td className="muted">{formatAgo(job.queuedAt, now)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Jobs a policy keeps out of the queue for now, each with why: a concurrency slot, a retry backoff, a person's approval. */
function HeldTable({ jobs, selected, onToggle, now }: Selection & { jobs: HeldEntry[]; now: number }) {
  return (
    <table className="table held-table">
      <thead>
        <tr>
          <th className="check">
            <SelectAll ids={jobs.map((job) => job.id)} label="Select all held back" selected={selected} onToggle={onToggle} />
          </th>
          <th>Job</th>
          <th>Run</th>
          <th>Waiting because</th>
          <th>Since</th>
        </tr>
      </thead>
      <tbody>
        {jobs.map((job) => (
          <tr key={job.id} data-job-id={job.id} data-run-id={job.runId} className={selected.has(job.id) ? 'selected' : undefined}>
            <td className="check">
              <input type="checkbox" aria-label={`Select job ${job.id}`} checked={selected.has(job.id)} onChange={(event) => onToggle(job.id, event.target.checked)} />
            </td>
            <td>
              <a href={href(runPath(job.runId))}>{job.name}</a> <StatusBadge status={job.status} />
            </td>
            <td>
              {job.project}/{job.pipeline} #{job.runNumber}
            </td>
            <td className="waiting" data-testid="held-because">
              {job.waitingBecause}
            </td>
            <td className="muted">{formatAgo(job.since, now)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function RunningTable({ jobs, selected, onToggle, now }: Selection & { jobs: RunningJob[]; now: number }) {
  if (!jobs.length) return <Empty>Nothing is running.</Empty>;
  return (
    <table className="table running-table">
      <thead>
        <tr>
          <th className="check">
            <SelectAll ids={jobs.map((job) => job.jobId)} label="Select all running" selected={selected} onToggle={onToggle} />
          </th>
          <th>Job</th>
          <th>Run</th>
          <th>Agent</th>
          <th>Running for</th>
        </tr>
      </thead>
      <tbody>
        {jobs.map((job) => (
          <tr key={job.jobId} data-job-id={job.jobId} className={selected.has(job.jobId) ? 'selected' : undefined}>
            <td className="check">
              <input type="checkbox" aria-label={`Select job ${job.jobId}`} checked={selected.has(job.jobId)} onChange={(event) => onToggle(job.jobId, event.target.checked)} />
            </td>
            <td>
              <StatusBadge status="running" /> <a href={href(runPath(job.runId, job.jobId))}>{job.name}</a>
            </td>
            <td>
              {job.project}/{job.pipeline} #{job.runNumber}
            </td>
            <td>{job.agent ?? '—'}</td>
            <td>{formatDuration(elapsedMs(job.startedAt, null, now))}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function QueuePage() {
  const queue = useInfiniteQuery(queries.queuePages());
  const running = useQuery(queries.runningJobs());
  const moveJob = useQueueMove();
  const cancelRuns = useCancelRuns();
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  useLiveRooms(['queue', 'agents', 'runs']);

  // A job that moved to a later page while pages were read (a reorder in between) is listed once.
  const loaded = new Map<number, QueueEntry>();
  for (const page of queue.data?.pages ?? []) for (const job of page.jobs) if (!loaded.has(job.id)) loaded.set(job.id, job);
  const jobs = [...loaded.values()];
  const total = queue.data?.pages[0]?.total ?? 0;
  const held = queue.data?.pages[0]?.held ?? [];
  const heldTotal = queue.data?.pages[0]?.heldTotal ?? 0;
  const runningJobs = running.data ?? [];
  // Jobs that left both lists since they were ticked are no longer selected.
  const runOf = new Map([
    ...jobs.map((job): [number, number] => [job.id, job.runId]),
    ...held.map((job): [number, number] => [job.id, job.runId]),
    ...runningJobs.map((job): [number, number] => [job.jobId, job.runId]),
  ]);
  const chosenRuns = [...new Set([...selected].filter((id) => runOf.has(id)).map((id) => runOf.get(id)!))];
  // Queued and running times tick while either list has rows.
  const now = useNow(jobs.length || runningJobs.length ? 1000 : null);

  const move = (jobId: number, target: DropTarget) => {
    if (!jobs.some((job) => job.id === jobId)) return;
    setError(null);
    moveJob.mutate({ jobId, where: target.where, otherJobId: target.jobId }, { onError: (failure) => setError(errorMessage(failure)) });
  };

  const cancelSelected = async () => {
    const runIds = chosenRuns;
    setError(null);
    try {
      const result = await cancelRuns.mutateAsync(runIds);
      setNotice(
        `Cancelled ${result.cancelled.length} run${result.cancelled.length === 1 ? '' : 's'}` +
          (result.skipped.length ? `; skipped ${result.skipped.map((s) => `${s.id} (${s.reason})`).join(', ')}` : '.'),
      );
      setSelected(new Set());
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
        <ConfirmButton
          className="danger"
          disabled={!chosenRuns.length}
          question={`Cancel ${chosenRuns.length === 1 ? 'this run' : `these ${chosenRuns.length} runs`}? Their queued jobs end now and running jobs are stopped.`}
          confirmLabel={`Yes, cancel ${chosenRuns.length} run${chosenRuns.length === 1 ? '' : 's'}`}
          onConfirm={cancelSelected}
        >
          Cancel selected runs{chosenRuns.length ? ` (${chosenRuns.length})` : ''}
        </ConfirmButton>
      </PageHeader>
      <ErrorBanner error={error ?? errorText(queue.error ?? running.error)} />
      {notice && (
        <div className="notice" role="status">
          {notice}
        </div>
      )}
      <h2>Pending · {total}</h2>
      <p className="muted small">Agents take jobs top to bottom. Drag a row to change its place.</p>
      {queue.data && (jobs.length ? <PendingTable jobs={jobs} onMove={move} selected={selected} onToggle={toggle} now={now} /> : <Empty>The queue is empty.</Empty>)}
      {queue.hasNextPage && (
        <button type="button" className="load-more" disabled={queue.isFetchingNextPage} onClick={() => void queue.fetchNextPage()}>
          Load more ({jobs.length} of {total} shown)
        </button>
      )}
      {heldTotal > 0 && (
        <>
          <h2>Held back · {heldTotal}</h2>
          <p className="muted small">Not in the queue yet: each waits for a concurrency slot, a retry's backoff or a person's approval.</p>
          <HeldTable jobs={held} selected={selected} onToggle={toggle} now={now} />
          {heldTotal > held.length && <p className="muted small">The oldest {held.length} of {heldTotal} are shown.</p>}
        </>
      )}
      <h2>Running · {runningJobs.length}</h2>
      {running.data && <RunningTable jobs={running.data} selected={selected} onToggle={toggle} now={now} />}
    </>
  );
}
