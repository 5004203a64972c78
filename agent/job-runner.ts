// Everything around one claimed job: workspace, start, execution, cancel, artifacts, log flush, finish.

import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import { join } from 'node:path';
import { api } from '../contract';
import { MAX_FINISH_ERROR_LENGTH, type ClaimedJob, type FinishRequest } from '../contract/agent-protocol.contract';
import { ApiNetworkError, describeError, errorCode, isJobGone, isSuccess, type ApiClient, type CallResult } from './api-client';
import { uploadArtifacts } from './artifact-uploader';
import { backoffDelay, isAbortError, sleep } from './backoff';
import { checkoutWorkspace } from './checkout';
import { authSecrets } from './git/git';
import type { ProjectMirrors } from './git/git-mirror';
import { buildJobEnvironment } from './job-environment';
import type { Execution, ExecutionResult, ExecutorRegistry } from './job-executor';
import { createJobOutput, type JobOutput } from './job-output';
import { parseOutputsFile } from './job-outputs-file';
import { LogShipper, type LogShipperOptions } from './log-shipper';
import { errorMessage, type Logger } from './logger';
import { createSecretMasker } from './secret-masker';

const routes = api.agentProtocol;

export type JobRunnerOptions = {
  client: ApiClient;
  logger: Logger;
  agentName: string;
  workDir: string;
  serverUrl: string;
  executors: ExecutorRegistry;
  cancelGraceMs: number;
  keepWorkspace: boolean;
  /** Masked in job output too (registration token, agent secret), in case a job manages to print them. */
  extraSecrets: string[];
  agentEnv: NodeJS.ProcessEnv;
  /** This agent's repository mirrors, one set per project, shared by that project's jobs (see checkout.ts). */
  mirrors: ProjectMirrors;
  shipper?: Pick<LogShipperOptions, 'flushIntervalMs' | 'maxBatchBytes' | 'maxBufferBytes'>;
  idleFlushMs?: number;
};


const SHUTDOWN_REASON = 'agent shut down';
/**
 * `job-gone`: the server took the job away; it was dropped without calling finish. `lease-lost`: the
 * agent could not renew the job's lease and stopped it; it handed the job back (or was told it is gone).
 */
export type JobOutcome = 'succeeded' | 'failed' | 'job-gone' | 'lease-lost' | 'aborted';

export class JobRun {
  readonly jobId: number;
  private execution: Execution | undefined;
  private cancelReason: string | undefined;
  private gone = false;
  /** Set once the lease lapsed: the processes are killed and the job is never reported as finished. */
  private leaseLostReason: string | undefined;
  private readonly aborter = new AbortController();
  /** Fires on abort and on cancel: a checkout has no process of its own to be sent SIGTERM. */
  private readonly checkoutAborter = new AbortController();
  private output: JobOutput | undefined;
  private shipper: LogShipper | undefined;

  constructor(
    private readonly claimed: ClaimedJob,
    private readonly options: JobRunnerOptions,
  ) {
    this.jobId = claimed.job.id;
  }

  /** Graceful cancel (server request, timeout, agent shutdown): SIGTERM, grace, SIGKILL, finish failed. */
  cancel(reason: string): void {
    if (this.cancelReason !== undefined || this.gone) return;
    this.cancelReason = reason;
    this.checkoutAborter.abort();
    this.execution?.cancel(reason);
  }

  /** Second SIGTERM/SIGINT to the agent. */
  shutdown(): void {
    if (this.cancelReason === undefined) this.output?.system('agent shut down; handing the job back');
    this.cancel(SHUTDOWN_REASON);
  }

  /** True once the lease lapsed (see loseLease): the job still delivers its log, but is no longer run. */
  get leaseLost(): boolean {
    return this.leaseLostReason !== undefined;
  }

  /**
   * No heartbeat renewed the lease for a lease period: the server has queued (or will queue) the job
   * again, so another agent may be running it now. Kill the whole process tree at once (no grace: the
   * other copy is already running), then deliver what the log holds and hand the job back; the server
   * refuses both with job_not_owned if the job is another's by then, and they change nothing.
   */
  loseLease(silentSeconds: number, cause: string): void {
    if (this.gone || this.leaseLostReason !== undefined) return;
    this.leaseLostReason = `lease not renewed for ${silentSeconds} s (${cause})`;
    this.checkoutAborter.abort();
    this.execution?.kill();
    this.output?.system(`The agent could not renew this job's lease for ${silentSeconds} s (${cause}); it stopped the job's processes`);
    this.options.logger.warn(`Job ${this.jobId}: ${this.leaseLostReason}; stopped its processes — the server will have queued it again`);
  }

  /** Gives up on everything at once (repeated signals): kill the tree, stop all API calls. */
  abort(): void {
    this.execution?.kill();
    this.checkoutAborter.abort();
    this.aborter.abort();
  }

  async run(): Promise<JobOutcome> {
    const { job, run } = this.claimed;
    const jobDir = join(this.options.workDir, 'jobs', `${job.id}-${job.try}`);
    try {
      return await this.runIn(jobDir);
    } catch (error) {
      if (isAbortError(error) || this.aborter.signal.aborted) return 'aborted';
      const message = `agent error: ${errorMessage(error)}`;
      this.options.logger.error(`Job ${job.id} (run ${run.id}) failed inside the agent: ${errorMessage(error)}`);
      this.execution?.kill();
      if (this.gone) return 'job-gone';
      // Leaving the job unfinished would keep it "running" on the server until its timeout.
      try {
        this.output?.system(message);
        await this.shipper?.flush();
        await this.finish({ status: 'failed', exitCode: null, error: message });
      } catch (finishError) {
        this.options.logger.error(`Could not report job ${job.id} as failed: ${errorMessage(finishError)}`);
      }
      return 'failed';
    } finally {
      await this.removeJobDir(jobDir);
    }
  }

  private async runIn(jobDir: string): Promise<JobOutcome> {
    const { client, logger } = this.options;
    const { job, run, pipeline } = this.claimed;
    const signal = this.aborter.signal;
    const workspaceDir = join(jobDir, 'workspace');
    const artifactsDir = join(jobDir, 'artifacts');
    await rm(jobDir, { recursive: true, force: true });
    await mkdir(workspaceDir, { recursive: true });
    await mkdir(artifactsDir, { recursive: true });
    // Outside the workspace, so a checkout or a clean step never touches it; the job dir is new each try.
    const outputFile = join(jobDir, 'output');
    await writeFile(outputFile, '');

    const checkoutAuth = this.claimed.repository?.auth ?? undefined;
    const masker = createSecretMasker([...Object.values(this.claimed.secrets), ...this.options.extraSecrets, ...authSecrets(checkoutAuth)]);
    const shipper = new LogShipper({
      ...this.options.shipper,
      client,
      jobId: job.id,
      logger,
      signal,
      onCancel: () => this.cancel('cancelled by the server'),
      onJobGone: (reason) => this.lose(reason),
    });
    this.shipper = shipper;
    const output = createJobOutput(shipper, masker, { idleFlushMs: this.options.idleFlushMs });
    this.output = output;

    // The status decides here: the agent reads nothing from these answers but whether the job is still its own.
    const started = await client.call(routes.start, { params: { id: job.id } }, { signal });
    if (!isSuccess(started)) {
      this.lose(`start refused: HTTP ${started.status}${describeError(started)}`);
      return 'job-gone';
    }
    logger.info(`Job ${job.id} "${job.name}" (run ${run.project}/${run.pipeline} #${run.number}, try ${job.try}) started`);
    output.system(`Running on agent ${this.options.agentName} (${os.hostname()}, ${process.platform}/${process.arch})`);
    output.system(`Job ${job.name} of ${run.project}/${run.pipeline} run #${run.number}, attempt ${run.attempt}, try ${job.try}`);

    // Local backstop for the job timeout, in case the server's cancel does not get through. The server
    // decides first (reason "timeout"); this fires only a minute after that. It covers the checkout too.
    const timeout =
      job.timeoutMinutes > 0
        ? setTimeout(() => {
            output.system(`Timed out after ${job.timeoutMinutes} min`);
            this.cancel(`timed out after ${job.timeoutMinutes} min`);
          }, job.timeoutMinutes * 60_000 + 60_000)
        : undefined;
    let result: ExecutionResult | undefined;
    try {
      const repository = this.claimed.repository;
      if (repository && this.cancelReason === undefined && this.leaseLostReason === undefined) {
        const checkout = await checkoutWorkspace(repository, workspaceDir, this.options.mirrors, (text) => output.system(text, 'checkout'), this.checkoutAborter.signal);
        if (!checkout.ok) {
          output.system(checkout.error, 'checkout');
          // Cancelled: the job ends for the cancel's reason, as a cancelled script does, not as a failed checkout.
          result = { exitCode: null, signal: null, error: checkout.cancelled ? (this.cancelReason ?? this.leaseLostReason ?? checkout.error) : checkout.error };
        }
      }
      result ??= await this.execute(jobDir, workspaceDir, artifactsDir, outputFile, output, (value) => masker.add(value));
    } finally {
      if (timeout) clearTimeout(timeout);
    }
    output.end();
    if (this.gone) return 'job-gone';
    output.system(describeResult(result));
    // Read even after a failure: what the job wrote before it failed is still worth showing.
    const outputs = parseOutputsFile(await readFile(outputFile, 'utf8').catch(() => ''));
    if (!outputs.ok) output.system(outputs.error);
    else if (Object.keys(outputs.outputs).length) output.system(`Outputs: ${Object.keys(outputs.outputs).join(', ')}`);

    if (this.leaseLostReason !== undefined) {
      output.system('Skipping artifact upload: the job lost its lease');
    } else if (this.cancelReason !== undefined) {
      output.system('Skipping artifact upload: the job was cancelled');
    } else if ((await uploadArtifacts({ client, jobId: job.id, artifactsDir, report: (text) => output.system(text), signal })) === 'job-gone') {
      this.lose('artifact upload refused');
      return 'job-gone';
    }

    // The server treats finish as the end of the log, so every batch must be acknowledged first.
    await shipper.flush();
    if (this.gone) return 'job-gone';

    if (this.leaseLostReason !== undefined) return this.handBackLost();
    if (this.cancelReason === SHUTDOWN_REASON) {
      // Not the job's fault: hand it back so the server queues it again for another agent.
      const released = await client.call(routes.release, { params: { id: job.id } }, { signal: this.aborter.signal });
      logger.info(`Job ${job.id} handed back to the server (HTTP ${released.status})`);
      return 'failed';
    }

    // A malformed output file fails a try that otherwise succeeded: its dependents would read wrong values.
    const succeeded = result.exitCode === 0 && this.cancelReason === undefined && result.error === undefined && outputs.ok;
    const finish: FinishRequest = { status: succeeded ? 'succeeded' : 'failed', exitCode: result.exitCode };
    const error = this.cancelReason ?? result.error ?? (result.signal ? `killed by ${result.signal}` : outputs.ok ? undefined : outputs.error);
    if (!succeeded && error !== undefined) finish.error = error.slice(0, MAX_FINISH_ERROR_LENGTH);
    if (outputs.ok && Object.keys(outputs.outputs).length) finish.outputs = outputs.outputs;
    const finished = await this.finish(finish);
    // The lease lapsed while finish was being retried: the job may be running elsewhere already.
    if (finished === 'lease-lost') return this.handBackLost();
    if (isJobGone(finished)) {
      this.lose(`finish refused: HTTP ${finished.status}${describeError(finished)}`);
      return 'job-gone';
    }
    logger.info(`Job ${job.id} finished: ${finish.status}${pipeline.kind === 'script' ? ` (${describeResult(result)})` : ''}`);
    return finish.status;
  }

  private async execute(
    jobDir: string,
    workspaceDir: string,
    artifactsDir: string,
    outputFile: string,
    output: JobOutput,
    maskSecret: (value: string) => void,
  ): Promise<ExecutionResult> {
    const { pipeline } = this.claimed;
    if (this.leaseLostReason !== undefined) return { exitCode: null, signal: null, error: this.leaseLostReason };
    if (this.cancelReason !== undefined) return { exitCode: null, signal: null, error: this.cancelReason };
    const executor = this.options.executors[pipeline.kind];
    if (!executor) {
      const error = `${pipeline.kind} pipelines are not supported by this agent version`;
      output.system(error);
      return { exitCode: null, signal: null, error };
    }
    const env = buildJobEnvironment({
      job: this.claimed,
      serverUrl: this.options.serverUrl,
      workspaceDir,
      artifactsDir,
      outputFile,
      agentEnv: this.options.agentEnv,
    });
    try {
      this.execution = await executor.start({ job: this.claimed, jobDir, workspaceDir, artifactsDir, env, output, maskSecret, cancelGraceMs: this.options.cancelGraceMs });
    } catch (error) {
      const message = `Could not start the job: ${errorMessage(error)}`;
      output.system(message);
      return { exitCode: null, signal: null, error: message };
    }
    // A cancel that arrived while the executor was starting up would otherwise be lost.
    if (this.gone || this.leaseLostReason !== undefined) this.execution.kill();
    else if (this.cancelReason !== undefined) this.execution.cancel(this.cancelReason);
    return this.execution.done;
  }

  /**
   * Retried until the server answers 2xx or says the job is not ours (409/410), or the lease lapses
   * meanwhile (then the job is handed back instead: a lapsed lease is never reported as succeeded).
   */
  private async finish(body: FinishRequest): Promise<CallResult<typeof routes.finish> | 'lease-lost'> {
    const { client, logger } = this.options;
    for (let attempt = 0; ; attempt++) {
      // Checked before each attempt, so the client retries nothing by itself: an outage that outlasts the
      // lease must end in a hand-back, not in a "succeeded" delivered once the link returns.
      if (this.leaseLostReason !== undefined) return 'lease-lost';
      let response;
      try {
        response = await client.call(routes.finish, { params: { id: this.jobId }, body }, { signal: this.aborter.signal, retry: false });
      } catch (error) {
        if (!(error instanceof ApiNetworkError)) throw error;
        await sleep(backoffDelay(attempt), this.aborter.signal);
        continue;
      }
      if (isSuccess(response) || isJobGone(response)) return response;
      // 5xx and 429 are an outage (the client logged it once); anything else is worth a line each time.
      if (response.status < 500 && response.status !== 429) logger.warn(`Finishing job ${this.jobId} failed with HTTP ${response.status}${describeError(response)}; retrying`);
      await sleep(backoffDelay(attempt), this.aborter.signal);
    }
  }

  /**
   * After a lapsed lease, once the log is delivered: give the job back so that, should the server still
   * count it as ours (its reaper had not run yet), it is queued again at once as a lost try. Fenced like
   * finish: job_not_owned (409) when another agent holds it, job_finished (410) when it ended.
   */
  private async handBackLost(): Promise<JobOutcome> {
    const { client, logger } = this.options;
    const released = await client.call(routes.release, { params: { id: this.jobId } }, { signal: this.aborter.signal });
    if (isSuccess(released)) logger.info(`Job ${this.jobId}: handed back to the server after its lease lapsed`);
    else logger.warn(`Job ${this.jobId}: the late hand-back was refused with HTTP ${released.status}${codeOf(released)}${describeError(released)}; dropped`);
    return 'lease-lost';
  }

  /** The job is not ours any more: kill its processes, stop shipping, never call finish. */
  private lose(reason: string): void {
    if (this.gone) return;
    this.gone = true;
    this.checkoutAborter.abort();
    this.execution?.kill();
    this.shipper?.discard();
    this.options.logger.warn(`Job ${this.jobId} no longer belongs to this agent (${reason}); dropped`);
  }

  private async removeJobDir(jobDir: string): Promise<void> {
    if (this.options.keepWorkspace) {
      this.options.logger.info(`Keeping job directory ${jobDir} (BELLOWS_KEEP_WORKSPACE=1)`);
      return;
    }
    try {
      await rm(jobDir, { recursive: true, force: true, maxRetries: 3 });
    } catch (error) {
      this.options.logger.warn(`Could not remove job directory ${jobDir}: ${errorMessage(error)}`);
    }
  }
}

/** ` job_not_owned` for a refusal that carries a code, so a log line names the fence that refused it. */
function codeOf(response: { body: unknown }): string {
  const code = errorCode(response.body);
  return code ? ` ${code}` : '';
}

function describeResult(result: ExecutionResult): string {
  if (result.error !== undefined && result.exitCode === null && result.signal === null) return 'job did not run';
  if (result.signal) return `terminated by ${result.signal}`;
  return `exit code ${result.exitCode}`;
}
