// The graph of an `.act` job with its live node states (`job.nodes` events in the job room).
import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from '../api/client';
import type { JobGraph, JobStatus } from '../api/types';
import { errorMessage } from '../components/use-async';
import { useConnectionState, useLive } from '../live/hooks';

export type GraphState = { graph: JobGraph | null; notAGraph: boolean; error: string | null };

/** Only `.act` jobs have a graph; for a script job nothing is asked. */
export function useJobGraph(jobId: number, jobStatus: JobStatus, kind: 'act' | 'script'): GraphState {
  const live = useLive();
  const connection = useConnectionState();
  const isScript = useCallback(() => kind !== 'act', [kind]);
  const [graph, setGraph] = useState<JobGraph | null>(null);
  const [notAGraph, setNotAGraph] = useState(isScript);
  const [error, setError] = useState<string | null>(null);
  const inFlight = useRef(false);
  const again = useRef(false);
  const loaded = useRef(false);

  // Single flight: the mount, the live subscription and a status change often ask at the same moment.
  const load = useCallback(() => {
    if (isScript()) return;
    if (inFlight.current) {
      again.current = true;
      return;
    }
    inFlight.current = true;
    again.current = false;
    api<JobGraph>(`jobs/${jobId}/graph`)
      .then(
        (value) => {
          loaded.current = true;
          setGraph(value);
          setError(null);
        },
        (failure: unknown) => setError(errorMessage(failure)),
      )
      .finally(() => {
        inFlight.current = false;
        if (again.current) load();
      });
  }, [jobId, isScript]);

  useEffect(() => {
    loaded.current = false;
    setGraph(null);
    setNotAGraph(isScript());
    load();
  }, [load, isScript]);

  // Status changes (start, end) change every node's final mark: read it again. The status at mount
  // was just read above.
  const seenStatus = useRef(jobStatus);
  useEffect(() => {
    if (seenStatus.current === jobStatus) return;
    seenStatus.current = jobStatus;
    if (jobStatus !== 'waiting' && jobStatus !== 'queued') load();
  }, [jobStatus, load]);

  useEffect(() => {
    if (notAGraph) return;
    const offs = [
      live.subscribe(`job:${jobId}`),
      live.on('job.nodes', (event) => {
        if (event.jobId !== jobId) return;
        setGraph((current) => (current ? { ...current, activeNodes: event.activeNodes, nodeStates: { ...current.nodeStates, ...event.nodeStates } } : current));
        // A read still in flight (or none finished yet) may predate this event and would overwrite or
        // miss it: read once more after it, so the view never sticks on a state older than an event.
        if (inFlight.current || !loaded.current) load();
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
