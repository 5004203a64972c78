import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LogBatchRequest } from '../../contract/agent-protocol.contract';
import { ApiClient } from '../../agent/api-client';
import { LogShipper } from '../../agent/log-shipper';
import { silentLogger } from '../../agent/logger';

type Reply = { status: number; body?: unknown };
/** Decides the reply to each received batch; the default accepts in-order batches like the real server. */
type Responder = (batch: LogBatchRequest, state: { nextSeq: number; requests: number }) => Reply | undefined;

type FakeLogServer = {
  url: string;
  /** Batches the server accepted, in order. */
  accepted: LogBatchRequest[];
  received: LogBatchRequest[];
  state: { nextSeq: number; requests: number };
  close(): Promise<void>;
};

const servers: FakeLogServer[] = [];

async function startServer(responder?: Responder): Promise<FakeLogServer> {
  const accepted: LogBatchRequest[] = [];
  const received: LogBatchRequest[] = [];
  const state = { nextSeq: 0, requests: 0 };
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      const batch = JSON.parse(Buffer.concat(parts).toString('utf8')) as LogBatchRequest;
      state.requests++;
      received.push(batch);
      let reply = responder?.(batch, state);
      if (!reply) {
        if (batch.seq === state.nextSeq) {
          accepted.push(batch);
          state.nextSeq++;
          reply = { status: 200, body: { nextSeq: state.nextSeq, cancel: false } };
        } else {
          reply = { status: 409, body: { error: { code: 'log_seq_mismatch', message: 'wrong seq', nextSeq: state.nextSeq } } };
        }
      }
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const fake: FakeLogServer = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    accepted,
    received,
    state,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  servers.push(fake);
  return fake;
}

function shipperFor(url: string, extra: Partial<ConstructorParameters<typeof LogShipper>[0]> = {}): LogShipper {
  const client = new ApiClient({ baseUrl: url, logger: silentLogger, backoff: { baseMs: 5, maxMs: 20 } });
  client.setSecret('agent-secret');
  return new LogShipper({ client, jobId: 7, logger: silentLogger, flushIntervalMs: 10, ...extra });
}

function texts(batches: LogBatchRequest[]): string[] {
  return batches.flatMap((batch) => batch.chunks.map((chunk) => chunk.text));
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe('LogShipper', () => {
  it('sends batches numbered from 0, one at a time, in order', async () => {
    const server = await startServer();
    const shipper = shipperFor(server.url, { maxBatchBytes: 200 });
    for (let i = 0; i < 20; i++) shipper.append({ stream: i % 2 ? 'stderr' : 'stdout', text: `line ${i}\n` });
    await shipper.flush();
    expect(server.received.map((batch) => batch.seq)).toEqual(server.received.map((_, i) => i));
    expect(server.received.length).toBeGreaterThan(1);
    expect(texts(server.accepted)).toEqual(Array.from({ length: 20 }, (_, i) => `line ${i}\n`));
    expect(server.accepted[0].chunks[0].at).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('flushes on its own after the flush interval', async () => {
    const server = await startServer();
    const shipper = shipperFor(server.url);
    shipper.append({ stream: 'stdout', text: 'hello\n' });
    await vi.waitFor(() => expect(texts(server.accepted)).toEqual(['hello\n']));
  });

  it('resends the same batch after 5xx replies and loses nothing', async () => {
    let failures = 3;
    const server = await startServer((batch) => (batch.seq === 1 && failures-- > 0 ? { status: 503 } : undefined));
    const shipper = shipperFor(server.url, { maxBatchBytes: 60 });
    for (let i = 0; i < 6; i++) shipper.append({ stream: 'stdout', text: `line ${i}\n` });
    await shipper.flush();
    expect(texts(server.accepted)).toEqual(Array.from({ length: 6 }, (_, i) => `line ${i}\n`));
    expect(server.received.filter((batch) => batch.seq === 1)).toHaveLength(4);
    expect(server.accepted.map((batch) => batch.seq)).toEqual(server.accepted.map((_, i) => i));
  });

  it('keeps buffering while the API is unreachable and delivers everything once it is back', async () => {
    const server = await startServer();
    const port = new URL(server.url).port;
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    const shipper = shipperFor(server.url);
    for (let i = 0; i < 5; i++) shipper.append({ stream: 'stdout', text: `early ${i}\n` });
    const flushed = shipper.flush();
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (let i = 0; i < 5; i++) shipper.append({ stream: 'stdout', text: `late ${i}\n` });
    // Bring a server up on the same port.
    const accepted: LogBatchRequest[] = [];
    let nextSeq = 0;
    const revived = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (part: Buffer) => parts.push(part));
      req.on('end', () => {
        const batch = JSON.parse(Buffer.concat(parts).toString('utf8')) as LogBatchRequest;
        if (batch.seq === nextSeq) {
          accepted.push(batch);
          nextSeq++;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ nextSeq, cancel: false }));
      });
    });
    await new Promise<void>((resolve) => revived.listen(Number(port), '127.0.0.1', resolve));
    try {
      await flushed;
      await shipper.flush();
      expect(texts(accepted)).toEqual([...Array.from({ length: 5 }, (_, i) => `early ${i}\n`), ...Array.from({ length: 5 }, (_, i) => `late ${i}\n`)]);
    } finally {
      await new Promise((resolve) => revived.close(resolve));
    }
  });

  it('on a 409 seq mismatch ahead of it, drops what the server already has and continues from nextSeq', async () => {
    // The server already stored batch 0 but its reply got lost: it now expects 1.
    let first = true;
    const server = await startServer((batch, state) => {
      if (first) {
        first = false;
        state.nextSeq = 1;
        return { status: 409, body: { error: { code: 'log_seq_mismatch', message: 'expected 1', nextSeq: 1 } } };
      }
      return undefined;
    });
    const shipper = shipperFor(server.url);
    shipper.append({ stream: 'stdout', text: 'already stored\n' });
    await shipper.flush();
    shipper.append({ stream: 'stdout', text: 'next\n' });
    await shipper.flush();
    expect(server.received.map((batch) => batch.seq)).toEqual([0, 1]);
    expect(texts(server.accepted)).toEqual(['next\n']);
  });

  it('on a 409 seq mismatch behind it, renumbers the unacknowledged batch and resends it', async () => {
    let first = true;
    const server = await startServer((batch, state) => {
      if (first) {
        first = false;
        // Accept batch 0 but claim nextSeq 5 (say, the server had batches from an earlier agent process).
        state.nextSeq = 5;
        return { status: 200, body: { nextSeq: 5, cancel: false } };
      }
      if (batch.seq === 5 && state.requests === 2) {
        // Then it lost track and wants 3 again.
        state.nextSeq = 3;
        return { status: 409, body: { error: { code: 'log_seq_mismatch', message: 'expected 3', nextSeq: 3 } } };
      }
      return undefined;
    });
    const shipper = shipperFor(server.url);
    shipper.append({ stream: 'stdout', text: 'a\n' });
    await shipper.flush();
    shipper.append({ stream: 'stdout', text: 'b\n' });
    await shipper.flush();
    shipper.append({ stream: 'stdout', text: 'c\n' });
    await shipper.flush();
    expect(server.received.map((batch) => batch.seq)).toEqual([0, 5, 3, 4]);
    expect(texts(server.accepted)).toEqual(['b\n', 'c\n']);
  });

  it('takes an accepted batch with an unreadable reply as accepted, and goes on from the next seq', async () => {
    const server = await startServer((batch, state) => {
      if (batch.seq !== 0) return undefined;
      state.nextSeq = 1;
      // A 2xx outside the contract (nextSeq a string): the agent must neither crash nor resend.
      return { status: 200, body: { nextSeq: 'one', cancel: 'yes' } };
    });
    const onCancel = vi.fn();
    const warnings: string[] = [];
    const shipper = shipperFor(server.url, { onCancel, logger: { ...silentLogger, warn: (message: string) => warnings.push(message) } });
    shipper.append({ stream: 'stdout', text: 'a\n' });
    await shipper.flush();
    shipper.append({ stream: 'stdout', text: 'b\n' });
    await shipper.flush();
    expect(server.received.map((batch) => batch.seq)).toEqual([0, 1]);
    expect(texts(server.accepted)).toEqual(['b\n']);
    expect(onCancel).not.toHaveBeenCalled();
    expect(warnings).toEqual([expect.stringMatching(/^Job 7: log batch 0 accepted, but POST \/api\/v1\/agents\/jobs\/:id\/logs answered outside its contract: nextSeq: .*cancel: /)]);
  });

  it('reports cancel: true from the server', async () => {
    const server = await startServer((_batch, state) => {
      state.nextSeq++;
      return { status: 200, body: { nextSeq: state.nextSeq, cancel: true } };
    });
    const onCancel = vi.fn();
    const shipper = shipperFor(server.url, { onCancel });
    shipper.append({ stream: 'stdout', text: 'x\n' });
    await shipper.flush();
    expect(onCancel).toHaveBeenCalled();
  });

  it('stops shipping and reports the job gone on 409/410 with another code', async () => {
    const server = await startServer(() => ({ status: 410, body: { error: { code: 'job_finished', message: 'finished' } } }));
    const onJobGone = vi.fn();
    const shipper = shipperFor(server.url, { onJobGone });
    shipper.append({ stream: 'stdout', text: 'x\n' });
    await shipper.flush();
    expect(onJobGone).toHaveBeenCalledWith(expect.stringContaining('job_finished'));
    expect(shipper.jobGone).toBe(true);
    shipper.append({ stream: 'stdout', text: 'y\n' });
    await shipper.flush();
    expect(server.received).toHaveLength(1);
  });

  it('drops output beyond the buffer limit and says so', async () => {
    let open = false;
    const server = await startServer((_batch, _state) => (open ? undefined : { status: 503 }));
    const shipper = shipperFor(server.url, { maxBufferBytes: 1000, maxBatchBytes: 100 });
    for (let i = 0; i < 100; i++) shipper.append({ stream: 'stdout', text: `line ${String(i).padStart(3, '0')}\n` });
    expect(shipper.bufferedBytes).toBeLessThanOrEqual(1000);
    open = true;
    await shipper.flush();
    const all = texts(server.accepted);
    expect(all[0]).toBe('line 000\n');
    expect(all.at(-1)).toMatch(/bytes of log output were dropped/);
    expect(server.accepted.at(-1)?.chunks.at(-1)?.stream).toBe('system');
  });
});
