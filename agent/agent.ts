// The agent's life cycle: register, heartbeat, long-poll for jobs, run them one at a time, and stop
// gracefully on request. HTTP details live in ApiClient; everything about a single job in JobRun.

import * as os from 'node:os';
import { join } from 'node:path';
import { api } from '../contract';
import type { ClaimedJob, RegisterRequest, RegisterResponse } from '../contract/agent-protocol.contract';
import { ApiClient, describeError, isSuccess } from './api-client';
import { AbortError, backoffDelay, isAbortError, sleep, type BackoffOptions } from './backoff';
import type { ExecutorRegistry } from './job-executor';
import { JobRun } from './job-runner';
import { heartbeatTimeoutMs, leaseState } from './lease';
import { errorMessage, type Logger } from './logger';
import { createActExecutor } from './act-executor';
import { withoutUrlCredentials } from './checkout';
import { useScratchRoot } from './git/git';
import { ProjectMirrors } from './git/git-mirror';
import { createScriptExecutor } from './script-executor';
import { AGENT_VERSION } from './version';

export const CLAIM_WAIT_SECONDS = 30;

const routes = api.agentProtocol;

export type AgentOptions = {
  url: string;
  registrationToken: string;
  labels: string[];
  name: string;
  workDir: string;
  once: boolean;
  logger: Logger;
  cancelGraceMs: number;
  keepWorkspace: boolean;
  /** The first stop request lets the running job finish (the second hands it back); without it the first hands it back. */
  drain?: boolean;
  executors?: ExecutorRegistry;
  backoff?: BackoffOptions;
  /** The environment jobs inherit (BELLOWS_AGENT_TOKEN is removed from it). */
  env?: NodeJS.ProcessEnv;
};

/** Registration was refused (bad token, invalid labels): retrying would not help. */
export class RegistrationRejectedError extends Error {}

export class Agent {
  private readonly client: ApiClient;
  private registration: RegisterResponse | undefined;
  private current: JobRun | undefined;
  private readonly stopping = new AbortController();
  private readonly heartbeatStop = new AbortController();
  private stopRequests = 0;
  /** When the running job's lease was last renewed (a heartbeat's send time, or the claim's reply). */
  private leaseRenewedAt = 0;
  /** Why the last heartbeat did not renew it ('server unreachable', 'server answered HTTP 503'); undefined after a success. */
  private heartbeatTrouble: string | undefined;
  /** Repository mirrors outlive jobs: the second job of a repository fetches what is new instead of cloning. */
  private readonly mirrors: ProjectMirrors;

  constructor(private readonly options: AgentOptions) {
    this.client = new ApiClient({ baseUrl: options.url, logger: options.logger, backoff: options.backoff });
    this.mirrors = new ProjectMirrors(join(options.workDir, 'git-mirrors'));
    // A 401 later on means the agent was deleted or its secret rotated: get a fresh one and carry on.
    this.client.onUnauthorized(async () => {
      this.options.logger.warn('The API no longer accepts this agent\'s secret; registering again');
      await this.register(undefined);
    });
  }

  /**
   * SIGTERM/SIGINT: the first stops claiming and hands the running job back at once (its processes are
   * stopped and the server queues it again now, not after a lease); with `drain` the first lets the job
   * finish and the second hands it back. One more abandons the job immediately. Returns how many stop
   * requests there were; `stopRequestsToAbandon` says which one abandons.
   */
  requestStop(): number {
    this.stopRequests++;
    const { logger } = this.options;
    const handBackAt = this.stopRequestsToHandBack;
    const job = this.current;
    if (this.stopRequests === 1) {
      if (!job) logger.info('Stopping');
      else if (handBackAt > 1) logger.info(`Stopping after job ${job.jobId} (--drain; signal again to hand it back)`);
      this.stopping.abort(new AbortError('agent stopping'));
    }
    if (!job) return this.stopRequests;
    if (this.stopRequests === handBackAt) {
      logger.info(`Handing job ${job.jobId} back because the agent is shutting down${handBackAt === 1 ? ' (start it with --drain to let jobs finish first)' : ''}`);
      job.shutdown();
    } else if (this.stopRequests > handBackAt) {
      logger.warn(`Abandoning job ${job.jobId}`);
      job.abort();
    }
    return this.stopRequests;
  }

  /** The stop request that hands a running job back: the first, or the second when draining. */
  get stopRequestsToHandBack(): number {
    return this.options.drain ? 2 : 1;
  }

  /** The stop request that gives up on a running job without waiting for anything. */
  get stopRequestsToAbandon(): number {
    return this.stopRequestsToHandBack + 1;
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  /** Runs until stopped (or after one job with --once); resolves with the process exit code. */
  async run(): Promise<number> {
    const { logger } = this.options;
    // ssh key files and askpass programs go under the agent's own directory (see git.ts).
    await useScratchRoot(join(this.options.workDir, 'git-scratch'));
    try {
      await this.register(this.stopping.signal);
    } catch (error) {
      if (isAbortError(error)) return 0;
      throw error;
    }
    this.client.openStream();
    const heartbeat = this.heartbeatLoop();
    try {
      await this.claimLoop();
    } finally {
      this.heartbeatStop.abort();
      await heartbeat;
      await this.signOff();
      this.client.close();
    }
    logger.info('Agent stopped');
    return 0;
  }

  /** Best effort, a few seconds at most: without it the agent shows online until its lease runs out. */
  private async signOff(): Promise<void> {
    const response = await this.client.call(routes.signOff, {}, { retry: false, timeoutMs: 3000 }).catch(() => undefined);
    if (response && !isSuccess(response)) this.options.logger.warn(`Signing off was refused with HTTP ${response.status}${describeError(response)}`);
  }

  private async register(signal: AbortSignal | undefined): Promise<void> {
    const { logger, name, labels } = this.options;
    const body: RegisterRequest = { name, labels, hostname: os.hostname(), os: process.platform, arch: process.arch, version: AGENT_VERSION };
    const response = await this.client.call(routes.register, { body }, { signal, bearer: this.options.registrationToken });
    if (!response.ok) {
      if (response.violation) throw new RegistrationRejectedError(`Registration reply is unusable: ${response.violation}`);
      throw new RegistrationRejectedError(`Registration was refused with HTTP ${response.status}${describeError(response)}`);
    }
    const registration = response.body;
    if (registration.secret === '') throw new RegistrationRejectedError('Registration reply has an empty secret');
    // Intervals of 0 (a misconfigured server) would make the heartbeat loop spin.
    this.registration = {
      ...registration,
      heartbeatIntervalSeconds: positiveOr(registration.heartbeatIntervalSeconds, 15),
      busyHeartbeatIntervalSeconds: positiveOr(registration.busyHeartbeatIntervalSeconds, 1),
      leaseSeconds: positiveOr(registration.leaseSeconds, 30),
    };
    this.client.setSecret(registration.secret);
    logger.info(`Registered as agent ${registration.agentId} ("${name}") with labels ${registration.labels.join(',') || '(none)'}`);
  }

  private async claimLoop(): Promise<void> {
    const { logger } = this.options;
    const signal = this.stopping.signal;
    for (let failures = 0; !signal.aborted; ) {
      let response;
      try {
        response = await this.client.call(routes.claim, { query: { wait: String(CLAIM_WAIT_SECONDS) } }, { signal, timeoutMs: (CLAIM_WAIT_SECONDS + 10) * 1000 });
      } catch (error) {
        if (isAbortError(error)) return;
        throw error;
      }
      if (response.status === 204) {
        failures = 0;
        continue;
      }
      if (!response.ok) {
        // A job we cannot read is handed back at once rather than left claimed until its lease runs out.
        const jobId = claimedJobId(response.body);
        logger.error(`Unexpected claim reply (HTTP ${response.status}${describeError(response)}); ${response.violation && jobId !== undefined ? `releasing job ${jobId} and ` : ''}retrying`);
        if (response.violation && jobId !== undefined) await this.release(jobId);
        await sleep(backoffDelay(failures++, this.options.backoff), signal).catch(() => undefined);
        continue;
      }
      failures = 0;
      // The claim set the lease just before answering: its reply is the first renewal.
      this.leaseRenewedAt = Date.now();
      // Credentials a URL carries become the checkout's auth here, so they reach no log, mirror or workspace.
      await this.runJob({ ...response.body, repository: withoutUrlCredentials(response.body.repository) });
      if (this.options.once) return;
    }
  }

  /** Best effort: the job's lease expiring gives it back too, only later. */
  private async release(jobId: number): Promise<void> {
    const response = await this.client.call(routes.release, { params: { id: jobId } }, { retry: false, timeoutMs: 10_000 }).catch(() => undefined);
    if (response && !isSuccess(response)) this.options.logger.warn(`Releasing job ${jobId} was refused with HTTP ${response.status}${describeError(response)}`);
  }

  private async runJob(claimed: ClaimedJob): Promise<void> {
    const { options } = this;
    const run = new JobRun(claimed, {
      client: this.client,
      logger: options.logger,
      agentName: options.name,
      workDir: options.workDir,
      serverUrl: options.url,
      executors: options.executors ?? { script: createScriptExecutor(), act: createActExecutor(this.client) },
      cancelGraceMs: options.cancelGraceMs,
      keepWorkspace: options.keepWorkspace,
      extraSecrets: [options.registrationToken, this.registration?.secret ?? ''],
      agentEnv: options.env ?? process.env,
      mirrors: this.mirrors,
    });
    this.current = run;
    // A stop request that raced with the claim still has to reach this job.
    if (this.stopRequests >= this.stopRequestsToHandBack) run.shutdown();
    const stopWatching = this.watchLease(run);
    try {
      await run.run();
    } finally {
      stopWatching();
      this.current = undefined;
    }
  }

  /**
   * Stops the job once no heartbeat renewed its lease for a lease period. A timer of its own, not the
   * heartbeat loop: in a partition a heartbeat hangs until its timeout, and the deadline must not wait for it.
   */
  private watchLease(run: JobRun): () => void {
    const leaseSeconds = this.registration?.leaseSeconds ?? 30;
    // A tenth of the lease, at most 250 ms: the job outlives its lease by no more than that.
    const timer = setInterval(() => {
      const state = leaseState(this.leaseRenewedAt, Date.now(), leaseSeconds);
      if (state.kind === 'held') return;
      clearInterval(timer);
      run.loseLease(Math.floor(state.silentMs / 1000), this.heartbeatTrouble ?? 'server unreachable');
    }, Math.min(250, leaseSeconds * 100));
    return () => clearInterval(timer);
  }

  private async heartbeatLoop(): Promise<void> {
    const signal = this.heartbeatStop.signal;
    let lastSent = 0;
    while (!signal.aborted) {
      const registration = this.registration;
      const job = this.current;
      const intervalMs = 1000 * (job ? registration?.busyHeartbeatIntervalSeconds ?? 1 : registration?.heartbeatIntervalSeconds ?? 15);
      const wait = Math.max(0, lastSent + intervalMs - Date.now());
      // Tick at most every 250 ms so a job starting mid-interval switches to the busy rate promptly.
      try {
        await sleep(Math.min(wait, 250), signal);
      } catch {
        return;
      }
      if (wait > 250) continue;
      lastSent = Date.now();
      await this.heartbeat(job);
    }
  }

  private async heartbeat(job: JobRun | undefined): Promise<void> {
    // A job whose lease lapsed is not renewed: its processes are gone, and beating idle lets the server
    // give it up at once should it still count it as ours.
    const renewing = job && !job.leaseLost ? job : undefined;
    const sentAt = Date.now();
    try {
      const response = await this.client.call(routes.heartbeat, { body: renewing ? { jobId: renewing.jobId } : {} }, {
        retry: false,
        timeoutMs: heartbeatTimeoutMs(this.registration?.leaseSeconds ?? 30),
        signal: this.heartbeatStop.signal,
      });
      if (!response.ok) {
        this.heartbeatTrouble = `server answered HTTP ${response.status}`;
        return;
      }
      this.heartbeatTrouble = undefined;
      if (renewing && renewing === this.current) this.leaseRenewedAt = Math.max(this.leaseRenewedAt, sentAt);
      const { cancelJobIds } = response.body;
      const current = this.current;
      if (current && cancelJobIds.includes(current.jobId)) current.cancel('cancelled by the server');
    } catch (error) {
      this.heartbeatTrouble = 'server unreachable';
      // Outages are reported once by the client; the next tick simply tries again.
      if (error instanceof RegistrationRejectedError) this.options.logger.error(errorMessage(error));
    }
  }
}

/** The job id of a claim reply the contract refused, when it has one to release. */
function claimedJobId(body: unknown): number | undefined {
  const job = typeof body === 'object' && body !== null ? (body as { job?: unknown }).job : undefined;
  const id = typeof job === 'object' && job !== null ? (job as { id?: unknown }).id : undefined;
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

function positiveOr(value: number, fallback: number): number {
  return value > 0 ? value : fallback;
}
