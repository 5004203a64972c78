import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { OutputSink } from '../../agent/job-executor';
import { spawnProcessGroup } from '../../agent/script-executor';

/** Live (non-zombie) members of a process group; zombies may linger where PID 1 does not reap. */
function liveMembers(pgid: number): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,pgid=,stat='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, group, stat]) => Number(group) === pgid && stat !== undefined && !stat.startsWith('Z'))
    .map(([pid]) => Number(pid));
}

function collectingSink(): OutputSink & { lines: Array<{ stream: string; text: string }> } {
  const lines: Array<{ stream: string; text: string }> = [];
  return {
    lines,
    write: (stream, text) => lines.push({ stream, text }),
    system: (text) => lines.push({ stream: 'system', text }),
  };
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The group leader's pid is the group id (spawned detached). */
function groupOf(sink: ReturnType<typeof collectingSink>): number {
  const pid = Number(sink.lines.find((line) => line.stream === 'stdout')?.text.split('\n')[0]);
  expect(pid).toBeGreaterThan(0);
  return pid;
}

describe('process group handling', () => {
  it('cancel terminates the script and every background child', async () => {
    const sink = collectingSink();
    const execution = spawnProcessGroup({ command: 'bash', args: ['-c', 'echo $$; sleep 100 & sleep 100 & wait'], output: sink, cancelGraceMs: 5000 });
    await waitFor(() => sink.lines.some((line) => line.stream === 'stdout'));
    const pgid = groupOf(sink);
    await waitFor(() => liveMembers(pgid).length === 3);
    const children = liveMembers(pgid);

    execution.cancel('test');
    const result = await execution.done;

    expect(result.exitCode).toBeNull();
    expect(result.signal).toBe('SIGTERM');
    expect(sink.lines).toContainEqual({ stream: 'system', text: 'Cancelling (test): SIGTERM sent' });
    await waitFor(() => liveMembers(pgid).length === 0, 2000);
    for (const pid of children) expect(isAliveNonZombie(pid)).toBe(false);
  });

  it('SIGKILLs the group when the script ignores SIGTERM for longer than the grace period', async () => {
    const sink = collectingSink();
    const execution = spawnProcessGroup({
      command: 'bash',
      args: ['-c', "trap '' TERM; echo $$; sleep 100 & sleep 100 & wait"],
      output: sink,
      cancelGraceMs: 300,
    });
    await waitFor(() => sink.lines.some((line) => line.stream === 'stdout'));
    const pgid = groupOf(sink);
    await waitFor(() => liveMembers(pgid).length === 3);

    const started = Date.now();
    execution.cancel('test');
    const result = await execution.done;

    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(result.signal).toBe('SIGKILL');
    expect(sink.lines.map((line) => line.text)).toContain('Still running after 0.3 s: SIGKILL sent');
    await waitFor(() => liveMembers(pgid).length === 0, 2000);
  });

  it('kills background processes a finished script left behind without waiting for them', async () => {
    const sink = collectingSink();
    const started = Date.now();
    const execution = spawnProcessGroup({ command: 'bash', args: ['-c', 'echo $$; sleep 100 & echo done'], output: sink, cancelGraceMs: 5000 });
    const result = await execution.done;
    expect(result).toEqual({ exitCode: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(1500);
    const pgid = groupOf(sink);
    expect(sink.lines.map((line) => line.text).join('')).toContain('done\n');
    await waitFor(() => liveMembers(pgid).length === 0, 2000);
  });

  it('reports a command that cannot be started', async () => {
    const sink = collectingSink();
    const execution = spawnProcessGroup({ command: '/nonexistent/bash', args: [], output: sink, cancelGraceMs: 100 });
    const result = await execution.done;
    expect(result.exitCode).toBeNull();
    expect(result.error).toMatch(/could not start/);
  });
});

function isAliveNonZombie(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return stat !== '' && !stat.startsWith('Z');
  } catch {
    return false; // ps exits non-zero when the pid is gone
  }
}
