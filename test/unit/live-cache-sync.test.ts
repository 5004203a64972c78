// Live events and the query cache (web/src/live/cache-sync.ts): an answer asked before an event never
// overwrites what the event said. Fails with a plain invalidateQueries, which waits for a first read
// in flight instead of asking again.
import { QueryClient, QueryObserver } from '@tanstack/react-query';
import { describe, expect, it, vi } from 'vitest';
import { keys } from '../../web/src/api/queries';
import type { LiveRoom } from '../../web/src/api/wire';
import { syncCache } from '../../web/src/live/cache-sync';

type Handler = (event: never) => void;

function fakeLive() {
  const handlers = new Map<string, Handler>();
  const subscribed = new Set<(room: LiveRoom) => void>();
  const live = {
    on: (name: string, handler: Handler) => (handlers.set(name, handler), () => handlers.delete(name)),
    onSubscribed: (listener: (room: LiveRoom) => void) => (subscribed.add(listener), () => subscribed.delete(listener)),
  };
  const emit = (name: string, event: unknown) => handlers.get(name)!(event as never);
  /** The server acknowledged a (re)subscription to `room`. */
  const confirm = (room: LiveRoom) => subscribed.forEach((listener) => listener(room));
  return { live, emit, confirm };
}

/** A server whose answers the test releases one by one; each answer is the state when it was asked. */
function heldServer<T>(initial: T) {
  let state = initial;
  const held: (() => void)[] = [];
  return {
    set: (next: T) => (state = next),
    read: () => {
      const snapshot = structuredClone(state);
      return new Promise<T>((resolve) => held.push(() => resolve(snapshot)));
    },
    asked: () => held.length,
    answer: (index: number) => held[index](),
  };
}

describe('live events and the query cache', () => {
  for (const first of [true, false]) {
    it(`job.nodes during ${first ? 'the first read' : 'a refetch'} of the graph: the graph ends with the event's states`, async () => {
      const queryClient = new QueryClient();
      const { live, emit } = fakeLive();
      const stop = syncCache(live, queryClient);
      const server = heldServer({ jobId: 1, status: 'running', graph: null, activeNodes: ['a'], nodeStates: { a: 'running' } as Record<string, string> });
      const observer = new QueryObserver(queryClient, { queryKey: keys.jobGraph(1), queryFn: server.read });
      const unsubscribe = observer.subscribe(() => {});
      await vi.waitFor(() => expect(server.asked()).toBe(1));
      let stale = 0;
      if (!first) {
        server.answer(0);
        await vi.waitFor(() => expect(queryClient.getQueryData(keys.jobGraph(1))).toBeDefined());
        void observer.refetch();
        await vi.waitFor(() => expect(server.asked()).toBe(2));
        stale = 1;
      }
      server.set({ jobId: 1, status: 'running', graph: null, activeNodes: [], nodeStates: { a: 'succeeded' } });
      emit('job.nodes', { jobId: 1, activeNodes: [], nodeStates: { a: 'succeeded' } });
      await vi.waitFor(() => expect(server.asked()).toBe(stale + 2));
      server.answer(stale + 1);
      server.answer(stale); // the read that predates the event answers last
      await vi.waitFor(() => expect(queryClient.getQueryData(keys.jobGraph(1))).toMatchObject({ nodeStates: { a: 'succeeded' } }));
      await Promise.resolve();
      expect(queryClient.getQueryData(keys.jobGraph(1))).toMatchObject({ nodeStates: { a: 'succeeded' } });
      unsubscribe();
      stop();
    });
  }

  it('job.updated during the first read of the run: the run is read again after the event', async () => {
    const queryClient = new QueryClient();
    const { live, emit } = fakeLive();
    const stop = syncCache(live, queryClient);
    const server = heldServer({ id: 7, attempt: 1, status: 'queued', jobs: [], attempts: [] });
    const observer = new QueryObserver(queryClient, { queryKey: keys.run(7), queryFn: server.read });
    const unsubscribe = observer.subscribe(() => {});
    await vi.waitFor(() => expect(server.asked()).toBe(1));
    server.set({ id: 7, attempt: 1, status: 'running', jobs: [], attempts: [] });
    emit('job.updated', { jobId: 3, runId: 7, attempt: 1, status: 'running', try: 1, agent: 'a', exitCode: null, reason: null });
    await vi.waitFor(() => expect(server.asked()).toBe(2));
    server.answer(1);
    server.answer(0);
    await vi.waitFor(() => expect(queryClient.getQueryData(keys.run(7))).toMatchObject({ status: 'running' }));
    unsubscribe();
    stop();
  });

  it('a run page that joins its room after the events it missed still shows the current state', async () => {
    // The run finished between the page's first read and its subscription: no event will ever say so.
    const queryClient = new QueryClient();
    const { live, confirm } = fakeLive();
    const stop = syncCache(live, queryClient);
    const server = heldServer({ id: 7, attempt: 1, status: 'queued', jobs: [], attempts: [] });
    const observer = new QueryObserver(queryClient, { queryKey: keys.run(7), queryFn: server.read });
    const unsubscribe = observer.subscribe(() => {});
    await vi.waitFor(() => expect(server.asked()).toBe(1));
    server.answer(0);
    await vi.waitFor(() => expect(queryClient.getQueryData(keys.run(7))).toMatchObject({ status: 'queued' }));
    server.set({ id: 7, attempt: 1, status: 'succeeded', jobs: [], attempts: [] });
    confirm('run:7');
    await vi.waitFor(() => expect(server.asked()).toBe(2));
    server.answer(1);
    await vi.waitFor(() => expect(queryClient.getQueryData(keys.run(7))).toMatchObject({ status: 'succeeded' }));
    unsubscribe();
    stop();
  });
});
