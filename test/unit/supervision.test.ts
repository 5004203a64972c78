import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ChildGroup,
  DEFAULT_RESTART_POLICY,
  describeSupervision,
  lineReady,
  recordCrash,
  restartDecision,
  waitUntil,
  type ChildSpec,
  type SupervisionEvent,
} from '../../scripts/supervisor';

// The restart rule as a pure function, then real child processes (`node -e`) crashed from outside
// with the kernel's SIGKILL, as `kill -9` would.

describe('restartDecision', () => {
  const policy = DEFAULT_RESTART_POLICY;

  it('backs off 0.5 s, 1 s, 2 s, 4 s, then gives up at the fifth crash within a minute', () => {
    const decisions = [];
    let crashes: number[] = [];
    for (let at = 0; at < 5; at++) {
      const now = 1_000_000 + at * 5000;
      crashes = recordCrash(crashes, now, 1000, policy);
      decisions.push(restartDecision(crashes, now, policy));
    }
    expect(decisions).toEqual([
      { kind: 'restart', delayMs: 500, crashes: 1 },
      { kind: 'restart', delayMs: 1000, crashes: 2 },
      { kind: 'restart', delayMs: 2000, crashes: 3 },
      { kind: 'restart', delayMs: 4000, crashes: 4 },
      { kind: 'give_up', crashes: 5, windowMs: 60_000 },
    ]);
  });

  it('caps the delay', () => {
    const tight = { ...policy, maxCrashes: 100 };
    const now = 10_000;
    expect(restartDecision([1, 2, 3, 4, 5, 6, 7, 8, 9, now], now, tight)).toEqual({ kind: 'restart', delayMs: tight.maxDelayMs, crashes: 10 });
  });

  it('counts only the crashes within the window', () => {
    const now = 200_000;
    // Four crashes over a minute ago and one now: a first crash again.
    expect(restartDecision([100, 200, 300, 400, now], now, policy)).toEqual({ kind: 'restart', delayMs: 500, crashes: 1 });
    // Four within the minute, one just outside it.
    expect(restartDecision([now - 60_000, now - 50_000, now - 40_000, now - 30_000, now], now, policy)).toEqual({ kind: 'restart', delayMs: 4000, crashes: 4 });
    expect(restartDecision([now - 59_999, now - 50_000, now - 40_000, now - 30_000, now], now, policy)).toEqual({ kind: 'give_up', crashes: 5, windowMs: 60_000 });
  });

  it('forgets the streak when the incarnation stayed up a while, and drops crashes out of the window', () => {
    expect(recordCrash([1, 2, 3, 4], 10_000, policy.stableAfterMs, policy)).toEqual([10_000]);
    expect(recordCrash([1, 2, 3, 4], 10_000, policy.stableAfterMs - 1, policy)).toEqual([1, 2, 3, 4, 10_000]);
    expect(recordCrash([1, 70_000], 100_000, 0, policy)).toEqual([70_000, 100_000]);
  });
});

let logDir: string;
let group: ChildGroup;
let events: SupervisionEvent[];
let unexpected: string[];

const UP = "console.log('up'); setInterval(() => {}, 1000)";
const nodeChild = (name: string, script: string, extra: Partial<ChildSpec> = {}): ChildSpec => ({ name, command: process.execPath, args: ['-e', script], ready: lineReady('up'), ...extra });
const lines = (): string[] => events.map((event) => `[${event.child.name}] ${describeSupervision(event).split('\n')[0]}`);

beforeEach(() => {
  logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bellows-supervision-test-'));
  events = [];
  unexpected = [];
  group = new ChildGroup({
    logDir,
    graceMs: 500,
    supervise: { initialDelayMs: 50, maxDelayMs: 200 },
    onSupervision: (event) => events.push(event),
    onUnexpectedExit: (child, info) => unexpected.push(`${child.name} ${info.signal ?? info.code}`),
  });
});

afterEach(async () => {
  await group.stopAll();
  fs.rmSync(logDir, { recursive: true, force: true });
});

describe('supervised children', () => {
  it('restarts a child killed with SIGKILL from outside and waits until it is ready again', async () => {
    const worker = await group.start(nodeChild('worker', UP, { label: 'the worker' }));
    const firstPid = worker.pid()!;
    const back = worker.waitRestarted(1, 60_000);
    process.kill(firstPid, 'SIGKILL');
    await back;
    expect(worker.running()).toBe(true);
    expect(worker.pid()).not.toBe(firstPid);
    expect(worker.output()).toContain('up');
    expect(worker.restarts()).toBe(1);
    expect(unexpected).toEqual(['worker SIGKILL']);
    expect(lines()).toEqual(['[worker] exited unexpectedly (SIGKILL); restarting in 0.1 s', expect.stringMatching(/^\[worker\] restarted, ready in \d+(\.\d)? s$/)]);
    // The new incarnation writes to the same log file.
    expect(fs.readFileSync(path.join(logDir, 'worker.log'), 'utf8').match(/worker starting: /g)).toHaveLength(2);
  });

  it('gives up on a child that crashes five times within a minute, naming it, its log and its last lines', async () => {
    // Up, then dead 1 s later (readiness is polled every 0.2 s): every incarnation gets ready and crashes.
    const flaky = await group.start(nodeChild('agent', "console.log('up'); console.error('fatal: lost my mind'); setTimeout(() => process.exit(9), 1000)", { label: 'the local agent' }));
    const gaveUp = await waitUntil(() => events.find((event) => event.kind === 'give_up'), { timeoutMs: 60_000, timeoutMessage: () => `no give-up: ${lines().join('; ')}` });
    expect(gaveUp).toMatchObject({ kind: 'give_up', crashes: 5, windowMs: 60_000 });
    const message = describeSupervision(gaveUp);
    expect(message).toContain('exited unexpectedly (code 9): 5 crashes within 60 s, giving up on the local agent');
    expect(message).toContain(`(log: ${path.join(logDir, 'agent.log')})`);
    expect(message).toContain('fatal: lost my mind');
    // A launcher's consequence ends the verdict's line, before the last lines of output.
    expect(describeSupervision(gaveUp, 'shutting the stack down').split('\n')[0]).toBe(
      `exited unexpectedly (code 9): 5 crashes within 60 s, giving up on the local agent; its last lines (log: ${path.join(logDir, 'agent.log')}); shutting the stack down`,
    );
    expect(events.filter((event) => event.kind === 'restarting').map((event) => (event.kind === 'restarting' ? event.delayMs : 0))).toEqual([50, 100, 200, 200]);
    expect(flaky.restarts()).toBe(4);
    expect(flaky.running()).toBe(false);
  });

  it('counts a restart that does not get ready as a crash and tries again', async () => {
    const marker = path.join(logDir, 'started-once');
    // The first incarnation gets ready; every later one exits during startup until a file appears.
    const script = `const fs = require('fs'); const m = ${JSON.stringify(marker)}; const ok = ${JSON.stringify(path.join(logDir, 'ok'))};
      if (!fs.existsSync(m)) { fs.writeFileSync(m, ''); console.log('up'); setInterval(() => {}, 1000); }
      else if (fs.existsSync(ok)) { console.log('up'); setInterval(() => {}, 1000); }
      else { console.error('cannot connect to PostgreSQL'); fs.writeFileSync(ok, ''); process.exit(1); }`;
    const api = await group.start(nodeChild('api', script));
    const back = api.waitRestarted(1, 60_000);
    process.kill(api.pid()!, 'SIGKILL');
    await back;
    expect(lines()).toEqual([
      '[api] exited unexpectedly (SIGKILL); restarting in 0.1 s',
      '[api] restart failed: api exited during startup (code 1); restarting in 0.1 s (crash 2 within a minute)',
      expect.stringMatching(/^\[api\] restarted, ready in/),
    ]);
  });

  it('does not restart a child killed or stopped through its handle, nor during stopAll', async () => {
    const agent = await group.start(nodeChild('agent', UP));
    await agent.kill('SIGKILL');
    await agent.start();
    await agent.stop();
    const worker = await group.start(nodeChild('worker', UP));
    await group.stopAll();
    expect(worker.running()).toBe(false);
    expect(agent.running()).toBe(false);
    expect(events).toEqual([]);
    expect(unexpected).toEqual([]);
  });

  it('a kill() through the handle while a restart is scheduled calls the restart off', async () => {
    const slow = new ChildGroup({ logDir, supervise: { initialDelayMs: 300 }, onSupervision: (event) => events.push(event) });
    try {
      const worker = await slow.start(nodeChild('worker', UP));
      process.kill(worker.pid()!, 'SIGKILL');
      await waitUntil(() => events.some((event) => event.kind === 'restarting'), { timeoutMs: 60_000, timeoutMessage: () => 'no restart scheduled' });
      await worker.kill('SIGKILL');
      // A restart would be ready well within this wait: a second child started after the delay proves time passed.
      const probe = await slow.start(nodeChild('probe', `setTimeout(() => console.log('up'), 600); setInterval(() => {}, 1000)`, { restart: false }));
      expect(probe.running()).toBe(true);
      expect(worker.running()).toBe(false);
      expect(events.map((event) => event.kind)).toEqual(['restarting']);
    } finally {
      await slow.stopAll();
    }
  });

  it('leaves crashes to onUnexpectedExit when the group does not supervise', async () => {
    const plain = new ChildGroup({ logDir, onUnexpectedExit: (child, info) => unexpected.push(`${child.name} ${info.signal}`), onSupervision: (event) => events.push(event) });
    try {
      const api = await plain.start(nodeChild('api', UP));
      process.kill(api.pid()!, 'SIGKILL');
      await api.exited();
      await waitUntil(() => unexpected.length > 0, { timeoutMs: 60_000, timeoutMessage: () => 'no unexpected exit reported' });
      expect(unexpected).toEqual(['api SIGKILL']);
      expect(events).toEqual([]);
      expect(api.running()).toBe(false);
    } finally {
      await plain.stopAll();
    }
  });
});
