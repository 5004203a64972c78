import { Connection } from '@temporalio/client';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { claimNamespace, createTestDatabase, startStack, type Stack } from '../support/stack';

describe('test infrastructure', () => {
  it('serves pre-created namespaces with the Bellows search attributes', async () => {
    const namespace = claimNamespace();
    expect(inject('namespaces')).toContain(namespace);
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      // temporal.api.enums.v1.IndexedValueType: 2 = Keyword, 3 = Int.
      expect(customAttributes).toMatchObject({ BellowsProject: 2, BellowsPipeline: 2, BellowsRunNumber: 3 });
    } finally {
      await connection.close();
    }
  });

  it('creates an isolated database and drops it again', async () => {
    const database = await createTestDatabase();
    const sql = postgres(database.url, { max: 1, onnotice: () => undefined });
    try {
      const [row] = await sql<{ name: string }[]>`select current_database() as name`;
      expect(row.name).toBe(database.name);
    } finally {
      await sql.end();
    }
    await database.drop();
    const admin = postgres(inject('postgresAdminUrl'), { max: 1, onnotice: () => undefined });
    try {
      expect(await admin`select 1 from pg_database where datname = ${database.name}`).toHaveLength(0);
    } finally {
      await admin.end();
    }
  });
});

describe('stack smoke', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('reports the API healthy with database and Temporal up', async () => {
    const response = await stack.request('GET', '/api/v1/health');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'ok', database: 'up', temporal: 'up' });
  });
});
