// Project secrets: write-only values the agent receives with a claim and masks in every log line.
import { z } from 'zod';
import { timestamp } from './common';
import { defineRoute } from './http';

/** A secret's name: an environment variable name, since jobs read secrets as variables. */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
export const MAX_SECRET_LENGTH = 65536;

export const PutSecret = z
  .strictObject({
    value: z
      .string({ error: 'value must be a string' })
      .max(MAX_SECRET_LENGTH, `value must be at most ${MAX_SECRET_LENGTH} characters`)
      .meta({ description: 'Write-only: never returned by the API.' }),
  })
  .meta({ id: 'PutSecret' });
export type PutSecret = z.input<typeof PutSecret>;

export const SecretName = z.object({ name: z.string(), updatedAt: timestamp }).meta({ id: 'SecretName' });
export type SecretName = z.input<typeof SecretName>;

export const SecretList = z.object({ secrets: z.array(SecretName) }).meta({ id: 'SecretList' });
export type SecretList = z.input<typeof SecretList>;

const tag = 'secrets';

export const secretRoutes = {
  put: defineRoute({ method: 'PUT', path: '/api/v1/projects/:slug/secrets/:name', tag, summary: 'Set a secret', auth: 'write', status: 204, body: PutSecret, response: 'empty' }),
  list: defineRoute({ method: 'GET', path: '/api/v1/projects/:slug/secrets', tag, summary: "A project's secret names (never values)", auth: 'read', status: 200, response: SecretList }),
  delete: defineRoute({ method: 'DELETE', path: '/api/v1/projects/:slug/secrets/:name', tag, summary: 'Delete a secret', auth: 'write', status: 204, response: 'empty' }),
};
