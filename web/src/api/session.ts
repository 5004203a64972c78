// The signed-in token lives in sessionStorage: it survives reloads of this tab, not the browser.
const KEY = 'bellows.token';

type Listener = (token: string | null, reason: string | null) => void;
const listeners = new Set<Listener>();

export function getToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function setToken(token: string): void {
  sessionStorage.setItem(KEY, token);
  for (const listener of listeners) listener(token, null);
}

export function clearToken(reason: string | null = null): void {
  if (sessionStorage.getItem(KEY) === null) return;
  sessionStorage.removeItem(KEY);
  for (const listener of listeners) listener(null, reason);
}

export function onTokenChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
