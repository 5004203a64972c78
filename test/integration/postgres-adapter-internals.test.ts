import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { PostgresAdapter } from '@socket.io/postgres-adapter';
import type { Pool } from 'pg';
import { Server } from 'socket.io';
import { Adapter, ClusterAdapter, ClusterAdapterWithHeartbeat } from 'socket.io-adapter';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../src/database/migrations';
import { createSql, type Sql } from '../../src/database/sql';
import { DeliveryGate } from '../../src/live/delivery-gate';
import { createLiveAdapter, createLiveEmitter, createLivePool, LocalFirstPostgresAdapter, SOCKET_IO_PATH } from '../../src/live/postgres-adapter';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/stack';

// src/live/postgres-adapter.ts and delivery-gate.ts build on how socket.io-adapter and the
// Postgres adapter work inside (a private `apply`, the prototype createAdapter builds, the SQL
// and documents it sends through the pool). Two API instances in this process, on one database,
// show that what they rely on still holds; an upgrade that changes it fails here, not in production.

/** The versions both files were read against. On an upgrade: re-read them, then update these. */
const READ_AGAINST = { 'socket.io-adapter': '2.5.9', '@socket.io/postgres-adapter': '0.5.0', '@socket.io/postgres-emitter': '0.1.1' };
const ROOM = 'job:1';
/** PostgreSQL's NOTIFY payload limit is 8,000 bytes; the adapter sends bigger messages as attachments. */
const OVER_INLINE_LIMIT = 'x'.repeat(9_000);
// Events arrive in milliseconds; 30 s is only what a broken rule meets, even on a loaded CI machine.
const EVENT_TIMEOUT = { timeoutMs: 30_000, intervalMs: 10 };

type Probe = { n: string; pad?: string };
type Received = { event: string; payload: Probe };

/** The pool an instance's adapter uses, recorded and able to stall: what the adapter sends through it. */
type PoolControl = { texts: string[]; insertedIds: Set<string>; fetchedIds: Set<string>; stalled: ((error: Error) => void)[] | null };

type Instance = {
  io: Server;
  url: string;
  gate: DeliveryGate;
  adapter: LocalFirstPostgresAdapter;
  pool: Pool;
  control: PoolControl;
  errors: Error[];
  /** What the server wrote to each socket (by socket id), in order: seen before any network hop. */
  sent: Map<string, Probe[]>;
};

let database: TestDatabase;
let sql: Sql;
let a: Instance;
let b: Instance;
let workerPool: Pool;
const clients: ClientSocket[] = [];

function recordedPool(name: string, errors: Error[]): { pool: Pool; control: PoolControl } {
  const pool = createLivePool(database.url, name, (error) => errors.push(error));
  const control: PoolControl = { texts: [], insertedIds: new Set(), fetchedIds: new Set(), stalled: null };
  const query = pool.query.bind(pool) as (text: string, values?: unknown[]) => Promise<{ rows: { id?: unknown }[] }>;
  const run = async (text: string, values?: unknown[]) => {
    const result = await query(text, values);
    if (/^INSERT INTO socket_io_attachments/i.test(text)) control.insertedIds.add(String(result.rows[0]?.id));
    return result;
  };
  Object.assign(pool, {
    query: (text: string, values?: unknown[]) => {
      control.texts.push(text);
      if (/^SELECT payload FROM socket_io_attachments/i.test(text)) control.fetchedIds.add(String(values?.[0]));
      const stalled = control.stalled;
      if (stalled) return new Promise((_resolve, reject) => stalled.push(reject));
      return run(text, values);
    },
  });
  return { pool, control };
}

async function startInstance(name: string): Promise<Instance> {
  const errors: Error[] = [];
  const { pool, control } = recordedPool(name, errors);
  const gate = new DeliveryGate();
  const server = http.createServer();
  const io = new Server(server, { path: SOCKET_IO_PATH, serveClient: false, adapter: createLiveAdapter(pool, gate, (error) => errors.push(error)) });
  const sent = new Map<string, Probe[]>();
  io.on('connection', (socket) => {
    sent.set(socket.id, []);
    socket.onAnyOutgoing((_event: string, payload: Probe) => sent.get(socket.id)!.push(payload));
    void socket.join(ROOM);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { io, url: `http://127.0.0.1:${port}`, gate, adapter: io.of('/').adapter as LocalFirstPostgresAdapter, pool, control, errors, sent };
}

async function connectClient(instance: Instance): Promise<{ socket: ClientSocket; received: Received[] }> {
  const socket = connect(instance.url, { path: SOCKET_IO_PATH, transports: ['websocket'], reconnection: false, forceNew: true });
  clients.push(socket);
  const received: Received[] = [];
  socket.onAny((event: string, payload: Probe) => received.push({ event, payload }));
  await waitFor(() => socket.connected && instance.sent.has(socket.id!), { ...EVENT_TIMEOUT, message: 'the client to connect' });
  return { socket, received };
}

const numbers = (received: Received[]) => received.map(({ payload }) => payload.n);
const sentNumbers = (instance: Instance, socket: ClientSocket) => (instance.sent.get(socket.id!) ?? []).map(({ n }) => n);

beforeAll(async () => {
  database = await createTestDatabase();
  sql = createSql(database.url, { max: 1 });
  await applyMigrations(sql);
  a = await startInstance('internals-a');
  b = await startInstance('internals-b');
  // Each adapter announced itself on start, possibly before the other listened (the next heartbeat
  // is 5 s away). Once both listen, announcing again (public `init`) makes them know each other now.
  await waitFor(
    async () => {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity
        where datname = current_database() and application_name in ('internals-a', 'internals-b') and query like 'LISTEN%'`;
      return row.n === 2;
    },
    { ...EVENT_TIMEOUT, message: 'both adapters to LISTEN' },
  );
  a.adapter.init();
  b.adapter.init();
  await waitFor(async () => (await a.adapter.serverCount()) === 2 && (await b.adapter.serverCount()) === 2, { ...EVENT_TIMEOUT, message: 'the instances to know each other' });
});

afterEach(() => {
  for (const socket of clients.splice(0)) socket.disconnect();
});

afterAll(async () => {
  for (const instance of [a, b]) {
    if (!instance) continue;
    await new Promise((resolve) => instance.io.close(resolve));
    await instance.pool.end();
  }
  await workerPool?.end();
  await sql?.end({ timeout: 5 });
  await database?.drop();
});

describe('the Socket.IO adapter internals src/live builds on', () => {
  it('runs on the package versions postgres-adapter.ts and delivery-gate.ts were read against', () => {
    const installed = Object.fromEntries(
      Object.keys(READ_AGAINST).map((name) => {
        // Resolved as the API resolves them (vitest runs from the repository root).
        const manifest = createRequire(path.join(process.cwd(), 'package.json'))(`${name}/package.json`) as { version: string };
        return [name, manifest.version];
      }),
    );
    expect(installed, 're-read src/live/postgres-adapter.ts and src/live/delivery-gate.ts against the new versions, then update READ_AGAINST').toEqual(READ_AGAINST);
  });

  it('still has the members they use, where they use them', () => {
    // delivery-gate.ts wraps the private `apply(opts, callback)` on each adapter instance.
    expect(typeof Reflect.get(Adapter.prototype, 'apply')).toBe('function');
    expect((Reflect.get(Adapter.prototype, 'apply') as (...args: unknown[]) => unknown).length).toBe(2);
    expect(Object.prototype.hasOwnProperty.call(b.adapter, 'apply')).toBe(true);
    // LocalFirstPostgresAdapter: local delivery from the in-memory broadcast, the protected publish, the public server count.
    expect(typeof Adapter.prototype.broadcast).toBe('function');
    expect(typeof Reflect.get(ClusterAdapter.prototype, 'publishAndReturnOffset')).toBe('function');
    expect(typeof ClusterAdapterWithHeartbeat.prototype.serverCount).toBe('function');
    // createAdapter still builds a plain PostgresAdapter, which `adopt` turned into ours.
    expect(Object.getPrototypeOf(a.adapter)).toBe(LocalFirstPostgresAdapter.prototype);
    expect(Object.getPrototypeOf(LocalFirstPostgresAdapter.prototype)).toBe(PostgresAdapter.prototype);
  });

  it('delivers a broadcast once to each instance’s clients, in publish order, attachment-sized ones too, without A fetching its own', async () => {
    const onA = await connectClient(a);
    const onB = await connectClient(b);
    a.io.to(ROOM).emit('probe', { n: '1' });
    a.io.to(ROOM).emit('probe', { n: '2', pad: OVER_INLINE_LIMIT });
    a.io.to(ROOM).emit('probe', { n: '3' });
    await waitFor(() => numbers(onB.received).includes('3'), { ...EVENT_TIMEOUT, message: 'B’s client to get broadcast 3' });
    expect(numbers(onB.received)).toEqual(['1', '2', '3']);
    expect(numbers(onA.received)).toEqual(['1', '2', '3']);
    expect(onB.received[1].payload.pad).toBe(OVER_INLINE_LIMIT);
    // Every message travels as an attachment (threshold 1 byte); B fetched A's, and A, told by the
    // announced namespace that they are its own, fetched none of them.
    expect([...a.control.insertedIds].filter((id) => b.control.fetchedIds.has(id)).length).toBeGreaterThanOrEqual(3);
    expect([...a.control.insertedIds].filter((id) => a.control.fetchedIds.has(id))).toEqual([]);
  });

  it('delivers to this instance’s clients before the publish to others finishes, and reports a failed publish', async () => {
    const onA = await connectClient(a);
    const stalled: ((error: Error) => void)[] = [];
    a.control.stalled = stalled;
    const publish = a.adapter.broadcast({ type: 2, data: ['probe', { n: 'while-down' }], nsp: '/' }, { rooms: new Set([ROOM]), except: new Set(), flags: {} });
    try {
      await waitFor(() => numbers(onA.received).includes('while-down'), { ...EVENT_TIMEOUT, message: 'A’s client to get the broadcast while its publish is stalled' });
      await waitFor(() => a.control.texts.some((text) => /^INSERT INTO socket_io_attachments/i.test(text)) && stalled.length > 0, { ...EVENT_TIMEOUT, message: 'the publish to start' });
    } finally {
      a.control.stalled = null;
      for (const reject of stalled.splice(0)) reject(new Error('publishing is down'));
    }
    await publish;
    expect(a.errors.map((error) => error.message)).toContain('publishing is down');
  });

  it('holds deliveries to a socket replaying history, local and remote alike, and releases them in arrival order', async () => {
    const held = await connectClient(b);
    const watching = await connectClient(b);
    b.gate.hold(held.socket.id!, ROOM);
    a.io.to(ROOM).emit('probe', { n: 'remote' });
    await waitFor(() => sentNumbers(b, watching.socket).includes('remote'), { ...EVENT_TIMEOUT, message: 'B to deliver A’s broadcast' });
    b.io.to(ROOM).emit('probe', { n: 'local' });
    expect(sentNumbers(b, watching.socket)).toEqual(['remote', 'local']);
    expect(sentNumbers(b, held.socket)).toEqual([]);
    b.gate.release(held.socket.id!, ROOM);
    expect(sentNumbers(b, held.socket)).toEqual(['remote', 'local']);
    b.io.to(ROOM).emit('probe', { n: 'after' });
    await waitFor(() => numbers(held.received).includes('after'), { ...EVENT_TIMEOUT, message: 'the released client to get the next broadcast' });
    expect(numbers(held.received)).toEqual(['remote', 'local', 'after']);
  });

  it('delivers a worker’s emitter events once to every instance’s clients, in emit order, one query at a time', async () => {
    const onA = await connectClient(a);
    const onB = await connectClient(b);
    const errors: Error[] = [];
    workerPool = createLivePool(database.url, 'internals-worker', (error) => errors.push(error));
    const query = workerPool.query.bind(workerPool) as (text: string, values?: unknown[]) => Promise<unknown>;
    let inFlight = 0;
    let mostInFlight = 0;
    Object.assign(workerPool, {
      query: async (text: string, values?: unknown[]) => {
        mostInFlight = Math.max(mostInFlight, ++inFlight);
        try {
          return await query(text, values);
        } finally {
          inFlight--;
        }
      },
    });
    const emitter = createLiveEmitter(workerPool, (error) => errors.push(error));
    const order = ['queued', 'claimed', 'moved', 'cancelled'] as const;
    for (const reason of order) emitter.to(ROOM).emit('queue.changed', { reason });
    const reasons = (received: Received[]) => received.filter(({ event }) => event === 'queue.changed').map(({ payload }) => (payload as unknown as { reason: string }).reason);
    await waitFor(() => reasons(onA.received).includes('cancelled') && reasons(onB.received).includes('cancelled'), { ...EVENT_TIMEOUT, message: 'both instances’ clients to get the emitter’s events' });
    expect(reasons(onA.received)).toEqual(order);
    expect(reasons(onB.received)).toEqual(order);
    // Two NOTIFYs on two connections commit in either order; one at a time keeps emit order.
    expect(mostInFlight).toBe(1);
    expect(errors).toEqual([]);
  });
});
