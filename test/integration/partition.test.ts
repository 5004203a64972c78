// Partitions, not just crashes: an agent cut off from the API mid-job for longer than its lease, and
// an API instance cut off from PostgreSQL for 30 s. Real processes, real packets dropped (scripts/netns.ts).

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogChunk } from '../../contract/jobs.contract';
import { isTerminal, type RunDetail } from '../../contract/runs.contract';
import { createNetnsLink, netnsSupportSync, startTcpForwarder, type NetnsLink, type TcpForwarder } from '../../scripts/netns';
import { api, startStack, type Stack } from '../support/stack';

const support = netnsSupportSync();
if (!support.ok) process.stderr.write(`[partition] agent partition tests skipped: ${support.reason}\n`);

/** The lease the stack gives jobs, and how often its reaper looks: short, so a lost lease takes seconds. */
const LEASE_SECONDS = 4;
const LINES = 40;

let stack: Stack;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  stack = await startStack({ env: { BELLOWS_AGENT_LOST_AFTER_SECONDS: String(LEASE_SECONDS), BELLOWS_REAPER_INTERVAL_SECONDS: '1' } });
  await stack.answered(201, api.projects.create, { body: { slug: 'p', name: 'Partitions' } });
});

afterAll(async () => {
  await stack?.stop();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/**
 * Prints `line 1`..`line N` slowly; records its pid and, per line, a tick in marker files per try, so
 * the test sees from outside whether the try's processes still run.
 */
function numberedLines(markDir: string): string {
  return [
    `echo $$ > ${markDir}/pid-$BELLOWS_TRY`,
    `for i in $(seq 1 ${LINES}); do echo "line $i"; echo "$i" >> ${markDir}/alive-$BELLOWS_TRY; sleep 0.25; done`,
    '',
  ].join('\n');
}

async function put(name: string, content: string, labels: string[]): Promise<void> {
  await stack.api.call(api.pipelines.put, { params: { slug: 'p', name }, body: { content, labels } });
}

async function trigger(name: string): Promise<number> {
  return (await stack.answered(201, api.runs.trigger, { params: { slug: 'p', name }, body: {} })).id;
}

async function getRun(id: number): Promise<RunDetail> {
  return stack.api.call(api.runs.get, { params: { id } });
}

async function finished(id: number): Promise<RunDetail> {
  return stack.waitFor(
    async () => {
      const run = await getRun(id).catch(() => null);
      return run && isTerminal(run.status) ? run : null;
    },
    { timeoutMs: 120_000, intervalMs: 250, message: `run ${id} to finish` },
  );
}

async function chunks(jobId: number): Promise<LogChunk[]> {
  return (await stack.api.call(api.jobs.logs, { params: { id: jobId }, query: { limit: '10000' } })).chunks;
}

function printedLines(of: LogChunk[], attempt: number): string[] {
  return of
    .filter((chunk) => chunk.try === attempt && chunk.stream === 'stdout')
    .map((chunk) => chunk.text)
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('line '));
}

const allLines = Array.from({ length: LINES }, (_, i) => `line ${i + 1}`);

/** Waits until the job runs on `agent` and has printed `needle`. */
async function runningOn(runId: number, agent: string, needle: string): Promise<number> {
  return stack.waitFor(
    async () => {
      const job = (await getRun(runId)).jobs[0];
      if (!job || job.status !== 'running' || job.agent !== agent) return null;
      return printedLines(await chunks(job.id), job.try).includes(needle) ? job.id : null;
    },
    { timeoutMs: 90_000, message: `run ${runId} to print "${needle}" on ${agent}` },
  );
}

/** Whether any live (non-zombie) process is in process group `pgid`: the job's bash leads its own group. */
function groupAlive(pgid: number): boolean {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses, so split after the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') return true;
  }
  return false;
}

function ticks(file: string): number {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
}

describe.skipIf(!support.ok)('an agent cut off mid-job for longer than its lease', () => {
  let link: NetnsLink;

  beforeAll(async () => {
    link = await createNetnsLink();
    cleanups.push(() => link.remove());
  });

  it('stops its job’s process tree; the job is requeued and finished by another agent; its late log is fenced; the lost try’s log stays', async () => {
    const markDir = fs.mkdtempSync(path.join(stack.logDir, 'marks-agent-'));
    await put('cut-agent', numberedLines(markDir), ['pool=cut']);
    // Inside the namespace the API is reached at the host end of the veth (it listens on 0.0.0.0).
    const port = new URL(stack.apiUrl).port;
    const cutOff = await stack.startAgent({ name: 'cut-a', labels: 'pool=cut', url: `http://${link.hostAddress}:${port}`, commandPrefix: link.execPrefix });
    const runId = await trigger('cut-agent');
    const jobId = await runningOn(runId, 'cut-a', 'line 3');
    // The rescuer starts only now, so the cut-off agent surely had the job.
    const rescuer = await stack.startAgent({ name: 'cut-b', labels: 'pool=cut' });
    await rescuer.waitForOutput('Registered as agent');
    const pid = Number(fs.readFileSync(path.join(markDir, 'pid-1'), 'utf8'));
    expect(groupAlive(pid)).toBe(true);

    await link.cut();
    await cutOff.waitForOutput(new RegExp(`Job ${jobId}: lease not renewed for \\d+ s \\(server unreachable\\); stopped its processes — the server will have queued it again`), {
      timeoutMs: 60_000,
    });
    await stack.waitFor(() => !groupAlive(pid), { timeoutMs: 30_000, message: `the process group of try 1 (${pid}) to be gone` });
    const ticksWhenStopped = ticks(path.join(markDir, 'alive-1'));

    const done = await finished(runId);
    expect(done.status).toBe('succeeded');
    expect(done.jobs[0].tries.map((t) => [t.try, t.agent, t.status])).toEqual([
      [1, 'cut-a', 'lost'],
      [2, 'cut-b', 'succeeded'],
    ]);
    // Still cut off: the first try's processes did not wait for the link to come back to stop.
    expect(groupAlive(pid)).toBe(false);
    const stored = await chunks(jobId);
    expect(printedLines(stored, 2)).toEqual(allLines);
    // What the cut-off agent shipped before the cut is kept as try 1's log, each line once, in order.
    const firstTry = printedLines(stored, 1);
    expect(firstTry.length).toBeGreaterThanOrEqual(3);
    expect(firstTry).toEqual(allLines.slice(0, firstTry.length));

    await link.heal();
    // Its buffered batches arrive late, are refused, and the agent drops the job.
    await cutOff.waitForOutput(new RegExp(`Job ${jobId} no longer belongs to this agent \\(HTTP 409 job_not_owned`), { timeoutMs: 120_000 });
    const after = await getRun(runId);
    expect(after.status).toBe('succeeded');
    expect(after.jobs[0].tries.map((t) => [t.try, t.agent, t.status])).toEqual([
      [1, 'cut-a', 'lost'],
      [2, 'cut-b', 'succeeded'],
    ]);
    expect(await chunks(jobId)).toEqual(stored);
    // Nothing of try 1 ran on: its marker stopped where its processes were killed.
    expect(ticks(path.join(markDir, 'alive-1'))).toBe(ticksWhenStopped);
    expect(cutOff.output()).not.toMatch(new RegExp(`Job ${jobId} finished`));
    expect(cutOff.running()).toBe(true);
  });
});

describe('an API instance cut off from PostgreSQL for 30 s', () => {
  // Only PostgreSQL is cut, so the instance's agents and Temporal still reach it: its database URL goes
  // through a forwarder in this process that black-holes (no iptables or nft here to drop one port of a
  // namespace's traffic, and tc can only drop a whole link). On heal the forwarder resets what was open
  // across the cut, as a firewall that forgot those flows would: the pool and the LISTEN must reconnect.
  const CUT_MS = 30_000;
  let forwarder: TcpForwarder;

  beforeAll(async () => {
    const database = new URL(stack.databaseUrl);
    forwarder = await startTcpForwarder({ listenHost: '127.0.0.1', targetHost: database.hostname, targetPort: Number(database.port || 5432) });
    cleanups.push(() => forwarder.close());
  });

  async function health(url: string): Promise<{ status: number; body: unknown }> {
    // Bounded here too, so a hanging health check fails the test instead of stalling it.
    const response = await fetch(`${url}/api/v1/health`, { signal: AbortSignal.timeout(20_000) });
    return { status: response.status, body: await response.json() };
  }

  async function wakeupClaims(url: string): Promise<number> {
    const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${stack.adminToken}` } })).text();
    const line = text.split('\n').find((row) => row.startsWith('bellows_claim_attempts_total{') && row.includes('outcome="claimed"') && row.includes('after="wakeup"'));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }

  it('answers health 503 during the cut, loses nothing, fences late calls, and serves again on its own', async () => {
    const database = new URL(stack.databaseUrl);
    database.host = `127.0.0.1:${forwarder.port}`;
    const second = await stack.startApiInstance({ name: 'second', databaseUrl: database.toString() });
    expect((await health(second.url)).status).toBe(200);

    const markDir = fs.mkdtempSync(path.join(stack.logDir, 'marks-db-'));
    await put('db-cut', numberedLines(markDir), ['pool=dbcut']);
    const onSecond = await stack.startAgent({ name: 'db-a', labels: 'pool=dbcut', url: second.url });
    const runId = await trigger('db-cut');
    const jobId = await runningOn(runId, 'db-a', 'line 3');
    const onFirst = await stack.startAgent({ name: 'db-b', labels: 'pool=dbcut' });
    await onFirst.waitForOutput('Registered as agent');

    forwarder.cut();
    const cutAt = Date.now();
    // Degraded, and saying so instead of hanging: the database check is bounded.
    const during = await health(second.url);
    expect(during).toEqual({ status: 503, body: { status: 'degraded', database: 'down', temporal: 'up' } });
    // The agent on the cut-off instance cannot renew its lease either.
    await onSecond.waitForOutput(new RegExp(`Job ${jobId}: lease not renewed for \\d+ s \\(server answered HTTP 5\\d\\d|Job ${jobId}: lease not renewed for \\d+ s \\(server unreachable`), { timeoutMs: 60_000 });
    // The outage lasts its 30 s whatever happens meanwhile (a scenario's length, not a synchronisation).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, cutAt + CUT_MS - Date.now())));
    forwarder.heal({ reset: true });

    const done = await finished(runId);
    expect(done.status).toBe('succeeded');
    const tries = done.jobs[0].tries;
    expect(tries.at(-1)?.status).toBe('succeeded');
    expect(tries.slice(0, -1).every((t) => t.status === 'lost')).toBe(true);
    const stored = await chunks(jobId);
    expect(printedLines(stored, done.jobs[0].try)).toEqual(allLines);
    if (tries.length > 1) {
      // Requeued: the first agent's late log batches get job_not_owned and change nothing.
      await onSecond.waitForOutput(new RegExp(`Job ${jobId} no longer belongs to this agent \\(HTTP 409 job_not_owned|Job ${jobId}: the late hand-back was refused with HTTP 409 job_not_owned`), { timeoutMs: 120_000 });
      expect(await chunks(jobId)).toEqual(stored);
      expect((await getRun(runId)).jobs[0].tries).toEqual(tries);
    }

    // Serving again, no restart: healthy, and a job queued now reaches an agent waiting on it through
    // a queue notification (its LISTEN is back), not through the next poll.
    await stack.waitFor(async () => (await health(second.url)).status === 200, { timeoutMs: 60_000, message: 'the second instance to be healthy again' });
    expect(second.running()).toBe(true);
    await put('db-after', 'echo after the cut\n', ['pool=dbafter']);
    const waiting = await stack.startAgent({ name: 'db-c', labels: 'pool=dbafter', url: second.url });
    await waiting.waitForOutput('Registered as agent');
    // A poll that happens to start just as the job is queued claims it without a wakeup: try again then.
    let wokenClaim = false;
    for (let round = 0; round < 3 && !wokenClaim; round++) {
      const before = await wakeupClaims(second.url);
      const afterRun = await finished(await trigger('db-after'));
      expect(afterRun.status).toBe('succeeded');
      expect(afterRun.jobs[0].agent).toBe('db-c');
      wokenClaim = (await wakeupClaims(second.url)) > before;
    }
    expect(wokenClaim).toBe(true);
    expect(forwarder.connections).toBeGreaterThan(1);
  });
});
