import { api } from '../contract';
import { isTerminalJob, type Job } from '../contract/jobs.contract';
import { isTerminal, type RunDetail } from '../contract/runs.contract';
import type { ApiClient } from './api-client';
import { statusColour, type Colours } from './cli-output';

export type FollowOptions = {
  client: ApiClient;
  runId: number;
  /** Where job output goes (stdout, or stderr when stdout carries --json). */
  write: (text: string) => void;
  colours: Colours;
  /** Keep polling until the run ends; false prints what is stored and returns. */
  follow: boolean;
  intervalMs?: number;
  signal?: AbortSignal;
};

const PAGE = 1000;

/**
 * Prints the logs of the run's current attempt, job by job as output arrives, with a header whenever the
 * output switches job and a line when a job ends. Polls `GET /jobs/{id}/logs?after=` (the server keeps every
 * chunk, numbered), so nothing is missed or printed twice, and returns the run as it ended.
 */
export async function printRunLogs(options: FollowOptions): Promise<RunDetail> {
  const { client, runId, write, colours: c } = options;
  const after = new Map<number, number>();
  const reported = new Set<number>();
  /** `jobId:try` of each failed try already announced as being retried. */
  const retriesAnnounced = new Set<string>();
  /** Concurrency waits already told, by their sentence (a new holder is a new sentence). */
  const waitsAnnounced = new Set<string>();
  const announceWait = (sentence: string | null | undefined) => {
    if (!sentence || waitsAnnounced.has(sentence)) return;
    waitsAnnounced.add(sentence);
    if (lineOpen) write('\n');
    lineOpen = false;
    write(c.yellow(`⏸ ${sentence}`) + '\n');
    current = null;
  };
  let current: number | null = null;
  let attempt: number | null = null;
  let lineOpen = false;

  const header = (job: Job) => {
    if (lineOpen) write('\n');
    lineOpen = false;
    write(c.bold(c.cyan(`── ${job.name} ──`)) + '\n');
    current = job.id;
  };

  for (;;) {
    // The run is read before the logs: once it has ended, one more pass over the logs has everything.
    const run = await client.call(api.runs.get, { params: { id: runId } });
    if (attempt !== null && run.attempt !== attempt) {
      write(c.bold(`\n── attempt ${run.attempt} ──\n`));
      after.clear();
      reported.clear();
      current = null;
    }
    attempt = run.attempt;
    announceWait(run.concurrency?.waitingBecause);
    for (const job of run.jobs) {
      if (job.status === 'waiting') announceWait(job.concurrency?.waitingBecause);
      if (job.carriedFromJobId !== null) {
        if (!reported.has(job.id)) {
          reported.add(job.id);
          write(c.dim(`── ${job.name}: ${job.status}, carried over from an earlier attempt ──\n`));
        }
        continue;
      }
      for (;;) {
        const page = await client.call(api.jobs.logs, { params: { id: job.id }, query: { after: String(after.get(job.id) ?? 0), limit: String(PAGE) } });
        if (page.chunks.length) {
          if (current !== job.id) header(job);
          for (const chunk of page.chunks) write(chunk.text);
          lineOpen = !page.chunks[page.chunks.length - 1].text.endsWith('\n');
          after.set(job.id, page.nextSeq);
        }
        if (page.chunks.length < PAGE) break;
      }
      if (job.reason === 'retry_backoff' && !retriesAnnounced.has(`${job.id}:${job.try}`)) {
        retriesAnnounced.add(`${job.id}:${job.try}`);
        if (lineOpen) write('\n');
        lineOpen = false;
        const failed = job.exitCode !== null ? ` (exit ${job.exitCode})` : '';
        const at = job.retryAt ? ` at ${new Date(job.retryAt).toLocaleTimeString()}` : '';
        write(c.yellow(`↻ ${job.name}: try ${job.try} failed${failed}; retrying as try ${job.try + 1} of ${job.maxTries}${at}`) + '\n');
        current = null;
      }
      if (isTerminalJob(job.status)) {
        if (!reported.has(job.id)) {
          reported.add(job.id);
          if (lineOpen) write('\n');
          lineOpen = false;
          const detail = job.exitCode !== null ? ` (exit ${job.exitCode})` : job.reason ? ` (${job.reason})` : '';
          write(statusColour(c, job.status)(`${job.status === 'succeeded' ? '✓' : '✗'} ${job.name} ${job.status}${detail}`) + '\n');
          current = null;
        }
      }
    }
    if (!options.follow || isTerminal(run.status)) return run;
    await sleep(options.intervalMs ?? 700, options.signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    }, { once: true });
  });
}
