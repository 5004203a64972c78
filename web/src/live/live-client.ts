// One Socket.IO connection per signed-in session. Rooms are kept in a registry and joined again on
// every (re)connect; job rooms ask for replay after the last seq their viewer holds, so a dropped
// connection resumes with no gap (replay) and no duplicate (viewers dedupe by seq).
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, LiveRoom, ServerToClientEvents, SubscribeReply } from '../api/wire';

export type LiveSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
export type EventName = keyof ServerToClientEvents;
type Payload<E extends EventName> = Parameters<ServerToClientEvents[E]>[0];
type Handler<E extends EventName> = (event: Payload<E>) => void;

type RoomEntry = { holders: number; afterSeq?: () => number };

export type ConnectionState = 'connecting' | 'connected' | 'disconnected';

const EVENTS: EventName[] = ['run.updated', 'job.updated', 'log.chunks', 'job.nodes', 'queue.changed', 'agent.updated', 'artifact.created'];

export class LiveClient {
  private readonly socket: LiveSocket;
  private readonly rooms = new Map<LiveRoom, RoomEntry>();
  private readonly handlers = new Map<EventName, Set<(event: never) => void>>();
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  private readonly subscribedListeners = new Set<(room: LiveRoom) => void>();
  state: ConnectionState = 'connecting';

  constructor(token: string) {
    this.socket = io(window.location.origin, { auth: { token }, transports: ['websocket', 'polling'], reconnectionDelayMax: 5000 });
    this.socket.on('connect', () => {
      this.setState('connected');
      for (const room of this.rooms.keys()) this.join(room);
    });
    this.socket.on('disconnect', () => this.setState('disconnected'));
    this.socket.on('connect_error', () => this.setState('disconnected'));
    for (const name of EVENTS) {
      this.socket.on(name, ((event: never) => {
        for (const handler of this.handlers.get(name) ?? []) handler(event);
      }) as never);
    }
  }

  /** Joins `room` (reference-counted). `afterSeq` is read at every (re)join of a job room. */
  subscribe(room: LiveRoom, afterSeq?: () => number): () => void {
    const entry = this.rooms.get(room);
    if (entry) {
      entry.holders += 1;
      if (afterSeq) entry.afterSeq = afterSeq;
    } else {
      this.rooms.set(room, { holders: 1, afterSeq });
      if (this.socket.connected) this.join(room);
    }
    return () => {
      const current = this.rooms.get(room);
      if (!current) return;
      current.holders -= 1;
      if (current.holders > 0) return;
      this.rooms.delete(room);
      if (this.socket.connected) this.socket.emit('unsubscribe', { room });
    };
  }

  on<E extends EventName>(name: E, handler: Handler<E>): () => void {
    let set = this.handlers.get(name);
    if (!set) this.handlers.set(name, (set = new Set()));
    set.add(handler as (event: never) => void);
    return () => set.delete(handler as (event: never) => void);
  }

  onState(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Called after the server acknowledged a (re)subscription. */
  onSubscribed(listener: (room: LiveRoom) => void): () => void {
    this.subscribedListeners.add(listener);
    return () => this.subscribedListeners.delete(listener);
  }

  /** For tests and diagnostics: drops the transport; socket.io reconnects by itself. */
  dropConnection(): void {
    this.socket.io.engine?.close();
  }

  close(): void {
    this.socket.disconnect();
    this.rooms.clear();
    this.handlers.clear();
  }

  private join(room: LiveRoom): void {
    const entry = this.rooms.get(room);
    const afterSeq = entry?.afterSeq?.();
    this.socket.emit('subscribe', afterSeq === undefined ? { room } : { room, afterSeq }, (reply: SubscribeReply) => {
      if (reply?.ok) for (const listener of this.subscribedListeners) listener(room);
      else console.warn(`bellows: cannot subscribe to ${room}: ${reply?.error?.message ?? 'no answer'}`);
    });
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }
}

let client: LiveClient | null = null;
let clientToken: string | null = null;

export function liveClient(token: string): LiveClient {
  if (!client || clientToken !== token) {
    client?.close();
    client = new LiveClient(token);
    clientToken = token;
    (window as unknown as { __bellowsLive?: LiveClient }).__bellowsLive = client;
  }
  return client;
}

export function closeLiveClient(): void {
  client?.close();
  client = null;
  clientToken = null;
}
