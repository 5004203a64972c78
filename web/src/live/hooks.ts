import { useEffect, useRef, useState } from 'react';
import type { LiveRoom } from '../api/types';
import { useSession } from '../session-context';
import type { ConnectionState, EventName, LiveClient } from './live-client';

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

/**
 * Keeps `refetch` fresh: runs it when any of `events` arrives in `rooms` (coalesced), after every
 * (re)subscription (events may have been missed while disconnected), and every `pollMs` while the
 * live connection is down, so the page stays current even without Socket.IO.
 */
export function useLiveRefetch(rooms: LiveRoom[], events: EventName[], refetch: () => void, pollMs = 5000): void {
  const live = useLive();
  const state = useConnectionState();
  const latest = useRef(refetch);
  latest.current = refetch;
  const roomKey = rooms.join(',');
  const eventKey = events.join(',');

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const schedule = () => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        latest.current();
      }, 150);
    };
    const roomList = roomKey ? (roomKey.split(',') as LiveRoom[]) : [];
    const offs = [
      ...roomList.map((room) => live.subscribe(room)),
      ...(eventKey.split(',') as EventName[]).map((name) => live.on(name, schedule)),
      live.onSubscribed((room) => {
        if (roomList.includes(room)) schedule();
      }),
    ];
    return () => {
      if (timer) clearTimeout(timer);
      for (const off of offs) off();
    };
  }, [live, roomKey, eventKey]);

  useEffect(() => {
    if (state === 'connected' || pollMs <= 0) return;
    const interval = setInterval(() => latest.current(), pollMs);
    return () => clearInterval(interval);
  }, [state, pollMs]);
}
