import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { errorMessage, errorText } from '../api/client';
import { useDefineRepositoryPipeline } from '../api/mutations';
import { queries } from '../api/queries';
import { freePipelineName, pipelineNameForFile } from '../api/repositories';
import type { PipelineFiles, PipelineSummary, Project } from '../api/wire';
import { Empty, ErrorBanner, PageHeader } from '../components/common';
import { formatTime } from '../format';
import { useLiveRooms } from '../live/hooks';
import { href } from '../router';
import { RunDialog } from './RunDialog';
import { RunsTable } from './RunsTable';

type RepositorySectionProps = {
  project: Project;
  files: { data: PipelineFiles | null; error: string | null; loading: boolean };
  pipelines: PipelineSummary[] | null;
  onRun: (pipeline: string) => void;
};

/** The project's repository and the pipeline files under .bellows/ on its default branch, each ready to run. */
function RepositorySection({ project, files, pipelines, onRun }: RepositorySectionProps) {
  const define = useDefineRepositoryPipeline(project.slug);
  const busyPath = define.isPending ? define.variables.path : null;
  const [error, setError] = useState<string | null>(null);
  const repository = project.repository!;
  const defaultBranch = repository.defaultBranch ?? (files.data?.ref || null);

  // A file that no pipeline names yet becomes one (named after the file, never overwriting another), then runs.
  const runFile = async (path: string) => {
    const existing = pipelines?.find((pipeline) => pipeline.path === path);
    if (existing) return onRun(existing.name);
    setError(null);
    try {
      const name = freePipelineName(pipelineNameForFile(path), new Set((pipelines ?? []).map((pipeline) => pipeline.name)));
      const defined = await define.mutateAsync({ name, path });
      onRun(defined.name);
    } catch (failure) {
      setError(`Cannot set up a pipeline for ${path}: ${errorMessage(failure)}`);
    }
  };

  return (
    <>
      <h2>Repository</h2>
      <dl className="facts repository-facts" data-testid="repository">
        <dt>URL</dt>
        <dd>
          <code data-testid="repository-url">{repository.url}</code>
        </dd>
        <dt>Default branch</dt>
        <dd>
          {defaultBranch ? <code data-testid="default-branch">{defaultBranch}</code> : <span className="muted">the repository's own</span>}
          {repository.defaultBranch === null && defaultBranch && <span className="muted small"> (the repository's)</span>}
        </dd>
        {repository.credentialsSecret && (
          <>
            <dt>Credentials</dt>
            <dd>
              secret <code>{repository.credentialsSecret}</code>
            </dd>
          </>
        )}
      </dl>
      <h3 className="subheading">
        Pipeline files in <code>.bellows/</code>
        {files.data?.ref && (
          <span className="muted small">
            {' '}
            on {files.data.ref} at <code title={files.data.commitSha}>{files.data.commitSha.slice(0, 12)}</code>
          </span>
        )}
      </h3>
      <ErrorBanner error={files.error ? `Cannot read the repository: ${files.error}` : error} />
      {files.loading && !files.data && <p className="muted small">Reading the repository…</p>}
      {files.data && files.data.files.length === 0 && (
        <Empty>No pipeline files on {files.data.ref || 'the default branch'}. Commit .act graphs or .sh scripts under .bellows/ to offer them here.</Empty>
      )}
      {files.data && files.data.files.length > 0 && (
        <table className="table pipeline-files">
          <thead>
            <tr>
              <th>File</th>
              <th>Kind</th>
              <th>Pipeline</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {files.data.files.map((file) => {
              const existing = pipelines?.find((pipeline) => pipeline.path === file.path);
              return (
                <tr key={file.path} data-file={file.path}>
                  <td>
                    <code>{file.path}</code>
                  </td>
                  <td>
                    <code>{file.kind}</code>
                  </td>
                  <td>
                    {existing ? (
                      existing.name
                    ) : (
                      <span className="muted" title="Running it defines this pipeline first">
                        not set up yet
                      </span>
                    )}
                  </td>
                  <td className="actions">
                    <button
                      type="button"
                      disabled={pipelines === null || busyPath !== null}
                      onClick={() => void runFile(file.path)}
                      title={existing ? `Run pipeline ${existing.name}` : `Define pipeline ${pipelineNameForFile(file.path)} for this file, then run it`}
                    >
                      {busyPath === file.path ? 'Setting up…' : 'Run…'}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </>
  );
}

export function ProjectPage({ slug }: { slug: string }) {
  const project = useQuery(queries.project(slug));
  const pipelines = useQuery(queries.pipelines(slug));
  const runs = useQuery(queries.runList({ project: slug }, 20));
  const files = useQuery({ ...queries.pipelineFiles(slug), enabled: Boolean(project.data?.repository) });
  const [dialogPipeline, setDialogPipeline] = useState<string | null>(null);
  useLiveRooms(['runs']);

  const names = pipelines.data?.pipelines.map((p) => p.name) ?? [];
  // A pipeline just defined from a file is offered before the list has reloaded.
  const dialogNames = dialogPipeline !== null && !names.includes(dialogPipeline) ? [...names, dialogPipeline] : names;
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
        <button type="button" className="primary" disabled={!names.length || !project.data} onClick={() => setDialogPipeline(names[0])}>
          Run
        </button>
      </PageHeader>
      <ErrorBanner error={errorText(project.error ?? pipelines.error)} />
      {project.data?.repository && (
        <RepositorySection
          project={project.data}
          files={{ data: files.data ?? null, error: errorText(files.error), loading: files.isLoading }}
          pipelines={pipelines.data?.pipelines ?? null}
          onRun={setDialogPipeline}
        />
      )}
      <h2>Pipelines</h2>
      {pipelines.data && pipelines.data.pipelines.length === 0 && (
        <Empty>
          No pipelines. Push one with PUT /api/v1/projects/{slug}/pipelines/&lt;name&gt;{project.data?.repository ? ', or run a file of the repository above' : ''}.
        </Empty>
      )}
      {pipelines.data && pipelines.data.pipelines.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th>Pipeline</th>
              <th>Kind</th>
              <th>Source</th>
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
                <td>{pipeline.path ? <code title="A file of the repository, read at each run's commit">{pipeline.path}</code> : <span className="muted">stored</span>}</td>
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
      <ErrorBanner error={errorText(runs.error)} />
      {runs.data && <RunsTable runs={runs.data.runs} showProject={false} />}
      {dialogPipeline !== null && (
        <RunDialog
          project={slug}
          hasRepository={Boolean(project.data?.repository)}
          pipelines={dialogNames}
          initialPipeline={dialogPipeline}
          onClose={() => setDialogPipeline(null)}
        />
      )}
    </>
  );
}
