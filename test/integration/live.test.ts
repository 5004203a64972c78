import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, LiveRoom, LogChunkEvent, ServerToClientEvents, SubscribeReply } from '../../contract/live.contract';
import { isTerminal, type RunDetail } from '../../contract/runs.contract';
import { api, startStack, waitFor, type Stack } from '../support/stack';

// The live views' server side against a real stack: handshake auth, job-room replay + live logs
// with reconnect-resume, lifecycle events from API and worker, project scoping, and a second API
// instance on the same database receiving what an agent posts to the first (the Postgres adapter).

type LiveClient = Socket<ServerToClientEvents, ClientToServerEvents>;

let stack: Stack;
const clients: LiveClient[] = [];

const LINES = 200;

function connect(token: string | undefined, url = stack.apiUrl): LiveClient {
  const client: LiveClient = io(url, {
    path: '/socket.io',
    auth: token === undefined ? {} : { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  clients.push(client);
  return client;
}

function connected(client: LiveClient): Promise<void> {
  return new Promise((resolve, reject) => {
    if (client.connected) return resolve();
    client.once('connect', () => resolve());
    client.once('connect_error', reject);
  });
}

function refusal(client: LiveClient): Promise<Error & { data?: { code?: string } }> {
  return new Promise((resolve, reject) => {
    client.once('connect', () => reject(new Error('connected, but should have been refused')));
    client.once('connect_error', resolve);
  });
}

async function subscribe(client: LiveClient, room: LiveRoom, afterSeq?: number): Promise<SubscribeReply> {
  return client.timeout(10_000).emitWithAck('subscribe', afterSeq === undefined ? { room } : { room, afterSeq });
}

/**
 * What a viewer does with `log.chunks`: keep chunks in seq order, drop the ones it already has. It
 * also records every delivery so tests can check the server never skipped ahead (a gap).
 */
function collectLogs(client: LiveClient, jobId: number, startAfter = 0) {
  const kept: LogChunkEvent[] = [];
  const gaps: string[] = [];
  let last = startAfter;
  let deliveries = 0;
  client.on('log.chunks', (event) => {
    if (event.jobId !== jobId) return;
    for (const chunk of event.chunks) {
      deliveries++;
      if (chunk.seq <= last) continue;
      if (chunk.seq !== last + 1) gaps.push(`got seq ${chunk.seq} after ${last}`);
      kept.push(chunk);
      last = chunk.seq;
    }
  });
  return { kept, gaps, lastSeq: () => last, deliveries: () => deliveries };
}

function printedLines(chunks: LogChunkEvent[]): string[] {
  return chunks
    .map((chunk) => chunk.text)
    .join('')
    .split('\n')
    .filter((line) => /^line \d+$/.test(line));
}

const expectedLines = Array.from({ length: LINES }, (_, i) => `line ${i + 1}`);

async function putPipeline(project: string, name: string, content: string, labels = ['os=linux']): Promise<void> {
  await stack.api.call(api.pipelines.put, { params: { slug: project, name }, body: { content, labels } });
}

async function trigger(project: string, pipeline: string): Promise<RunDetail> {
  return stack.answered(201, api.runs.trigger, { params: { slug: project, name: pipeline }, body: {} });
}

async function firstJobId(runId: number): Promise<number> {
  const run = await waitFor(
    async () => {
      const current = await stack.api.call(api.runs.get, { params: { id: runId } });
      return current.jobs.length ? current : null;
    },
    { message: `run ${runId} to have its job` },
  );
  return run.jobs[0].id;
}

async function waitForRunEnd(runId: number): Promise<RunDetail> {
  return waitFor(
    async () => {
      const current = await stack.api.call(api.runs.get, { params: { id: runId } });
      return isTerminal(current.status) ? current : null;
    },
    { timeoutMs: 60_000, message: `run ${runId} to end` },
  );
}

function linesScript(sleepSeconds: number): string {
  return `for i in $(seq 1 ${LINES}); do echo "line $i"; sleep ${sleepSeconds}; done`;
}

beforeAll(async () => {
  stack = await startStack({ agents: [{ name: 'live-1', labels: 'os=linux' }] });
  for (const slug of ['live', 'other']) {
    await stack.answered(201, api.projects.create, { body: { slug, name: slug } });
  }
  await putPipeline('live', 'lines', linesScript(0.01));
  await putPipeline('live', 'slow-lines', linesScript(0.03));
  await putPipeline('live', 'short', 'echo done');
});

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await stack?.stop();
});

describe('handshake', () => {
  it('refuses a connection without a token, with a bad token, or with an agent token, saying why', async () => {
    const missing = await refusal(connect(undefined));
    expect(missing.message).toMatch(/Missing token/);
    expect(missing.data?.code).toBe('unauthorized');

    const bad = await refusal(connect('bel_not-a-real-token'));
    expect(bad.message).toBe('Invalid or revoked token.');

    const agentToken = await stack.createAgentToken('live-registration');
    const agent = await refusal(connect(agentToken));
    expect(agent.data?.code).toBe('forbidden');
  });

  it('rejects unknown rooms in the subscribe reply', async () => {
    const client = connect(stack.adminToken);
    await connected(client);
    const reply = await subscribe(client, 'runs@someone' as LiveRoom);
    expect(reply).toMatchObject({ ok: false, error: { code: 'invalid_room' } });
    // The message is checked against the contract's SubscribeRequest; its refusals name the rule.
    expect(await subscribe(client, 'job:1', -1)).toMatchObject({ ok: false, error: { code: 'invalid_room', message: expect.stringContaining('afterSeq must be a non-negative integer') } });
    const notAnObject = await client.timeout(10_000).emitWithAck('subscribe', 'runs' as unknown as { room: LiveRoom });
    expect(notAnObject).toMatchObject({ ok: false, error: { code: 'invalid_room', message: 'The message must be a JSON object.' } });
  });
});

describe('job rooms', () => {
  it('stream every line of a running script job once, in order', async () => {
    const run = await trigger('live', 'lines');
    const jobId = await firstJobId(run.id);
    const client = connect(stack.adminToken);
    await connected(client);
    const logs = collectLogs(client, jobId);
    let nodes = 0;
    client.on('job.nodes', (event) => void (event.jobId === jobId && nodes++));
    expect(await subscribe(client, `job:${jobId}`)).toEqual({ ok: true });
    expect(nodes).toBe(1); // the current graph state comes with the subscription

    await waitForRunEnd(run.id);
    await waitFor(() => printedLines(logs.kept).length >= LINES, { message: 'all lines to arrive live', timeoutMs: 10_000 });
    expect(printedLines(logs.kept)).toEqual(expectedLines);
    expect(logs.gaps).toEqual([]);
    // Seqs match what REST serves: nothing invented, nothing renumbered.
    const rest = await stack.api.call(api.jobs.logs, { params: { id: jobId }, query: { limit: '10000' } });
    expect(logs.kept.map((chunk) => [chunk.seq, chunk.text])).toEqual(rest.chunks.map((chunk) => [chunk.seq, chunk.text]));
    // The agent sent them over its log stream (HTTP is only its fallback).
    expect(stack.agents[0].output()).toContain('Log stream connected');
  });

  it('resume after a disconnect with afterSeq: the union has every line once', async () => {
    const run = await trigger('live', 'slow-lines');
    const jobId = await firstJobId(run.id);
    const first = connect(stack.adminToken);
    await connected(first);
    const before = collectLogs(first, jobId);
    expect(await subscribe(first, `job:${jobId}`)).toEqual({ ok: true });
    await waitFor(() => printedLines(before.kept).length >= 40, { message: '40 lines before the disconnect' });
    first.disconnect();
    const resumeAfter = before.lastSeq();
    await new Promise((resolve) => setTimeout(resolve, 700)); // lines keep coming while nobody watches

    const second = connect(stack.adminToken);
    await connected(second);
    const after = collectLogs(second, jobId, resumeAfter);
    expect(await subscribe(second, `job:${jobId}`, resumeAfter)).toEqual({ ok: true });
    await waitForRunEnd(run.id);
    await waitFor(() => printedLines([...before.kept, ...after.kept]).length >= LINES, { message: 'the rest of the lines', timeoutMs: 10_000 });

    expect(printedLines(before.kept).length).toBeLessThan(LINES);
    expect(after.kept[0]?.seq).toBe(resumeAfter + 1);
    expect(printedLines([...before.kept, ...after.kept])).toEqual(expectedLines);
    expect([...before.gaps, ...after.gaps]).toEqual([]);
  });
});

describe('lifecycle events', () => {
  it('announce run, job, queue and agent changes of a run', async () => {
    // No agent can take the job until the run's room is joined: a job room can only be joined once
    // the run exists, and a claim racing the subscription would take its events with it.
    // The sleep keeps the agent busy long enough for its `busy` to be announced before it is idle again.
    await putPipeline('live', 'lifecycle', 'echo lifecycle\nsleep 1', ['pool=lifecycle']);
    const client = connect(stack.adminToken);
    await connected(client);
    const seen: string[] = [];
    client.on('run.updated', (e) => seen.push(`run ${e.runId} ${e.status}`));
    client.on('job.updated', (e) => seen.push(`job ${e.jobId} ${e.status}${e.agent ? ` ${e.agent}` : ''}`));
    client.on('queue.changed', (e) => seen.push(`queue ${e.reason}`));
    client.on('agent.updated', (e) => seen.push(`agent ${e.name} ${e.status}`));
    for (const room of ['runs', 'queue', 'agents'] as const) expect(await subscribe(client, room)).toEqual({ ok: true });

    const run = await trigger('live', 'lifecycle');
    expect(await subscribe(client, `run:${run.id}`)).toEqual({ ok: true });
    const jobId = await firstJobId(run.id);
    await stack.startAgent({ name: 'lifecycle-1', labels: 'pool=lifecycle' });
    await waitForRunEnd(run.id);
    const idleAgain = () => seen.includes('agent lifecycle-1 busy') && seen.indexOf('agent lifecycle-1 busy') < seen.lastIndexOf('agent lifecycle-1 online');
    await waitFor(() => seen.includes(`run ${run.id} succeeded`) && idleAgain(), {
      message: `the final events (seen: ${seen.join('; ')})`,
      timeoutMs: 10_000,
    });

    expect(seen).toContain(`run ${run.id} queued`); // API: trigger
    expect(seen).toContain(`run ${run.id} running`); // API: claim
    expect(seen).toContain(`job ${jobId} running lifecycle-1`); // API: claim
    expect(seen).toContain(`job ${jobId} succeeded lifecycle-1`); // API: finish
    expect(seen).toContain('queue claimed');
    expect(idleAgain()).toBe(true); // busy while it ran the job, online after
    expect(seen.indexOf(`run ${run.id} running`)).toBeLessThan(seen.indexOf(`run ${run.id} succeeded`)); // worker: finalize
  });

  it('announce jobs queued and cancelled by the worker', async () => {
    await putPipeline('live', 'nobody', 'echo never', ['os=plan9']); // stays queued: no agent matches
    const client = connect(stack.adminToken);
    await connected(client);
    const seen: string[] = [];
    client.on('job.updated', (e) => seen.push(`job ${e.jobId} ${e.status}`));
    client.on('queue.changed', (e) => seen.push(`queue ${e.reason}`));
    client.on('run.updated', (e) => seen.push(`run ${e.runId} ${e.status}`));
    expect(await subscribe(client, 'queue')).toEqual({ ok: true });
    const run = await trigger('live', 'nobody');
    expect(await subscribe(client, `run:${run.id}`)).toEqual({ ok: true });
    const jobId = await firstJobId(run.id);
    await waitFor(() => seen.includes('queue queued'), { message: 'queue.changed queued from the worker' });
    await stack.api.call(api.runs.cancel, { params: { id: run.id } });
    await waitFor(() => seen.includes(`job ${jobId} cancelled`) && seen.includes(`run ${run.id} cancelled`), {
      message: `cancel events (seen: ${seen.join('; ')})`,
    });
    expect(seen).toContain('queue cancelled');
  });
});

describe('project-bound tokens', () => {
  it('cannot subscribe to another project’s run or job, and only see their project in `runs`', async () => {
    const reader = await stack.answered(201, api.tokens.create, { body: { name: 'other-reader', scopes: ['read'], project: 'other' } });
    const client = connect(reader.token);
    await connected(client);
    const runs: number[] = [];
    client.on('run.updated', (e) => runs.push(e.runId));
    expect(await subscribe(client, 'runs')).toEqual({ ok: true });

    const run = await trigger('live', 'short');
    const jobId = await firstJobId(run.id);
    expect(await subscribe(client, `run:${run.id}`)).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await subscribe(client, `job:${jobId}`)).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await subscribe(client, 'run:999999')).toMatchObject({ ok: false, error: { code: 'not_found' } });
    await waitForRunEnd(run.id);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(runs).toEqual([]);
  });
});

describe('two API instances on one database', () => {
  it('a client on instance B gets the log lines an agent posts to instance A, and reconnects when B shuts down', async () => {
    // Instance B: the same built API, env and database as the stack's, on its own port (stopped with the stack).
    const { url, ...instanceB } = await stack.startApiInstance({ name: 'b' });
    const run = await trigger('live', 'lines'); // the agent talks to instance A only
    const jobId = await firstJobId(run.id);
    const client = connect(stack.adminToken, url);
    await connected(client);
    const logs = collectLogs(client, jobId);
    const jobStatuses: string[] = [];
    client.on('job.updated', (e) => void (e.jobId === jobId && jobStatuses.push(e.status)));
    expect(await subscribe(client, `job:${jobId}`)).toEqual({ ok: true });
    await waitForRunEnd(run.id);
    await waitFor(() => printedLines(logs.kept).length >= LINES, { message: 'all lines on instance B', timeoutMs: 10_000 });
    expect(printedLines(logs.kept)).toEqual(expectedLines);
    expect(logs.gaps).toEqual([]);
    expect(jobStatuses).toContain('succeeded');

    // Graceful shutdown closes the transport (not a Socket.IO disconnect), so clients reconnect.
    const reason = new Promise<string>((resolve) => client.once('disconnect', resolve));
    await instanceB.kill('SIGTERM');
    expect(await reason).toBe('transport close');
  });
});
