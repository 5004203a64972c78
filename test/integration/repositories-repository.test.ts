// The mirror lock straight against PostgreSQL: two "API instances" (two GitMirrors on one data
// directory, each with its own connection pool) syncing one repository at once take turns, and the
// mirror they share is whole afterwards.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitMirrors } from '../../agent/git/git-mirror';
import { applyMigrations } from '../../src/database/migrations';
import { createSql, type Sql } from '../../src/database/sql';
import { RepositoriesRepository } from '../../src/repositories/repositories.repository';
import { createTestRepository } from '../support/git-repository';
import { createTestDatabase, type TestDatabase } from '../support/stack';

let database: TestDatabase;
let pools: Sql[];

beforeAll(async () => {
  database = await createTestDatabase();
  pools = [createSql(database.url, { max: 2 }), createSql(database.url, { max: 2 })];
  await applyMigrations(pools[0]);
});

afterAll(async () => {
  for (const pool of pools ?? []) await pool.end({ timeout: 5 });
  await database?.drop();
});

describe('the mirror lock', () => {
  it('lets one holder at a time work on a key, across connection pools', async () => {
    const [first, second] = pools.map((pool) => new RepositoriesRepository(pool));
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
    // Another key is not held up.
    await second.withLock('repo-b', async () => void events.push('other key'));
    releaseFirst();
    await Promise.all([one, two]);
    expect(events).toEqual(['first in', 'other key', 'first out', 'second in']);
  });

  it('two instances syncing one cold repository at once leave one whole mirror', async () => {
    const repo = createTestRepository();
    repo.commit({ f: 'x' }, 'one');
    repo.push('main');
    const url = repo.url;
    const root = repo.root;
    const mirrorsDir = join(root, 'git-mirrors');
    const instances = pools.map((pool) => {
      const locks = new RepositoriesRepository(pool);
      return new GitMirrors(mirrorsDir, { lock: (key, work) => locks.withLock(key, work) });
    });
    await Promise.all([...instances, ...instances].map((mirrors) => mirrors.sync(url, { maxAgeMs: 0 })));
    expect(readdirSync(mirrorsDir)).toEqual([instances[0].dirFor(url).split('/').pop()]);
    for (const mirrors of instances) expect((await mirrors.resolve(url, 'main'))?.kind).toBe('branch');
  });
});
