import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter, PostgresAdapter } from '@socket.io/postgres-adapter';
import { Emitter } from '@socket.io/postgres-emitter';
import { Pool } from 'pg';
import type { Namespace, Server, ServerOptions, Socket } from 'socket.io';
import { Adapter, MessageType, type BroadcastOptions } from 'socket.io-adapter';
import type { DeliveryGate, GatedAdapter } from './delivery-gate';
import type { ServerToClientEvents } from '../../contract/live.contract';

export const SOCKET_IO_PATH = '/socket.io';

/**
 * Every message between API instances goes through socket_io_attachments (threshold 1 byte, not
 * the default 8,000). The adapter fetches attachments asynchronously on receipt, so a mix of inline
 * and attached messages from one instance could overtake each other on another instance, and a
 * viewer there would get log batch N+1 before N. One path for all keeps the order: with a single
 * query connection (pool of 2: LISTEN + queries, both FIFO) publish order is delivery order.
 */
const PAYLOAD_THRESHOLD = 1;

/** One small pg.Pool per process: the Socket.IO adapter and emitter need node-postgres, not postgres.js. */
export function createLivePool(databaseUrl: string, applicationName: string, onError: (error: Error) => void): Pool {
  const pool = new Pool({
    connectionString: databaseUrl,
    max: 2,
    application_name: applicationName,
    // Attachments are deleted after 30 s and worthless after a crash: no need to wait for the WAL flush.
    options: '-c synchronous_commit=off',
  });
  pool.on('error', onError);
  // The adapter keeps one client checked out for its LISTEN, and pg's pool only guards idle clients:
  // an error on that one (PostgreSQL restarted, a connection reset) had no listener and killed the
  // process. Logged here; the client then ends and the adapter connects again by itself.
  pool.on('connect', (client) => client.on('error', onError));
  return pool;
}

/**
 * The worker's side: events from activities reach the clients of every API instance. Two fixes at
 * the pool boundary, the only seam the emitter offers:
 * - @socket.io/postgres-emitter 0.1.1 publishes documents without the top-level `nsp` that
 *   @socket.io/postgres-adapter 0.5.0 routes on, so every API instance would drop them; we add it.
 *   Worker events are a few hundred bytes and always go inline (the emitter's default threshold);
 *   one over 8,000 bytes would travel as an attachment we cannot amend and be dropped.
 * - On a failed query the emitter emits an "error" event through itself, which fails again while
 *   the database is away (a loop, then a bogus event to every client). So its queries never fail:
 *   a failure is logged and answered with an empty result the adapters ignore. That event is lost;
 *   viewers refetch what they show when they reconnect.
 * - Its queries run one at a time, in emit order. The pool has 2 connections and nothing LISTENs
 *   on the worker's, so two NOTIFYs emitted back to back ran at once and committed in either order:
 *   viewers got `job.updated` succeeded, then running (the internals test saw two events swap).
 */
export function createLiveEmitter(pool: Pool, onError: (error: Error) => void): Emitter<ServerToClientEvents> {
  let previous: Promise<unknown> = Promise.resolve();
  const amendedPool = {
    query: (text: string, values?: unknown[]) => {
      const amended = withNamespaceInNotification(text, values);
      const result = previous.then(() =>
        pool.query(text, amended).catch((error: Error) => {
          onError(error);
          return { rows: [{ id: null }] };
        }),
      );
      previous = result;
      return result;
    },
  };
  return new Emitter<ServerToClientEvents>(amendedPool, '/');
}

/**
 * The adapter's side of the same gap: a message published as an attachment is announced with a
 * header of uid, type and attachment id but no `nsp`, so the adapter cannot tell its own
 * announcements from others' and fetches and decodes every one of its own broadcasts from the
 * database before discarding it. With `nsp` in the header it skips them, halving its queries.
 */
function announcingNamespace(pool: Pool): Pool {
  return new Proxy(pool, {
    get(target, property, receiver) {
      if (property === 'query') return (text: string, values?: unknown[]) => target.query(text, withNamespaceInNotification(text, values));
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** For `SELECT pg_notify($1, $2)` on channel `socket.io#<nsp>`: the document with `nsp` set. */
function withNamespaceInNotification(text: string, values?: unknown[]): unknown[] | undefined {
  if (!/pg_notify/i.test(text) || typeof values?.[0] !== 'string' || typeof values[1] !== 'string') return values;
  const [channel, document] = values as [string, string];
  const parsed = JSON.parse(document) as Record<string, unknown>;
  if ('nsp' in parsed) return values;
  return [channel, JSON.stringify({ ...parsed, nsp: channel.slice(channel.indexOf('#') + 1) || '/' })];
}

/**
 * The Socket.IO adapter factory of every API instance: Postgres between instances, this
 * instance's viewers served first, deliveries held by `gate` while a socket replays history.
 * Socket.IO calls it with `new`, so it is a function, not an arrow.
 */
export function createLiveAdapter(pool: Pool, gate: DeliveryGate, onError: (error: Error) => void): (nsp: Namespace) => Adapter {
  const factory = createAdapter(announcingNamespace(pool), { payloadThreshold: PAYLOAD_THRESHOLD, errorHandler: onError });
  return function livePostgresAdapter(nsp: Namespace) {
    const adapter = LocalFirstPostgresAdapter.adopt(factory(nsp), onError);
    gate.wrap(adapter as unknown as GatedAdapter<Socket>);
    return adapter;
  };
}

/** Socket.IO on the Nest HTTP server, with the Postgres adapter so broadcasts reach every instance's clients exactly once. */
export class PostgresIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly pool: Pool,
    private readonly gate: DeliveryGate,
    private readonly onError: (error: Error) => void,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const server: Server = super.createIOServer(port, { ...options, path: SOCKET_IO_PATH, serveClient: false });
    server.adapter(createLiveAdapter(this.pool, this.gate, this.onError));
    return server;
  }
}

/**
 * socket.io-adapter's cluster `broadcast` awaits the publish to other instances (here an INSERT and
 * a NOTIFY) before it delivers to this instance's own sockets, so every live event waited on two
 * database round trips queued behind every other event's. This instance's viewers get it at once
 * instead, and the publish (encoding, an INSERT) starts one microtask later, every broadcast's after
 * the same number of ticks, so the pool's FIFO keeps other instances in publish order. A failed
 * publish is logged (those instances' viewers catch up on reconnect), as the stock adapter does,
 * and never stops local delivery. The stock broadcast's other step, adding the publish offset to
 * the packet for connection state recovery, has nothing to add: PostgresAdapter 0.5.0's offset is ''.
 *
 * An instance that has heard of no other (`serverCount()` is 1) skips the publish: nobody would
 * receive it. Every instance announces itself when its adapter starts, before it listens, and every
 * 5 s after, so a new instance is known before its first viewer can subscribe.
 *
 * Read against socket.io-adapter 2.5.9 and @socket.io/postgres-adapter 0.5.0; everything used is
 * public or protected there, except how an instance comes to be this class (see `adopt`).
 * test/integration/postgres-adapter-internals.test.ts pins those versions and this behaviour.
 */
export class LocalFirstPostgresAdapter extends PostgresAdapter {
  declare private readonly onPublishError: (error: Error) => void;

  /**
   * `createAdapter` constructs a PostgresAdapter itself, with the shared LISTEN client only it
   * holds (PubSubClient is not exported), so subclassing cannot go through a constructor. This
   * class adds no state a constructor would set, only methods, so the adapter it built becomes one
   * by taking this prototype. Anything but a plain PostgresAdapter would lose its own methods, so
   * that is refused at startup rather than half-working.
   */
  static adopt(adapter: PostgresAdapter, onPublishError: (error: Error) => void): LocalFirstPostgresAdapter {
    if (Object.getPrototypeOf(adapter) !== PostgresAdapter.prototype) {
      throw new Error('@socket.io/postgres-adapter createAdapter no longer returns a plain PostgresAdapter; re-read src/live/postgres-adapter.ts against it');
    }
    Object.setPrototypeOf(adapter, LocalFirstPostgresAdapter.prototype);
    return Object.assign(adapter as LocalFirstPostgresAdapter, { onPublishError });
  }

  /** Resolves once the publish to other instances is done, skipped or failed (and logged); never rejects. */
  override broadcast(packet: Parameters<Adapter['broadcast']>[0], opts: BroadcastOptions): Promise<void> {
    // The in-memory Adapter's broadcast: this instance's sockets only, through `apply` (so the delivery gate).
    Adapter.prototype.broadcast.call(this, packet, opts);
    if (opts.flags?.local) return Promise.resolve();
    // Copied now: the caller owns `opts` once this returns.
    const data = { packet, opts: { rooms: [...opts.rooms], except: [...(opts.except ?? [])], flags: opts.flags ?? {} } };
    return this.serverCount()
      .then((servers) => (servers > 1 ? this.publishAndReturnOffset({ type: MessageType.BROADCAST, data }) : undefined))
      .then(
        () => undefined,
        (error: unknown) => this.onPublishError(error instanceof Error ? error : new Error(String(error))),
      );
  }
}
