import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { getToken, clearToken, onTokenChange } from './api/session';
import { closeLiveClient, liveClient } from './live/live-client';
import { useConnectionState, useLiveCacheSync } from './live/hooks';
import { href, useRoute, type Route } from './router';
import { SessionContext, type Session } from './session-context';
import { AgentsPage } from './pages/AgentsPage';
import { ArtifactsPage } from './pages/ArtifactsPage';
import { ProjectPage } from './pages/ProjectPage';
import { ProjectsPage } from './pages/ProjectsPage';
import { QueuePage } from './pages/QueuePage';
import { SchedulesPage } from './pages/SchedulesPage';
import { RunDetailPage } from './pages/RunDetailPage';
import { RunsPage } from './pages/RunsPage';
import { SignInPage } from './pages/SignInPage';

export function App() {
  const [token, setTokenState] = useState(getToken);
  const [signOutReason, setSignOutReason] = useState<string | null>(null);
  useEffect(
    () =>
      onTokenChange((next, reason) => {
        if (!next) closeLiveClient();
        setTokenState(next);
        setSignOutReason(reason);
      }),
    [],
  );
  const session = useMemo<Session | null>(() => (token ? { token, live: liveClient(token), signOut: () => clearToken() } : null), [token]);
  // One cache per session: what one token could read is not shown to the next.
  const queryClient = useMemo(() => (token ? newQueryClient() : null), [token]);
  if (!session || !queryClient) return <SignInPage reason={signOutReason} />;
  return (
    <SessionContext.Provider value={session}>
      <QueryClientProvider client={queryClient}>
        <Shell />
      </QueryClientProvider>
    </SessionContext.Provider>
  );
}

function newQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      // Live events (and polling while they are down) say when to read again; an error is shown at once
      // (an unknown run is not retried three times first).
      queries: { retry: false, refetchOnWindowFocus: false },
      mutations: { retry: false },
    },
  });
}

const NAV: { label: string; path: string; pages: Route['page'][] }[] = [
  { label: 'Runs', path: '/runs', pages: ['runs', 'run'] },
  { label: 'Projects', path: '/projects', pages: ['projects', 'project'] },
  { label: 'Queue', path: '/queue', pages: ['queue'] },
  { label: 'Schedules', path: '/schedules', pages: ['schedules'] },
  { label: 'Artifacts', path: '/artifacts', pages: ['artifacts'] },
  { label: 'Agents', path: '/agents', pages: ['agents'] },
];

function ConnectionIndicator() {
  const state = useConnectionState();
  const text = state === 'connected' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Offline · polling';
  return (
    <span className={`connection connection-${state}`} data-testid="connection" data-state={state} title="Live updates over Socket.IO">
      <span className="status-dot" aria-hidden="true" />
      {text}
    </span>
  );
}

function Shell() {
  const route = useRoute();
  useLiveCacheSync();
  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" href={href('/runs')}>
          Bellows
        </a>
        <nav>
          {NAV.map((item) => (
            <a key={item.path} href={href(item.path)} className={item.pages.includes(route.page) ? 'active' : undefined}>
              {item.label}
            </a>
          ))}
        </nav>
        <span className="spacer" />
        <ConnectionIndicator />
        <SignOutButton />
      </header>
      <main className="content">
        <Page route={route} />
      </main>
    </div>
  );
}

function SignOutButton() {
  return (
    <button type="button" className="link-button" onClick={() => clearToken()}>
      Sign out
    </button>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'projects':
      return <ProjectsPage />;
    case 'project':
      return <ProjectPage slug={route.slug} />;
    case 'runs':
      return <RunsPage params={route.params} />;
    case 'run':
      return <RunDetailPage key={route.runId} runId={route.runId} jobId={route.jobId} attempt={route.attempt} />;
    case 'queue':
      return <QueuePage />;
    case 'artifacts':
      return <ArtifactsPage />;
    case 'agents':
      return <AgentsPage />;
    case 'schedules':
      return <SchedulesPage />;
    case 'not-found':
      return (
        <div className="empty">
          Nothing at <code>{route.path}</code>. <a href={href('/runs')}>Go to runs</a>.
        </div>
      );
  }
}
