import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io, type Socket } from 'socket.io-client';
import { sleep } from '../scripts/process-utils';
import type { ClientToServerEvents, LogChunkEvent, ServerToClientEvents } from '../src/live/live-events';
import type { BenchStack } from './bench-stack';
import { deferred, putPipeline, triggerRun, within, type Deferred } from './bench-utils';
import { summarize, wallClockMs, type Summary } from './stats';

// Log fan-out: an agent (a protocol client posting log batches, as the real agent does) writes
// lines; N Socket.IO viewers subscribed to the job's room receive them. Latency per viewer is
// "POST sent → log.chunks event received". The baseline, measured right before in the same
// process, is a bare Socket.IO server with N clients: a writer socket emits the same event
// payload, the server broadcasts it to the room. Same bytes, same fan-out, none of Bellows' work
// (HTTP, auth, the log transaction, the Postgres adapter).

export type FanoutSide = { latency: Summary; samples: number; perSampleLast: Summary };
export type FanoutResult = {
  viewers: number;
  linesPerBatch: number;
  bytesPerBatch: number;
  bellows: FanoutSide;
  bare: FanoutSide;
  /** POST sent → the agent has the API's answer (the batch is stored): the part of the latency before fan-out starts. */
  bellowsStored: Summary;
};

export type FanoutOptions = {
  project: string;
  viewerCounts: number[];
  samples: number;
  warmup: number;
  linesPerBatch: number;
  signal: AbortSignal;
  onProgress: (message: string) => void;
};

type Viewer = Socket<ServerToClientEvents, ClientToServerEvents>;
type LogEvent = Parameters<ServerToClientEvents['log.chunks']>[0];
type WriterEvents = { lines: (event: LogEvent) => void };
type Sample = { id: string; sentAt: number; storedAt: number; pending: number; latencies: number[]; done: Deferred<void> };

const LABELS = ['pool=fanout'];

/** Routes each received batch to the sample it belongs to (its first line names it). */
class SampleTracker {
  private current: Sample | null = null;

  start(id: string, viewers: number): Sample {
    this.current = { id, sentAt: Number.NaN, storedAt: Number.NaN, pending: viewers, latencies: [], done: deferred<void>() };
    return this.current;
  }

  received(event: LogEvent, at: number): void {
    const sample = this.current;
    if (!sample || !event.chunks[0]?.text.startsWith(`fanout ${sample.id} `)) return;
    sample.latencies.push(at - sample.sentAt);
    if (--sample.pending === 0) sample.done.resolve();
  }
}

function batchLines(sampleId: string, lines: number): { stream: 'stdout'; text: string }[] {
  // ~80 bytes a line, like build output.
  return Array.from({ length: lines }, (_, i) => ({ stream: 'stdout' as const, text: `fanout ${sampleId} line ${i} ${'x'.repeat(56)}\n` }));
}

async function connectViewers(count: number, url: string, options: { token?: string; room: string }, tracker: SampleTracker): Promise<Viewer[]> {
  const viewers: Viewer[] = [];
  for (let i = 0; i < count; i++) {
    const viewer: Viewer = io(url, { path: '/socket.io', transports: ['websocket'], forceNew: true, reconnection: false, auth: options.token ? { token: options.token } : {} });
    viewer.on('log.chunks', (event) => tracker.received(event, wallClockMs()));
    viewers.push(viewer);
  }
  await Promise.all(
    viewers.map(async (viewer) => {
      await new Promise<void>((resolve, reject) => {
        viewer.once('connect', resolve);
        viewer.once('connect_error', reject);
      });
      const reply = await viewer.timeout(10_000).emitWithAck('subscribe', { room: options.room as `job:${number}` });
      if (!reply.ok) throw new Error(`subscribe failed: ${reply.error.message}`);
    }),
  );
  return viewers;
}

function side(samples: Sample[]): FanoutSide {
  return {
    samples: samples.length,
    latency: summarize(samples.flatMap((sample) => sample.latencies)),
    // When the slowest viewer had it: what "everyone sees the line" costs.
    perSampleLast: summarize(samples.map((sample) => Math.max(...sample.latencies))),
  };
}

/** The job the agent writes to: claimed and started by a registered protocol client, kept alive by heartbeats. */
async function startWritingAgent(stack: BenchStack, project: string) {
  await putPipeline(stack, project, 'fanout', LABELS);
  const tokenResponse = await stack.request<{ token: string }>('POST', '/api/v1/agent-tokens', { body: { name: 'bench-fanout' } });
  const registered = await stack.request<{ secret: string }>('POST', '/api/v1/agents/register', { token: tokenResponse.body.token, body: { name: 'bench-fanout-writer', labels: LABELS } });
  if (registered.status !== 201) throw new Error(`registering the fanout writer failed: ${registered.status}`);
  const secret = registered.body.secret;
  const post = async (urlPath: string, body: unknown): Promise<Response> =>
    fetch(`${stack.apiUrl}${urlPath}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  await triggerRun(stack, project, 'fanout');
  let jobId = 0;
  for (let i = 0; i < 10 && !jobId; i++) {
    const response = await post('/api/v1/agents/claim?wait=10', {});
    if (response.status === 200) jobId = ((await response.json()) as { job: { id: number } }).job.id;
  }
  if (!jobId) throw new Error('the fanout writer could not claim its job');
  await post(`/api/v1/agents/jobs/${jobId}/start`, {});
  // Busy agents heartbeat every second; without it the lease would lapse during a long bench.
  const heartbeat = setInterval(() => void post('/api/v1/agents/heartbeat', { jobId }).catch(() => undefined), 1000);
  let batch = 0;
  return {
    jobId,
    writeBatch: async (chunks: { stream: 'stdout'; text: string }[]): Promise<void> => {
      const response = await post(`/api/v1/agents/jobs/${jobId}/logs`, { seq: batch, chunks });
      if (response.status !== 200) throw new Error(`log batch ${batch} answered ${response.status}: ${await response.text()}`);
      batch++;
    },
    finish: async (): Promise<void> => {
      clearInterval(heartbeat);
      await post(`/api/v1/agents/jobs/${jobId}/finish`, { status: 'succeeded', exitCode: 0 });
    },
  };
}

async function runSamples(
  label: string,
  options: FanoutOptions,
  viewers: number,
  tracker: SampleTracker,
  write: (sampleId: string, sample: Sample) => Promise<void>,
): Promise<Sample[]> {
  const kept: Sample[] = [];
  for (let i = 0; i < options.warmup + options.samples; i++) {
    const sample = tracker.start(`${label}-${viewers}-${i}`, viewers);
    await write(sample.id, sample);
    await within(sample.done.promise, 15_000, `${viewers} viewers to receive ${sample.id}`, options.signal);
    if (i >= options.warmup) kept.push(sample);
    // Latency, not throughput: let the previous batch settle everywhere before the next one.
    await sleep(10);
  }
  return kept;
}

async function bareBroadcast(options: FanoutOptions, viewers: number, tracker: SampleTracker): Promise<Sample[]> {
  const http = createServer();
  const server = new Server<ClientToServerEvents & WriterEvents, ServerToClientEvents>(http, { path: '/socket.io' });
  server.on('connection', (socket) => {
    socket.on('subscribe', (request, reply) => {
      void socket.join(request.room);
      reply({ ok: true });
    });
    socket.on('lines', (event) => void server.to('job:1').emit('log.chunks', event));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const clients = await connectViewers(viewers, url, { room: 'job:1' }, tracker);
  const writer: Socket<ServerToClientEvents, WriterEvents> = io(url, { path: '/socket.io', transports: ['websocket'], forceNew: true });
  await new Promise<void>((resolve) => writer.once('connect', resolve));
  let seq = 0;
  try {
    return await runSamples('bare', options, viewers, tracker, async (sampleId, sample) => {
      const chunks: LogChunkEvent[] = batchLines(sampleId, options.linesPerBatch).map((line) => ({ seq: ++seq, try: 1, node: null, at: new Date().toISOString(), ...line }));
      sample.sentAt = wallClockMs();
      writer.emit('lines', { jobId: 1, chunks });
    });
  } finally {
    writer.disconnect();
    for (const client of clients) client.disconnect();
    await server.close();
  }
}

export async function benchFanout(stack: BenchStack, options: FanoutOptions): Promise<FanoutResult[]> {
  const agent = await startWritingAgent(stack, options.project);
  const results: FanoutResult[] = [];
  try {
    for (const viewers of options.viewerCounts) {
      const tracker = new SampleTracker();
      options.onProgress(`  fan-out: bare Socket.IO broadcast, ${viewers} viewer(s)…`);
      const bare = await bareBroadcast(options, viewers, tracker);

      options.onProgress(`  fan-out: Bellows, agent → API → ${viewers} viewer(s)…`);
      const clients = await connectViewers(viewers, stack.apiUrl, { token: stack.adminToken, room: `job:${agent.jobId}` }, tracker);
      try {
        const bellows = await runSamples('bellows', options, viewers, tracker, async (sampleId, sample) => {
          const chunks = batchLines(sampleId, options.linesPerBatch);
          sample.sentAt = wallClockMs();
          await agent.writeBatch(chunks);
          sample.storedAt = wallClockMs();
        });
        const bytesPerBatch = Buffer.byteLength(batchLines('x', options.linesPerBatch).map((chunk) => chunk.text).join(''));
        results.push({
          viewers,
          linesPerBatch: options.linesPerBatch,
          bytesPerBatch,
          bellows: side(bellows),
          bare: side(bare),
          bellowsStored: summarize(bellows.map((sample) => sample.storedAt - sample.sentAt)),
        });
      } finally {
        for (const client of clients) client.disconnect();
      }
    }
  } finally {
    await agent.finish().catch(() => undefined);
  }
  return results;
}
