import { spawn } from 'node:child_process';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { ApiClient, isSuccess } from '../agent/api-client';
import { silentLogger } from '../agent/logger';
import { sleep } from '../scripts/process-utils';
import type { ClientToServerEvents, LogChunkEvent, ServerToClientEvents } from '../contract/live.contract';
import type { BareWriterEvents } from './bare-broadcast.server';
import type { BenchStack } from './bench-stack';
import { deferred, putPipeline, triggerRun, within, type Deferred } from './bench-utils';
import { summarize, wallClockMs, type Summary } from './stats';
import { api } from '../contract';
import { routeUrl } from '../contract/http';

const routes = api.agentProtocol;

// Log fan-out: an agent writes lines; N Socket.IO viewers subscribed to the job's room receive
// them. The writer is the real agent's ApiClient, so batches take the agent's own path: its log
// stream (a Socket.IO connection) and, in a second row, the HTTP fallback (POST …/logs). Latency
// per viewer is "batch sent → log.chunks event received". The baseline, measured right before, is
// a bare Socket.IO server in its own process (as the API is) with the same N clients here: a
// writer socket emits the same event payload, the server broadcasts it to the room. Same bytes,
// same fan-out, same process hops, none of Bellows' work (authentication, validation, masking,
// the durable log append and its round trip to PostgreSQL, the Postgres adapter).

export type FanoutSide = { latency: Summary; samples: number; perSampleLast: Summary };
export type FanoutResult = {
  viewers: number;
  linesPerBatch: number;
  bytesPerBatch: number;
  /** Over the agent's log stream (what agents use while connected). */
  bellows: FanoutSide;
  /** Over HTTP, the agent's fallback when the stream is down. */
  bellowsHttp: FanoutSide;
  bare: FanoutSide;
  /** Batch sent → the agent has the API's answer (the batch is stored), over the stream: the part before fan-out starts. */
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

type Transport = 'stream' | 'http';

/** The job the agent writes to: claimed and started by the agent's own ApiClient, kept alive by heartbeats. */
async function startWritingAgent(stack: BenchStack, project: string, signal: AbortSignal) {
  await putPipeline(stack, project, 'fanout', LABELS);
  const tokenResponse = await stack.request<{ token: string }>('POST', '/api/v1/agent-tokens', { body: { name: 'bench-fanout' } });
  const registered = await stack.request<{ secret: string }>('POST', routeUrl(routes.register), { token: tokenResponse.body.token, body: { name: 'bench-fanout-writer', labels: LABELS } });
  if (registered.status !== 201) throw new Error(`registering the fanout writer failed: ${registered.status}`);
  const client = new ApiClient({ baseUrl: stack.apiUrl, logger: silentLogger });
  client.setSecret(registered.body.secret);

  await triggerRun(stack, project, 'fanout');
  let jobId = 0;
  for (let i = 0; i < 10 && !jobId; i++) {
    const response = await client.call(routes.claim, { query: { wait: '10' } }, { signal });
    if (response.ok) jobId = response.body.job.id;
  }
  if (!jobId) throw new Error('the fanout writer could not claim its job');
  await client.call(routes.start, { params: { id: jobId } }, { signal });
  client.openStream();
  for (let i = 0; i < 100 && !client.streamConnected; i++) await sleep(50);
  if (!client.streamConnected) throw new Error('the fanout writer\'s log stream did not connect');
  // Busy agents heartbeat every second; without it the lease would lapse during a long bench.
  const heartbeat = setInterval(() => void client.call(routes.heartbeat, { body: { jobId } }, { retry: false }).catch(() => undefined), 1000);
  let batch = 0;
  return {
    jobId,
    writeBatch: async (chunks: { stream: 'stdout'; text: string }[], transport: Transport): Promise<void> => {
      const body = { seq: batch, chunks };
      const response = transport === 'stream' ? await client.sendLogBatch(jobId, body) : await client.call(routes.logs, { params: { id: jobId }, body }, { retry: false });
      if (!isSuccess(response)) throw new Error(`log batch ${batch} answered ${response.status}: ${JSON.stringify(response.body)}`);
      batch++;
    },
    finish: async (): Promise<void> => {
      clearInterval(heartbeat);
      await client.call(routes.finish, { params: { id: jobId }, body: { status: 'succeeded', exitCode: 0 } }, { retry: false });
      client.close();
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

/** The baseline server in a child process, so both sides cross the same process boundaries. */
async function startBareServer(): Promise<{ url: string; stop: () => void }> {
  const entry = path.join(__dirname, 'bare-broadcast.server.js');
  const child = spawn(process.execPath, [entry], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the bare Socket.IO server exited (${code}) before listening`)));
    child.stdout.once('data', (data: Buffer) => resolve(Number(data.toString().trim())));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => void child.kill('SIGKILL') };
}

async function bareBroadcast(options: FanoutOptions, viewers: number, tracker: SampleTracker): Promise<Sample[]> {
  const bare = await startBareServer();
  try {
    const clients = await connectViewers(viewers, bare.url, { room: 'job:1' }, tracker);
    const writer: Socket<ServerToClientEvents, BareWriterEvents> = io(bare.url, { path: '/socket.io', transports: ['websocket'], forceNew: true });
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
    }
  } finally {
    bare.stop();
  }
}

export async function benchFanout(stack: BenchStack, options: FanoutOptions): Promise<FanoutResult[]> {
  const agent = await startWritingAgent(stack, options.project, options.signal);
  const results: FanoutResult[] = [];
  try {
    for (const viewers of options.viewerCounts) {
      const tracker = new SampleTracker();
      options.onProgress(`  fan-out: bare Socket.IO broadcast, ${viewers} viewer(s)…`);
      const bare = await bareBroadcast(options, viewers, tracker);

      const clients = await connectViewers(viewers, stack.apiUrl, { token: stack.adminToken, room: `job:${agent.jobId}` }, tracker);
      try {
        const bellows = async (transport: Transport) => {
          options.onProgress(`  fan-out: Bellows, agent ${transport === 'stream' ? 'log stream' : 'HTTP POST'} → API → ${viewers} viewer(s)…`);
          return runSamples(`bellows-${transport}`, options, viewers, tracker, async (sampleId, sample) => {
            const chunks = batchLines(sampleId, options.linesPerBatch);
            sample.sentAt = wallClockMs();
            await agent.writeBatch(chunks, transport);
            sample.storedAt = wallClockMs();
          });
        };
        const streamed = await bellows('stream');
        const posted = await bellows('http');
        const bytesPerBatch = Buffer.byteLength(batchLines('x', options.linesPerBatch).map((chunk) => chunk.text).join(''));
        results.push({
          viewers,
          linesPerBatch: options.linesPerBatch,
          bytesPerBatch,
          bellows: side(streamed),
          bellowsHttp: side(posted),
          bare: side(bare),
          bellowsStored: summarize(streamed.map((sample) => sample.storedAt - sample.sentAt)),
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
