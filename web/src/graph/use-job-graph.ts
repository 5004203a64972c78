// The graph of an `.act` job with its live node states: `job.nodes` events in the job room write them
// into the cached graph (live/cache-sync.ts), and reread it when a read in flight may predate them.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { errorText } from '../api/client';
import { keys, queries, rereadQueries } from '../api/queries';
import type { JobGraph, JobKind, JobStatus } from '../api/wire';
import { useLiveRooms } from '../live/hooks';

export type GraphState = { graph: JobGraph | null; notAGraph: boolean; error: string | null };

/** Only `.act` jobs have a graph; for a script job nothing is asked. */
export function useJobGraph(jobId: number, jobStatus: JobStatus, kind: JobKind): GraphState {
  const notAGraph = kind !== 'act';
  const queryClient = useQueryClient();
  const graph = useQuery({ ...queries.jobGraph(jobId), enabled: !notAGraph });
  // Without live events, poll while the job runs.
  useLiveRooms(notAGraph ? [] : [`job:${jobId}`], jobStatus === 'running' ? 1500 : 0);

  // Status changes (start, end) change every node's final mark: read it again (however the status
  // arrived: an event or a poll of the run). The status at mount was just read.
  const seenStatus = useRef(jobStatus);
  useEffect(() => {
    if (seenStatus.current === jobStatus) return;
    seenStatus.current = jobStatus;
    if (!notAGraph && jobStatus !== 'waiting' && jobStatus !== 'queued') void rereadQueries(queryClient, keys.jobGraph(jobId));
  }, [jobStatus, jobId, notAGraph, queryClient]);

  return { graph: graph.data ?? null, notAGraph, error: errorText(graph.error) };
}
