import type { StoredChunk } from '../jobs/logs.repository';
import type { NodeState } from '../../contract/jobs.contract';
import type { ServerToClientEvents } from '../../contract/live.contract';
import { LiveRepository, type JobEventRow } from './live.repository';
import { rooms } from './live-rooms';

export type LiveEventName = keyof ServerToClientEvents;
export type LiveEventPayload<E extends LiveEventName> = Parameters<ServerToClientEvents[E]>[0];

/**
 * Where events go: the API's Socket.IO server (through the Postgres adapter, so every instance's
 * clients get each event once) or, in the worker, the Postgres emitter. Must not throw.
 */
export type LiveSink = <E extends LiveEventName>(targets: string[], event: E, payload: LiveEventPayload<E>) => void;

/** What a Socket.IO server, broadcast operator or Postgres emitter offers once event types are checked here. */
export type UntypedEmitter = { emit(event: string, ...args: unknown[]): unknown };

/** A sink over anything with `to(rooms).emit(…)`; the payload types were checked by LivePublisher. */
export function sinkOf(to: (targets: string[]) => UntypedEmitter | undefined): LiveSink {
  return (targets, event, payload) => void to(targets)?.emit(event, payload);
}

export type QueueChangeReason = LiveEventPayload<'queue.changed'>['reason'];

/**
 * Turns "this changed" into typed events for the right rooms. Every method is fire-and-forget:
 * an event that cannot be built or sent is logged and dropped, never failing the request or the
 * activity that caused it (viewers refetch over REST when they reconnect).
 */
export class LivePublisher {
  constructor(
    private readonly sink: LiveSink,
    private readonly repository: LiveRepository,
    private readonly warn: (message: string) => void,
  ) {}

  runChanged(runId: number): void {
    this.guard(`run ${runId}`, async () => {
      const run = await this.repository.run(runId);
      if (!run) return;
      const { projectId, ...event } = run;
      this.send([...rooms.runs(projectId), rooms.run(runId)], 'run.updated', event);
    });
  }

  jobsChanged(jobIds: number[]): void {
    if (!jobIds.length) return;
    this.guard(`jobs ${jobIds.join(',')}`, async () => this.sendJobs(await this.repository.jobs(jobIds)));
  }

  attemptJobsChanged(runId: number, attempt: number): void {
    this.guard(`run ${runId} attempt ${attempt} jobs`, async () => {
      this.sendJobs(await this.repository.jobs(await this.repository.attemptJobIds(runId, attempt)));
    });
  }

  /**
   * Synchronous on purpose: called right after the batch committed and before the agent gets its
   * answer, so batches of a job are published in seq order (the next batch cannot arrive earlier).
   */
  logChunks(jobId: number, chunks: StoredChunk[]): void {
    if (!chunks.length) return;
    this.send([rooms.job(jobId)], 'log.chunks', { jobId, chunks: chunks.map(toChunkEvent) });
  }

  nodes(jobId: number, activeNodes: string[], nodeStates: Record<string, NodeState>): void {
    this.send([rooms.job(jobId)], 'job.nodes', { jobId, activeNodes, nodeStates });
  }

  queueChanged(reason: QueueChangeReason): void {
    this.send([rooms.queue], 'queue.changed', { reason });
  }

  /**
   * Announces the agent's status if it changed since the last announcement by any instance, or
   * always with `force` (it registered, its labels changed).
   */
  agentChanged(agentId: string, offlineAfterSeconds: number, force = false): void {
    this.guard(`agent ${agentId}`, async () => {
      for (const agent of await this.repository.takeStatusChanges(offlineAfterSeconds, agentId, force)) this.send([rooms.agents], 'agent.updated', agent);
    });
  }

  /** The periodic sweep: catches transitions nobody caused by a request (an agent went silent, a job ended in the worker). */
  async announceStatusChanges(offlineAfterSeconds: number): Promise<void> {
    for (const agent of await this.repository.takeStatusChanges(offlineAfterSeconds)) this.send([rooms.agents], 'agent.updated', agent);
  }

  agentDeleted(agentId: string): void {
    this.guard(`agent ${agentId}`, async () => {
      const name = await this.repository.agentName(agentId);
      if (name !== undefined) this.send([rooms.agents], 'agent.updated', { agentId, name, status: 'deleted' });
    });
  }

  artifactCreated(artifactId: string): void {
    this.guard(`artifact ${artifactId}`, async () => {
      const artifact = await this.repository.artifact(artifactId);
      if (!artifact) return;
      const { projectId, ...event } = artifact;
      this.send([...rooms.artifacts(projectId), rooms.run(artifact.runId)], 'artifact.created', event);
    });
  }

  private sendJobs(jobs: JobEventRow[]): void {
    for (const { projectId: _projectId, ...job } of jobs) this.send([rooms.run(job.runId), rooms.job(job.jobId)], 'job.updated', job);
  }

  private send<E extends LiveEventName>(targets: string[], event: E, payload: LiveEventPayload<E>): void {
    try {
      this.sink(targets, event, payload);
    } catch (error) {
      this.warn(`live event ${event} not sent: ${(error as Error).message}`);
    }
  }

  private guard(what: string, work: () => Promise<void>): void {
    work().catch((error: unknown) => this.warn(`live event for ${what} not sent: ${error instanceof Error ? error.message : String(error)}`));
  }
}

export function toChunkEvent(chunk: StoredChunk): LiveEventPayload<'log.chunks'>['chunks'][number] {
  return { seq: chunk.seq, try: chunk.try, stream: chunk.stream, node: chunk.node, text: chunk.text, at: new Date(chunk.at).toISOString() };
}
