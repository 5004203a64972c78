import { useState } from 'react';
import { api, query } from '../api/client';
import type { PipelineSummary, Project, RunList } from '../api/types';
import { Empty, ErrorBanner, PageHeader } from '../components/common';
import { useAsync } from '../components/use-async';
import { formatTime } from '../format';
import { useLiveRefetch } from '../live/hooks';
import { href } from '../router';
import { RunDialog } from './RunDialog';
import { RunsTable } from './RunsTable';

export function ProjectPage({ slug }: { slug: string }) {
  const project = useAsync(() => api<Project>(`projects/${encodeURIComponent(slug)}`), slug);
  const pipelines = useAsync(() => api<{ pipelines: PipelineSummary[] }>(`projects/${encodeURIComponent(slug)}/pipelines`), slug);
  const runs = useAsync(() => api<RunList>(`runs${query({ project: slug, limit: 20 })}`), slug);
  const [dialogPipeline, setDialogPipeline] = useState<string | null>(null);
  useLiveRefetch(['runs'], ['run.updated'], runs.reload);

  const names = pipelines.data?.pipelines.map((p) => p.name) ?? [];
  return (
    <>
      <PageHeader
        title={
          <>
            <a href={href('/projects')} className="muted">
              Projects
            </a>{' '}
            / {project.data?.name ?? slug}
          </>
        }
      >
        <button type="button" className="primary" disabled={!names.length} onClick={() => setDialogPipeline(names[0])}>
          Run
        </button>
      </PageHeader>
      <ErrorBanner error={project.error ?? pipelines.error} />
      <h2>Pipelines</h2>
      {pipelines.data && pipelines.data.pipelines.length === 0 && <Empty>No pipelines. Push one with PUT /api/v1/projects/{slug}/pipelines/&lt;name&gt;.</Empty>}
      {pipelines.data && pipelines.data.pipelines.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th>Pipeline</th>
              <th>Kind</th>
              <th>Version</th>
              <th>Updated</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {pipelines.data.pipelines.map((pipeline) => (
              <tr key={pipeline.id}>
                <td>
                  <a href={href(`/runs?project=${encodeURIComponent(slug)}&pipeline=${encodeURIComponent(pipeline.name)}`)}>{pipeline.name}</a>
                </td>
                <td>
                  <code>{pipeline.kind}</code>
                </td>
                <td>v{pipeline.latestVersion}</td>
                <td className="muted">{formatTime(pipeline.updatedAt)}</td>
                <td className="actions">
                  <button type="button" onClick={() => setDialogPipeline(pipeline.name)} data-pipeline={pipeline.name}>
                    Run…
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Recent runs</h2>
      <ErrorBanner error={runs.error} />
      {runs.data && <RunsTable runs={runs.data.runs} showProject={false} />}
      {dialogPipeline !== null && <RunDialog project={slug} pipelines={names} initialPipeline={dialogPipeline} onClose={() => setDialogPipeline(null)} />}
    </>
  );
}
