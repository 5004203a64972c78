import { useQuery } from '@tanstack/react-query';
import { errorText } from '../api/client';
import { queries } from '../api/queries';
import { Empty, ErrorBanner, PageHeader } from '../components/common';
import { formatTime } from '../format';
import { href } from '../router';

export function ProjectsPage() {
  const { data, error } = useQuery(queries.projectList());
  return (
    <>
      <PageHeader title="Projects" />
      <ErrorBanner error={errorText(error)} />
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
