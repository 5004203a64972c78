// Real git repositories for tests: a bare origin (what a project's repository URL names) and a clone
// of it to commit and push from.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Commits need an identity; tests must not depend on the machine's git configuration for one. */
export const gitTestEnv: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: gitTestEnv, encoding: 'utf8' }).trim();
}

export type TestRepository = {
  /** The directory holding origin and the clone (put other repositories here too). */
  root: string;
  /** The bare repository, and its file:// URL. */
  bare: string;
  url: string;
  clone: string;
  /** Writes `files` (paths relative to the repository) and commits them; returns the commit. */
  commit(files: Record<string, string>, message?: string): string;
  /** Switches the clone to `branch`, creating it from the current commit when new. */
  checkout(branch: string): void;
  push(...refs: string[]): void;
  sha(ref: string): string;
};

export function createTestRepository(name = 'origin'): TestRepository {
  const root = mkdtempSync(join(tmpdir(), 'bellows-git-'));
  const bare = join(root, `${name}.git`);
  const clone = join(root, 'clone');
  git(root, 'init', '--quiet', '--bare', '--initial-branch=main', bare);
  git(root, 'clone', '--quiet', bare, clone);
  return {
    root,
    bare,
    url: `file://${bare}`,
    clone,
    commit(files, message = 'change') {
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(join(clone, path)), { recursive: true });
        writeFileSync(join(clone, path), content);
      }
      git(clone, 'add', '-A');
      git(clone, 'commit', '--quiet', '-m', message);
      return git(clone, 'rev-parse', 'HEAD');
    },
    checkout(branch) {
      const exists = git(clone, 'branch', '--list', branch) !== '';
      git(clone, 'checkout', '--quiet', ...(exists ? [branch] : ['-b', branch]));
    },
    push(...refs) {
      git(clone, 'push', '--quiet', 'origin', ...refs);
    },
    sha(ref) {
      return git(clone, 'rev-parse', ref);
    },
  };
}
