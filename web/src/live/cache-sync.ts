// Live events keep the query cache current: an event that carries the new state writes it into the
// cached answers (setQueryData), one that only says something changed invalidates the queries it
// touches; TanStack Query refetches those in use, and a refetch replaces one still in flight, so an
// answer older than an event never overwrites it.
import type { QueryClient, QueryKey } from '@tanstack/react-query';
import { keys, rereadQueries } from '../api/queries';
import type { JobGraph, LiveRoom, RunDetail } from '../api/wire';
import type { LiveClient } from './live-client';

/** What a room's events may change: read again after every (re)subscription and while polling. */
function keysOfRoom(room: LiveRoom): QueryKey[] {
  if (room === 'runs') return [keys.runs];
  if (room === 'queue') return [keys.queue, keys.runningJobs];
  if (room === 'agents') return [keys.agents];
  if (room === 'artifacts') return [keys.artifacts];
  const [kind, id] = room.split(':');
  return kind === 'run' ? [keys.run(Number(id)), keys.artifacts] : [keys.jobGraph(Number(id))];
}

/**
 * Maps every live event onto `queryClient`'s cache until the returned function is called. Events only
 * arrive for the rooms some page joined (useLiveRooms).
 */
export function syncCache(live: Pick<LiveClient, 'on' | 'onSubscribed'>, queryClient: QueryClient): () => void {
  // Coalesced: a burst of events (a run starting its jobs) costs one refetch per query.
  const due = new Map<string, QueryKey>();
  let timer: ReturnType<typeof setTimeout> | null = null;
  const invalidate = (...queryKeys: QueryKey[]) => {
    for (const key of queryKeys) due.set(JSON.stringify(key), key);
    timer ??= setTimeout(() => {
      timer = null;
      const batch = [...due.values()];
      due.clear();
      for (const queryKey of batch) void rereadQueries(queryClient, queryKey);
    }, 150);
  };
  const offs = [
    live.on('run.updated', (event) => {
      queryClient.setQueryData<RunDetail>(keys.run(event.runId), (run) => (run && run.attempt === event.attempt ? { ...run, status: event.status } : run));
      invalidate(keys.runs);
    }),
    live.on('job.updated', (event) => {
      const patch = <J extends { id: number }>(job: J): J =>
        job.id === event.jobId ? { ...job, status: event.status, try: event.try, agent: event.agent, exitCode: event.exitCode, reason: event.reason } : job;
      queryClient.setQueryData<RunDetail>(keys.run(event.runId), (run) =>
        run ? { ...run, jobs: run.jobs.map(patch), attempts: run.attempts.map((attempt) => ({ ...attempt, jobs: attempt.jobs.map(patch) })) } : run,
      );
      invalidate(keys.run(event.runId), keys.runningJobs);
      // A start or an end changes every node's final mark.
      if (event.status !== 'waiting' && event.status !== 'queued') invalidate(keys.jobGraph(event.jobId));
    }),
    live.on('job.nodes', (event) => {
      const key = keys.jobGraph(event.jobId);
      queryClient.setQueryData<JobGraph>(key, (graph) => (graph ? { ...graph, activeNodes: event.activeNodes, nodeStates: { ...graph.nodeStates, ...event.nodeStates } } : graph));
      // A read still in flight (or none finished yet) may predate this event: ask again at once (it
      // replaces the one in flight), so the view never sticks on a state older than an event.
      const state = queryClient.getQueryState(key);
      if (state && (state.fetchStatus === 'fetching' || state.data === undefined)) void rereadQueries(queryClient, key);
    }),
    live.on('queue.changed', () => invalidate(keys.queue, keys.runningJobs)),
    live.on('agent.updated', () => invalidate(keys.agents, keys.queue)),
    live.on('artifact.created', () => invalidate(keys.artifacts)),
    live.onSubscribed((room) => invalidate(...keysOfRoom(room))),
  ];
  return () => {
    if (timer) clearTimeout(timer);
    for (const off of offs) off();
  };
}

/** Reads again what `rooms` show (polling while the live connection is down). */
export function refetchRooms(queryClient: QueryClient, rooms: LiveRoom[]): void {
  for (const room of rooms) for (const queryKey of keysOfRoom(room)) void rereadQueries(queryClient, queryKey);
}
