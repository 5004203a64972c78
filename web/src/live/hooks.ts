// The live connection in React: its state, the rooms a page shows, and the cache kept current by it.
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type { LiveRoom } from '../api/wire';
import { useSession } from '../session-context';
import { refetchRooms, syncCache } from './cache-sync';
import type { ConnectionState, LiveClient } from './live-client';

export function useLive(): LiveClient {
  return useSession().live;
}

export function useConnectionState(): ConnectionState {
  const live = useLive();
  const [state, setState] = useState(live.state);
  useEffect(() => {
    setState(live.state);
    return live.onState(setState);
  }, [live]);
  return state;
}

/** Maps every live event onto the query cache, for the whole session (mounted once). */
export function useLiveCacheSync(): void {
  const live = useLive();
  const queryClient = useQueryClient();
  useEffect(() => syncCache(live, queryClient), [live, queryClient]);
}

/**
 * Joins `rooms` while the calling page shows them, and every `pollMs` while the live connection is
 * down reads their queries again, so the page stays current even without Socket.IO.
 */
export function useLiveRooms(rooms: LiveRoom[], pollMs = 5000): void {
  const live = useLive();
  const state = useConnectionState();
  const queryClient = useQueryClient();
  const roomKey = rooms.join(',');

  useEffect(() => {
    if (!roomKey) return;
    const offs = (roomKey.split(',') as LiveRoom[]).map((room) => live.subscribe(room));
    return () => offs.forEach((off) => off());
  }, [live, roomKey]);

  useEffect(() => {
    if (state === 'connected' || pollMs <= 0 || !roomKey) return;
    const interval = setInterval(() => refetchRooms(queryClient, roomKey.split(',') as LiveRoom[]), pollMs);
    return () => clearInterval(interval);
  }, [state, pollMs, roomKey, queryClient]);
}
