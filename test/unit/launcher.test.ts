import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isPortInUse } from '../../scripts/process-utils';
import { ChildGroup, conditionReady, httpReady, lineReady, waitUntil, type ChildSpec, type SupervisedChild } from '../../scripts/supervisor';
import type { ExitInfo } from '../../scripts/process-utils';

// Real child processes (`node -e`), so spawning, process groups and signals are the ones the launchers use.

let logDir: string;
let group: ChildGroup;
let unexpected: { name: string; info: ExitInfo }[];

const nodeChild = (name: string, script: string, extra: Partial<ChildSpec> = {}): ChildSpec => ({ name, command: process.execPath, args: ['-e', script], ...extra });

beforeEach(() => {
  logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bellows-launcher-test-'));
  unexpected = [];
  group = new ChildGroup({ logDir, graceMs: 500, onUnexpectedExit: (child, info) => unexpected.push({ name: child.name, info }) });
});

afterEach(async () => {
  await group.stopAll();
  fs.rmSync(logDir, { recursive: true, force: true });
});

describe('ChildGroup', () => {
  it('reports a child that exits during startup with its exit code and last lines', async () => {
    const child = group.add(
      nodeChild('api', "console.log('loading config'); console.error('fatal: DATABASE_URL is not set'); process.exit(3)", {
        label: 'the API',
        ready: lineReady('listening'),
      }),
    );
    const error = await child.start().then(
      () => null,
      (failure: Error) => failure,
    );
    expect(error?.message).toContain('the API exited during startup (code 3)');
    expect(error?.message).toContain('fatal: DATABASE_URL is not set');
    expect(error?.message).toContain(path.join(logDir, 'api.log'));
    // An exit during start() is start()'s failure, not a crash to report as well.
    expect(unexpected).toEqual([]);
    const log = fs.readFileSync(path.join(logDir, 'api.log'), 'utf8');
    expect(log).toMatch(/api starting: /);
    expect(log).toContain('loading config');
    expect(log).toMatch(/api exited \(code 3\)/);
  });

  it('reports a child that exits after it was ready as an unexpected exit', async () => {
    // It crashes once told to (a file appears), so the crash comes after start() returned.
    const trigger = path.join(logDir, 'crash-now');
    const child = await group.start(
      nodeChild('worker', `console.log('ready'); setInterval(() => { if (require('fs').existsSync(${JSON.stringify(trigger)})) process.exit(7); }, 10)`, { ready: lineReady('ready') }),
    );
    fs.writeFileSync(trigger, '');
    expect(await child.exited()).toEqual({ code: 7, signal: null });
    expect(unexpected).toEqual([{ name: 'worker', info: { code: 7, signal: null } }]);
  });

  it('does not report children it was asked to kill or stop', async () => {
    const child = await group.start(nodeChild('agent', "console.log('up'); setInterval(() => {}, 1000)", { ready: lineReady('up') }));
    expect(await child.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    await child.start();
    expect(child.running()).toBe(true);
    await child.stop();
    expect(child.running()).toBe(false);
    expect(unexpected).toEqual([]);
  });

  it('times out a readiness wait with a message naming the child, what it waited for and its last lines', async () => {
    const child = group.add(
      nodeChild('worker', "console.log('connecting to Temporal'); setInterval(() => {}, 1000)", {
        label: 'the worker',
        ready: conditionReady('poll task queue q', () => false, { timeoutMs: 300, intervalMs: 20 }),
      }),
    );
    await expect(child.start()).rejects.toThrow(/^the worker did not poll task queue q within 0\.3 s; its last lines \(log: .*worker\.log\):\nconnecting to Temporal/);
    // The half-started child is stopped again.
    expect(child.running()).toBe(false);
  });

  it('waits for an HTTP health URL and reports its last answer when it never turns 200', async () => {
    let healthy = false;
    const server = http.createServer((_request, response) => {
      response.statusCode = healthy ? 200 : 503;
      response.end(healthy ? 'ok' : 'migrating');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v1/health`;
      const keepRunning = "setInterval(() => {}, 1000)";
      const slow = group.add(nodeChild('api', keepRunning, { label: 'the API', ready: httpReady(url, { timeoutMs: 3000, intervalMs: 20 }) }));
      await expect(slow.start()).rejects.toThrow(`the API did not answer ${url} within 3 s (last error: 503 migrating); it printed nothing`);
      healthy = true;
      const ready = group.add(nodeChild('api-2', keepRunning, { ready: httpReady(url, { timeoutMs: 60_000, intervalMs: 20 }) }));
      await ready.start();
      expect(ready.running()).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('stopAll stops in reverse order and SIGKILLs a child that ignores SIGTERM after the grace period', async () => {
    const order: string[] = [];
    group.defer('database', async () => order.push('database'));
    const stubborn = await group.start(
      nodeChild('stubborn', "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('up'); setInterval(() => {}, 1000)", { ready: lineReady('up') }),
    );
    const polite = await group.start(nodeChild('polite', "console.log('up'); setInterval(() => {}, 1000)", { ready: lineReady('up') }));
    void polite.exited().then(() => order.push('polite'));
    void stubborn.exited().then(() => order.push('stubborn'));
    await group.stopAll();
    expect(order).toEqual(['polite', 'stubborn', 'database']);
    expect(await stubborn.exited()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(stubborn.output()).toContain('ignoring SIGTERM');
    expect(await polite.exited()).toEqual({ code: null, signal: 'SIGTERM' });
    expect(unexpected).toEqual([]);
  });

  it('stops children of the same role together, and goes on past a failing step', async () => {
    const errors: string[] = [];
    const own = new ChildGroup({ logDir, graceMs: 5000, onStopError: (name, error) => errors.push(`${name}: ${error.message}`) });
    try {
      own.defer('pool', () => Promise.reject(new Error('already closed')));
      // Each agent prints its SIGTERM, then exits only once the other one has printed too: stopped one by one, neither would.
      const agentScript = (me: string, other: string): string =>
        `const fs = require('fs'); const dir = ${JSON.stringify(logDir)};
         process.on('SIGTERM', () => { fs.writeFileSync(dir + '/${me}.term', ''); setInterval(() => { if (fs.existsSync(dir + '/${other}.term')) process.exit(0); }, 10); });
         console.log('up'); setInterval(() => {}, 1000)`;
      const children: SupervisedChild[] = [];
      for (const [me, other] of [['a', 'b'], ['b', 'a']]) {
        children.push(await own.start(nodeChild(`agent-${me}`, agentScript(me, other), { role: 'agent', stopTogether: true, ready: lineReady('up') })));
      }
      await own.stopAll();
      for (const child of children) expect(await child.exited()).toEqual({ code: 0, signal: null });
      expect(errors).toEqual(['pool: already closed']);
    } finally {
      await own.stopAll();
    }
  });

  it('reports a command that cannot be spawned', async () => {
    const child = group.add({ name: 'ghost', command: path.join(logDir, 'no-such-binary'), ready: lineReady('never') });
    await expect(child.start()).rejects.toThrow(/ghost exited during startup \(failed to spawn: spawn .*ENOENT\); its last lines .*\nspawn error: .*ENOENT/);
  });

  it('kills the whole process group of a detached child on stop', async () => {
    const server = "require('http').createServer(() => {}).listen(0, '127.0.0.1', function () { console.log('port ' + this.address().port) })";
    const parent = await group.start(
      nodeChild('parent', `const c = require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(server)}], { stdio: 'inherit' }); setInterval(() => {}, 1000)`, {
        ready: lineReady(/port \d+/),
      }),
    );
    const port = Number(/port (\d+)/.exec(parent.output())![1]);
    await parent.stop();
    await waitUntil(async () => !(await isPortInUse(port)), { timeoutMs: 60_000, timeoutMessage: () => `the grandchild on port ${port} survived its parent's stop` });
  });
});

describe('waitUntil', () => {
  it('resolves with the first truthy value and gives up when failIf has a reason', async () => {
    let calls = 0;
    expect(await waitUntil(() => (++calls >= 3 ? 'done' : null), { timeoutMs: 5000, intervalMs: 1, timeoutMessage: () => 'never' })).toBe('done');
    await expect(waitUntil(() => false, { timeoutMs: 5000, failIf: () => 'the API exited', timeoutMessage: () => 'never' })).rejects.toThrow('the API exited');
  });

  it('stops at an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort(new Error('interrupted by SIGINT'));
    await expect(waitUntil(() => false, { timeoutMs: 5000, signal: controller.signal, timeoutMessage: () => 'never' })).rejects.toThrow('interrupted by SIGINT');
  });
});
