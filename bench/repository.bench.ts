// Repository pipelines: the agent's checkout against plain git, and trigger → job queued for a
// repository pipeline against a stored one. Each Bellows figure is measured right after its baseline.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { checkoutWorkspace } from '../agent/checkout';
import { ProjectMirrors } from '../agent/git/git-mirror';
import type { BenchStack } from './bench-stack';
import { summarize, type Summary } from './stats';

export type RepositoryResult = {
  files: number;
  commits: number;
  firstCheckout: { bellows: Summary; gitClone: Summary };
  laterCheckout: { bellows: Summary; worktreeAdd: Summary };
  triggerToQueued: { repository: Summary; stored: Summary };
};

export type RepositoryOptions = { project: string; files: number; commits: number; checkoutSamples: number; triggerSamples: number; workDir: string; signal: AbortSignal; onProgress(message: string): void };

/** The agent keeps mirrors per project; the bench's checkouts are all one project's. */
const BENCH_PROJECT = 'bench';

const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).trim();

/**
 * A bare repository of `files` files and `commits` commits, made with git fast-import (thousands of
 * commits in about a second): each commit changes a few files, as a real history does.
 */
export function generateRepository(dir: string, files: number, commits: number): { url: string; head: string } {
  const bare = join(dir, 'generated.git');
  git(dir, 'init', '--quiet', '--bare', '--initial-branch=main', bare);
  const lines: string[] = [];
  let mark = 0;
  const blob = (content: string): number => {
    mark++;
    lines.push('blob', `mark :${mark}`, `data ${Buffer.byteLength(content)}`, content);
    return mark;
  };
  for (let commit = 0; commit < commits; commit++) {
    const changes: Array<[string, number]> = [];
    // The first commit adds every file; later ones touch five each.
    const touched = commit === 0 ? Array.from({ length: files }, (_, i) => i) : Array.from({ length: 5 }, (_, i) => (commit * 7 + i * 997) % files);
    for (const file of touched) changes.push([`src/dir${file % 50}/file${file}.txt`, blob(`file ${file}, version ${commit}\n${'x'.repeat(200)}\n`)]);
    const message = `commit ${commit}\n`;
    lines.push(
      'commit refs/heads/main',
      `committer Bench <bench@example.com> ${1_700_000_000 + commit} +0000`,
      `data ${Buffer.byteLength(message)}`,
      message,
      ...changes.map(([path, blobMark]) => `M 100644 :${blobMark} ${path}`),
    );
  }
  lines.push('');
  const imported = spawnSync('git', ['fast-import', '--quiet'], { cwd: bare, input: lines.join('\n'), maxBuffer: 64 * 1024 * 1024 });
  if (imported.status !== 0) throw new Error(`git fast-import failed: ${imported.stderr.toString()}`);
  return { url: `file://${bare}`, head: git(bare, 'rev-parse', 'main') };
}

async function time(work: () => Promise<unknown> | unknown): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

export async function benchRepository(stack: BenchStack, options: RepositoryOptions): Promise<RepositoryResult> {
  const { workDir, signal, onProgress } = options;
  onProgress(`repository: generating ${options.files} files × ${options.commits} commits…`);
  const { url, head } = generateRepository(workDir, options.files, options.commits);
  const report = (): void => undefined;

  const firstBellows: number[] = [];
  const firstClone: number[] = [];
  for (let i = 0; i < options.checkoutSamples; i++) {
    signal.throwIfAborted();
    const scratch = mkdtempSync(join(workDir, 'first-'));
    firstClone.push(await time(() => git(scratch, 'clone', '--quiet', url, join(scratch, 'clone'))));
    const mirrors = new ProjectMirrors(join(scratch, 'mirrors'));
    firstBellows.push(
      await time(async () => {
        const result = await checkoutWorkspace({ projectId: BENCH_PROJECT, url, ref: 'main', commitSha: head, auth: null }, join(scratch, 'workspace'), mirrors, report, signal);
        if (!result.ok) throw new Error(result.error);
      }),
    );
    rmSync(scratch, { recursive: true, force: true });
  }

  onProgress('repository: later checkouts on a warm mirror vs git worktree add…');
  const warm = mkdtempSync(join(workDir, 'warm-'));
  const mirrors = new ProjectMirrors(join(warm, 'mirrors'));
  await mirrors.of(BENCH_PROJECT).sync(url);
  const laterBellows: number[] = [];
  const laterWorktree: number[] = [];
  for (let i = 0; i < options.checkoutSamples; i++) {
    signal.throwIfAborted();
    const plain = join(warm, `plain-${i}`);
    laterWorktree.push(await time(() => git(mirrors.of(BENCH_PROJECT).dirFor(url), 'worktree', 'add', '--quiet', '--detach', plain, head)));
    laterBellows.push(
      await time(async () => {
        const result = await checkoutWorkspace({ projectId: BENCH_PROJECT, url, ref: 'main', commitSha: head, auth: null }, join(warm, `job-${i}`), mirrors, report, signal);
        if (!result.ok) throw new Error(result.error);
      }),
    );
  }
  rmSync(warm, { recursive: true, force: true });

  onProgress('repository: trigger → job queued, repository pipeline vs stored pipeline…');
  const repoProject = `${options.project}-repo`;
  await request(stack, 'POST', '/api/v1/projects', { slug: repoProject, name: 'Bench repository', repository: { url } });
  await request(stack, 'PUT', `/api/v1/projects/${repoProject}/pipelines/from-repo`, { path: 'src/dir0/file0.txt', labels: ['bench=never'] });
  await request(stack, 'PUT', `/api/v1/projects/${options.project}/pipelines/stored`, { content: 'true', labels: ['bench=never'] });
  const repository: number[] = [];
  const stored: number[] = [];
  for (let i = 0; i < options.triggerSamples + 2; i++) {
    signal.throwIfAborted();
    const storedMs = await triggerToQueued(stack, options.project, 'stored', signal);
    const repositoryMs = await triggerToQueued(stack, repoProject, 'from-repo', signal);
    // The first two warm up the mirror and the code paths.
    if (i < 2) continue;
    stored.push(storedMs);
    repository.push(repositoryMs);
  }
  return {
    files: options.files,
    commits: options.commits,
    firstCheckout: { bellows: summarize(firstBellows), gitClone: summarize(firstClone) },
    laterCheckout: { bellows: summarize(laterBellows), worktreeAdd: summarize(laterWorktree) },
    triggerToQueued: { repository: summarize(repository), stored: summarize(stored) },
  };
}

async function request(stack: BenchStack, method: string, path: string, body: unknown): Promise<void> {
  const response = await stack.request(method, path, { body });
  if (response.status >= 300) throw new Error(`${method} ${path} failed: ${response.status} ${JSON.stringify(response.body)}`);
}

/** POST …/runs → the job's queued_at, read from Postgres (no agent takes it: the label matches none). */
async function triggerToQueued(stack: BenchStack, project: string, pipeline: string, signal: AbortSignal): Promise<number> {
  const sentAt = Date.now();
  const response = await stack.request<{ id: number }>('POST', `/api/v1/projects/${project}/pipelines/${pipeline}/runs`, { body: {} });
  if (response.status !== 201) throw new Error(`triggering ${project}/${pipeline} failed: ${response.status} ${JSON.stringify(response.body)}`);
  for (;;) {
    signal.throwIfAborted();
    const [row] = await stack.sql<{ queuedMs: number | null }[]>`
      select (extract(epoch from min(queued_at)) * 1000)::float8 as "queuedMs" from jobs where run_id = ${response.body.id}`;
    if (row?.queuedMs) {
      await stack.request('POST', `/api/v1/runs/${response.body.id}/cancel`, { body: {} });
      return row.queuedMs - sentAt;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
