import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../scripts/embedded-postgres';

// Under root the embedded PostgreSQL runs as the `postgres` user; a data dir below a folder that user
// cannot enter used to end in "initdb exited with 1". Only root has that user switch to test.
const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

describe('embedded PostgreSQL start-up errors', () => {
  it.skipIf(!asRoot)('names the folder the postgres user cannot enter and how to fix it, creating nothing', async () => {
    const privateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bellows-private-')); // mkdtemp: mode 0700, root's
    try {
      const dataDir = path.join(privateDir, 'data', 'postgres');
      const started = startEmbeddedPostgres({ dataDir, port: 1, logFile: path.join(privateDir, 'postgres.log') });
      await expect(started).rejects.toThrow(
        `PostgreSQL runs as the 'postgres' system user when Bellows runs as root, and that user cannot enter ${privateDir} (mode 0700, owned by root), so it cannot use ${dataDir}.`,
      );
      await expect(started).rejects.toThrow(`chmod o+x ${privateDir}`);
      expect(fs.existsSync(path.join(privateDir, 'data'))).toBe(false);
    } finally {
      fs.rmSync(privateDir, { recursive: true, force: true });
    }
  });
});
