// `npm start` under fire: the real launcher (dist/scripts/stack.js) with its embedded PostgreSQL and
// Temporal dev server. Each child in turn is killed with SIGKILL mid-job; the launcher restarts it,
// says so in one line, the rest keep serving and the run completes with every line of its last try.
// Then Ctrl-C hands the running job back at once, and a child in a crash loop stops the stack.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient, type ApiClient } from '../../contract/api-client';
import type { LogChunk } from '../../contract/jobs.contract';
import { isTerminal, type RunDetail } from '../../contract/runs.contract';
import { findFreePort, inheritedEnv, stopChild, waitForExit } from '../../scripts/process-utils';
import { waitUntil } from '../../scripts/supervisor';
import { api, waitFor } from '../support/stack';

const repoRoot = path.resolve(__dirname, '..', '..');
const LINES = 40;

type Launched = { child: ChildProcess; dataDir: string; output: () => string; url: string };
const launched: Launched[] = [];

/** `npm start` as a user runs it, on free ports and its own data dir. */
async function launch(env: Record<string, string> = {}): Promise<Launched> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bellows-npm-start-'));
  // mkdtemp's 0700 would keep PostgreSQL's own user (under root) out of it.
  fs.chmodSync(dataDir, 0o755);
  const [port, postgresPort, temporalPort, uiPort] = [await findFreePort(), await findFreePort(), await findFreePort(), await findFreePort()];
  let output = '';
  const child = spawn(process.execPath, [path.join(repoRoot, 'dist', 'scripts', 'stack.js')], {
    cwd: repoRoot,
    env: {
      ...inheritedEnv(),
      BELLOWS_DATA_DIR: dataDir,
      PORT: String(port),
      BELLOWS_POSTGRES_PORT: String(postgresPort),
      TEMPORAL_PORT: String(temporalPort),
      TEMPORAL_UI_PORT: String(uiPort),
      NO_COLOR: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own group, as in a terminal: the test signals the launcher only, the launcher its children.
    detached: true,
  });
  for (const stream of [child.stdout, child.stderr]) stream?.on('data', (data: Buffer) => (output += data.toString('utf8')));
  const handle = { child, dataDir, output: () => output, url: `http://127.0.0.1:${port}` };
  launched.push(handle);
  return handle;
}

function printed(stack: Launched, pattern: RegExp | string, timeoutMs = 120_000): Promise<string> {
  const matches = (text: string): boolean => (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text));
  return waitUntil(() => (matches(stack.output()) ? stack.output() : null), {
    timeoutMs,
    // An exit is the end: say what it printed instead of waiting out the timeout.
    failIf: () => (stack.child.exitCode !== null && !matches(stack.output()) ? `npm start exited (${stack.child.exitCode}) without printing ${String(pattern)}:\n${stack.output().slice(-3000)}` : null),
    timeoutMessage: () => `npm start did not print ${String(pattern)} within ${timeoutMs} ms; it printed: …${stack.output().slice(-3000)}`,
  });
}

/** The launcher's direct child whose command line matches: each is its own process group's leader. */
function childPid(stack: Launched, commandLine: RegExp): number {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== stack.child.pid) continue;
      if (commandLine.test(fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' '))) return Number(entry);
    } catch {
      // Gone between readdir and read.
    }
  }
  throw new Error(`no child of npm start matches ${String(commandLine)}`);
}

afterAll(async () => {
  for (const stack of launched) {
    await stopChild(stack.child, { signal: 'SIGINT', graceMs: 60_000, group: true });
    fs.rmSync(stack.dataDir, { recursive: true, force: true });
  }
});

describe('npm start supervises its children', () => {
  let stack: Launched;
  let client: ApiClient;

  beforeAll(async () => {
    stack = await launch();
    await printed(stack, 'Press Ctrl-C to stop');
    const adminToken = fs.readFileSync(path.join(stack.dataDir, 'admin-token'), 'utf8').trim();
    client = createApiClient({ baseUrl: stack.url, token: () => adminToken, checkResponses: true });
    await client.call(api.projects.create, { body: { slug: 'sup', name: 'Supervision' } });
    const content = `for i in $(seq 1 ${LINES}); do echo "line $i"; sleep 0.25; done\n`;
    await client.call(api.pipelines.put, { params: { slug: 'sup', name: 'count' }, body: { content, labels: ['local=true'] } });
  }, 240_000);

  const run = (id: number): Promise<RunDetail> => client.call(api.runs.get, { params: { id } });
  const chunks = async (jobId: number): Promise<LogChunk[]> => (await client.call(api.jobs.logs, { params: { id: jobId }, query: { limit: '10000' } })).chunks;
  const lines = (of: LogChunk[], attempt: number): string[] =>
    of
      .filter((chunk) => chunk.try === attempt && chunk.stream === 'stdout')
      .map((chunk) => chunk.text)
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('line '));

  /** A run whose job has printed its third line: the kill lands mid-job. */
  async function runningJob(): Promise<{ runId: number; jobId: number }> {
    const runId = (await client.call(api.runs.trigger, { params: { slug: 'sup', name: 'count' }, body: {} })).id;
    return waitFor(
      async () => {
        const job = (await run(runId).catch(() => null))?.jobs[0];
        return job?.status === 'running' && lines(await chunks(job.id), job.try).length >= 3 ? { runId, jobId: job.id } : null;
      },
      { timeoutMs: 120_000, intervalMs: 250, message: `run ${runId} to be printing` },
    );
  }

  const victims: { role: string; pid: (stack: Launched) => number }[] = [
    { role: 'worker', pid: (s) => childPid(s, /dist\/worker\/main\.js/) },
    { role: 'api', pid: (s) => childPid(s, /dist\/src\/main\.js/) },
    { role: 'agent', pid: (s) => childPid(s, /dist\/agent\/main\.js/) },
    { role: 'temporal', pid: (s) => childPid(s, /temporal.* server start-dev/) },
    // The postmaster, from its pid file: the embedded PostgreSQL is a child of the launcher too.
    { role: 'postgres', pid: (s) => Number(fs.readFileSync(path.join(s.dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]) },
  ];

  for (const victim of victims) {
    it(`restarts the ${victim.role} after kill -9 mid-job; the rest keep serving and the run completes with every line`, async () => {
      const { runId, jobId } = await runningJob();
      const restartsBefore = stack.output().split(`[${victim.role}] restarted`).length;
      process.kill(victim.pid(stack), 'SIGKILL');
      await printed(stack, new RegExp(`\\[${victim.role}\\] exited unexpectedly.*; restarting in \\d`));
      await waitFor(() => stack.output().split(`[${victim.role}] restarted`).length > restartsBefore, { timeoutMs: 120_000, message: `the ${victim.role} to be restarted` });

      const done = await waitFor(
        async () => {
          const current = await run(runId).catch(() => null);
          return current && isTerminal(current.status) ? current : null;
        },
        { timeoutMs: 180_000, intervalMs: 500, message: `run ${runId} to finish after the ${victim.role} was killed` },
      );
      expect(done.status).toBe('succeeded');
      const job = done.jobs[0];
      // A killed agent loses its try (requeued, then run by its restarted self); any other kill loses nothing.
      if (victim.role === 'agent') expect(job.tries.map((t) => t.status)).toEqual(['lost', 'succeeded']);
      else expect(job.tries.map((t) => t.status)).toEqual(['succeeded']);
      expect(lines(await chunks(jobId), job.try)).toEqual(Array.from({ length: LINES }, (_, i) => `line ${i + 1}`));
      expect(stack.child.exitCode).toBeNull();
      expect(stack.output()).not.toContain('shutting the stack down');
    }, 300_000);
  }

  it('on Ctrl-C hands the running job back at once and stops', async () => {
    const { jobId } = await runningJob();
    process.kill(stack.child.pid!, 'SIGINT');
    await printed(stack, `Job ${jobId} handed back to the server (HTTP 200)`, 60_000);
    expect((await waitForExit(stack.child)).code).toBe(0);
    expect(stack.output()).toContain('[bellows] Stopped.');
    expect(stack.output()).not.toContain(`Job ${jobId} finished`);
  }, 120_000);
});

describe('npm start gives up on a crash loop', () => {
  it('stops the stack when a child crashes five times within a minute, naming it and its log', async () => {
    // Labels the agent refuses: it exits at start-up, every time.
    const stack = await launch({ BELLOWS_LOCAL_AGENT: 'not a label' });
    const text = await printed(stack, /giving up on the local agent/, 180_000);
    expect((await waitForExit(stack.child)).code).toBe(1);
    expect(text).toMatch(/\[agent\] exited unexpectedly \(code \d+\); restarting in 0\.5 s/);
    expect(text).toMatch(/5 crashes within 60 s, giving up on the local agent; its last lines \(log: [^)]*logs\/agent\.log\); shutting the stack down\n.*Invalid label "not a label"/);
    // The rest was serving until then, and is stopped with it.
    expect(text).toContain('Bellows is running');
    expect(stack.output()).toContain('[bellows] Stopped.');
  }, 240_000);
});
