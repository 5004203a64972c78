import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClaimedJob, FinishRequest, LogBatchRequest, LogChunkInput } from '../../contract/agent-protocol.contract';
import { Agent } from '../../agent/agent';
import { withoutUrlCredentials } from '../../agent/checkout';
import { silentLogger, type Logger } from '../../agent/logger';
import { startGitHttpServer } from '../support/git-http-server';
import { createTestRepository } from '../support/git-repository';

type Upload = { name: string; body: Buffer; checksum: string | undefined };

/** Just enough of the Bellows agent API to run one job end to end. */
class FakeApi {
  url = '';
  registrations = 0;
  claims = 0;
  started: number[] = [];
  logs: LogChunkInput[] = [];
  uploads: Upload[] = [];
  finished: FinishRequest[] = [];
  released: number[] = [];
  heartbeats: Array<{ auth: string | undefined; body: unknown }> = [];
  cancelJobIds: number[] = [];
  unauthorizedClaims = 0;
  /** What registration tells the agent its lease is. */
  leaseSeconds = 30;
  /** Answered to busy heartbeats (a job id in the body): 503 stands for an API that cannot renew leases. */
  busyHeartbeatStatus = 200;
  /** Log batches, finish and release are refused with 409 job_not_owned (another agent holds the job). */
  notOwned = false;
  refusedNotOwned: string[] = [];
  private partitioned = false;
  private held: Array<() => void> = [];
  private nextSeq = 0;
  /** Claims as sent: a test may queue one the contract refuses. */
  private jobs: unknown[];
  private server = http.createServer((req, res) => void this.handle(req, res));

  constructor(jobs: ClaimedJob[]) {
    this.jobs = jobs;
  }

  /** A job for the next claim. */
  queue(job: ClaimedJob | unknown): void {
    this.jobs.push(job);
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** While cut, requests reach the server but get no answer until heal(): what an agent sees of a partition. */
  cut(): void {
    this.partitioned = true;
  }

  heal(): void {
    this.partitioned = false;
    for (const release of this.held.splice(0)) release();
  }

  text(stream?: string): string {
    return this.logs.filter((chunk) => !stream || chunk.stream === stream).map((chunk) => chunk.text).join('');
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const raw = Buffer.concat(parts);
    const path = (req.url ?? '').replace(/\?.*$/, '');
    const auth = req.headers.authorization;
    if (this.partitioned) await new Promise<void>((resolve) => this.held.push(resolve));
    const reply = (status: number, body?: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    if (path === '/api/v1/agents/register') {
      if (auth !== 'Bearer reg-token') return reply(401, { error: { code: 'unauthorized', message: 'bad token' } });
      this.registrations++;
      return reply(201, { agentId: 'a1', secret: `secret-${this.registrations}`, labels: ['os=linux'], heartbeatIntervalSeconds: 1, busyHeartbeatIntervalSeconds: 1, leaseSeconds: this.leaseSeconds });
    }
    if (auth !== `Bearer secret-${this.registrations}`) return reply(401, { error: { code: 'unauthorized', message: 'unknown agent' } });
    if (path === '/api/v1/agents/heartbeat') {
      const body = JSON.parse(raw.toString('utf8') || '{}') as { jobId?: number };
      this.heartbeats.push({ auth, body });
      if (body.jobId !== undefined && this.busyHeartbeatStatus !== 200) return reply(this.busyHeartbeatStatus, { error: { code: 'unavailable', message: 'database unreachable' } });
      return reply(200, { cancelJobIds: this.cancelJobIds });
    }
    if (path === '/api/v1/agents/claim') {
      this.claims++;
      if (this.unauthorizedClaims > 0) {
        this.unauthorizedClaims--;
        return reply(401, { error: { code: 'unauthorized', message: 'secret rotated' } });
      }
      const job = this.jobs.shift();
      if (!job) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        return reply(204);
      }
      this.nextSeq = 0;
      return reply(200, job);
    }
    const match = /^\/api\/v1\/agents\/jobs\/(\d+)\/(start|logs|finish|artifacts|release)(?:\/(.+))?$/.exec(path);
    if (!match) return reply(404, { error: { code: 'not_found', message: path } });
    const [, id, action, name] = match;
    if (this.notOwned && action !== 'start') {
      this.refusedNotOwned.push(action);
      return reply(409, { error: { code: 'job_not_owned', message: `Job ${id} is not held by agent "test-agent" any more; drop it.` } });
    }
    if (action === 'start') {
      this.started.push(Number(id));
      return reply(200, { ok: true });
    }
    if (action === 'logs') {
      const batch = JSON.parse(raw.toString('utf8')) as LogBatchRequest;
      if (batch.seq !== this.nextSeq) return reply(409, { error: { code: 'log_seq_mismatch', message: 'seq', nextSeq: this.nextSeq } });
      this.logs.push(...batch.chunks);
      this.nextSeq++;
      return reply(200, { nextSeq: this.nextSeq, cancel: false });
    }
    if (action === 'artifacts') {
      const checksum = req.headers['x-checksum-sha256'] as string | undefined;
      this.uploads.push({ name: decodeURIComponent(name), body: raw, checksum });
      if (createHash('sha256').update(raw).digest('hex') !== checksum) return reply(422, { error: { code: 'checksum_mismatch', message: 'bad' } });
      return reply(201, { id: 'art', name: decodeURIComponent(name), size: raw.length, sha256: checksum });
    }
    if (action === 'release') {
      this.released.push(Number(id));
      return reply(200, { ok: true });
    }
    const finish = JSON.parse(raw.toString('utf8')) as FinishRequest;
    this.finished.push(finish);
    return reply(200, { status: finish.status });
  }
}

function scriptJob(id: number, content: string, overrides: Partial<ClaimedJob> = {}): ClaimedJob {
  return {
    job: { id, name: 'build', try: 1, labels: [], timeoutMinutes: 0 },
    run: { id: 11, number: 4, attempt: 1, project: 'demo', pipeline: 'ci', ref: 'refs/heads/main', commitSha: 'abc123' },
    pipeline: { kind: 'script', content, version: 1, path: null },
    repository: null,
    inputs: { target: 'prod' },
    env: { GREETING: 'hi' },
    secrets: { token: 'sup3r-s3cret' },
    matrix: { os: 'linux', 'node-version': '20' },
    ...overrides,
  };
}

let api: FakeApi;
let workDir: string;

function agentFor(extra: { once?: boolean; logger?: Logger; drain?: boolean } = {}): Agent {
  return new Agent({
    url: api.url,
    registrationToken: 'reg-token',
    labels: ['os=linux'],
    name: 'test-agent',
    workDir,
    once: extra.once ?? true,
    logger: extra.logger ?? silentLogger,
    cancelGraceMs: 500,
    keepWorkspace: false,
    drain: extra.drain,
    backoff: { baseMs: 10, maxMs: 50 },
    env: { ...process.env, BELLOWS_AGENT_TOKEN: 'reg-token' },
  });
}

beforeEach(() => {
  workDir = mkdtempSync(join(tmpdir(), 'bellows-agent-test-'));
});

afterEach(async () => {
  await api?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe('agent running a script job', () => {
  it('runs the script with the job environment, masks secrets, uploads artifacts and finishes', async () => {
    const script = [
      'echo "hello $GREETING $MATRIX_OS $MATRIX_NODE_VERSION $ACT_INPUT_INPUT_TARGET"',
      'echo "secret=$ACT_INPUT_SECRET_TOKEN json=$ACT_INPUT_SECRETS"',
      'echo "token=${BELLOWS_AGENT_TOKEN:-unset} plain=${token:-unset} ci=$CI job=$BELLOWS_JOB_ID try=$BELLOWS_TRY sha=$BELLOWS_COMMIT_SHA"',
      'echo "cwd=$(basename "$PWD")"',
      'echo oops >&2',
      'mkdir -p "$BELLOWS_ARTIFACTS_DIR/reports"',
      'printf abc > "$BELLOWS_ARTIFACTS_DIR/reports/a b.txt"',
      'exit 3',
    ].join('\n');
    api = new FakeApi([scriptJob(42, script)]);
    await api.start();

    expect(await agentFor().run()).toBe(0);

    expect(api.started).toEqual([42]);
    const stdout = api.text('stdout');
    expect(stdout).toContain('hello hi linux 20 prod\n');
    expect(stdout).toContain('secret=*** json={"token":"***"}\n');
    expect(stdout).toContain('token=unset plain=unset ci=true job=42 try=1 sha=abc123\n');
    expect(stdout).toContain('cwd=workspace\n');
    expect(stdout).not.toContain('sup3r-s3cret');
    expect(api.text('stderr')).toBe('oops\n');
    const system = api.text('system');
    expect(system).toContain('Running on agent test-agent');
    expect(system).toContain('Uploading artifact reports/a b.txt (3 B)\n');
    expect(system).toContain('exit code 3\n');
    expect(api.uploads).toEqual([{ name: 'reports/a b.txt', body: Buffer.from('abc'), checksum: createHash('sha256').update('abc').digest('hex') }]);
    expect(api.finished).toEqual([{ status: 'failed', exitCode: 3 }]);
    expect(readdirSync(join(workDir, 'jobs'))).toEqual([]);
  });

  it('finishes succeeded on exit code 0', async () => {
    api = new FakeApi([scriptJob(43, 'echo fine')]);
    await api.start();
    await agentFor().run();
    expect(api.finished).toEqual([{ status: 'succeeded', exitCode: 0 }]);
    expect(api.text('stdout')).toBe('fine\n');
  });

  it('cancels the job when a heartbeat lists it', async () => {
    api = new FakeApi([scriptJob(44, 'echo started\nsleep 100\necho never')]);
    await api.start();
    const running = agentFor().run();
    const poll = setInterval(() => {
      if (api.started.includes(44)) api.cancelJobIds = [44];
    }, 50);
    try {
      await running;
    } finally {
      clearInterval(poll);
    }
    expect(api.heartbeats.some((beat) => JSON.stringify(beat.body) === '{"jobId":44}')).toBe(true);
    expect(api.text('system')).toContain('Cancelling (cancelled by the server): SIGTERM sent');
    expect(api.text('stdout')).not.toContain('never');
    expect(api.finished).toEqual([{ status: 'failed', exitCode: null, error: 'cancelled by the server' }]);
  });

  it('fails a graph with a node type this agent lacks before running anything, naming node and type', async () => {
    const graph = 'entry: start\nnodes:\n  - {id: start, type: core/start@v1}\n  - {id: say, type: core/print@v1, inputs: {"values[0]": never-printed}}\n  - {id: beam, type: core/teleport@v1}\nconnections: []\nexecutions:\n  - {src: {node: start, port: exec}, dst: {node: say, port: exec}}\n';
    api = new FakeApi([scriptJob(46, graph, { pipeline: { kind: 'act', content: graph, version: 1, path: null } })]);
    await api.start();
    await agentFor().run();
    expect(api.text('system')).toContain('node beam: unknown node type core/teleport@v1');
    expect(api.text('stdout')).not.toContain('never-printed');
    expect(api.finished).toEqual([{ status: 'failed', exitCode: 2, error: expect.stringContaining('core/teleport@v1') }]);
  });

  it('fails an act pipeline that is not a graph without running anything, naming the problem', async () => {
    api = new FakeApi([scriptJob(45, 'graph', { pipeline: { kind: 'act', content: 'graph', version: 1, path: null } })]);
    await api.start();
    await agentFor().run();
    expect(api.text('system')).toContain('The graph cannot run:');
    expect(api.finished).toEqual([{ status: 'failed', exitCode: null, error: 'invalid graph' }]);
  });

  it('registers again when the API stops accepting its secret', async () => {
    api = new FakeApi([scriptJob(46, 'echo ok')]);
    api.unauthorizedClaims = 1;
    await api.start();
    await agentFor().run();
    expect(api.registrations).toBe(2);
    expect(api.finished).toEqual([{ status: 'succeeded', exitCode: 0 }]);
  });

  it('on the first stop request stops the running job and hands it back to the server at once', async () => {
    api = new FakeApi([scriptJob(48, 'echo "started $$"\nsleep 100 &\necho "child $!"\nwait')]);
    await api.start();
    const agent = agentFor({ once: false });
    const running = agent.run();
    while (!api.text('stdout').includes('child')) await new Promise((resolve) => setTimeout(resolve, 20));
    const pids = processIds(api.text('stdout'));
    agent.requestStop();
    expect(await running).toBe(0);
    expect(api.text('system')).toContain('agent shut down; handing the job back\n');
    expect(api.finished).toEqual([]);
    expect(api.released).toEqual([48]);
    await allGone(pids);
  });

  it('with drain, lets the job finish on the first stop request and hands it back on the second', async () => {
    api = new FakeApi([scriptJob(47, 'echo started\nsleep 100')]);
    await api.start();
    const agent = agentFor({ once: false, drain: true });
    const running = agent.run();
    while (!api.text('stdout').includes('started')) await new Promise((resolve) => setTimeout(resolve, 20));
    agent.requestStop();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(api.finished).toEqual([]);
    agent.requestStop();
    expect(await running).toBe(0);
    expect(api.text('system')).toContain('agent shut down; handing the job back\n');
    expect(api.finished).toEqual([]);
    expect(api.released).toEqual([47]);
  });
});

describe('agent checking out a job’s repository', () => {
  const TOKEN = 'tok-c4e1f09b7a3d';

  /** Forwards to `target`; while `stalled`, holds each request unanswered and says it saw one. */
  async function stallingProxy(target: string): Promise<{ base: string; stall(on: boolean): void; sawStalled: Promise<void>; close(): Promise<void> }> {
    let stalled = false;
    let sawOne: () => void = () => undefined;
    const sawStalled = new Promise<void>((resolve) => (sawOne = resolve));
    const server = http.createServer((req, res) => {
      if (stalled) return sawOne();
      const forward = http.request(`${target}${req.url ?? ''}`, { method: req.method, headers: req.headers }, (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
      });
      req.pipe(forward);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      stall: (on) => void (stalled = on),
      sawStalled,
      close: () => {
        server.closeAllConnections();
        return new Promise((resolve) => server.close(() => resolve()));
      },
    };
  }

  it('checks out into a workspace whose origin is the clean URL; a cancel during the checkout ends the job as cancelled and leaves the mirror usable', async () => {
    const repo = createTestRepository('app');
    const first = repo.commit({ 'build.sh': 'echo one\n' }, 'one');
    repo.push('main');
    const gitServer = await startGitHttpServer(repo.root, { alice: TOKEN });
    const proxy = await stallingProxy(gitServer.base);
    try {
      const url = `${proxy.base}/app.git`;
      const checkoutOf = (commitSha: string): ClaimedJob['repository'] => ({ projectId: 'p-1', url, ref: 'main', commitSha, auth: { type: 'basic', username: 'alice', password: TOKEN } });
      const script = 'git rev-parse HEAD\ngit remote get-url origin\ngrep -c alice .git/config || true';
      api = new FakeApi([]);
      await api.start();

      api.queue(scriptJob(50, script, { repository: checkoutOf(first) }));
      await agentFor().run();
      expect(api.finished).toEqual([{ status: 'succeeded', exitCode: 0 }]);
      expect(api.text('stdout')).toBe(`${first}\n${url}\n0\n`);

      const second = repo.commit({ 'build.sh': 'echo two\n' }, 'two');
      repo.push('main');
      proxy.stall(true);
      api.queue(scriptJob(51, script, { repository: checkoutOf(second) }));
      const cancelled = agentFor().run();
      await proxy.sawStalled;
      api.cancelJobIds = [51];
      await cancelled;
      expect(api.finished.at(-1)).toEqual({ status: 'failed', exitCode: null, error: 'cancelled by the server' });
      expect(api.text('system')).toContain(`checkout of ${url} at ${second.slice(0, 12)} cancelled`);
      expect(api.text('system')).not.toContain('failed:');
      expect(readdirSync(join(workDir, 'jobs'))).toEqual([]);

      proxy.stall(false);
      api.logs = [];
      api.queue(scriptJob(52, script, { repository: checkoutOf(second) }));
      await agentFor().run();
      expect(api.finished.at(-1)).toEqual({ status: 'succeeded', exitCode: 0 });
      expect(api.text('stdout')).toBe(`${second}\n${url}\n0\n`);
    } finally {
      await proxy.close();
      await gitServer.close();
      repo.remove();
    }
  });

  it('refuses a checkout the server named no project for, rather than sharing a mirror', async () => {
    const repo = createTestRepository('app');
    const sha = repo.commit({ 'build.sh': 'echo one\n' }, 'one');
    repo.push('main');
    api = new FakeApi([scriptJob(53, 'echo ran', { repository: { projectId: '', url: repo.url, ref: 'main', commitSha: sha, auth: null } })]);
    await api.start();
    await agentFor().run();
    repo.remove();
    expect(api.finished).toEqual([{ status: 'failed', exitCode: null, error: expect.stringContaining('named no project') }]);
    expect(api.text('stdout')).toBe('');
  });
});

describe('a claim’s checkout, at the edge', () => {
  const checkout = { projectId: 'p-1', ref: 'main', commitSha: 'a'.repeat(40) };

  it('takes credentials out of the URL (as auth, when no other is given) and keeps the project id', () => {
    expect(withoutUrlCredentials({ ...checkout, url: 'https://bob:p@ss@example.test/r.git', auth: null })).toEqual({
      ...checkout,
      url: 'https://example.test/r.git',
      auth: { type: 'basic', username: 'bob', password: 'p@ss' },
    });
    expect(withoutUrlCredentials({ ...checkout, url: 'https://TOKEN@example.test/r.git', auth: { type: 'ssh', privateKey: 'KEY' } })).toMatchObject({
      url: 'https://example.test/r.git',
      auth: { type: 'ssh', privateKey: 'KEY' },
    });
    expect(withoutUrlCredentials(null)).toBeNull();
  });

  it('runs the job with the credentials of its URL as auth, never the URL itself', async () => {
    api = new FakeApi([scriptJob(62, 'echo ran', { repository: { ...checkout, projectId: '', url: 'https://bob:s3cr3t-pw@example.test/r.git', auth: null } })]);
    await api.start();
    await agentFor().run();
    // The empty project id is refused before any git runs; what matters is that the log names the clean URL.
    expect(api.finished).toEqual([{ status: 'failed', exitCode: null, error: 'checkout of https://example.test/r.git refused: the server named no project for it' }]);
    expect(api.text()).not.toContain('s3cr3t-pw');
  });
});

describe('a claim the contract refuses', () => {
  it('is logged, handed back at once and skipped; the agent goes on to the next job', async () => {
    const errors: string[] = [];
    // No project id in the checkout: running it could share one project's mirror with another's jobs.
    const malformed = { ...scriptJob(61, 'echo never'), repository: { url: 'https://example.test/r.git', ref: 'main', commitSha: 'a'.repeat(40), auth: null } };
    api = new FakeApi([]);
    api.queue(malformed);
    api.queue(scriptJob(63, 'echo fine'));
    await api.start();
    expect(await agentFor({ logger: { ...silentLogger, error: (message) => errors.push(message) } }).run()).toBe(0);
    expect(api.released).toEqual([61]);
    expect(api.started).toEqual([63]);
    expect(api.finished).toEqual([{ status: 'succeeded', exitCode: 0 }]);
    expect(errors).toEqual([expect.stringMatching(/^Unexpected claim reply \(HTTP 200: POST \/api\/v1\/agents\/claim answered outside its contract: repository\.projectId: .*\); releasing job 61 and retrying$/)]);
  });
});


/** The pids a job printed as "started <pid>" and "child <pid>". */
function processIds(stdout: string): number[] {
  return [...stdout.matchAll(/^(?:started|child) (\d+)$/gm)].map((match) => Number(match[1]));
}

/**
 * Waits until none of `pids` is alive. SIGKILL is sent to the whole group when the agent says so, but a
 * process on a busy machine takes a moment to exit: a snapshot right then can still see it.
 */
async function allGone(pids: number[]): Promise<void> {
  await waitUntil(() => pids.every((pid) => !alive(pid)));
  expect(pids.filter(alive)).toEqual([]);
}

/** Whether the process exists and is not a zombie (an orphan waits for a reaper that may be slow, or absent in a container). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('an agent that cannot renew its job’s lease', () => {
  // The job's leader and a background child, both printing their pid; the child would outlive a plain kill of bash.
  const SCRIPT = 'echo "started $$"\nsleep 100 &\necho "child $!"\nwait\necho never';

  function recordingLogger(): Logger & { warnings: string[] } {
    const warnings: string[] = [];
    return { ...silentLogger, warn: (message: string) => void warnings.push(message), warnings };
  }

  it('kills the job’s whole process tree after one lease, ships its log, hands it back and never finishes it', async () => {
    api = new FakeApi([scriptJob(70, SCRIPT)]);
    api.leaseSeconds = 1;
    api.busyHeartbeatStatus = 503;
    await api.start();
    const logger = recordingLogger();
    expect(await agentFor({ logger }).run()).toBe(0);

    const pids = processIds(api.text('stdout'));
    expect(pids).toHaveLength(2);
    await allGone(pids);
    expect(api.text('stdout')).not.toContain('never');
    // Under load a 503 may come later than the heartbeat's timeout: then the server counts as unreachable.
    const cause = '\\(server (?:answered HTTP 503|unreachable)\\)';
    expect(logger.warnings.some((line) => new RegExp(`^Job 70: lease not renewed for 1 s ${cause}; stopped its processes — the server will have queued it again$`).test(line))).toBe(true);
    expect(api.text('system')).toMatch(new RegExp(`The agent could not renew this job's lease for 1 s ${cause}; it stopped the job's processes\\n`));
    expect(api.text('system')).toContain('Skipping artifact upload: the job lost its lease\n');
    expect(api.finished).toEqual([]);
    expect(api.released).toEqual([70]);
  });

  it('cut off for a lease: stops the tree, and drops the job when its late log batches hear that another agent holds it', async () => {
    api = new FakeApi([scriptJob(71, SCRIPT)]);
    api.leaseSeconds = 1;
    await api.start();
    const logger = recordingLogger();
    const running = agentFor({ logger }).run();
    await waitUntil(() => api.text('stdout').includes('child'));
    api.cut();
    await waitUntil(() => logger.warnings.includes('Job 71: lease not renewed for 1 s (server unreachable); stopped its processes — the server will have queued it again'));
    await allGone(processIds(api.text('stdout')));
    // Meanwhile the server queued the job again and another agent took it; then the link returns.
    api.notOwned = true;
    api.heal();
    expect(await running).toBe(0);

    expect(processIds(api.text('stdout')).filter(alive)).toEqual([]);
    expect(api.refusedNotOwned).toContain('logs');
    expect(logger.warnings.some((line) => /^Job 71 no longer belongs to this agent \(HTTP 409 job_not_owned/.test(line))).toBe(true);
    expect(api.finished).toEqual([]);
    expect(api.released).toEqual([]);
  });

  it('keeps running a job whose heartbeats go through', async () => {
    // Twice the lease, with a lease of 2 s: a heartbeat slowed by a busy machine still renews it in time.
    api = new FakeApi([scriptJob(72, 'sleep 4.5\necho done')]);
    api.leaseSeconds = 2;
    await api.start();
    await agentFor().run();
    expect(api.finished).toEqual([{ status: 'succeeded', exitCode: 0 }]);
    expect(api.text('stdout')).toBe('done\n');
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
