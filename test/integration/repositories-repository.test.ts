// The mirror lock straight against PostgreSQL: two "API instances" (two lock repositories, each with
// its own connection pool, and two GitMirrors on one data directory) take turns on one mirror, and the
// mirror they share is whole afterwards.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitMirrors } from '../../agent/git/git-mirror';
import { applyMigrations } from '../../src/database/migrations';
import { createSql, type Sql } from '../../src/database/sql';
import { RepositoriesRepository } from '../../src/repositories/repositories.repository';
import { createTestRepository } from '../support/git-repository';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/stack';

let database: TestDatabase;
let sql: Sql;
let instances: RepositoriesRepository[];

beforeAll(async () => {
  database = await createTestDatabase();
  sql = createSql(database.url, { max: 2 });
  await applyMigrations(sql);
  instances = [new RepositoriesRepository({ databaseUrl: database.url }), new RepositoriesRepository({ databaseUrl: database.url })];
});

afterAll(async () => {
  for (const instance of instances ?? []) await instance.onModuleDestroy();
  await sql?.end({ timeout: 5 });
  await database?.drop();
});

const waitingForAdvisoryLock = async (): Promise<number> => {
  const [row] = await sql<{ waiting: number }[]>`select count(*)::int as waiting from pg_locks where locktype = 'advisory' and not granted`;
  return row.waiting;
};

describe('the mirror lock', () => {
  it('lets one holder at a time work on a key, across connection pools', async () => {
    const [first, second] = instances;
    const events: string[] = [];
    let releaseFirst!: () => void;
    const firstHolds = new Promise<void>((resolve) => (releaseFirst = resolve));
    let firstEntered!: () => void;
    const entered = new Promise<void>((resolve) => (firstEntered = resolve));
    const one = first.withLock('repo-a', async () => {
      events.push('first in');
      firstEntered();
      await firstHolds;
      events.push('first out');
    });
    await entered;
    const two = second.withLock('repo-a', async () => void events.push('second in'));
    // The second holder is really blocked in PostgreSQL before the first lets go.
    await waitFor(async () => (await waitingForAdvisoryLock()) === 1, { intervalMs: 20, message: 'the second instance waiting for the lock' });
    // Another key is not held up.
    await second.withLock('repo-b', async () => void events.push('other key'));
    releaseFirst();
    await Promise.all([one, two]);
    expect(events).toEqual(['first in', 'other key', 'first out', 'second in']);
  });

  it('two instances syncing one cold repository at once take turns and leave one whole mirror', async () => {
    const repo = createTestRepository();
    repo.commit({ f: 'x' }, 'one');
    repo.push('main');
    const url = repo.url;
    const mirrorsDir = join(repo.root, 'git-mirrors');
    let holding = 0;
    let mostAtOnce = 0;
    const mirrors = instances.map(
      (locks) =>
        new GitMirrors(mirrorsDir, {
          lock: (key, work) =>
            locks.withLock(key, async () => {
              mostAtOnce = Math.max(mostAtOnce, ++holding);
              try {
                return await work();
              } finally {
                holding--;
              }
            }),
        }),
    );
    await Promise.all([...mirrors, ...mirrors].map((instance) => instance.sync(url, { maxAgeMs: 0 })));
    expect(mostAtOnce).toBe(1);
    expect(readdirSync(mirrorsDir)).toEqual([mirrors[0].dirFor(url).split('/').pop()]);
    for (const instance of mirrors) expect((await instance.resolve(url, 'main'))?.kind).toBe('branch');
  });
});
