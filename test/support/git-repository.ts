// Real git repositories for tests: a bare origin (what a project's repository URL names) and a clone
// of it to commit and push from.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  /** Deletes root and everything in it. */
  remove(): void;
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
    remove() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * A bare machine's git environment: no global or system configuration (HOME is `home`, which the caller
 * makes), PATH kept, and an identity given only through the environment.
 */
export function isolatedGitEnv(home: string, identity = { name: 'Test Author', email: 'author@example.test' }): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: identity.name,
    GIT_AUTHOR_EMAIL: identity.email,
    GIT_COMMITTER_NAME: identity.name,
    GIT_COMMITTER_EMAIL: identity.email,
  };
}

/** `git ARGS` in `cwd` with `env`, its output trimmed. */
export function gitWith(env: NodeJS.ProcessEnv): (cwd: string, ...args: string[]) => string {
  return (cwd, ...args) => execFileSync('git', args, { cwd, env, encoding: 'utf8' }).trim();
}

export type SeededRemote = { bare: string; url: string; first: string; second: string };

/**
 * A bare remote `<root>/<name>.git`, seeded from `<scratch>/<name>-seed`: main has two commits (a.txt "one"
 * then "two", docs/guide.md in both; tag v1 on the first), dev sits at the first.
 */
export function makeSeededRemote(env: NodeJS.ProcessEnv, scratch: string, name: string, root = scratch): SeededRemote {
  const run = gitWith(env);
  const seed = join(scratch, `${name}-seed`);
  run(scratch, 'init', '--quiet', '--initial-branch=main', seed);
  mkdirSync(join(seed, 'docs'));
  writeFileSync(join(seed, 'a.txt'), 'one\n');
  writeFileSync(join(seed, 'docs', 'guide.md'), '# guide\n');
  run(seed, 'add', '.');
  run(seed, 'commit', '--quiet', '-m', 'first');
  const first = run(seed, 'rev-parse', 'HEAD');
  run(seed, 'tag', 'v1');
  writeFileSync(join(seed, 'a.txt'), 'two\n');
  run(seed, 'commit', '--quiet', '-am', 'second');
  const second = run(seed, 'rev-parse', 'HEAD');
  run(seed, 'branch', 'dev', first);
  const bare = join(root, `${name}.git`);
  run(scratch, 'clone', '--quiet', '--bare', seed, bare);
  return { bare, url: `file://${bare}`, first, second };
}
