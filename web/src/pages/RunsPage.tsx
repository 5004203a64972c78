import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { errorText } from '../api/client';
import { queries } from '../api/queries';
import type { Project, RunSummary } from '../api/wire';
import { ErrorBanner, PageHeader } from '../components/common';
import { useDebounced } from '../components/use-debounced';
import { useLiveRooms } from '../live/hooks';
import { navigate, withQuery } from '../router';
import { RunsTable } from './RunsTable';

const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

type Filters = { project: string; pipeline: string; status: string };

function RunFilters({ filters, projects }: { filters: Filters; projects: Project[] }) {
  const [pipeline, setPipeline] = useState(filters.pipeline);
  const apply = (next: Partial<Filters>) => navigate(withQuery('/runs', { ...filters, ...next }), true);
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

/** The filters the URL sets (an empty one filters nothing, and is not part of the query's key). */
function definedFilters(filters: Filters): Partial<Filters> {
  return Object.fromEntries(Object.entries(filters).filter(([, value]) => value !== ''));
}

export function RunsPage({ params }: { params: URLSearchParams }) {
  const filters: Filters = { project: params.get('project') ?? '', pipeline: params.get('pipeline') ?? '', status: params.get('status') ?? '' };
  const projects = useQuery(queries.projectList());
  const runs = useInfiniteQuery(queries.runPages(definedFilters(filters), 50));
  useLiveRooms(['runs']);

  // A run that moved to an older page while pages were read (new runs came in) is listed once.
  const all = new Map<number, RunSummary>();
  for (const page of runs.data?.pages ?? []) for (const run of page.runs) if (!all.has(run.id)) all.set(run.id, run);

  return (
    <>
      <PageHeader title="Runs" />
      <RunFilters filters={filters} projects={projects.data?.projects ?? []} />
      <ErrorBanner error={errorText(runs.error)} />
      {runs.data && <RunsTable runs={[...all.values()]} />}
      {runs.hasNextPage && (
        <button type="button" className="load-more" onClick={() => void runs.fetchNextPage()}>
          Load older runs
        </button>
      )}
    </>
  );
}
