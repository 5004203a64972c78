import { sleep } from '../scripts/process-utils';
import type { BenchStack } from './bench-stack';

export type Deferred<T> = { promise: Promise<T>; resolve: (value: T) => void; reject: (error: Error) => void };

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A sample that times out is rejected while nobody awaits it any more; that is not a crash.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Rejects after `ms` or on abort (Ctrl-C), so a lost job cannot hang the bench. */
export async function within<T>(promise: Promise<T>, ms: number, what: string, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
        onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

export async function createProject(stack: BenchStack, slug: string): Promise<void> {
  const response = await stack.request('POST', '/api/v1/projects', { body: { slug, name: `Bench ${slug}` } });
  if (response.status >= 300) throw new Error(`creating project ${slug} failed: ${response.status} ${JSON.stringify(response.body)}`);
}

export async function putPipeline(stack: BenchStack, project: string, name: string, labels: string[]): Promise<void> {
  const response = await stack.request('PUT', `/api/v1/projects/${project}/pipelines/${name}`, { body: { content: 'true', labels } });
  if (response.status >= 300) throw new Error(`saving pipeline ${name} failed: ${response.status} ${JSON.stringify(response.body)}`);
}

export async function triggerRun(stack: BenchStack, project: string, pipeline: string): Promise<number> {
  const response = await stack.request<{ id: number }>('POST', `/api/v1/projects/${project}/pipelines/${pipeline}/runs`, { body: {} });
  if (response.status !== 201) throw new Error(`triggering ${pipeline} failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.id;
}

/**
 * Waits for the run to end by reading Postgres directly: polling the REST API every few ms would put
 * load on the very process being measured.
 */
export async function waitRunFinished(stack: BenchStack, runId: number, signal: AbortSignal, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal.throwIfAborted();
    const [row] = await stack.sql<{ status: string }[]>`select status from runs where id = ${runId}`;
    if (row && ['succeeded', 'failed', 'cancelled'].includes(row.status)) return row.status;
    if (Date.now() > deadline) throw new Error(`run ${runId} did not finish within ${timeoutMs} ms (status ${row?.status})`);
    await sleep(20);
  }
}
