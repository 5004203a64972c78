import { createContext, useContext } from 'react';
import type { LiveClient } from './live/live-client';

export type Session = { token: string; live: LiveClient; signOut: () => void };

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside of a signed-in page');
  return session;
}
