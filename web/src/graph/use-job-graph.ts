// The graph of an `.act` job with its live node states (`job.nodes` events in the job room).
import { useCallback, useEffect, useState } from 'react';
import { api, ApiError } from '../api/client';
import type { JobGraph, JobStatus } from '../api/types';
import { errorMessage } from '../components/use-async';
import { useConnectionState, useLive } from '../live/hooks';

export type GraphState = { graph: JobGraph | null; notAGraph: boolean; error: string | null };

export function useJobGraph(jobId: number, jobStatus: JobStatus): GraphState {
  const live = useLive();
  const connection = useConnectionState();
  const [graph, setGraph] = useState<JobGraph | null>(null);
  const [notAGraph, setNotAGraph] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    api<JobGraph>(`jobs/${jobId}/graph`).then(
      (value) => {
        setGraph(value);
        setError(null);
      },
      (failure: unknown) => {
        if (failure instanceof ApiError && failure.status === 404) setNotAGraph(true);
        else setError(errorMessage(failure));
      },
    );
  }, [jobId]);

  useEffect(() => {
    setGraph(null);
    setNotAGraph(false);
    load();
  }, [load]);

  // Status changes (start, end) change every node's final mark: read it again.
  useEffect(() => {
    if (jobStatus !== 'waiting' && jobStatus !== 'queued') load();
  }, [jobStatus, load]);

  useEffect(() => {
    if (notAGraph) return;
    const offs = [
      live.subscribe(`job:${jobId}`),
      live.on('job.nodes', (event) => {
        if (event.jobId !== jobId) return;
        setGraph((current) => (current ? { ...current, activeNodes: event.activeNodes, nodeStates: { ...current.nodeStates, ...event.nodeStates } } : current));
      }),
      live.onSubscribed((room) => {
        if (room === `job:${jobId}`) load();
      }),
    ];
    return () => offs.forEach((off) => off());
  }, [live, jobId, notAGraph, load]);

  // Without live events, poll while the job runs.
  useEffect(() => {
    if (notAGraph || jobStatus !== 'running') return;
    if (connection === 'connected') return;
    const timer = setInterval(load, 1500);
    return () => clearInterval(timer);
  }, [connection, notAGraph, jobStatus, load]);

  return { graph, notAGraph, error };
}
