import { Inject, Injectable } from '@nestjs/common';
import { generateToken, hashToken } from '../auth/token-codec';
import type { AgentPrincipal, RegistrationPrincipal } from '../auth/principal';
import { conflict, gone, notFound } from '../common/api-error';
import { CONFIG, type Config } from '../config/config';
import { MetricsService } from '../metrics/metrics.service';
import { JobsRepository, type ClaimedJobRow, type OwnedJob } from '../jobs/jobs.repository';
import { LogsRepository } from '../jobs/logs.repository';
import { LiveEvents } from '../live/live-events.service';
import { QueueNotifier } from '../queue/queue-notifier.service';
import { owedAfterClaim, type QueuedJobRef } from '../queue/queue-wakeups';
import { QueueRepository } from '../queue/queue.repository';
import { SecretsService } from '../secrets/secrets.service';
import { maskSecrets } from '../secrets/secret-masker';
import { credentialsFor } from '../repositories/repository-spec';
import { TemporalService } from '../temporal/temporal.service';
import type { z } from 'zod';
import type {
  ActiveNodesRequest,
  ActiveNodesResponse,
  ClaimedJob,
  FinishRequest,
  FinishResponse,
  HeartbeatResponse,
  LogBatchRequest,
  LogBatchResponse,
  RegisterRequest,
  RegisterResponse,
} from '../../contract/agent-protocol.contract';
import type { Agent } from '../../contract/agents.contract';
import { AgentConnections } from './agent-connections';
import { AgentsRepository } from './agents.repository';
import { isUuid } from '../common/validation';

const BUSY_HEARTBEAT_SECONDS = 1;
const JOB_PROJECT_CACHE_SIZE = 10_000;

/** The agent protocol's rules: registration, leases, claims, logs and verdicts. */
@Injectable()
export class AgentsService {
  private readonly secretCache = new Map<string, { values: string[]; until: number }>();
  private readonly jobProjects = new Map<number, string>();

  constructor(
    private readonly agents: AgentsRepository,
    private readonly jobs: JobsRepository,
    private readonly logs: LogsRepository,
    private readonly queue: QueueRepository,
    private readonly notifier: QueueNotifier,
    private readonly secrets: SecretsService,
    private readonly temporal: TemporalService,
    private readonly live: LiveEvents,
    private readonly metrics: MetricsService,
    private readonly connections: AgentConnections,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async register(registration: RegistrationPrincipal, request: z.output<typeof RegisterRequest>): Promise<z.output<typeof RegisterResponse>> {
    const secret = generateToken('bels_');
    const agent = await this.agents.register({
      name: request.name,
      tokenId: registration.tokenId,
      secretHash: hashToken(secret),
      labels: [...new Set(request.labels)].sort(),
      hostname: request.hostname ?? null,
      os: request.os ?? null,
      arch: request.arch ?? null,
      version: request.version ?? null,
    });
    this.live.agentChanged(agent.id, this.config.agentLostAfterSeconds, true);
    return {
      agentId: agent.id,
      secret,
      labels: agent.labels,
      heartbeatIntervalSeconds: Math.max(1, Math.min(10, Math.floor(this.config.agentLostAfterSeconds / 3))),
      busyHeartbeatIntervalSeconds: BUSY_HEARTBEAT_SECONDS,
      leaseSeconds: this.config.agentLostAfterSeconds,
    };
  }

  /** The agent a secret belongs to (REST bearer or agent stream handshake); undefined when unknown or deleted. */
  async principalForSecret(secret: string): Promise<AgentPrincipal | undefined> {
    const agent = await this.agents.findBySecretHash(hashToken(secret));
    return agent && { kind: 'agent', agentId: agent.id, name: agent.name, labels: agent.labels };
  }

  async heartbeat(agent: AgentPrincipal, jobId: number | null): Promise<z.output<typeof HeartbeatResponse>> {
    const cancelJobIds = await this.agents.heartbeat(agent.agentId, jobId, this.config.agentLostAfterSeconds);
    // Back from offline (or idle/busy drift): announced only when it differs from the last announcement.
    this.live.agentChanged(agent.agentId, this.config.agentLostAfterSeconds);
    return { cancelJobIds };
  }

  /** The agent stops cleanly: offline at once (its next heartbeat or claim brings it back). */
  async signOff(agent: AgentPrincipal): Promise<void> {
    await this.agents.signOff(agent.agentId);
    this.live.agentChanged(agent.agentId, this.config.agentLostAfterSeconds);
  }

  /**
   * Long poll: answers with the first queued job this agent matches, or null when `waitSeconds` pass.
   * A notification wakes this poll for a named job (QueueNotifier); a poll that then does not claim
   * that job passes it on to the next matching waiter here (queue-wakeups.ts: owedAfterClaim), so a
   * job cannot sit queued while a matching agent waits on this instance.
   */
  async claim(agent: AgentPrincipal, waitSeconds: number, abandoned: AbortSignal): Promise<z.output<typeof ClaimedJob> | null> {
    const deadline = Date.now() + waitSeconds * 1000;
    await this.agents.touch(agent.agentId);
    // The jobs this poll was woken for before its current claim statement began: that statement settles them.
    let owed: QueuedJobRef[] = [];
    try {
      for (let round = 0; ; round++) {
        if (abandoned.aborted || this.notifier.isClosing) return null;
        const waiter = this.notifier.arm(agent.labels);
        let row: ClaimedJobRow | undefined;
        try {
          row = await this.queue.claim(agent.agentId, agent.labels, this.config.agentLostAfterSeconds);
        } catch (error) {
          waiter.disarm();
          owed = [...owed, ...waiter.wokenFor];
          throw error;
        }
        this.metrics.observeClaimAttempt(row ? 'claimed' : 'empty', round === 0 ? 'poll_start' : 'wakeup');
        if (row) {
          waiter.disarm();
          // A wakeup that came during the statement may be for the job it claimed, or for one still queued.
          owed = owedAfterClaim([...owed, ...waiter.wokenFor], { claimedJobId: row.id });
          // The claim is committed; the workflow hears of it off the agent's critical path (and
          // reconciles with Postgres should this signal be lost).
          void this.temporal.signalClaimed(row.runId, row.attempt, { jobId: row.id, try: row.try, agentId: agent.agentId });
          this.metrics.observeClaim(row.queuedAt);
          this.live.jobsChanged([row.id]);
          this.live.runChanged(row.runId);
          this.live.queueChanged('claimed');
          this.live.agentChanged(agent.agentId, this.config.agentLostAfterSeconds);
          if (abandoned.aborted) {
            // Its client left while the claim ran: nobody will run this try. Handed back as a release
            // is, so the lease reaper queues it again at its next sweep rather than after a whole lease.
            await this.jobs.expireLease(row.id, row.try);
            return null;
          }
          return this.toClaimedJob(row);
        }
        // Nothing to claim: what it was woken for went to someone else. A wakeup that came during the
        // statement is not settled by it (its snapshot may predate that job): it is owed to the next one.
        owed = owedAfterClaim(owed, 'empty');
        const remaining = deadline - Date.now();
        const woken = remaining > 0 && (await waiter.wait(remaining, abandoned));
        waiter.disarm();
        owed = [...waiter.wokenFor];
        // Timed out or the client left: the agent's next poll begins with a claim of its own.
        if (!woken) return null;
      }
    } finally {
      this.notifier.passOn(owed);
    }
  }

  async start(agent: AgentPrincipal, jobId: number): Promise<void> {
    const job = await this.owned(agent, jobId);
    await this.jobs.markStarted(job.id, job.try);
    this.live.jobsChanged([job.id]);
  }

  async appendLogs(agent: AgentPrincipal, jobId: number, batch: z.output<typeof LogBatchRequest>): Promise<z.output<typeof LogBatchResponse>> {
    const projectId = await this.projectOf(jobId);
    if (!projectId) throw notFound('job', jobId);
    const secrets = await this.secretValues(projectId);
    const result = await this.logs.appendBatch({
      jobId,
      agentId: agent.agentId,
      batch: batch.seq,
      chunks: batch.chunks.map((chunk) => ({
        stream: chunk.stream,
        node: chunk.node ?? null,
        text: storableText(maskSecrets(chunk.text, secrets)),
        at: chunk.at ? new Date(chunk.at) : null,
      })),
      maxBytes: this.config.maxLogBytesPerJob,
    });
    if (!result) throw conflict(`Job ${jobId} is not held by agent "${agent.name}" any more; drop it.`, 'job_not_owned');
    // Right after the commit and before the agent may send its next batch: published in seq order.
    if (result.outcome === 'stored') this.live.logChunks(jobId, result.stored);
    if (result.outcome === 'out_of_order') {
      throw conflict(`Expected log batch ${result.nextBatch}, got ${batch.seq}; resend from ${result.nextBatch}.`, 'log_seq_mismatch', {
        nextSeq: result.nextBatch,
      });
    }
    return { nextSeq: result.nextBatch, cancel: result.job.status !== 'running' || result.job.cancelRequested };
  }

  /** The live graph view's source: which nodes execute now, and how each one ended. */
  async reportNodes(agent: AgentPrincipal, jobId: number, report: z.output<typeof ActiveNodesRequest>): Promise<z.output<typeof ActiveNodesResponse>> {
    const job = await this.owned(agent, jobId);
    const states = report.states ?? {};
    const active = [...new Set(report.active)];
    await this.jobs.reportNodes(job.id, job.try, active, states);
    this.live.nodes(job.id, active, states);
    return { cancel: job.status !== 'running' || job.cancelRequested };
  }

  async finish(
    agent: AgentPrincipal,
    jobId: number,
    request: Pick<z.output<typeof FinishRequest>, 'status' | 'outputs'> & { exitCode: number | null },
  ): Promise<z.output<typeof FinishResponse>> {
    const job = await this.owned(agent, jobId);
    if (job.status !== 'running') return { status: job.status };
    const outputs = await this.maskedOutputs(job.projectId, request.outputs ?? {});
    const finished = await this.jobs.finish(job.id, job.try, request.status, request.exitCode, outputs);
    if (!finished) {
      const current = await this.owned(agent, jobId);
      return { status: current.status };
    }
    this.live.jobsChanged([job.id]);
    this.live.agentChanged(agent.agentId, this.config.agentLostAfterSeconds);
    await this.temporal.signalFinished(finished.runId, finished.attempt, {
      jobId: job.id,
      try: job.try,
      status: finished.status,
      exitCode: request.exitCode,
    });
    return { status: finished.status };
  }

  /** The agent gives a job back (it is shutting down): the try counts as lost and the job is queued again at once. */
  async release(agent: AgentPrincipal, jobId: number): Promise<void> {
    const job = await this.assertRunning(agent, jobId);
    await this.jobs.expireLease(job.id, job.try);
  }

  /** The job as held by this agent's current try; 409 when it is another's, 410 when it ended long ago. */
  async owned(agent: AgentPrincipal, jobId: number): Promise<OwnedJob> {
    const job = await this.jobs.findOwned(jobId, agent.agentId);
    if (job) return job;
    if (!(await this.jobs.jobExists(jobId))) throw notFound('job', jobId);
    throw conflict(`Job ${jobId} is not held by agent "${agent.name}" any more; drop it.`, 'job_not_owned');
  }

  async assertRunning(agent: AgentPrincipal, jobId: number): Promise<OwnedJob> {
    const job = await this.owned(agent, jobId);
    if (job.status !== 'running') throw gone(`Job ${jobId} already ended ${job.status}.`, 'job_finished');
    return job;
  }

  list(): Promise<z.output<typeof Agent>[]> {
    return this.agents.list(this.config.agentLostAfterSeconds);
  }

  async setLabels(id: string, labels: string[] | null): Promise<z.output<typeof Agent>> {
    if (!isUuid(id) || !(await this.agents.setLabelsOverride(id, labels === null ? null : [...new Set(labels)].sort()))) throw notFound('agent', id);
    this.live.agentChanged(id, this.config.agentLostAfterSeconds, true);
    return (await this.agents.get(id, this.config.agentLostAfterSeconds))!;
  }

  async delete(id: string): Promise<void> {
    if (!isUuid(id) || !(await this.agents.delete(id))) throw notFound('agent', id);
    this.connections.drop(id);
    this.live.agentDeleted(id);
  }

  /**
   * Outputs are stored masked as log lines are (maskSecrets, same values): they are shown in the UI, the
   * API and the CLI, and passed on to other jobs, so a secret in one must not leave the server.
   */
  private async maskedOutputs(projectId: string, outputs: Record<string, string>): Promise<Record<string, string>> {
    if (Object.keys(outputs).length === 0) return outputs;
    const secrets = await this.secretValues(projectId);
    return Object.fromEntries(Object.entries(outputs).map(([key, value]) => [key, storableText(maskSecrets(value, secrets))]));
  }

  private async toClaimedJob(row: ClaimedJobRow): Promise<z.output<typeof ClaimedJob>> {
    const secrets = await this.secrets.reveal(row.projectId);
    const needs: Record<string, { outputs: Record<string, string> }> = {};
    // A matrix job's legs share a name: their outputs merge, later keys winning (as GitHub's needs do).
    for (const needed of await this.jobs.neededOutputs(row.id)) needs[needed.name] = { outputs: { ...needs[needed.name]?.outputs, ...needed.outputs } };
    return {
      job: { id: row.id, name: row.name, try: row.try, labels: row.labels, timeoutMinutes: row.timeoutMinutes },
      run: {
        id: row.runId,
        number: row.runNumber,
        attempt: row.attempt,
        project: row.project,
        pipeline: row.pipeline,
        ref: row.ref,
        commitSha: row.commitSha,
      },
      pipeline: { kind: row.kind, content: row.content, version: row.pipelineVersion, path: row.pipelinePath },
      // The checkout's credentials travel with this claim only; the agent masks them like every secret.
      repository:
        row.repositoryUrl !== null && row.commitSha !== null
          ? {
              projectId: row.projectId,
              url: row.repositoryUrl,
              ref: row.ref,
              commitSha: row.commitSha,
              auth: credentialsFor(row.repositoryUrl, row.repositoryCredentialsSecret === null ? undefined : secrets[row.repositoryCredentialsSecret]) ?? null,
            }
          : null,
      inputs: row.runInputs,
      env: { ...row.env, ...row.runEnv },
      secrets,
      matrix: row.matrix,
      needs,
    };
  }


  // A job never changes project, so this is cached for good (bounded: oldest first out).
  private async projectOf(jobId: number): Promise<string | undefined> {
    const cached = this.jobProjects.get(jobId);
    if (cached) return cached;
    const projectId = await this.jobs.projectOf(jobId);
    if (!projectId) return undefined;
    if (this.jobProjects.size >= JOB_PROJECT_CACHE_SIZE) this.jobProjects.delete(this.jobProjects.keys().next().value!);
    this.jobProjects.set(jobId, projectId);
    return projectId;
  }

  // Log batches arrive several times a second per job; decrypting every secret each time is waste.
  private async secretValues(projectId: string): Promise<string[]> {
    const cached = this.secretCache.get(projectId);
    if (cached && cached.until > Date.now()) return cached.values;
    const values = Object.values(await this.secrets.reveal(projectId));
    this.secretCache.set(projectId, { values, until: Date.now() + 10_000 });
    return values;
  }
}

/** PostgreSQL text cannot hold NUL; a program that prints one must not make its whole batch unstorable. */
function storableText(text: string): string {
  return text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text;
}
