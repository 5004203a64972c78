import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Sql } from './sql';

// Walks up from this file so the same code works from src/ (tests) and dist/src/ (builds).
export function migrationsDir(): string {
  const candidates = [resolve(__dirname, '../../migrations'), resolve(__dirname, '../../../migrations')];
  return process.env.BELLOWS_MIGRATIONS_DIR ?? candidates.find((dir) => existsSync(dir)) ?? candidates[0];
}

const MIGRATION_LOCK = 7_362_001;

// Plain SQL files, applied in name order, each once, under an advisory lock so several
// instances starting together apply them exactly once.
export async function applyMigrations(sql: Sql, dir = migrationsDir()): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const applied: string[] = [];
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`create table if not exists schema_migrations (name text primary key, applied_at timestamptz not null default now())`;
    const done = new Set((await tx<{ name: string }[]>`select name from schema_migrations`).map((r) => r.name));
    for (const file of files) {
      if (done.has(file)) continue;
      await tx.unsafe(await readFile(join(dir, file), 'utf8'));
      await tx`insert into schema_migrations (name) values (${file})`;
      applied.push(file);
    }
  });
  return applied;
}
