// Which jobs a re-run runs again and which it carries over. Pure: the API checks a request with these
// against the run's latest attempt, and the createJobs activity builds the new attempt with them.

/** What selection needs of a job: its key (a matrix expansion's is `test[os=linux]`) and the keys it needs. */
export type RerunGraphJob = { key: string; needs: readonly string[] };

/** How a re-run picks its jobs: all of them, the ones that did not succeed, or the ones named (as keys). */
export type RerunMode = { kind: 'all' } | { kind: 'failedOnly' } | { kind: 'jobs'; keys: readonly string[] };

/** The job definition a key expands: `test[os=linux]` → `test`. Job names cannot contain `[`. */
export function baseJobName(key: string): string {
  const bracket = key.indexOf('[');
  return bracket === -1 ? key : key.slice(0, bracket);
}

/**
 * The keys `requested` names, in the jobs' order and once each: an exact key names that job, a job's
 * name names all of its matrix expansions (`test` → `test[os=linux]`, `test[os=mac]`). What names no
 * job comes back in `unknown`, so the caller can say which.
 */
export function resolveJobKeys(jobs: readonly RerunGraphJob[], requested: readonly string[]): { keys: string[]; unknown: string[] } {
  const keys = new Set<string>();
  const unknown: string[] = [];
  for (const name of requested) {
    const exact = jobs.filter((job) => job.key === name);
    const matched = exact.length ? exact : jobs.filter((job) => baseJobName(job.key) === name);
    if (!matched.length) unknown.push(name);
    for (const job of matched) keys.add(job.key);
  }
  return { keys: jobs.map((job) => job.key).filter((key) => keys.has(key)), unknown: [...new Set(unknown)] };
}

/** `seeds` and every job that needs one of them, directly or through others. */
export function withDependents(jobs: readonly RerunGraphJob[], seeds: Iterable<string>): Set<string> {
  const selected = new Set(seeds);
  for (let grew = true; grew; ) {
    grew = false;
    for (const job of jobs) {
      if (!selected.has(job.key) && job.needs.some((need) => selected.has(need))) {
        selected.add(job.key);
        grew = true;
      }
    }
  }
  return selected;
}

/**
 * The keys the new attempt runs again; every other job carries over from `previous` (the last
 * attempt's status by key). A job the previous attempt lacks cannot carry over, so it always runs.
 */
export function jobsToRerun(jobs: readonly RerunGraphJob[], previous: ReadonlyMap<string, string>, mode: RerunMode): Set<string> {
  if (mode.kind === 'all') return new Set(jobs.map((job) => job.key));
  const chosen = mode.kind === 'failedOnly' ? (key: string) => previous.get(key) !== 'succeeded' : (key: string) => mode.keys.includes(key);
  return withDependents(
    jobs,
    jobs.filter((job) => chosen(job.key) || !previous.has(job.key)).map((job) => job.key),
  );
}

/**
 * Re-run jobs that need a carried job which did not succeed: they would only be skipped again, so a
 * request that leads there is refused, naming the job to add.
 */
export function blockedByCarried(jobs: readonly RerunGraphJob[], previous: ReadonlyMap<string, string>, rerun: ReadonlySet<string>): { key: string; need: string }[] {
  return jobs.flatMap((job) =>
    rerun.has(job.key)
      ? job.needs.filter((need) => !rerun.has(need) && previous.get(need) !== 'succeeded').map((need) => ({ key: job.key, need }))
      : [],
  );
}
