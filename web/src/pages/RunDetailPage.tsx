import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, downloadWithToken, errorMessage, errorText } from '../api/client';
import { useDecideApproval, useRunAction, type RunAction } from '../api/mutations';
import { queries } from '../api/queries';
import type { Attempt, Job, RunDetail } from '../api/wire';
import { ConfirmButton, CopyButton, ErrorBanner, Labels, PageHeader, StatusBadge, TriggerText } from '../components/common';
import { useNow } from '../components/use-now';
import { elapsedMs, formatBytes, formatDuration, formatTime, reasonText } from '../format';
import { GraphViewer } from '../graph/GraphViewer';
import { useJobGraph } from '../graph/use-job-graph';
import { useLiveRooms } from '../live/hooks';
import { LogViewer } from '../logs/LogViewer';
import { href, navigate, runPath } from '../router';

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

type RunDetailPageProps = { runId: number; jobId: number | null; attempt: number | null };

function defaultJob(jobs: Job[]): Job | undefined {
  return jobs.find((job) => job.status === 'running') ?? jobs.find((job) => job.status === 'failed') ?? jobs[0];
}

type Located = { job: Job; attempt: number };

/**
 * Where a carried job really ran: carriedFromJobId points at the previous attempt's job, which may
 * itself have been carried, so follow the chain to the attempt that ran it.
 */
function originOf(run: RunDetail, job: Job): Located | null {
  const byId = new Map(run.attempts.flatMap((attempt) => attempt.jobs.map((j): [number, Located] => [j.id, { job: j, attempt: attempt.attempt }])));
  let found: Located | null = null;
  // Bounded by the number of attempts: a malformed chain must not hang the page.
  for (let next = job.carriedFromJobId, hops = 0; next !== null && hops < run.attempts.length; hops++) {
    const step = byId.get(next);
    if (!step) break;
    found = step;
    next = step.job.carriedFromJobId;
  }
  return found;
}

/** Runs a cancel or re-run and reports its error; a re-run opens the new attempt. */
function useRunActs(run: RunDetail | undefined, onDone: (error: string | null) => void) {
  const action = useRunAction();
  const act = async (request: RunAction) => {
    try {
      const next = await action.mutateAsync(request);
      onDone(null);
      if (request.action === 'rerun' && run) navigate(runPath(run.id, null, next.attempt));
    } catch (failure) {
      onDone(errorMessage(failure));
    }
  };
  return { act, busy: action.isPending };
}

type Acts = ReturnType<typeof useRunActs>;

function RunActions({ run, acts: { act, busy } }: { run: RunDetail; acts: Acts }) {
  const ended = TERMINAL.includes(run.status);
  return (
    <>
      <button type="button" disabled={busy || !ended} onClick={() => act({ runId: run.id, action: 'rerun', failedOnly: false })}>
        Re-run all
      </button>
      <button type="button" disabled={busy || !ended || run.status === 'succeeded'} onClick={() => act({ runId: run.id, action: 'rerun', failedOnly: true })}>
        Re-run failed
      </button>
      <ConfirmButton
        className="danger"
        disabled={busy || ended}
        question="Cancel this run? Queued jobs end now and running jobs are stopped."
        confirmLabel="Yes, cancel run"
        onConfirm={() => act({ runId: run.id, action: 'cancel' })}
      >
        Cancel
      </ConfirmButton>
    </>
  );
}

function AttemptTabs({ run, current }: { run: RunDetail; current: number }) {
  if (run.attempts.length < 2) return null;
  return (
    <div className="tabs" role="tablist" aria-label="Attempts">
      {run.attempts.map((attempt) => (
        <a
          key={attempt.attempt}
          role="tab"
          aria-selected={attempt.attempt === current}
          className={attempt.attempt === current ? 'tab active' : 'tab'}
          href={href(runPath(run.id, null, attempt.attempt))}
        >
          Attempt {attempt.attempt} <StatusBadge status={attempt.status} />
          {attempt.failedOnly && <span className="muted small"> failed only</span>}
          {attempt.rerunJobs && (
            <span className="muted small" data-testid="attempt-rerun-jobs">
              {' '}
              re-ran {attempt.rerunJobs.join(', ')}
            </span>
          )}
        </a>
      ))}
    </div>
  );
}

function JobsTable({ run, attempt, selected, now, acts }: { run: RunDetail; attempt: Attempt; selected: number | undefined; now: number; acts: Acts }) {
  // A re-run starts from the latest attempt, so only its jobs offer one, once the run has ended.
  const canRerun = TERMINAL.includes(run.status) && attempt.attempt === run.attempt;
  return (
    <table className="table jobs-table">
      <thead>
        <tr>
          <th>Job</th>
          <th>Status</th>
          <th>Agent</th>
          <th>Labels</th>
          <th>Try</th>
          <th>Duration</th>
          <th aria-label="Actions" />
        </tr>
      </thead>
      <tbody>
        {attempt.jobs.map((job) => (
          <tr key={job.id} className={job.id === selected ? 'selected' : undefined} data-job-id={job.id}>
            <td>
              <a href={href(runPath(run.id, job.id, attempt.attempt))}>{job.name}</a>
              <JobReason run={run} job={job} />
            </td>
            <td>
              <StatusBadge status={job.status} />
              {job.exitCode !== null && job.exitCode !== 0 && <span className="muted small"> exit {job.exitCode}</span>}
            </td>
            <td>{job.agent ?? <span className="muted">—</span>}</td>
            <td>
              <Labels labels={job.labels} />
            </td>
            <td title={job.retry ? `retried automatically, up to ${job.maxTries} tries` : undefined}>{job.try ? (job.retry ? `${job.try} of ${job.maxTries}` : job.try) : '—'}</td>
            <td>{formatDuration(elapsedMs(job.startedAt, job.finishedAt, now))}</td>
            <td>
              <button
                type="button"
                className="small"
                disabled={acts.busy || !canRerun}
                title={canRerun ? `Re-run ${job.name} and the jobs that need it; the others carry over` : 'Re-run a job of the latest attempt once the run has ended'}
                data-testid="rerun-job"
                onClick={() => acts.act({ runId: run.id, action: 'rerun', failedOnly: false, jobs: [job.key] })}
              >
                Re-run
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function JobReason({ run, job }: { run: RunDetail; job: Job }) {
  if (!job.reason) return null;
  const origin = job.carriedFromJobId !== null ? originOf(run, job) : null;
  // Says when the backoff ends, so a waiting job never looks stuck.
  const retrying = job.reason === 'retry_backoff' && job.retryAt ? `try ${job.try} failed; try ${job.try + 1} of ${job.maxTries} at ${formatTime(job.retryAt)}` : null;
  // Who holds the slot it waits for: its own group's, else its run's.
  const slot = job.reason === 'concurrency' ? (job.concurrency?.waitingBecause ?? run.concurrency?.waitingBecause ?? null) : null;
  return (
    <span className="muted small" title={`reason: ${job.reason}`} data-testid={slot ? 'job-concurrency' : undefined}>
      {' · '}
      {origin ? `reused from attempt ${origin.attempt}` : (retrying ?? slot ?? reasonText(job.reason))}
    </span>
  );
}

function JobView({ job, title }: { job: Job; title: string }) {
  const [nodeFilter, setNodeFilter] = useState<string | null>(null);
  const graph = useJobGraph(job.id, job.status, job.kind);
  return (
    <>
      {graph.graph && <GraphViewer graph={graph.graph} selected={nodeFilter} onSelect={setNodeFilter} />}
      <ErrorBanner error={graph.error} />
      <LogViewer jobId={job.id} jobName={title} jobStatus={job.status} nodeFilter={nodeFilter} onNodeFilter={setNodeFilter} />
    </>
  );
}

/** An approval gate: who may decide, the decision once made, and the buttons while it waits. */
function ApprovalPanel({ job }: { job: Job }) {
  const decide = useDecideApproval();
  const [comment, setComment] = useState('');
  const [error, setError] = useState<string | null>(null);
  const act = async (decision: 'approve' | 'reject') => {
    try {
      await decide.mutateAsync({ jobId: job.id, decision, comment });
      setError(null);
    } catch (failure) {
      setError(errorMessage(failure));
    }
  };
  return (
    <div className="job-panel approval-panel" data-testid="approval-panel">
      <strong>Approval: {job.name}</strong>
      <span className="muted small">{job.approvers.length ? `Approvers: ${job.approvers.join(', ')}` : 'Anyone who may trigger runs can decide.'}</span>
      {job.approval ? (
        <span data-testid="approval-decision">
          {job.approval.decision === 'timed_out' ? 'Timed out' : `${job.approval.decision === 'approved' ? 'Approved' : 'Rejected'} by ${job.approval.by}`} at{' '}
          {formatTime(String(job.approval.at))}
          {job.approval.comment ? `: “${job.approval.comment}”` : ''}
        </span>
      ) : job.status === 'awaiting_approval' ? (
        <div className="approval-actions">
          <input aria-label="Comment" placeholder="Comment (optional)" value={comment} onChange={(event) => setComment(event.target.value)} />
          <button type="button" disabled={decide.isPending} onClick={() => void act('approve')}>
            Approve
          </button>
          <button type="button" className="danger" disabled={decide.isPending} onClick={() => void act('reject')}>
            Reject
          </button>
        </div>
      ) : (
        <span className="muted small">{job.status === 'waiting' ? 'Waits for the jobs it needs before asking for a decision.' : `Not decided (${job.status}).`}</span>
      )}
      <ErrorBanner error={error} />
    </div>
  );
}

/** What the job wrote to $BELLOWS_OUTPUT (a carried job's are the ones it copied); secrets arrive masked. */
function JobOutputs({ job }: { job: Job }) {
  // By name: jsonb keeps no order of its own (it stores shorter keys first).
  const entries = Object.entries(job.outputs).sort(([a], [b]) => a.localeCompare(b));
  if (!entries.length) return null;
  return (
    <details className="job-outputs" data-testid="job-outputs" open>
      <summary>Outputs ({entries.length})</summary>
      <table className="table">
        <tbody>
          {entries.map(([key, value]) => (
            <tr key={key}>
              <th scope="row">
                <code>{key}</code>
              </th>
              <td>
                <pre className="output-value">{value}</pre>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

function JobPanel({ run, job }: { run: RunDetail; job: Job }) {
  if (job.kind === 'approval') return <ApprovalPanel job={job} />;
  if (job.carriedFromJobId === null) {
    return (
      <div className="job-panel">
        <JobOutputs job={job} />
        <JobView job={job} title={job.name} />
      </div>
    );
  }
  // A carried job never ran in this attempt, so its own log is empty: show the run that counts.
  const origin = originOf(run, job);
  return (
    <div className="job-panel">
      <p className="notice" data-testid="carried-from">
        {origin ? (
          <>
            Carried over from attempt {origin.attempt} — it {job.status === 'succeeded' ? 'succeeded' : `ended ${job.status}`} there, and this attempt did not run it again.{' '}
            <a href={href(runPath(run.id, origin.job.id, origin.attempt))}>Open it in attempt {origin.attempt}</a>
          </>
        ) : (
          `Carried over from an earlier attempt — it ${job.status === 'succeeded' ? 'succeeded' : `ended ${job.status}`} there, and this attempt did not run it again.`
        )}
      </p>
      <JobOutputs job={job} />
      {origin && <JobView key={origin.job.id} job={origin.job} title={`${origin.job.name} · attempt ${origin.attempt}`} />}
    </div>
  );
}

function RunArtifacts({ runId }: { runId: number }) {
  // New ones are told by artifact.created in the run's room.
  const artifacts = useQuery(queries.artifactList({ runId: String(runId), limit: '200' }));
  const [error, setError] = useState<string | null>(null);
  if (!artifacts.data?.artifacts.length) return null;
  return (
    <>
      <h2>Artifacts</h2>
      <ErrorBanner error={error} />
      <ul className="artifact-list">
        {artifacts.data.artifacts.map((artifact) => (
          <li key={artifact.id}>
            <button type="button" className="link-button" onClick={() => downloadWithToken(api.artifacts.download, { params: { id: artifact.id } }, artifact.name).catch((e: unknown) => setError(errorMessage(e)))}>
              {artifact.name}
            </button>{' '}
            <span className="muted">
              {formatBytes(artifact.size)} · attempt {artifact.attempt}
            </span>
          </li>
        ))}
      </ul>
    </>
  );
}

export function RunDetailPage({ runId, jobId, attempt }: RunDetailPageProps) {
  const run = useQuery(queries.run(runId));
  const [actionError, setActionError] = useState<string | null>(null);
  const acts = useRunActs(run.data, setActionError);
  const ended = run.data ? TERMINAL.includes(run.data.status) : false;
  const now = useNow(run.data && !ended ? 1000 : null);
  useLiveRooms([`run:${runId}`], ended ? 0 : 2000);

  if (!run.data) return <ErrorBanner error={errorText(run.error)} />;
  const data = run.data;
  const shownAttempt = data.attempts.find((a) => a.attempt === attempt) ?? data.attempts.find((a) => a.attempt === data.attempt) ?? data.attempts[data.attempts.length - 1];
  const jobs = shownAttempt?.jobs ?? [];
  const job = jobs.find((j) => j.id === jobId) ?? defaultJob(jobs);

  return (
    <>
      <PageHeader
        title={
          <>
            <a href={href(`/projects/${encodeURIComponent(data.project)}`)} className="muted">
              {data.project}
            </a>{' '}
            / {data.pipeline} #{data.number} <StatusBadge status={data.status} />
          </>
        }
      >
        <RunActions run={data} acts={acts} />
      </PageHeader>
      <ErrorBanner error={actionError ?? errorText(run.error)} />
      {data.concurrency?.waitingBecause && (
        <div className="notice waiting" role="status" data-testid="run-concurrency">
          {data.concurrency.waitingBecause}
        </div>
      )}
      {data.reason && (
        <div className="notice" data-testid="run-reason">
          {reasonText(data.reason)}
        </div>
      )}
      <dl className="facts">
        <dt>Ref</dt>
        <dd>
          <code data-testid="run-ref">{data.ref}</code>
        </dd>
        {data.commitSha && (
          <>
            <dt>Commit</dt>
            <dd className="commit">
              <code className="sha" data-testid="commit-sha" title={data.commitSha}>
                {data.commitSha.slice(0, 12)}
              </code>
              <CopyButton text={data.commitSha} label="Copy full commit SHA" />
            </dd>
          </>
        )}
        {data.pipelinePath && (
          <>
            <dt>Pipeline file</dt>
            <dd>
              <code data-testid="pipeline-path">{data.pipelinePath}</code>
            </dd>
          </>
        )}
        <dt>Trigger</dt>
        <dd>
          <TriggerText trigger={data.trigger} />
        </dd>
        <dt>Priority</dt>
        <dd data-testid="run-priority">{data.priority}</dd>
        {data.concurrency && (
          <>
            <dt>Concurrency</dt>
            <dd data-testid="run-concurrency-group" title={`at most ${data.concurrency.limit} at once; when full: ${data.concurrency.onConflict}`}>
              <code>{data.concurrency.group}</code>
              {data.concurrency.state === 'holding' ? ' · holding a slot' : data.concurrency.state === 'waiting' ? ` · in line (${data.concurrency.position ?? '?'})` : ''}
            </dd>
          </>
        )}
        <dt>Attempt</dt>
        <dd data-testid="run-attempt">
          {shownAttempt?.attempt ?? data.attempt} of {data.attempts.length}
        </dd>
        <dt>Duration</dt>
        <dd>{formatDuration((shownAttempt && elapsedMs(shownAttempt.startedAt, shownAttempt.finishedAt, now)) ?? elapsedMs(data.startedAt, data.finishedAt, now))}</dd>
        <dt>Started</dt>
        <dd>{formatTime(data.startedAt)}</dd>
        {Object.keys(data.inputs ?? {}).length > 0 && (
          <>
            <dt>Inputs</dt>
            <dd>
              {Object.entries(data.inputs).map(([key, value]) => (
                <code key={key} className="input-pair">
                  {key}={value}
                </code>
              ))}
            </dd>
          </>
        )}
      </dl>
      <AttemptTabs run={data} current={shownAttempt?.attempt ?? data.attempt} />
      {shownAttempt && <JobsTable run={data} attempt={shownAttempt} selected={job?.id} now={now} acts={acts} />}
      {job && <JobPanel key={job.id} run={data} job={job} />}
      <RunArtifacts runId={runId} />
    </>
  );
}
