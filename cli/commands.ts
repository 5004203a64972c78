import { readFileSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { api } from '../contract';
import type { Artifact } from '../contract/artifacts.contract';
import type { RouteResponse } from '../contract/http';
import type { PutPipeline } from '../contract/pipelines.contract';
import type { RunDetail, RunSummary, TriggerRun } from '../contract/runs.contract';
import { ApiRequestError, connect, type ApiClient } from './api-client';
import { downloadArtifact, type DownloadResult } from './artifact-download';
import { normaliseUrl, resolveConfig, writeConfigFile } from './cli-config';
import { CliError, EXIT, usageError, type ExitCode } from './cli-errors';
import { formatBytes, formatDuration, statusColour, table, type Colours } from './cli-output';
import { printRunLogs } from './log-follower';

export type Context = {
  env: NodeJS.ProcessEnv;
  json: boolean;
  flags: { url?: string; token?: string };
  out: (text: string) => void;
  err: (text: string) => void;
  /** Colours for stdout and for stderr (each on only when that stream is a terminal). */
  c: Colours;
  ce: Colours;
  stderrIsTty: boolean;
  /** Aborted on Ctrl-C, so a follow can stop cleanly. */
  signal: AbortSignal;
  readStdin: () => Promise<string>;
};

export type Values = Record<string, string | boolean | string[] | undefined>;

export const client = (ctx: Context): ApiClient => {
  const config = resolveConfig(ctx.flags, ctx.env);
  return connect(config.url, config.token);
};

export const printJson = (ctx: Context, value: unknown) => ctx.out(JSON.stringify(value, null, 2) + '\n');

/** A point in time as the CLI's tables print it: UTC, to the second ("-" for none). */
export const when = (at: string | Date | null): string => (at === null ? '-' : new Date(at).toISOString().replace('T', ' ').slice(0, 19));

export function parseRunId(raw: string | undefined): number {
  if (raw === undefined) throw usageError('Name a run by its id, e.g. `bellows logs 42`.');
  const id = Number(raw.replace(/^#/, ''));
  if (!Number.isSafeInteger(id) || id < 1) throw usageError(`"${raw}" is not a run id; run ids are positive integers.`);
  return id;
}

/** `k=v` pairs from repeated flags; the value may contain "=". */
export function parsePairs(values: string[] | undefined, flag: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const item of values ?? []) {
    const at = item.indexOf('=');
    if (at < 1) throw usageError(`--${flag} takes key=value; got "${item}".`);
    pairs[item.slice(0, at)] = item.slice(at + 1);
  }
  return pairs;
}

/** `--priority N`: a whole number (the server checks its range and names it when out of range). */
export function parsePriority(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  if (!/^-?[0-9]{1,9}$/.test(value.trim())) throw usageError(`--priority takes a whole number (higher goes first); got "${value}".`);
  return Number(value);
}

async function loadRun(server: ApiClient, id: number): Promise<RunDetail> {
  try {
    return await server.call(api.runs.get, { params: { id } });
  } catch (error) {
    throw runError(error, id);
  }
}

function runError(error: unknown, id: number): unknown {
  if (error instanceof ApiRequestError && error.status === 404 && error.code === 'run_not_found') return new CliError(`Run ${id} does not exist.`);
  return error;
}

export function exitCodeFor(status: string): ExitCode {
  if (status === 'succeeded') return EXIT.ok;
  if (status === 'cancelled') return EXIT.cancelled;
  return EXIT.failed;
}

// ── login ────────────────────────────────────────────────────────────────────────────────────────────

export async function login(ctx: Context, positionals: string[], values: Values): Promise<ExitCode> {
  const [rawUrl] = positionals;
  if (!rawUrl) throw usageError('Usage: bellows login <url> --token <token> (or pipe the token on stdin).');
  const url = normaliseUrl(rawUrl);
  let token = typeof values.token === 'string' ? values.token : undefined;
  // Reading the token from stdin keeps it out of shell history and process listings.
  if (token === undefined || token === '-') token = (await ctx.readStdin()).trim();
  if (!token) throw usageError('Pass the token with --token <token> or on stdin.');
  const projects = await connect(url, token).call(api.projects.list, {});
  const file = writeConfigFile({ url, token }, ctx.env);
  if (ctx.json) printJson(ctx, { url, config: file, projects: projects.projects.map((p) => p.slug) });
  else ctx.out(`Logged in to ${url}; ${projects.projects.length} project(s) visible. Saved to ${file}.\n`);
  return EXIT.ok;
}

// ── run, rerun, logs ─────────────────────────────────────────────────────────────────────────────────

export async function run(ctx: Context, positionals: string[], values: Values): Promise<ExitCode> {
  const target = positionals[0];
  const match = /^([^/\s]+)\/([^/\s]+)$/.exec(target ?? '');
  if (!match) throw usageError('Usage: bellows run <project>/<pipeline> [--ref <branch|tag|commit>] [--input k=v]... [--priority N] [--follow]');
  const [, project, pipeline] = match;
  const env = parsePairs(values.env as string[] | undefined, 'env');
  const body: TriggerRun = {
    inputs: parsePairs(values.input as string[] | undefined, 'input'),
    ...(typeof values.ref === 'string' ? { ref: values.ref } : {}),
    ...(typeof values.commit === 'string' ? { commitSha: values.commit } : {}),
    ...(Object.keys(env).length ? { env } : {}),
  };
  const priority = parsePriority(values.priority);
  if (priority !== undefined) body.priority = priority;
  const server = client(ctx);
  let created: RunDetail;
  try {
    created = await server.call(api.runs.trigger, { params: { slug: project, name: pipeline }, body });
  } catch (error) {
    if (error instanceof ApiRequestError && error.code === 'project_not_found') throw new CliError(`Project "${project}" does not exist.`);
    if (error instanceof ApiRequestError && error.code === 'pipeline_not_found') throw new CliError(`Pipeline "${pipeline}" does not exist in project "${project}".`);
    throw error;
  }
  if (!values.follow) {
    if (ctx.json) printJson(ctx, created);
    else ctx.out(`Run #${created.number} of ${project}/${pipeline} queued on ${where(created)}: id ${created.id} (bellows logs ${created.id} --follow).\n`);
    return EXIT.ok;
  }
  ctx.err(ctx.ce.dim(`Run #${created.number} of ${project}/${pipeline} (id ${created.id}) on ${where(created)}\n`));
  return follow(ctx, server, created.id);
}

/** `main`, or `main at 0123456789ab` when the run has a commit (a project with a repository resolves the ref to one). */
function where(run: { ref: string; commitSha: string | null }): string {
  return run.commitSha ? `${run.ref} at ${run.commitSha.slice(0, 12)}` : run.ref;
}

export async function rerun(ctx: Context, positionals: string[], values: Values): Promise<ExitCode> {
  const id = parseRunId(positionals[0]);
  const jobs = Array.isArray(values.job) ? values.job : [];
  if (jobs.length && values.failed) throw usageError('Pass either --job or --failed, not both: --job re-runs the jobs named, --failed the ones that did not succeed.');
  const server = client(ctx);
  let run: RunDetail;
  try {
    run = await server.call(api.runs.rerun, { params: { id }, body: jobs.length ? { jobs } : { failedOnly: values.failed === true } });
  } catch (error) {
    throw runError(error, id);
  }
  if (!values.follow) {
    if (ctx.json) printJson(ctx, run);
    else {
      const rerunJobs = run.attempts.find((attempt) => attempt.attempt === run.attempt)?.rerunJobs ?? null;
      const which = values.failed ? ' (failed jobs only)' : rerunJobs ? ` (${rerunJobs.join(', ')} and what needs them)` : '';
      ctx.out(`Run ${id} attempt ${run.attempt} queued${which}.\n`);
    }
    return EXIT.ok;
  }
  return follow(ctx, server, id);
}

/** `bellows approve|reject RUN [--job NAME] [--comment TEXT]`: decides the run's approval gate. */
export async function decide(ctx: Context, decision: 'approve' | 'reject', positionals: string[], values: Values): Promise<ExitCode> {
  const id = parseRunId(positionals[0]);
  const server = client(ctx);
  const run = await loadRun(server, id);
  const wanted = typeof values.job === 'string' ? values.job : null;
  const gates = run.jobs.filter((job) => job.kind === 'approval' && (wanted === null || job.key === wanted || job.name === wanted));
  const waiting = gates.filter((job) => job.status === 'awaiting_approval');
  if (wanted !== null && gates.length === 0) {
    const names = run.jobs.filter((job) => job.kind === 'approval').map((job) => job.name);
    throw new CliError(`Run ${id} has no approval job named "${wanted}"${names.length ? ` (its approval jobs: ${names.join(', ')})` : ''}.`);
  }
  if (waiting.length === 0) {
    throw new CliError(gates.length ? `${gates.map((job) => `${job.name} is ${job.status}`).join('; ')}: nothing in run ${id} awaits approval.` : `Run ${id} has no job awaiting approval.`);
  }
  if (waiting.length > 1) throw usageError(`Run ${id} has ${waiting.length} jobs awaiting approval (${waiting.map((job) => job.name).join(', ')}); name one with --job.`);
  const comment = typeof values.comment === 'string' ? values.comment : undefined;
  const job = await server.call(decision === 'approve' ? api.jobs.approve : api.jobs.reject, { params: { id: waiting[0].id }, body: comment ? { comment } : {} });
  if (ctx.json) printJson(ctx, job);
  else ctx.out(`${job.name} of run ${id} ${decision === 'approve' ? 'approved' : 'rejected'}${comment ? `: ${comment}` : ''}.\n`);
  return EXIT.ok;
}

export async function logs(ctx: Context, positionals: string[], values: Values): Promise<ExitCode> {
  const id = parseRunId(positionals[0]);
  const server = client(ctx);
  await loadRun(server, id);
  if (values.follow) return follow(ctx, server, id);
  await printRunLogs({ client: server, runId: id, write: ctx.out, colours: ctx.c, follow: false });
  return EXIT.ok;
}

/** Streams the run's logs until it ends; the exit code is the run's outcome. */
async function follow(ctx: Context, server: ApiClient, id: number): Promise<ExitCode> {
  // With --json, stdout carries only the final run; the log goes to stderr.
  const write = ctx.json ? ctx.err : ctx.out;
  let finished: RunDetail;
  try {
    finished = await printRunLogs({ client: server, runId: id, write, colours: ctx.json ? ctx.ce : ctx.c, follow: true, signal: ctx.signal });
  } catch (error) {
    if (ctx.signal.aborted) {
      ctx.err(`\nStopped following run ${id}; it goes on on the server (bellows cancel ${id} stops it).\n`);
      return EXIT.cancelled;
    }
    throw runError(error, id);
  }
  if (ctx.json) printJson(ctx, finished);
  const paint = statusColour(ctx.ce, finished.status);
  ctx.err(paint(`Run #${finished.number} of ${finished.project}/${finished.pipeline} (id ${id}) ${finished.status} in ${formatDuration(finished.durationMs)}.`) + '\n');
  return exitCodeFor(finished.status);
}

// ── branches ─────────────────────────────────────────────────────────────────────────────────────────

export async function branches(ctx: Context, positionals: string[]): Promise<ExitCode> {
  const [project, extra] = positionals;
  if (!project || extra !== undefined) throw usageError('Usage: bellows branches <project>');
  if (project.includes('/')) throw usageError(`"${project}" is not a project slug; name the project alone, e.g. \`bellows branches ${project.split('/')[0]}\`.`);
  let list: RouteResponse<typeof api.repositories.branches>;
  try {
    list = await client(ctx).call(api.repositories.branches, { params: { slug: project } });
  } catch (error) {
    if (error instanceof ApiRequestError && error.code === 'project_not_found') throw new CliError(`Project "${project}" does not exist.`);
    if (error instanceof ApiRequestError && error.code === 'no_repository') {
      throw new CliError(`Project "${project}" has no repository; set one with PATCH /api/v1/projects/${project} {"repository": {"url": "…"}}.`);
    }
    throw error;
  }
  if (ctx.json) {
    printJson(ctx, { project, ...list });
    return EXIT.ok;
  }
  if (list.branches.length === 0) {
    ctx.out(`The repository of project "${project}" has no branches (is it empty?).\n`);
    return EXIT.ok;
  }
  const c = ctx.c;
  // Like `git branch`: the default branch is marked with "*".
  ctx.out(
    table(
      list.branches.map((branch) => {
        const isDefault = branch.name === list.defaultBranch;
        return [isDefault ? c.green(`* ${branch.name}`) : `  ${branch.name}`, branch.commitSha.slice(0, 12)];
      }),
      ['  BRANCH', 'COMMIT'],
    ),
  );
  return EXIT.ok;
}

// ── runs, cancel ─────────────────────────────────────────────────────────────────────────────────────

export async function runs(ctx: Context, _positionals: string[], values: Values): Promise<ExitCode> {
  const query: Record<string, string> = {};
  for (const key of ['project', 'pipeline', 'status', 'limit'] as const) {
    const value = values[key];
    if (typeof value === 'string') query[key] = value;
  }
  const page = await client(ctx).call(api.runs.list, { query });
  if (ctx.json) {
    printJson(ctx, page);
    return EXIT.ok;
  }
  if (page.runs.length === 0) {
    ctx.out('No runs.\n');
    return EXIT.ok;
  }
  const c = ctx.c;
  ctx.out(
    table(
      page.runs.map((r) => [
        String(r.id),
        `${r.project}/${r.pipeline}#${r.number}`,
        r.ref,
        statusColour(c, r.status)(r.reason ? `${r.status} (${r.reason})` : r.status),
        triggerText(r.trigger),
        formatDuration(r.durationMs),
        when(r.createdAt),
      ]),
      ['ID', 'RUN', 'REF', 'STATUS', 'TRIGGER', 'DURATION', 'CREATED'],
    ),
  );
  return EXIT.ok;
}

// ── queue ────────────────────────────────────────────────────────────────────────────────────────────

/** The queue in claim order, then what policies hold back, each with why it waits. */
export async function queue(ctx: Context): Promise<ExitCode> {
  const page = await client(ctx).call(api.queue.list, { query: {} });
  if (ctx.json) {
    printJson(ctx, page);
    return EXIT.ok;
  }
  const c = ctx.c;
  const run = (job: { project: string; pipeline: string; runNumber: number }) => `${job.project}/${job.pipeline}#${job.runNumber}`;
  if (page.jobs.length === 0) ctx.out('The queue is empty.\n');
  else {
    ctx.out(table(page.jobs.map((job) => [String(job.position), job.name, run(job), String(job.priority), job.waitingBecause ?? 'an idle agent takes it next']), ['#', 'JOB', 'RUN', 'PRIORITY', 'WAITING BECAUSE']));
    if (page.total > page.jobs.length) ctx.out(c.dim(`${page.total - page.jobs.length} more queued.`) + '\n');
  }
  if (page.heldTotal > 0) {
    ctx.out(`\nHeld back (${page.heldTotal}):\n`);
    ctx.out(table(page.held.map((job) => [String(job.id), job.name, run(job), job.waitingBecause]), ['JOB ID', 'JOB', 'RUN', 'WAITING BECAUSE']));
  }
  return EXIT.ok;
}

function triggerText(trigger: RunSummary['trigger']): string {
  if (trigger === null) return '';
  if (trigger.kind === 'webhook') return `webhook ${trigger.event ?? ''}`.trim();
  if (trigger.kind === 'schedule') return 'schedule';
  return [trigger.kind, trigger.actor].filter(Boolean).join(' ');
}

export async function cancel(ctx: Context, positionals: string[]): Promise<ExitCode> {
  if (positionals.length === 0) throw usageError('Usage: bellows cancel <run> [<run>...]');
  const ids = positionals.map(parseRunId);
  const server = client(ctx);
  const cancelled: number[] = [];
  const failed: { id: number; message: string }[] = [];
  for (const id of ids) {
    try {
      await server.call(api.runs.cancel, { params: { id } });
      cancelled.push(id);
      if (!ctx.json) ctx.out(`Run ${id} cancelled.\n`);
    } catch (error) {
      const mapped = runError(error, id);
      if (!(mapped instanceof ApiRequestError || mapped instanceof CliError) || (mapped as CliError).exitCode === EXIT.unreachable) throw mapped;
      failed.push({ id, message: mapped.message });
      if (!ctx.json) ctx.err(`${mapped.message}\n`);
    }
  }
  if (ctx.json) printJson(ctx, { cancelled, failed });
  return failed.length ? EXIT.failed : EXIT.ok;
}

// ── artifacts ────────────────────────────────────────────────────────────────────────────────────────

/** The artifacts of the run's current attempt (a carried-over job's come from the attempt that ran it), last try each. */
async function currentArtifacts(server: ApiClient, run: RunDetail): Promise<{ artifact: Artifact; fileName: string }[]> {
  const all: Artifact[] = [];
  let cursor: string | null = null;
  do {
    const page: RouteResponse<typeof api.artifacts.list> = await server.call(api.artifacts.list, { query: { runId: String(run.id), limit: '200', cursor: cursor ?? undefined } });
    all.push(...page.artifacts);
    cursor = page.nextCursor;
  } while (cursor);
  const jobNames = new Map(run.jobs.map((job) => [job.carriedFromJobId ?? job.id, job.name]));
  const latest = new Map<string, Artifact>();
  for (const artifact of all) {
    if (!jobNames.has(artifact.jobId)) continue;
    const key = `${artifact.jobId}\u0000${artifact.name}`;
    const seen = latest.get(key);
    if (!seen || (artifact.try ?? 0) > (seen.try ?? 0)) latest.set(key, artifact);
  }
  const chosen = [...latest.values()].sort((a, b) => a.jobId - b.jobId || a.name.localeCompare(b.name));
  const counts = new Map<string, number>();
  for (const artifact of chosen) counts.set(artifact.name, (counts.get(artifact.name) ?? 0) + 1);
  // Matrix jobs often upload the same name; those land in one directory per job.
  return chosen.map((artifact) => ({
    artifact,
    fileName: (counts.get(artifact.name) ?? 0) > 1 ? `${safeDirName(jobNames.get(artifact.jobId) ?? String(artifact.jobId))}/${artifact.name}` : artifact.name,
  }));
}

function safeDirName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '') || 'job';
}

export async function artifacts(ctx: Context, positionals: string[], values: Values): Promise<ExitCode> {
  const id = parseRunId(positionals[0]);
  const server = client(ctx);
  const run = await loadRun(server, id);
  const items = await currentArtifacts(server, run);
  const dir = typeof values.download === 'string' ? resolve(values.download) : null;
  if (dir === null) {
    if (ctx.json) printJson(ctx, items.map(({ artifact }) => artifact));
    else if (items.length === 0) ctx.out(`Run ${id} has no artifacts.\n`);
    else ctx.out(table(items.map(({ artifact, fileName }) => [fileName, formatBytes(artifact.size), artifact.sha256]), ['NAME', 'SIZE', 'SHA256']));
    return EXIT.ok;
  }
  const downloaded: DownloadResult[] = [];
  for (const { artifact, fileName } of items) {
    // The bar redraws one stderr line, only on a terminal; logs and pipes get one line per file.
    const progress = ctx.stderrIsTty && !ctx.json ? (line: string) => ctx.err(`\r\u001b[2K${line}`) : null;
    const result = await downloadArtifact(server, artifact, dir, fileName, progress);
    if (progress) ctx.err('\n');
    downloaded.push(result);
    if (!ctx.json) ctx.out(`${ctx.c.green('✓')} ${fileName}  ${formatBytes(result.size)}  sha256 ${result.sha256.slice(0, 12)}… verified\n`);
  }
  if (ctx.json) printJson(ctx, downloaded);
  else ctx.out(`${downloaded.length} artifact(s) of run ${id} saved to ${dir}.\n`);
  return EXIT.ok;
}

// ── outputs ──────────────────────────────────────────────────────────────────────────────────────────

/** Each job's outputs in the run's current attempt (a carried-over job shows the ones it copied). */
export async function outputs(ctx: Context, positionals: string[]): Promise<ExitCode> {
  const id = parseRunId(positionals[0]);
  const run = await loadRun(client(ctx), id);
  if (ctx.json) {
    printJson(ctx, Object.fromEntries(run.jobs.map((job) => [job.key, job.outputs])));
    return EXIT.ok;
  }
  // By name within each job: jsonb keeps no order of its own.
  const rows = run.jobs.flatMap((job) =>
    Object.entries(job.outputs)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, value]) => [job.key, key, oneLine(value)]),
  );
  if (rows.length === 0) ctx.out(`No job of run ${id} wrote outputs.\n`);
  else ctx.out(table(rows, ['JOB', 'OUTPUT', 'VALUE']));
  return EXIT.ok;
}

// A multi-line value would break the table: its newlines show as \n (--json has the value as is).
function oneLine(value: string): string {
  return value.replaceAll('\r', '\\r').replaceAll('\n', '\\n');
}

// ── pipeline push ────────────────────────────────────────────────────────────────────────────────────

export async function pipelinePush(ctx: Context, positionals: string[], values: Values): Promise<ExitCode> {
  const [project, file] = positionals;
  if (!project || !file) throw usageError('Usage: bellows pipeline push <project> <file.act|file.sh> [--name <pipeline>] [--label k=v]... [--priority N]');
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(`Cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message}.`);
  }
  const extension = extname(file).toLowerCase();
  const name = typeof values.name === 'string' ? values.name : basename(file, extname(file));
  const body: PutPipeline = { content };
  if (extension === '.act') body.kind = 'act';
  else if (extension === '.sh' || extension === '.bash') body.kind = 'script';
  const labels = (values.label as string[] | undefined) ?? [];
  if (labels.length) body.labels = labels;
  const priority = parsePriority(values.priority);
  if (priority !== undefined) body.priority = priority;
  let result: RouteResponse<typeof api.pipelines.put>;
  try {
    result = await client(ctx).call(api.pipelines.put, { params: { slug: project, name }, body });
  } catch (error) {
    if (error instanceof ApiRequestError && error.code === 'project_not_found') throw new CliError(`Project "${project}" does not exist.`);
    throw error;
  }
  if (ctx.json) printJson(ctx, { project, ...result });
  else ctx.out(`Pushed ${project}/${result.name} version ${result.version} (${result.kind}, sha256 ${result.sha256.slice(0, 12)}…).\n`);
  return EXIT.ok;
}
