import { Injectable } from '@nestjs/common';
import type { BroadcastOptions } from 'socket.io-adapter';

type Deliverable = { id: string };
type Hold = { rooms: Set<string>; queue: (() => void)[] };
export type GatedAdapter<S extends Deliverable> = { apply(opts: BroadcastOptions, callback: (socket: S) => void): void };

/**
 * Holds back live broadcasts to one socket while it replays a room's history, then lets them
 * through in arrival order. Without it, a subscriber joining `job:<id>` mid-stream could see live
 * chunk 205 before replayed chunk 1; with it, every viewer sees seq order and only has to drop
 * the few chunks that were both replayed and broadcast (seq ≤ the last one it has).
 */
@Injectable()
export class DeliveryGate {
  private readonly holds = new Map<string, Hold>();

  hold(socketId: string, room: string): void {
    const hold = this.holds.get(socketId) ?? { rooms: new Set<string>(), queue: [] };
    hold.rooms.add(room);
    this.holds.set(socketId, hold);
  }

  /** Ends the hold on `room`; once a socket holds no room, what waited is delivered in order. */
  release(socketId: string, room: string): void {
    const hold = this.holds.get(socketId);
    if (!hold) return;
    hold.rooms.delete(room);
    if (hold.rooms.size) return;
    this.holds.delete(socketId);
    for (const deliver of hold.queue) deliver();
  }

  forget(socketId: string): void {
    this.holds.delete(socketId);
  }

  /**
   * Routes the adapter's per-socket delivery through the gate. `apply(opts, callback)` is where
   * both local emits and broadcasts from other instances reach this instance's sockets (the
   * in-memory `broadcast` calls it, and the cluster adapter hands a remote BROADCAST to that
   * `broadcast`), so one hook covers both. It stays a patch on the instance: socket.io-adapter
   * 2.5.9 declares `apply` private, so no subclass may override it, and no public hook sees a
   * delivery per socket before it is written (`onAnyOutgoing` only watches). The remote path would
   * otherwise have to re-implement the cluster adapter's message handling.
   * test/integration/postgres-adapter-internals.test.ts fails if an upgrade moves either path off it.
   */
  wrap<S extends Deliverable>(adapter: GatedAdapter<S>): void {
    const apply = adapter.apply.bind(adapter);
    adapter.apply = (opts, callback) =>
      apply(opts, (socket) => {
        const hold = this.holds.get(socket.id);
        if (hold && [...opts.rooms].some((room) => hold.rooms.has(room))) hold.queue.push(() => callback(socket));
        else callback(socket);
      });
  }
}
