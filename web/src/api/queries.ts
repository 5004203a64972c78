// Every REST read the UI makes, in one place: the query keys (live events invalidate by them) and the
// options of each query. Keys nest, so invalidating ['runs'] reaches every list and detail of runs.
import { infiniteQueryOptions, queryOptions, type QueryClient, type QueryKey } from '@tanstack/react-query';
import { api, client } from './client';
import type { GitRef } from './wire';

export type RunFilters = { project?: string; pipeline?: string; status?: string };
export type ArtifactQuery = { q?: string; project?: string; pipeline?: string; runId?: string; from?: string; to?: string; minSize?: string; maxSize?: string; limit?: string };

/** A job running now, as the Queue page lists it. */
export type RunningJob = { runId: number; runNumber: number; project: string; pipeline: string; jobId: number; name: string; agent: string | null; startedAt: string | null };

export const keys = {
  runs: ['runs'] as const,
  runList: (filters: RunFilters & { limit: number }) => ['runs', 'list', filters] as const,
  runPages: (filters: RunFilters) => ['runs', 'pages', filters] as const,
  run: (id: number) => ['runs', 'detail', id] as const,
  /** The jobs running now, read from the running runs' details (the Queue page). */
  runningJobs: ['runs', 'running-jobs'] as const,
  job: (id: number) => ['jobs', id] as const,
  jobGraph: (id: number) => ['jobs', id, 'graph'] as const,
  queue: ['queue'] as const,
  artifacts: ['artifacts'] as const,
  artifactList: (filters: ArtifactQuery) => ['artifacts', 'list', filters] as const,
  agents: ['agents'] as const,
  projects: ['projects'] as const,
  projectList: ['projects', 'list'] as const,
  project: (slug: string) => ['projects', 'detail', slug] as const,
  pipelines: (slug: string) => ['projects', 'detail', slug, 'pipelines'] as const,
  pipeline: (slug: string, name: string) => ['projects', 'detail', slug, 'pipelines', name] as const,
  branches: (slug: string) => ['projects', 'detail', slug, 'branches'] as const,
  refs: (slug: string, q: string, kind: GitRef['kind'] | undefined) => ['projects', 'detail', slug, 'refs', q, kind ?? null] as const,
  pipelineFiles: (slug: string) => ['projects', 'detail', slug, 'pipeline-files'] as const,
  /** Under runs too: a schedule's answer carries its latest runs, so a run event rereads it. */
  schedules: ['runs', 'schedules'] as const,
};

/**
 * Marks the queries under `queryKey` stale and reads those in use again, never keeping an answer that
 * was asked before this call. TanStack Query replaces a refetch in flight (cancelRefetch), but a first
 * read still in flight is waited for instead of asked again: that one is cancelled first.
 */
export async function rereadQueries(queryClient: QueryClient, queryKey: QueryKey): Promise<void> {
  const firstReads = queryClient
    .getQueryCache()
    .findAll({ queryKey })
    .filter((query) => query.state.fetchStatus === 'fetching' && query.state.data === undefined);
  await Promise.all(firstReads.map((query) => queryClient.cancelQueries({ queryKey: query.queryKey, exact: true })));
  await queryClient.invalidateQueries({ queryKey });
}

const text = (value: number | undefined) => (value === undefined ? undefined : String(value));

export const queries = {
  /** Every project's schedules, in project order (the API lists them per project). */
  schedules: () =>
    queryOptions({
      queryKey: keys.schedules,
      queryFn: async ({ signal }) => {
        const { projects } = await client.call(api.projects.list, {}, { signal });
        const lists = await Promise.all(projects.map((project) => client.call(api.schedules.list, { params: { slug: project.slug } }, { signal })));
        return lists.flatMap((list) => list.schedules);
      },
      // Next-run times move on their own; nothing announces them.
      refetchInterval: 15_000,
    }),
  runList: (filters: RunFilters, limit: number) =>
    queryOptions({
      queryKey: keys.runList({ ...filters, limit }),
      queryFn: ({ signal }) => client.call(api.runs.list, { query: { ...filters, limit: text(limit) } }, { signal }),
    }),
  /** Newest first, older pages appended by "Load older runs"; a refetch reads every page held again. */
  runPages: (filters: RunFilters, limit: number) =>
    infiniteQueryOptions({
      queryKey: keys.runPages(filters),
      initialPageParam: null as string | null,
      queryFn: ({ signal, pageParam }) => client.call(api.runs.list, { query: { ...filters, limit: text(limit), cursor: pageParam ?? undefined } }, { signal }),
      getNextPageParam: (page) => page.nextCursor,
    }),
  run: (id: number) =>
    queryOptions({
      queryKey: keys.run(id),
      queryFn: ({ signal }) => client.call(api.runs.get, { params: { id } }, { signal }),
    }),
  runningJobs: () =>
    queryOptions({
      queryKey: keys.runningJobs,
      queryFn: async ({ signal }): Promise<RunningJob[]> => {
        const list = await client.call(api.runs.list, { query: { status: 'running', limit: '100' } }, { signal });
        const details = await Promise.all(list.runs.map((run) => client.call(api.runs.get, { params: { id: run.id } }, { signal }).catch(() => null)));
        return details.flatMap((run) =>
          run
            ? run.jobs
                .filter((job) => job.status === 'running')
                .map((job) => ({ runId: run.id, runNumber: run.number, project: run.project, pipeline: run.pipeline, jobId: job.id, name: job.name, agent: job.agent, startedAt: job.startedAt }))
            : [],
        );
      },
    }),
  jobGraph: (id: number) =>
    queryOptions({
      queryKey: keys.jobGraph(id),
      queryFn: ({ signal }) => client.call(api.jobs.graph, { params: { id } }, { signal }),
    }),
  /** The queue a page at a time (100 by default): ten thousand queued jobs are not one answer. */
  queuePages: () =>
    infiniteQueryOptions({
      queryKey: keys.queue,
      initialPageParam: null as string | null,
      queryFn: ({ signal, pageParam }) => client.call(api.queue.list, { query: { cursor: pageParam ?? undefined } }, { signal }),
      getNextPageParam: (page) => page.nextCursor,
    }),
  artifactList: (filters: ArtifactQuery) =>
    queryOptions({
      queryKey: keys.artifactList(filters),
      queryFn: ({ signal }) => client.call(api.artifacts.list, { query: filters }, { signal }),
    }),
  agents: () =>
    queryOptions({
      queryKey: keys.agents,
      queryFn: ({ signal }) => client.call(api.agents.list, {}, { signal }),
    }),
  projectList: () =>
    queryOptions({
      queryKey: keys.projectList,
      queryFn: ({ signal }) => client.call(api.projects.list, {}, { signal }),
    }),
  project: (slug: string) =>
    queryOptions({
      queryKey: keys.project(slug),
      queryFn: ({ signal }) => client.call(api.projects.get, { params: { slug } }, { signal }),
    }),
  pipelines: (slug: string) =>
    queryOptions({
      queryKey: keys.pipelines(slug),
      queryFn: ({ signal }) => client.call(api.pipelines.list, { params: { slug } }, { signal }),
    }),
  pipeline: (slug: string, name: string) =>
    queryOptions({
      queryKey: keys.pipeline(slug, name),
      queryFn: ({ signal }) => client.call(api.pipelines.get, { params: { slug, name } }, { signal }),
    }),
  branches: (slug: string) =>
    queryOptions({
      queryKey: keys.branches(slug),
      queryFn: ({ signal }) => client.call(api.repositories.branches, { params: { slug } }, { signal }),
    }),
  /** Branches and tags whose name contains `q` (ignoring case), with the `q` they answer. */
  refs: (slug: string, q: string, kind?: GitRef['kind'], limit = 100) =>
    queryOptions({
      queryKey: keys.refs(slug, q, kind),
      queryFn: async ({ signal }) => ({ q, refs: (await client.call(api.repositories.refs, { params: { slug }, query: { q, kind, limit: String(limit) } }, { signal })).refs }),
    }),
  pipelineFiles: (slug: string) =>
    queryOptions({
      queryKey: keys.pipelineFiles(slug),
      queryFn: ({ signal }) => client.call(api.repositories.pipelineFiles, { params: { slug } }, { signal }),
    }),
};
