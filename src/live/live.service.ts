import { Injectable, Logger } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { JobsRepository } from '../jobs/jobs.repository';
import { nodeStatesFor, parseGraph } from '../jobs/job-graph';
import { LogsRepository } from '../jobs/logs.repository';
import { DeliveryGate } from './delivery-gate';
import type { ClientToServerEvents, LiveRoom, ServerToClientEvents, SubscribeReply, SubscribeRequest } from '../../contract/live.contract';
import { LiveAuth, LiveError, type LivePrincipal } from './live-auth';
import { toChunkEvent } from './live-publisher';
import { joinedRoomFor, parseRoom, type ParsedRoom } from './live-rooms';
import { LiveRepository } from './live.repository';

export type LiveSocketData = { principal: LivePrincipal; joined: Map<LiveRoom, string> };
export type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, LiveSocketData>;

const REPLAY_PAGE = 1000;
const ENDED = new Set(['succeeded', 'failed', 'cancelled', 'skipped']);

/** The rules of live subscriptions: who may join which room, and how a job room catches up. */
@Injectable()
export class LiveService {
  private readonly logger = new Logger('live');

  constructor(
    private readonly auth: LiveAuth,
    private readonly live: LiveRepository,
    private readonly jobs: JobsRepository,
    private readonly logs: LogsRepository,
    private readonly gate: DeliveryGate,
  ) {}

  authenticate(auth: unknown): Promise<LivePrincipal> {
    return this.auth.authenticate(auth);
  }

  /**
   * Job rooms: join first (live chunks are held back for this socket), replay what is stored after
   * `afterSeq`, send the graph state, then let the held live chunks through. Nothing stored after
   * the join can be missed, and everything arrives in seq order; chunks both replayed and held are
   * duplicates the viewer drops by seq.
   */
  async subscribe(socket: LiveSocket, { room, afterSeq = 0 }: SubscribeRequest): Promise<SubscribeReply> {
    try {
      // The gateway checked the message's shape; the id must also be one a row can have (`run:-1` has the shape).
      const parsed = parseRoom(room);
      if (!parsed) throw new LiveError('invalid_room', `Unknown room ${JSON.stringify(room)}; use runs, queue, agents, artifacts, run:<id> or job:<id>.`);
      const principal = await this.auth.check(socket.data.principal.tokenHash);
      await this.authorize(principal, parsed);
      const joined = joinedRoomFor(parsed, principal.projectId);
      if (parsed.kind !== 'job') {
        await socket.join(joined);
        socket.data.joined.set(room, joined);
        return { ok: true };
      }
      this.gate.hold(socket.id, joined);
      try {
        await socket.join(joined);
        socket.data.joined.set(room, joined);
        await this.replay(socket, parsed.jobId, afterSeq);
        await this.sendNodes(socket, parsed.jobId);
      } finally {
        this.gate.release(socket.id, joined);
      }
      return { ok: true };
    } catch (error) {
      if (error instanceof LiveError) return { ok: false, error: { code: error.code, message: error.message } };
      this.logger.warn(`subscribe failed: ${(error as Error).message}`);
      return { ok: false, error: { code: 'internal', message: 'Subscribing failed on the server; try again.' } };
    }
  }

  async unsubscribe(socket: LiveSocket, request: unknown): Promise<{ ok: true }> {
    const room = (request as { room?: unknown } | null)?.room;
    const joined = typeof room === 'string' ? socket.data.joined.get(room as LiveRoom) : undefined;
    if (joined !== undefined) {
      socket.data.joined.delete(room as LiveRoom);
      await socket.leave(joined);
    }
    return { ok: true };
  }

  disconnected(socket: LiveSocket): void {
    this.gate.forget(socket.id);
  }

  private async authorize(principal: LivePrincipal, room: ParsedRoom): Promise<void> {
    if (room.kind === 'run' || room.kind === 'job') {
      const projectId = room.kind === 'run' ? await this.live.runProject(room.runId) : await this.live.jobProject(room.jobId);
      const what = room.kind === 'run' ? `Run ${room.runId}` : `Job ${room.jobId}`;
      if (projectId === undefined) throw new LiveError('not_found', `${what} does not exist.`);
      if (principal.projectId !== null && principal.projectId !== projectId) {
        throw new LiveError('forbidden', `This token is limited to another project and cannot watch ${what.toLowerCase()}.`);
      }
    }
  }

  private async replay(socket: LiveSocket, jobId: number, afterSeq: number): Promise<void> {
    for (let after = afterSeq; ; ) {
      const page = await this.logs.read(jobId, after, REPLAY_PAGE);
      if (page.length) socket.emit('log.chunks', { jobId, chunks: page.map(toChunkEvent) });
      if (page.length < REPLAY_PAGE) return;
      after = page[page.length - 1].seq;
    }
  }

  private async sendNodes(socket: LiveSocket, jobId: number): Promise<void> {
    const state = await this.jobs.graphState(jobId);
    if (!state) return;
    const ended = ENDED.has(state.status);
    const nodeStates = state.kind === 'act' ? nodeStatesFor(parseGraph(state.content), state.nodeStates, ended) : {};
    socket.emit('job.nodes', { jobId, activeNodes: ended ? [] : state.activeNodes, nodeStates });
  }
}
