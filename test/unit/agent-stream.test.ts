import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { afterEach, describe, expect, it } from 'vitest';
import type { StreamedLogBatch, StreamReply } from '../../contract/agent-protocol.contract';
import { ApiClient } from '../../agent/api-client';
import { silentLogger } from '../../agent/logger';
import { waitFor } from '../support/stack';

// The agent's log stream is an optimisation over POST …/logs: whatever goes wrong with it (refused,
// silent, failing, gone) the batch must still arrive, over HTTP. A fake API with both transports.

type StreamBehaviour = 'ack' | 'fail' | 'silent';
type FakeApi = { url: string; streamed: StreamedLogBatch[]; posted: unknown[]; io: Server; close(): Promise<void> };

const apis: FakeApi[] = [];
const clients: ApiClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(apis.splice(0).map((api) => api.close()));
});

async function startApi(behaviour: StreamBehaviour, acceptedSecret = 'agent-secret'): Promise<FakeApi> {
  const streamed: StreamedLogBatch[] = [];
  const posted: unknown[] = [];
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      posted.push({ url: req.url, auth: req.headers.authorization, body: JSON.parse(Buffer.concat(parts).toString('utf8')) as unknown });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ nextSeq: 1, cancel: false }));
    });
  });
  const io = new Server(server, { path: '/socket.io' });
  io.of('/agents').use((socket, next) => {
    if ((socket.handshake.auth as { secret?: string }).secret === acceptedSecret) next();
    else next(Object.assign(new Error('Unknown agent secret; register the agent again.'), { data: { code: 'unauthorized' } }));
  });
  io.of('/agents').on('connection', (socket) => {
    socket.on('logs', (batch: StreamedLogBatch, ack: (reply: StreamReply) => void) => {
      streamed.push(batch);
      if (behaviour === 'ack') ack({ status: 200, body: { nextSeq: batch.seq + 1, cancel: false } });
      if (behaviour === 'fail') ack({ status: 500, body: { error: { code: 'internal', message: 'boom' } } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const api: FakeApi = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    streamed,
    posted,
    io,
    close: () => new Promise((resolve) => void io.close(() => resolve())),
  };
  apis.push(api);
  return api;
}

function clientFor(api: FakeApi, secret = 'agent-secret', ackTimeoutMs = 300): ApiClient {
  const client = new ApiClient({ baseUrl: api.url, logger: silentLogger, backoff: { baseMs: 5, maxMs: 20 } });
  client.setSecret(secret);
  client.openStream(ackTimeoutMs);
  clients.push(client);
  return client;
}

const batch = { seq: 0, chunks: [{ stream: 'stdout' as const, text: 'hello\n' }] };

describe('agent log stream', () => {
  it('sends over the stream once connected, with the job id, and no HTTP request', async () => {
    const api = await startApi('ack');
    const client = clientFor(api);
    await waitFor(() => client.streamConnected, { message: 'the stream to connect' });
    expect(await client.sendLogBatch(7, batch)).toEqual({ ok: true, status: 200, body: { nextSeq: 1, cancel: false } });
    expect(api.streamed).toEqual([{ jobId: 7, ...batch }]);
    expect(api.posted).toEqual([]);
  });

  it.each([
    ['answers with a server error', 'fail'],
    ['does not acknowledge in time', 'silent'],
  ] as const)('falls back to HTTP when the stream %s', async (_case, behaviour) => {
    const api = await startApi(behaviour);
    const client = clientFor(api);
    await waitFor(() => client.streamConnected, { message: 'the stream to connect' });
    expect((await client.sendLogBatch(7, batch)).status).toBe(200);
    expect(api.streamed).toHaveLength(1);
    expect(api.posted).toEqual([{ url: '/api/v1/agents/jobs/7/logs', auth: 'Bearer agent-secret', body: batch }]);
  });

  it('uses HTTP while the stream is refused, and reconnects with a renewed secret', async () => {
    const api = await startApi('ack', 'renewed-secret');
    const client = clientFor(api, 'old-secret');
    expect((await client.sendLogBatch(7, batch)).status).toBe(200);
    expect(api.posted).toHaveLength(1);
    expect(client.streamConnected).toBe(false);

    client.setSecret('renewed-secret');
    await waitFor(() => client.streamConnected, { message: 'the stream to connect with the renewed secret', timeoutMs: 15_000 });
    await client.sendLogBatch(7, { ...batch, seq: 1 });
    expect(api.streamed.map((sent) => sent.seq)).toEqual([1]);
  });

  it('uses HTTP when the API goes away mid-stream', async () => {
    const api = await startApi('ack');
    const client = clientFor(api);
    await waitFor(() => client.streamConnected, { message: 'the stream to connect' });
    api.io.of('/agents').disconnectSockets(true);
    await waitFor(() => !client.streamConnected, { message: 'the stream to drop' });
    expect((await client.sendLogBatch(7, batch)).status).toBe(200);
    expect(api.posted).toHaveLength(1);
  });
});
