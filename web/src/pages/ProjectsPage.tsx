import { api } from '../api/client';
import type { Project } from '../api/types';
import { Empty, ErrorBanner, PageHeader } from '../components/common';
import { useAsync } from '../components/use-async';
import { formatTime } from '../format';
import { href } from '../router';

export function ProjectsPage() {
  const { data, error } = useAsync(() => api<{ projects: Project[] }>('projects'), 'projects');
  return (
    <>
      <PageHeader title="Projects" />
      <ErrorBanner error={error} />
      {data && data.projects.length === 0 && <Empty>No projects yet. Create one with POST /api/v1/projects.</Empty>}
      {data && data.projects.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th>Project</th>
              <th>Slug</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {data.projects.map((project) => (
              <tr key={project.id}>
                <td>
                  <a href={href(`/projects/${encodeURIComponent(project.slug)}`)}>{project.name}</a>
                </td>
                <td>
                  <code>{project.slug}</code>
                </td>
                <td className="muted">{formatTime(project.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
