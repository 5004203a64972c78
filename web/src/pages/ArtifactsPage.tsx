import { useQuery } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { api, downloadWithToken, errorMessage, errorText } from '../api/client';
import { queries, type ArtifactQuery } from '../api/queries';
import type { Artifact, Project } from '../api/wire';
import { Empty, ErrorBanner, PageHeader } from '../components/common';
import { useDebounced } from '../components/use-debounced';
import { formatBytes, formatTime } from '../format';
import { useLiveRooms } from '../live/hooks';
import { href, runPath } from '../router';

type Filters = { q: string; project: string; pipeline: string; runId: string; from: string; to: string; minKiB: string; maxKiB: string };
const EMPTY: Filters = { q: '', project: '', pipeline: '', runId: '', from: '', to: '', minKiB: '', maxKiB: '' };

function toQuery(filters: Filters): ArtifactQuery {
  const kib = (value: string) => (value.trim() ? String(Math.round(Number(value) * 1024)) : undefined);
  const query: ArtifactQuery = {
    q: filters.q.trim(),
    project: filters.project,
    pipeline: filters.pipeline.trim(),
    runId: filters.runId.trim(),
    from: filters.from ? new Date(`${filters.from}T00:00:00`).toISOString() : undefined,
    to: filters.to ? new Date(`${filters.to}T23:59:59.999`).toISOString() : undefined,
    minSize: kib(filters.minKiB),
    maxSize: kib(filters.maxKiB),
    limit: '100',
  };
  // Only what is set is part of the query (and of its cache key).
  return Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined && value !== '')) as ArtifactQuery;
}

function ArtifactFilters({ applied, projects, onApply }: { applied: Filters; projects: Project[]; onApply: (filters: Filters) => void }) {
  const [draft, setDraft] = useState(applied);
  const set = (patch: Partial<Filters>) => setDraft((current) => ({ ...current, ...patch }));
  // The pipeline filter applies as the user types; the other fields wait for Search.
  const pipeline = useDebounced(draft.pipeline.trim(), 300);
  useEffect(() => {
    if (pipeline !== applied.pipeline.trim()) onApply({ ...applied, pipeline });
  }, [pipeline]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onApply(draft);
  };
  return (
    <form className="filters" onSubmit={submit}>
      <label className="grow">
        Name
        <input type="search" name="q" placeholder="Search by name" value={draft.q} onChange={(event) => set({ q: event.target.value })} />
      </label>
      <label>
        Project
        <select name="project" value={draft.project} onChange={(event) => set({ project: event.target.value })}>
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
        <input name="pipeline" type="search" size={14} placeholder="name contains…" title="Pipelines whose name contains this text (any case)" value={draft.pipeline} onChange={(event) => set({ pipeline: event.target.value })} />
      </label>
      <label title="The run's id, as in the address of its page (#/runs/<id>); not its #number within the pipeline">
        Run id (from /runs/&lt;id&gt;)
        <input name="runId" size={6} inputMode="numeric" placeholder="e.g. 10" value={draft.runId} onChange={(event) => set({ runId: event.target.value })} />
      </label>
      <label>
        From
        <input type="date" name="from" value={draft.from} onChange={(event) => set({ from: event.target.value })} />
      </label>
      <label>
        To
        <input type="date" name="to" value={draft.to} onChange={(event) => set({ to: event.target.value })} />
      </label>
      <label>
        Size (KiB)
        <span className="range">
          <input name="minKiB" size={5} placeholder="min" value={draft.minKiB} onChange={(event) => set({ minKiB: event.target.value })} />–
          <input name="maxKiB" size={5} placeholder="max" value={draft.maxKiB} onChange={(event) => set({ maxKiB: event.target.value })} />
        </span>
      </label>
      <button type="submit" className="primary">
        Search
      </button>
      <button type="button" onClick={() => {
          setDraft(EMPTY);
          onApply(EMPTY);
        }}>
        Clear
      </button>
    </form>
  );
}

function ArtifactRow({ artifact, onError }: { artifact: Artifact; onError: (message: string) => void }) {
  const [busy, setBusy] = useState(false);
  const download = () => {
    setBusy(true);
    downloadWithToken(api.artifacts.download, { params: { id: artifact.id } }, artifact.name)
      .catch((failure: unknown) => onError(errorMessage(failure)))
      .finally(() => setBusy(false));
  };
  return (
    <tr data-artifact-id={artifact.id}>
      <td className="filename">{artifact.name}</td>
      <td>
        {artifact.project}/{artifact.pipeline}
      </td>
      <td>
        <a href={href(runPath(artifact.runId, artifact.jobId, artifact.attempt))} title={`Run #${artifact.runNumber} of ${artifact.pipeline}; run id ${artifact.runId}`}>
          #{artifact.runNumber} <span className="muted">(id {artifact.runId})</span>
        </a>
      </td>
      <td className="num">{formatBytes(artifact.size)}</td>
      <td>
        <code className="sha" title={artifact.sha256} data-testid="sha256">
          {artifact.sha256}
        </code>
      </td>
      <td className="muted">{formatTime(artifact.createdAt)}</td>
      <td className="actions">
        <button type="button" onClick={download} disabled={busy} aria-label={`Download ${artifact.name}`}>
          {busy ? 'Downloading…' : 'Download'}
        </button>
      </td>
    </tr>
  );
}

export function ArtifactsPage() {
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const projects = useQuery(queries.projectList());
  const artifacts = useQuery(queries.artifactList(toQuery(filters)));
  const [error, setError] = useState<string | null>(null);
  useLiveRooms(['artifacts'], 0);

  return (
    <>
      <PageHeader title="Artifacts" />
      <ArtifactFilters applied={filters} projects={projects.data?.projects ?? []} onApply={setFilters} />
      <ErrorBanner error={error ?? errorText(artifacts.error)} />
      {artifacts.data && artifacts.data.artifacts.length === 0 && <Empty>No artifacts match.</Empty>}
      {artifacts.data && artifacts.data.artifacts.length > 0 && (
        <table className="table artifacts-table">
          <thead>
            <tr>
              <th>File</th>
              <th>Pipeline</th>
              <th>Run</th>
              <th className="num">Size</th>
              <th>SHA-256</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {artifacts.data.artifacts.map((artifact) => (
              <ArtifactRow key={artifact.id} artifact={artifact} onError={setError} />
            ))}
          </tbody>
        </table>
      )}
      {artifacts.data?.nextCursor && <p className="muted small">Showing the newest 100; narrow the search to see others.</p>}
    </>
  );
}
