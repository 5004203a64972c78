import type { RunActivities } from '../../activities';
import type { JobState, JobStateWithLease } from '../../src/jobs/jobs.repository';
import type { AttemptStatus, JobStatus, TerminalJobStatus } from '../../workflows/messages';
import type { RetryPolicy } from '../../workflows/retry-policy';

// In-memory stand-in for the run activities: the same conditional updates as JobsRepository (a
// write only lands on the status and try it expects), and a record of every call, so workflow
// tests run the real workflow against a pretend Postgres and wait on calls instead of on time.

export type FakeJobSpec = { key: string; kind?: 'script' | 'approval'; needs?: string[]; timeoutMinutes?: number; retry?: RetryPolicy };
export type ActivityName = keyof RunActivities;
export type ActivityCall = { name: ActivityName; input: unknown };

type FakeJob = JobStateWithLease;

export type FakeRunActivities = {
  activities: RunActivities;
  calls: ActivityCall[];
  /** Inputs of every call to `name` so far. */
  inputsOf: (name: ActivityName) => unknown[];
  /** Resolves with the input of the `nth` (1-based) call to `name`, once it has happened. */
  called: (name: ActivityName, nth?: number) => Promise<unknown>;
  /** An agent claims the queued job (what the claim endpoint commits); the test decides whether the signal is sent. */
  claim: (key: string) => { jobId: number; try: number };
  /** The agent's report committed (what the finish endpoint writes), signal or not. */
  finish: (key: string, status: TerminalJobStatus, exitCode?: number) => { jobId: number; try: number; status: TerminalJobStatus };
  /** The running try's lease ran out long ago (what loadStates reports as leaseExpired). */
  expireLease: (key: string) => void;
  job: (key: string) => JobState;
};

export function createFakeRunActivities(specs: FakeJobSpec[], options: { cancelRequested?: boolean } = {}): FakeRunActivities {
  const jobs: FakeJob[] = specs.map((spec, index) => ({
    id: index + 1,
    key: spec.key,
    kind: spec.kind ?? 'script',
    needs: spec.needs ?? [],
    status: options.cancelRequested ? 'cancelled' : 'waiting',
    try: 0,
    timeoutMinutes: spec.timeoutMinutes ?? 60,
    retry: spec.retry ?? null,
    leaseExpired: false,
  }));
  const calls: ActivityCall[] = [];
  const waiters: { name: ActivityName; nth: number; resolve: (input: unknown) => void }[] = [];

  const state = ({ leaseExpired: _leaseExpired, ...job }: FakeJob): JobState => ({ ...job, needs: [...job.needs] });
  const byId = (id: number): FakeJob => {
    const job = jobs.find((candidate) => candidate.id === id);
    if (!job) throw new Error(`no fake job ${id}`);
    return job;
  };
  const byKey = (key: string): FakeJob => {
    const job = jobs.find((candidate) => candidate.key === key);
    if (!job) throw new Error(`no fake job ${key}`);
    return job;
  };
  const inputsOf = (name: ActivityName): unknown[] => calls.filter((call) => call.name === name).map((call) => call.input);
  const record = (name: ActivityName, input: unknown): void => {
    calls.push({ name, input });
    const count = inputsOf(name).length;
    for (const waiter of waiters.filter((candidate) => candidate.name === name && candidate.nth === count)) waiter.resolve(input);
  };
  const setStatus = (job: FakeJob, status: JobStatus): void => {
    job.status = status;
    if (status !== 'running') job.leaseExpired = false;
  };

  const activities: RunActivities = {
    async createJobs(input) {
      record('createJobs', input);
      return { jobs: jobs.map(state), cancelRequested: options.cancelRequested ?? false, concurrency: null };
    },
    // Concurrency slots are Postgres rows; their tests run on the real stack (concurrency.test.ts).
    async acquireConcurrency(input) {
      record('acquireConcurrency', input);
      return { kind: 'holding', promoted: [], superseded: [] };
    },
    async releaseConcurrency(input) {
      record('releaseConcurrency', input);
      return [];
    },
    async enqueueJobs(input) {
      record('enqueueJobs', input);
      for (const id of input.jobIds) if (byId(id).status === 'waiting') setStatus(byId(id), 'queued');
      return input.jobIds.map((id) => state(byId(id)));
    },
    async awaitApproval(input) {
      record('awaitApproval', input);
      for (const id of input.jobIds) if (byId(id).status === 'waiting') setStatus(byId(id), 'awaiting_approval');
      return input.jobIds.map((id) => state(byId(id)));
    },
    async expireApproval(input) {
      record('expireApproval', input);
      const job = byId(input.jobId);
      if (job.status === 'awaiting_approval') setStatus(job, 'failed');
      return state(job);
    },
    async skipJobs(input) {
      record('skipJobs', input);
      for (const id of input.jobIds) if (byId(id).status === 'waiting') setStatus(byId(id), 'skipped');
      return input.jobIds.map((id) => state(byId(id)));
    },
    async requeueLostJob(input) {
      record('requeueLostJob', input);
      const job = byId(input.jobId);
      if (job.try === input.try && job.status === 'running') setStatus(job, 'queued');
      return state(job);
    },
    async scheduleRetry(input) {
      record('scheduleRetry', input);
      const job = byId(input.jobId);
      if (job.try === input.try && (job.status === 'running' || job.status === 'failed')) setStatus(job, 'waiting');
      return state(job);
    },
    async releaseRetry(input) {
      record('releaseRetry', input);
      const job = byId(input.jobId);
      if (job.status === 'waiting') setStatus(job, 'queued');
      return state(job);
    },
    async failRunningJob(input) {
      record('failRunningJob', input);
      const job = byId(input.jobId);
      if (job.try === input.try && job.status === 'running') setStatus(job, input.reason === 'cancelled' ? 'cancelled' : 'failed');
      return state(job);
    },
    async cancelAttempt(input) {
      record('cancelAttempt', input);
      // Running jobs stay running: their agents are asked to stop and get the grace to do so.
      for (const job of jobs) if (job.status === 'waiting' || job.status === 'queued') setStatus(job, 'cancelled');
      return jobs.map(state);
    },
    async forceCancelAttempt(input) {
      record('forceCancelAttempt', input);
      for (const job of jobs) if (job.status === 'running' || job.status === 'queued' || job.status === 'waiting') setStatus(job, 'cancelled');
      return jobs.map(state);
    },
    async loadJobStates(input) {
      record('loadJobStates', input);
      return jobs.map((job) => ({ ...state(job), leaseExpired: job.leaseExpired }));
    },
    async finalizeAttempt(input: { runId: number; attempt: number; status: AttemptStatus }) {
      record('finalizeAttempt', input);
    },
  };

  return {
    activities,
    calls,
    inputsOf,
    called: (name, nth = 1) => {
      const earlier = inputsOf(name);
      if (earlier.length >= nth) return Promise.resolve(earlier[nth - 1]);
      return new Promise((resolve) => waiters.push({ name, nth, resolve }));
    },
    claim: (key) => {
      const job = byKey(key);
      if (job.status !== 'queued') throw new Error(`fake job ${key} is ${job.status}, not queued`);
      job.try += 1;
      setStatus(job, 'running');
      return { jobId: job.id, try: job.try };
    },
    finish: (key, status, exitCode) => {
      const job = byKey(key);
      if (job.status !== 'running' && !(job.kind === 'approval' && job.status === 'awaiting_approval')) throw new Error(`fake job ${key} is ${job.status}, not running`);
      setStatus(job, status);
      if (exitCode !== undefined) Object.assign(job, { exitCode, reason: status === 'failed' ? 'exit_code' : null });
      return { jobId: job.id, try: job.try, status };
    },
    expireLease: (key) => {
      const job = byKey(key);
      if (job.status !== 'running') throw new Error(`fake job ${key} is ${job.status}, not running`);
      job.leaseExpired = true;
    },
    job: (key) => state(byKey(key)),
  };
}
