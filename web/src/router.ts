// Hash routing (#/runs/12): works behind any static server and needs no server-side fallback.
import { useEffect, useState } from 'react';

export type Route =
  | { page: 'projects' }
  | { page: 'project'; slug: string }
  | { page: 'runs'; params: URLSearchParams }
  | { page: 'run'; runId: number; jobId: number | null; attempt: number | null }
  | { page: 'queue' }
  | { page: 'artifacts' }
  | { page: 'agents' }
  | { page: 'schedules' }
  | { page: 'not-found'; path: string };

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/runs';
  const [path, search = ''] = raw.split('?');
  const params = new URLSearchParams(search);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const int = (value: string | null | undefined) => (value && /^\d+$/.test(value) ? Number(value) : null);
  switch (parts[0]) {
    case 'projects':
      return parts[1] ? { page: 'project', slug: parts[1] } : { page: 'projects' };
    case 'runs': {
      const runId = int(parts[1]);
      if (runId === null) return { page: 'runs', params };
      return { page: 'run', runId, jobId: parts[2] === 'jobs' ? int(parts[3]) : null, attempt: int(params.get('attempt')) };
    }
    case 'queue':
      return { page: 'queue' };
    case 'artifacts':
      return { page: 'artifacts' };
    case 'agents':
      return { page: 'agents' };
    case 'schedules':
      return { page: 'schedules' };
    default:
      return { page: 'not-found', path };
  }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

export function navigate(path: string, replace = false): void {
  const hash = `#${path}`;
  if (replace) window.history.replaceState(null, '', hash);
  else window.location.hash = hash;
  if (replace) window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export const href = (path: string) => `#${path}`;

/** `path` with the non-empty values as its query string. */
export function withQuery(path: string, params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}
export const runPath = (runId: number, jobId?: number | null, attempt?: number | null) =>
  `/runs/${runId}${jobId ? `/jobs/${jobId}` : ''}${attempt ? `?attempt=${attempt}` : ''}`;
