import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config';

// docker-compose.yml cannot run here (no Docker engine); this keeps it parseable and in step
// with the variables the code actually reads.
type Service = { command?: string[]; environment?: Record<string, unknown>; depends_on?: Record<string, unknown>; image?: string; build?: string };

it('describes the production topology with the same variables and commands as npm start', () => {
  const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as { services: Record<string, Service> };
  const services = compose.services;
  expect(Object.keys(services)).toEqual(expect.arrayContaining(['postgres', 'temporal', 'temporal-ui', 'api', 'worker', 'agent']));
  expect(services.api.command).toEqual(['node', 'dist/src/main.js']);
  expect(services.worker.command).toEqual(['node', 'dist/worker/main.js']);
  expect(services.agent.command).toEqual(['node', 'dist/agent/main.js']);
  for (const name of ['api', 'worker']) {
    const env = services[name].environment ?? {};
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['DATABASE_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'BELLOWS_TASK_QUEUE', 'BELLOWS_SECRETS_KEY']));
  }
  const config = loadConfig({ ...(services.api.environment as Record<string, string>), BELLOWS_SECRETS_KEY: 'x', BELLOWS_ADMIN_TOKEN: 'y' });
  expect(config).toMatchObject({ databaseUrl: 'postgres://bellows:bellows@postgres:5432/bellows', temporalAddress: 'temporal:7233', port: 3000 });
});
