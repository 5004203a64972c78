import { useEffect, useState } from 'react';
import { api, query } from '../api/client';
import type { Project, RunList, RunSummary } from '../api/types';
import { ErrorBanner, PageHeader } from '../components/common';
import { errorMessage, useAsync } from '../components/use-async';
import { useDebounced } from '../components/use-debounced';
import { useLiveRefetch } from '../live/hooks';
import { navigate } from '../router';
import { RunsTable } from './RunsTable';

const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

type Filters = { project: string; pipeline: string; status: string };

function RunFilters({ filters, projects }: { filters: Filters; projects: Project[] }) {
  const [pipeline, setPipeline] = useState(filters.pipeline);
  const apply = (next: Partial<Filters>) => navigate(`/runs${query({ ...filters, ...next })}`, true);
  const typed = useDebounced(pipeline.trim(), 300);
  useEffect(() => {
    if (typed !== filters.pipeline) apply({ pipeline: typed });
    // Only a settled keystroke applies; the URL changing on its own is handled below.
  }, [typed]);
  useEffect(() => {
    // The URL changed from elsewhere (a link, the Runs tab): show what it filters by.
    if (filters.pipeline !== typed) setPipeline(filters.pipeline);
  }, [filters.pipeline]);
  return (
    <form
      className="filters"
      onSubmit={(event) => {
        event.preventDefault();
        apply({ pipeline: pipeline.trim() });
      }}
    >
      <label>
        Project
        <select name="project" value={filters.project} onChange={(event) => apply({ project: event.target.value })}>
          <option value="">All</option>
          {projects.map((project) => (
            <option key={project.id} value={project.slug}>
              {project.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Pipeline
        <input name="pipeline" type="search" value={pipeline} placeholder="name contains…" title="Runs of pipelines whose name contains this text (any case)" onChange={(event) => setPipeline(event.target.value)} onBlur={() => apply({ pipeline: pipeline.trim() })} />
      </label>
      <label>
        Status
        <select name="status" value={filters.status} onChange={(event) => apply({ status: event.target.value })}>
          <option value="">Any</option>
          {STATUSES.map((status) => (
            <option key={status}>{status}</option>
          ))}
        </select>
      </label>
    </form>
  );
}

export function RunsPage({ params }: { params: URLSearchParams }) {
  const filters: Filters = { project: params.get('project') ?? '', pipeline: params.get('pipeline') ?? '', status: params.get('status') ?? '' };
  const key = JSON.stringify(filters);
  const projects = useAsync(() => api<{ projects: Project[] }>('projects'), 'projects');
  const runs = useAsync(() => api<RunList>(`runs${query({ ...filters, limit: 50 })}`), key);
  const [older, setOlder] = useState<{ key: string; runs: RunSummary[]; cursor: string | null } | null>(null);
  const [moreError, setMoreError] = useState<string | null>(null);
  useLiveRefetch(['runs'], ['run.updated'], runs.reload);

  const extra = older?.key === key ? older : null;
  const cursor = extra ? extra.cursor : (runs.data?.nextCursor ?? null);
  const loadMore = () => {
    if (!cursor) return;
    api<RunList>(`runs${query({ ...filters, limit: 50, cursor })}`).then(
      (page) => setOlder({ key, runs: [...(extra?.runs ?? []), ...page.runs], cursor: page.nextCursor }),
      (failure: unknown) => setMoreError(errorMessage(failure)),
    );
  };
  const fresh = runs.data?.runs ?? [];
  const all = [...fresh, ...(extra?.runs ?? []).filter((run) => !fresh.some((f) => f.id === run.id))];

  return (
    <>
      <PageHeader title="Runs" />
      <RunFilters filters={filters} projects={projects.data?.projects ?? []} />
      <ErrorBanner error={runs.error ?? moreError} />
      {runs.data && <RunsTable runs={all} />}
      {cursor && (
        <button type="button" className="load-more" onClick={loadMore}>
          Load older runs
        </button>
      )}
    </>
  );
}
