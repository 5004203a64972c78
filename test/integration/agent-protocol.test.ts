import { createHash } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../agent/api-client';
import { silentLogger } from '../../agent/logger';
import type { AgentStreamClientEvents, StreamReply } from '../../contract/agent-protocol.contract';
import { startStack, waitFor, type Stack } from '../support/stack';

// The agent protocol's rules, driven by hand so every edge can be reached on purpose.
type Claimed = { job: { id: number; try: number }; run: { id: number }; secrets: Record<string, string>; env: Record<string, string>; matrix: Record<string, string> };
type ErrorBody = { error: { code: string; message: string; nextSeq?: number } };

let stack: Stack;
let registrationToken: string;

beforeAll(async () => {
  stack = await startStack();
  registrationToken = await stack.createAgentToken('protocol');
  expect((await stack.request('POST', '/api/v1/projects', { body: { slug: 'p', name: 'Protocol' } })).status).toBe(201);
  expect((await stack.request('PUT', '/api/v1/projects/p/secrets/TOKEN', { body: { value: 'abc-secret-xyz' } })).status).toBe(204);
});

afterAll(async () => {
  await stack?.stop();
});

async function register(name: string, labels: string[]) {
  const res = await stack.request<{ agentId: string; secret: string; labels: string[] }>('POST', '/api/v1/agents/register', {
    token: registrationToken,
    body: { name, labels, hostname: 'test-host', os: 'linux', arch: 'x64', version: 'test' },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function pipelineRun(name: string, labels: string[]): Promise<number> {
  expect((await stack.request('PUT', `/api/v1/projects/p/pipelines/${name}`, { body: { content: 'true', labels, env: { STAGE: 'ci' } } })).status).toBe(200);
  const run = await stack.request<{ id: number }>('POST', `/api/v1/projects/p/pipelines/${name}/runs`, { body: {} });
  return run.body.id;
}

async function claim(secret: string, wait = 10): Promise<Claimed> {
  const res = await stack.request<Claimed>('POST', `/api/v1/agents/claim?wait=${wait}`, { token: secret });
  expect(res.status).toBe(200);
  return res.body;
}

describe('agent protocol', () => {
  it('validates registration and keeps an agent identity across re-registration', async () => {
    const bad = await stack.request<ErrorBody>('POST', '/api/v1/agents/register', { token: registrationToken, body: { name: 'x', labels: ['bad label'] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('label');
    const admin = await stack.request<ErrorBody>('POST', '/api/v1/agents/register', { body: { name: 'x', labels: [] } });
    expect(admin.status).toBe(403);

    const first = await register('same-name', ['os=linux']);
    const second = await register('same-name', ['os=linux', 'extra=1']);
    expect(second.agentId).toBe(first.agentId);
    expect(second.labels).toEqual(['extra=1', 'os=linux']);
    expect((await stack.request('POST', '/api/v1/agents/heartbeat', { token: first.secret, body: {} })).status).toBe(401);
    expect((await stack.request('POST', '/api/v1/agents/heartbeat', { token: second.secret, body: {} })).status).toBe(200);
  });

  it('hands the job with env, secrets and matrix; numbers log batches; checks artifact checksums; finishes once', async () => {
    const agent = await register('worker-a', ['pool=a']);
    const runId = await pipelineRun('proto', ['pool=a']);
    const job = await claim(agent.secret);
    expect(job.run.id).toBe(runId);
    expect(job.secrets).toEqual({ TOKEN: 'abc-secret-xyz' });
    expect(job.env).toEqual({ STAGE: 'ci' });
    const jobId = job.job.id;
    const path = `/api/v1/agents/jobs/${jobId}`;

    expect((await stack.request('POST', `${path}/start`, { token: agent.secret, body: {} })).status).toBe(200);
    const batch0 = { seq: 0, chunks: [{ stream: 'stdout', text: 'hello abc-secret-xyz\n' }] };
    expect((await stack.request('POST', `${path}/logs`, { token: agent.secret, body: batch0 })).body).toEqual({ nextSeq: 1, cancel: false });
    // A resend of an acknowledged batch is acknowledged again and stored once.
    expect((await stack.request('POST', `${path}/logs`, { token: agent.secret, body: batch0 })).body).toEqual({ nextSeq: 1, cancel: false });
    const gap = await stack.request<ErrorBody>('POST', `${path}/logs`, { token: agent.secret, body: { seq: 5, chunks: [{ stream: 'stdout', text: 'x\n' }] } });
    expect(gap.status).toBe(409);
    expect(gap.body.error).toMatchObject({ code: 'log_seq_mismatch', nextSeq: 1 });
    expect((await stack.request('POST', `${path}/logs`, { token: agent.secret, body: { seq: 1, chunks: [{ stream: 'stderr', text: 'two\n', node: 'n1' }] } })).status).toBe(200);
    const logs = await stack.request<{ chunks: { seq: number; text: string; node: string | null }[] }>('GET', `/api/v1/jobs/${jobId}/logs`);
    expect(logs.body.chunks.map((c) => [c.seq, c.text, c.node])).toEqual([
      [1, 'hello ***\n', null],
      [2, 'two\n', 'n1'],
    ]);

    const bytes = Buffer.from('artifact bytes');
    const sha = createHash('sha256').update(bytes).digest('hex');
    const upload = (name: string, checksum: string) =>
      stack.request<{ sha256: string; size: number } & ErrorBody>('PUT', `${path}/artifacts/${encodeURIComponent(name)}`, {
        token: agent.secret,
        rawBody: bytes,
        headers: { 'content-type': 'application/octet-stream', 'x-checksum-sha256': checksum },
      });
    const mismatch = await upload('out/a.txt', '0'.repeat(64));
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.error.code).toBe('checksum_mismatch');
    expect((await upload('../escape', sha)).status).toBe(400);
    const ok = await upload('out/a.txt', sha);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ size: bytes.length, sha256: sha });
    const listed = await stack.request<{ artifacts: { name: string }[] }>('GET', `/api/v1/artifacts?runId=${runId}`);
    expect(listed.body.artifacts.map((a) => a.name)).toEqual(['out/a.txt']);

    const finish = { status: 'succeeded', exitCode: 0 };
    expect((await stack.request('POST', `${path}/finish`, { token: agent.secret, body: finish })).body).toEqual({ status: 'succeeded' });
    expect((await stack.request('POST', `${path}/finish`, { token: agent.secret, body: { status: 'failed', exitCode: 1 } })).body).toEqual({ status: 'succeeded' });

    const other = await register('worker-b', ['pool=a']);
    const notOwned = await stack.request<ErrorBody>('POST', `${path}/logs`, { token: other.secret, body: { seq: 0, chunks: [] } });
    expect(notOwned.status).toBe(409);
    expect(notOwned.body.error.code).toBe('job_not_owned');
    expect((await stack.request<ErrorBody>('POST', '/api/v1/agents/jobs/999999/start', { token: other.secret, body: {} })).status).toBe(404);
  });

  it('tells a busy agent to stop through the heartbeat when its run is cancelled', async () => {
    const agent = await register('worker-c', ['pool=c']);
    const runId = await pipelineRun('cancel-me', ['pool=c']);
    const job = await claim(agent.secret);
    const beat = () => stack.request<{ cancelJobIds: number[] }>('POST', '/api/v1/agents/heartbeat', { token: agent.secret, body: { jobId: job.job.id } });
    expect((await beat()).body.cancelJobIds).toEqual([]);
    expect((await stack.request('POST', `/api/v1/runs/${runId}/cancel`)).status).toBe(200);
    expect((await beat()).body.cancelJobIds).toEqual([job.job.id]);
    const reply = await stack.request<{ cancel: boolean }>('POST', `/api/v1/agents/jobs/${job.job.id}/logs`, {
      token: agent.secret,
      body: { seq: 0, chunks: [{ stream: 'system', text: 'stopping\n' }] },
    });
    expect(reply.body.cancel).toBe(true);
    expect((await stack.request('POST', `/api/v1/agents/jobs/${job.job.id}/finish`, { token: agent.secret, body: { status: 'failed', exitCode: null } })).body).toEqual({
      status: 'cancelled',
    });
  });

  it('answers a long poll at once when a matching job is queued, and never hands a job to an agent lacking a label', async () => {
    const plain = await register('plain', ['pool=d']);
    const gpu = await register('gpu', ['pool=d', 'gpu=true']);
    const plainPoll = stack.request('POST', '/api/v1/agents/claim?wait=3', { token: plain.secret });
    const gpuPoll = stack.request<Claimed>('POST', '/api/v1/agents/claim?wait=20', { token: gpu.secret });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    const runId = await pipelineRun('gpu-only', ['pool=d', 'gpu=true']);
    const claimed = await gpuPoll;
    expect(claimed.status).toBe(200);
    expect(claimed.body.run.id).toBe(runId);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect((await plainPoll).status).toBe(204);
  });

  it('lets an admin override labels and delete an agent', async () => {
    const agent = await register('relabel', ['pool=e']);
    const runId = await pipelineRun('needs-f', ['pool=f']);
    expect((await stack.request('POST', '/api/v1/agents/claim?wait=1', { token: agent.secret })).status).toBe(204);
    const patched = await stack.request<{ labels: string[]; declaredLabels: string[] }>('PATCH', `/api/v1/agents/${agent.agentId}`, { body: { labels: ['pool=f'] } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ labels: ['pool=f'], declaredLabels: ['pool=e'] });
    expect((await claim(agent.secret)).run.id).toBe(runId);
    const listed = await stack.request<{ agents: { id: string; status: string; currentJobId: number | null }[] }>('GET', '/api/v1/agents');
    expect(listed.body.agents.find((a) => a.id === agent.agentId)).toMatchObject({ status: 'busy' });

    expect((await stack.request('DELETE', `/api/v1/agents/${agent.agentId}`)).status).toBe(204);
    expect((await stack.request('POST', '/api/v1/agents/heartbeat', { token: agent.secret, body: {} })).status).toBe(401);
    expect((await stack.request('DELETE', `/api/v1/agents/${agent.agentId}`)).status).toBe(404);
    expect((await stack.request('PATCH', '/api/v1/agents/not-a-uuid', { body: { labels: [] } })).status).toBe(404);
  });

  it('exposes Prometheus metrics: queue depth per label set, claim latency, runs, agents, log bytes', async () => {
    await pipelineRun('metrics-waiting', ['pool=nobody-has-this']);
    const text = await stack.waitFor(
      async () => {
        const res = await stack.request<string>('GET', '/metrics', { token: null });
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toContain('text/plain');
        return /^bellows_queue_depth\{labels="pool=nobody-has-this"\} 1$/m.test(res.body) ? res.body : null;
      },
      { message: 'the queued job to show in bellows_queue_depth' },
    );
    expect(text).toMatch(/^bellows_claim_latency_seconds_count [1-9]\d*$/m);
    expect(text).toMatch(/^bellows_runs\{status="succeeded"\} [1-9]\d*$/m);
    expect(text).toMatch(/^bellows_agents\{status="online"\} \d+$/m);
    expect(text).toMatch(/^bellows_log_bytes_ingested_total [1-9]\d*$/m);
    expect(text).toContain('bellows_process_resident_memory_bytes');
    expect(text).toMatch(/^bellows_long_polls_waiting \d+$/m);
  });

  it('shows an agent offline at once when it signs off, and online again at its next heartbeat', async () => {
    const agent = await register('leaving', ['pool=leave']);
    const status = async () =>
      (await stack.request<{ agents: { id: string; status: string }[] }>('GET', '/api/v1/agents')).body.agents.find((a) => a.id === agent.agentId)?.status;
    expect(await status()).toBe('online');
    expect((await stack.request('POST', '/api/v1/agents/sign-off', { token: agent.secret })).status).toBe(204);
    expect(await status()).toBe('offline');
    await pipelineRun('for-leaving', ['pool=leave']);
    const queued = await waitFor(
      async () =>
        (await stack.request<{ jobs: { labels: string[]; matchingAgents: number; waitingBecause: string | null }[] }>('GET', '/api/v1/queue')).body.jobs.find((job) =>
          job.labels.includes('pool=leave'),
        ),
      { message: 'the job to be queued' },
    );
    expect(queued.matchingAgents).toBe(0);
    expect(queued.waitingBecause).toMatch(/^No (online )?agent/);
    expect((await stack.request('POST', '/api/v1/agents/heartbeat', { token: agent.secret, body: {} })).status).toBe(200);
    expect(await status()).toBe('online');
  });

  it('takes log batches over the agent stream with the same rules and answers as REST, and refuses unknown secrets', async () => {
    const agent = await register('streamer', ['pool=s']);
    await pipelineRun('stream', ['pool=s']);
    const job = await claim(agent.secret);
    const jobId = job.job.id;

    const refused = io(`${stack.apiUrl}/agents`, { path: '/socket.io', transports: ['websocket'], auth: { secret: 'bels_not-a-real-secret' }, reconnection: false });
    const refusal = await new Promise<Error & { data?: { code?: string } }>((resolve) => refused.once('connect_error', resolve));
    expect(refusal.message).toContain('Unknown agent secret');
    expect(refusal.data?.code).toBe('unauthorized');
    refused.close();

    const stream: Socket<Record<string, never>, AgentStreamClientEvents> = io(`${stack.apiUrl}/agents`, {
      path: '/socket.io',
      transports: ['websocket'],
      auth: { secret: agent.secret },
      reconnection: false,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        stream.once('connect', resolve);
        stream.once('connect_error', reject);
      });
      const send = (batch: unknown): Promise<StreamReply> => stream.timeout(10_000).emitWithAck('logs', batch as never);
      expect(await send({ jobId, seq: 0, chunks: [{ stream: 'stdout', text: 'over the stream abc-secret-xyz\n' }] })).toEqual({ status: 200, body: { nextSeq: 1, cancel: false } });
      // The same batch again (say its ack was lost) counts once; a gap names the batch expected.
      expect(await send({ jobId, seq: 0, chunks: [{ stream: 'stdout', text: 'over the stream abc-secret-xyz\n' }] })).toEqual({ status: 200, body: { nextSeq: 1, cancel: false } });
      expect(await send({ jobId, seq: 4, chunks: [] })).toMatchObject({ status: 409, body: { error: { code: 'log_seq_mismatch', nextSeq: 1 } } });
      const invalid = await send({ jobId, seq: 1, chunks: [{ stream: 'video', text: 1 }] });
      expect(invalid.status).toBe(400);
      expect((invalid.body as ErrorBody).error.message).toMatch(/chunks\.0\.stream.*chunks\.0\.text/);
      expect(await send({ jobId: 999_999, seq: 0, chunks: [] })).toMatchObject({ status: 404, body: { error: { code: 'job_not_found' } } });

      // The agent's own client: stream while it is up, HTTP when it is not, one numbering for both.
      const client = new ApiClient({ baseUrl: stack.apiUrl, logger: silentLogger });
      client.setSecret(agent.secret);
      expect(await client.sendLogBatch(jobId, { seq: 1, chunks: [{ stream: 'stderr', text: 'over HTTP\n' }] })).toEqual({ ok: true, status: 200, body: { nextSeq: 2, cancel: false } });
      client.openStream();
      await waitFor(() => client.streamConnected, { message: 'the agent client to connect its log stream' });
      expect(await client.sendLogBatch(jobId, { seq: 2, chunks: [{ stream: 'stdout', text: 'streamed again\n' }] })).toEqual({ ok: true, status: 200, body: { nextSeq: 3, cancel: false } });
      client.close();

      const logs = await stack.request<{ chunks: { seq: number; text: string }[] }>('GET', `/api/v1/jobs/${jobId}/logs`);
      expect(logs.body.chunks.map((c) => [c.seq, c.text])).toEqual([
        [1, 'over the stream ***\n'],
        [2, 'over HTTP\n'],
        [3, 'streamed again\n'],
      ]);

      // Deleting the agent closes its stream, and the secret no longer opens one.
      const closed = new Promise<string>((resolve) => stream.once('disconnect', resolve));
      expect((await stack.request('DELETE', `/api/v1/agents/${agent.agentId}`)).status).toBe(204);
      expect(await closed).toBe('io server disconnect');
      const again = io(`${stack.apiUrl}/agents`, { path: '/socket.io', transports: ['websocket'], auth: { secret: agent.secret }, reconnection: false });
      expect((await new Promise<Error>((resolve) => again.once('connect_error', resolve))).message).toContain('Unknown agent secret');
      again.close();
    } finally {
      stream.close();
    }
  });
});
