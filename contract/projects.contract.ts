// Projects: the unit of access (a token may be bound to one), with an optional git repository.
import { z } from 'zod';
import { timestamp } from './common';
import { defineRoute } from './http';
import { RepositoryConfig } from './repositories.contract';

export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const SLUG_RULE = 'slug must be 1-63 lower-case letters, digits or dashes, starting with a letter or digit';
export const MAX_PROJECT_NAME_LENGTH = 200;

const projectName = z
  .string({ error: 'name must be a string' })
  .min(1, `name must be 1-${MAX_PROJECT_NAME_LENGTH} characters`)
  .max(MAX_PROJECT_NAME_LENGTH, `name must be 1-${MAX_PROJECT_NAME_LENGTH} characters`)
  .meta({ example: 'Web shop' });

/**
 * A repository as a request gives it. Its fields are checked by the server's repository rules, which
 * answer 422 invalid_repository with the reason (a URL with credentials in it, file:// where not allowed).
 */
export const RepositoryInput = z
  .object({
    url: z.unknown().meta({ type: 'string', description: "https://, ssh://, user@host:path, git://, or file:// where the server allows local repositories." }),
    defaultBranch: z.unknown().optional().meta({ type: 'string', description: "Otherwise the repository's own." }),
    credentialsSecret: z
      .unknown()
      .optional()
      .meta({ type: 'string', description: 'The name of a project secret holding a token or user:password for https, or a private key for ssh.' }),
  }, { error: 'repository must be an object' })
  .meta({ id: 'RepositoryInput', example: { url: 'https://github.com/acme/web-shop.git', defaultBranch: 'main', credentialsSecret: 'GIT_TOKEN' } });
export type RepositoryInput = z.input<typeof RepositoryInput>;

export const CreateProject = z
  .strictObject({
    slug: z.string({ error: SLUG_RULE }).regex(SLUG_PATTERN, SLUG_RULE).meta({ example: 'web-shop' }),
    name: projectName,
    repository: RepositoryInput.optional(),
  })
  .meta({ id: 'CreateProject' });
export type CreateProject = z.input<typeof CreateProject>;

export const UpdateProject = z
  .strictObject({
    name: projectName.optional(),
    repository: RepositoryInput.nullable().optional().meta({ description: '`null` removes the repository.' }),
  })
  .meta({ id: 'UpdateProject' });
export type UpdateProject = z.input<typeof UpdateProject>;

export const Project = z
  .object({ id: z.string(), slug: z.string(), name: z.string(), createdAt: timestamp, repository: RepositoryConfig.nullable() })
  .meta({ id: 'Project' });
export type Project = z.input<typeof Project>;

export const ProjectList = z.object({ projects: z.array(Project) }).meta({ id: 'ProjectList' });
export type ProjectList = z.input<typeof ProjectList>;

const tag = 'projects';

export const projectRoutes = {
  create: defineRoute({ method: 'POST', path: '/api/v1/projects', tag, summary: 'Create a project', auth: 'write', status: 201, body: CreateProject, response: Project }),
  list: defineRoute({ method: 'GET', path: '/api/v1/projects', tag, summary: 'List the projects this token may see', auth: 'read', status: 200, response: ProjectList }),
  get: defineRoute({ method: 'GET', path: '/api/v1/projects/:slug', tag, summary: 'One project', auth: 'read', status: 200, response: Project }),
  update: defineRoute({ method: 'PATCH', path: '/api/v1/projects/:slug', tag, summary: 'Rename a project or change its repository', auth: 'write', status: 200, body: UpdateProject, response: Project }),
};
