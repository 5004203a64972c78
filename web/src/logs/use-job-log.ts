// Streams one job's log: REST pages first, then the `job:<id>` room with afterSeq = the last seq held.
// Every (re)subscription asks again from the last seq held, chunks at or below it are dropped (no
// duplicates), and a chunk beyond the next expected seq triggers a REST catch-up (no gaps).
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, client, errorMessage } from '../api/client';
import type { JobStatus, LogChunk } from '../api/wire';
import { useConnectionState, useLive } from '../live/hooks';
import { chunkLines, type LogLine } from './log-lines';

const PAGE = 5000;
const TERMINAL: JobStatus[] = ['succeeded', 'failed', 'cancelled', 'skipped'];

export type JobLog = {
  lines: LogLine[];
  /** Bumps on every append; use it as a render dependency. */
  version: number;
  lastSeq: number;
  complete: boolean;
  loading: boolean;
  error: string | null;
};

export function useJobLog(jobId: number, jobStatus: JobStatus): JobLog {
  const live = useLive();
  const connection = useConnectionState();
  const lines = useRef<LogLine[]>([]);
  const lastSeq = useRef(0);
  const pending = useRef(new Map<number, LogChunk>());
  const fetching = useRef<Promise<void> | null>(null);
  const again = useRef(false);
  const frame = useRef<number | null>(null);
  const [version, setVersion] = useState(0);
  const [complete, setComplete] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const ended = TERMINAL.includes(jobStatus);

  const append = useCallback((chunks: LogChunk[]): boolean => {
    let added = false;
    for (const chunk of chunks) {
      if (chunk.seq <= lastSeq.current) continue;
      if (chunk.seq !== lastSeq.current + 1) {
        pending.current.set(chunk.seq, chunk);
        continue;
      }
      lines.current.push(...chunkLines(chunk));
      lastSeq.current = chunk.seq;
      added = true;
    }
    // Buffered chunks that now follow on directly.
    for (let next = pending.current.get(lastSeq.current + 1); next; next = pending.current.get(lastSeq.current + 1)) {
      pending.current.delete(next.seq);
      lines.current.push(...chunkLines(next));
      lastSeq.current = next.seq;
      added = true;
    }
    for (const seq of pending.current.keys()) if (seq <= lastSeq.current) pending.current.delete(seq);
    // One render per animation frame however many chunks arrive (a 100k-line replay stays smooth).
    if (added && frame.current === null) {
      frame.current = requestAnimationFrame(() => {
        frame.current = null;
        setVersion((v) => v + 1);
      });
    }
    return pending.current.size > 0;
  }, []);

  /** Reads every stored chunk after the last seq held (single flight; a request during a fetch runs once more after it). */
  const catchUp = useCallback((): Promise<void> => {
    if (fetching.current) {
      again.current = true;
      return fetching.current;
    }
    const run = async () => {
      do {
        again.current = false;
        for (;;) {
          const after = lastSeq.current;
          const page = await client.call(api.jobs.logs, { params: { id: jobId }, query: { after: String(after), limit: String(PAGE) } });
          // Live chunks may have moved lastSeq on while this page was in flight: append() drops what
          // it already holds. Only a hole in storage itself (first seq beyond after + 1) is skipped over.
          const first = page.chunks[0]?.seq;
          if (first !== undefined && first > after + 1 && first > lastSeq.current + 1) lastSeq.current = first - 1;
          append(page.chunks);
          if (page.complete) setComplete(true);
          if (page.chunks.length < PAGE) break;
        }
      } while (again.current);
    };
    fetching.current = run()
      .then(() => setError(null))
      .catch((failure: unknown) => setError(errorMessage(failure)))
      .finally(() => {
        fetching.current = null;
        setLoading(false);
      });
    return fetching.current;
  }, [jobId, append]);

  useEffect(
    () => () => {
      if (frame.current !== null) cancelAnimationFrame(frame.current);
      frame.current = null;
    },
    [],
  );

  // Reset for another job.
  useEffect(() => {
    lines.current = [];
    lastSeq.current = 0;
    pending.current.clear();
    setVersion((v) => v + 1);
    setComplete(false);
    setLoading(true);
    setError(null);
  }, [jobId]);

  // REST first, then live from the last seq held (re-read at every reconnect by the live client).
  useEffect(() => {
    let unsubscribe: (() => void) | null = null;
    let cancelled = false;
    const offChunks = live.on('log.chunks', (event) => {
      if (event.jobId !== jobId) return;
      if (append(event.chunks)) void catchUp();
    });
    void catchUp().then(() => {
      if (!cancelled) unsubscribe = live.subscribe(`job:${jobId}`, () => lastSeq.current);
    });
    return () => {
      cancelled = true;
      offChunks();
      unsubscribe?.();
    };
  }, [live, jobId, append, catchUp]);

  // The job ended: read what is left (the final chunks may land right before the status).
  useEffect(() => {
    if (ended) void catchUp();
  }, [ended, catchUp]);

  // Without a live connection, poll until the log is complete.
  useEffect(() => {
    if (connection === 'connected' || complete) return;
    const timer = setInterval(() => void catchUp(), 1500);
    return () => clearInterval(timer);
  }, [connection, complete, catchUp]);

  return { lines: lines.current, version, lastSeq: lastSeq.current, complete, loading, error };
}
