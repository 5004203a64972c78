// Every REST write the UI makes, each invalidating what it changes (live events say so too, but the
// page that acted should not wait for them).
import { useMutation, useQueryClient, type InfiniteData } from '@tanstack/react-query';
import { api, client } from './client';
import { keys, rereadQueries } from './queries';
import { defineRepositoryPipeline } from './repositories';
import type { QueueList } from './wire';

export type TriggerRun = { project: string; pipeline: string; ref: string | undefined; inputs: Record<string, string>; priority?: number };

export function useTriggerRun() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ project, pipeline, ref, inputs, priority }: TriggerRun) =>
      client.call(
        api.runs.trigger,
        { params: { slug: project, name: pipeline }, body: { ref, inputs, priority } },
        // A person pressed Run: the run is recorded as a manual trigger, not an API call.
        { headers: { 'x-bellows-trigger': 'manual' } },
      ),
    onSuccess: (run) => {
      queryClient.setQueryData(keys.run(run.id), run);
      return rereadQueries(queryClient, keys.runs);
    },
  });
}

/** A re-run of every job, of the failed ones (`failedOnly`), or of the `jobs` named (keys) and what needs them. */
export type RunAction = { runId: number; action: 'cancel' } | { runId: number; action: 'rerun'; failedOnly: boolean; jobs?: string[] };

/** Cancel or re-run one run; answers the run as it is now (a re-run: with its new attempt). */
export function useRunAction() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (action: RunAction) =>
      action.action === 'cancel'
        ? client.call(api.runs.cancel, { params: { id: action.runId } })
        : client.call(api.runs.rerun, { params: { id: action.runId }, body: action.jobs ? { jobs: action.jobs } : action.failedOnly ? { failedOnly: true } : {} }),
    onSettled: () => rereadQueries(queryClient, keys.runs),
  });
}

/** Approves or rejects an approval job (the server checks the token is one of its approvers). */
export function useDecideApproval() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ jobId, decision, comment }: { jobId: number; decision: 'approve' | 'reject'; comment: string }) =>
      client.call(decision === 'approve' ? api.jobs.approve : api.jobs.reject, { params: { id: jobId }, body: comment.trim() ? { comment: comment.trim() } : {} }),
    onSettled: () => rereadQueries(queryClient, keys.runs),
  });
}

export function useCancelRuns() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (ids: number[]) => client.call(api.runs.cancelMany, { body: { ids } }),
    onSettled: () => Promise.all([rereadQueries(queryClient, keys.runs), rereadQueries(queryClient, keys.queue)]),
  });
}

export type QueueMove = { jobId: number; where: 'before' | 'after'; otherJobId: number };

/** Moves a queued job; the queue shows the new order at once and the server's after it answers. */
export function useQueueMove() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ jobId, where, otherJobId }: QueueMove) =>
      client.call(api.queue.move, { body: where === 'before' ? { jobId, beforeJobId: otherJobId } : { jobId, afterJobId: otherJobId } }),
    onMutate: async ({ jobId, where, otherJobId }) => {
      await queryClient.cancelQueries({ queryKey: keys.queue });
      const before = queryClient.getQueryData<InfiniteData<QueueList, string | null>>(keys.queue);
      if (before) {
        // The loaded pages as one list: reordered, renumbered from the first page's first position, cut into the same page sizes.
        const loaded = before.pages.flatMap((page) => page.jobs);
        const moving = loaded.find((job) => job.id === jobId);
        const rest = loaded.filter((job) => job.id !== jobId);
        const at = rest.findIndex((job) => job.id === otherJobId) + (where === 'after' ? 1 : 0);
        if (moving && at >= (where === 'after' ? 1 : 0)) {
          const first = loaded[0]?.position ?? 1;
          const reordered = [...rest.slice(0, at), moving, ...rest.slice(at)].map((job, index) => ({ ...job, position: first + index }));
          let offset = 0;
          const pages = before.pages.map((page) => {
            const jobs = reordered.slice(offset, offset + page.jobs.length);
            offset += page.jobs.length;
            return { ...page, jobs };
          });
          queryClient.setQueryData<InfiniteData<QueueList, string | null>>(keys.queue, { ...before, pages });
        }
      }
      return { before };
    },
    onError: (_error, _move, context) => {
      if (context?.before) queryClient.setQueryData(keys.queue, context.before);
    },
    onSettled: () => rereadQueries(queryClient, keys.queue),
  });
}

/** Defines (or re-versions) a pipeline as a file of the project's repository. */
export function useDefineRepositoryPipeline(slug: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ name, path }: { name: string; path: string }) => defineRepositoryPipeline(slug, name, path),
    onSuccess: () => rereadQueries(queryClient, keys.pipelines(slug)),
  });
}

export type ScheduleAction = { scheduleId: string; action: 'pause' | 'resume' | 'trigger' | 'delete' };

/** Pause, resume, run now or delete one schedule. */
export function useScheduleAction() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ scheduleId, action }: ScheduleAction): Promise<unknown> => {
      const params = { scheduleId };
      if (action === 'trigger') return client.call(api.schedules.trigger, { params });
      if (action === 'delete') return client.call(api.schedules.delete, { params });
      return client.call(api.schedules.update, { params, body: { paused: action === 'pause' } });
    },
    onSettled: () => rereadQueries(queryClient, keys.runs),
  });
}
