import { getEventListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { parseAct, runAct } from '../../agent/act';
import { ExecState } from '../../agent/act/act-exec-state';
import { actYaml, fakeHost, liveGroupMembers, runText, waitUntil } from './act-test-host';

/** Turns the (real) event loop until `count` fake timers are set: the graph has reached its sleeps. */
async function timersPending(count: number): Promise<void> {
  while (vi.getTimerCount() < count) await new Promise((resolve) => setImmediate(resolve));
}

const printer = (id: string, value: string): { id: string; type: string; inputs: Record<string, unknown> } => ({ id, type: 'core/print@v1', inputs: { 'values[0]': value } });

describe('control flow', () => {
  it('branch fires exec-then or exec-otherwise', async () => {
    for (const condition of [true, false]) {
      const host = fakeHost();
      const text = actYaml(
        [{ id: 'b', type: 'core/branch@v1', inputs: { condition } }, printer('yes', 'then'), printer('no', 'otherwise')],
        [
          ['start.exec', 'b.exec'],
          ['b.exec-then', 'yes.exec'],
          ['b.exec-otherwise', 'no.exec'],
        ],
      );
      expect((await runText(text, host)).status).toBe('succeeded');
      expect(host.text()).toBe(condition ? 'then\n' : 'otherwise\n');
    }
  });

  it('sequence fires exec[0], exec[1], … in index order, each path to its end first (depth-first)', async () => {
    const host = fakeHost();
    const text = actYaml(
      [{ id: 'seq', type: 'core/sequence@v1', outputs: { 'exec[0]': '', 'exec[1]': '', 'exec[2]': '' } }, printer('a', 'a'), printer('a2', 'a2'), printer('b', 'b'), printer('c', 'c')],
      [
        ['start.exec', 'seq.exec'],
        ['seq.exec[2]', 'c.exec'],
        ['seq.exec[0]', 'a.exec'],
        ['a.exec', 'a2.exec'],
        ['seq.exec[1]', 'b.exec'],
      ],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text()).toBe('a\na2\nb\nc\n');
  });

  it('for-loop covers an inclusive range with index; first_index defaults to 0', async () => {
    const host = fakeHost();
    const text = actYaml(
      [{ id: 'loop', type: 'core/for-loop@v1', inputs: { last_index: 2 } }, { id: 'say', type: 'core/print@v1', inputs: { 'values[0]': null } }, printer('end', 'done')],
      [
        ['start.exec', 'loop.exec'],
        ['loop.exec-body', 'say.exec'],
        ['loop.exec-completed', 'end.exec'],
      ],
      [['loop.index', 'say.values[0]']],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text()).toBe('0\n1\n2\ndone\n');
  });

  it('exec-break stops a for-loop after the current body; exec-completed still fires', async () => {
    const host = fakeHost();
    const text = actYaml(
      [
        { id: 'loop', type: 'core/for-loop@v1', inputs: { first_index: 1, last_index: 10 } },
        { id: 'say', type: 'core/print@v1', inputs: { 'values[0]': null } },
        { id: 'is3', type: 'core/math-compare-op@v1', inputs: { operator: '>=', op2: 3 } },
        { id: 'check', type: 'core/branch@v1' },
        printer('end', 'completed'),
      ],
      [
        ['start.exec', 'loop.exec'],
        ['loop.exec-body', 'say.exec'],
        ['say.exec', 'check.exec'],
        ['check.exec-then', 'loop.exec-break'],
        ['loop.exec-completed', 'end.exec'],
      ],
      [
        ['loop.index', 'say.values[0]'],
        ['loop.index', 'is3.op1'],
        ['is3.result', 'check.condition'],
      ],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text()).toBe('1\n2\n3\ncompleted\n');
    // The break is a signal to the running loop, not a new run of it.
    expect(host.states.filter((entry) => entry.node === 'loop')).toEqual([
      { node: 'loop', state: 'running' },
      { node: 'loop', state: 'succeeded' },
    ]);
  });

  it('for-each-loop walks arrays (index keys) and maps (named keys), and can break', async () => {
    const host = fakeHost();
    const text = actYaml(
      [
        { id: 'arr', type: 'core/for-each-loop@v1', inputs: { input: ['x', 'y'] } },
        { id: 'a', type: 'core/print@v1', inputs: { 'values[0]': null, 'values[1]': null } },
        { id: 'map', type: 'core/for-each-loop@v1', inputs: { input: { one: 1, two: 2, three: 3 } } },
        { id: 'm', type: 'core/print@v1', inputs: { 'values[0]': null, 'values[1]': null } },
        { id: 'is2', type: 'core/string-match@v1', inputs: { op: 'equals', str2: 'two' } },
        { id: 'check', type: 'core/branch@v1' },
      ],
      [
        ['start.exec', 'arr.exec'],
        ['arr.exec-body', 'a.exec'],
        ['arr.exec-completed', 'map.exec'],
        ['map.exec-body', 'm.exec'],
        ['m.exec', 'check.exec'],
        ['check.exec-then', 'map.exec-break'],
      ],
      [
        ['arr.key', 'a.values[0]'],
        ['arr.value', 'a.values[1]'],
        ['map.key', 'm.values[0]'],
        ['map.value', 'm.values[1]'],
        ['map.key', 'is2.str1'],
        ['is2.result', 'check.condition'],
      ],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text()).toBe('0\nx\n1\ny\none\n1\ntwo\n2\n');
  });

  it('wait-for releases after `after` executions, once without loop, every time with loop, and resets', async () => {
    const run = async (after: number, loop: boolean, reset: boolean): Promise<string> => {
      const host = fakeHost();
      const outputs = { 'exec[0]': '', 'exec[1]': '', 'exec[2]': '', 'exec[3]': '', 'exec[4]': '' };
      const text = actYaml(
        [{ id: 'seq', type: 'core/sequence@v1', outputs }, { id: 'gate', type: 'core/wait-for@v1', inputs: { after, loop } }, printer('go', 'released')],
        [
          ['start.exec', 'seq.exec'],
          ['seq.exec[0]', 'gate.exec'],
          ['seq.exec[1]', 'gate.exec'],
          ['seq.exec[2]', reset ? 'gate.exec-reset' : 'gate.exec'],
          ['seq.exec[3]', 'gate.exec'],
          ['seq.exec[4]', 'gate.exec'],
          ['gate.exec', 'go.exec'],
        ],
      );
      expect((await runText(text, host)).status).toBe('succeeded');
      return host.text();
    };
    expect(await run(3, false, false)).toBe('released\n');
    expect(await run(2, true, false)).toBe('released\nreleased\n');
    expect(await run(6, false, false)).toBe('');
    // Reset after the first release re-arms the barrier: the two arrivals after it release again.
    expect(await run(2, false, true)).toBe('released\nreleased\n');
  });

  it('wait-for joins concurrent paths', async () => {
    const host = fakeHost();
    const text = actYaml(
      [
        { id: 'fan', type: 'core/concurrent-exec@v1', outputs: { 'exec[0]': '', 'exec[1]': '' } },
        { id: 'slow', type: 'core/sleep@v1', inputs: { unit: 'milliseconds', duration: 150 } },
        { id: 'fast', type: 'core/sleep@v1', inputs: { unit: 'milliseconds', duration: 10 } },
        { id: 'join', type: 'core/wait-for@v1', inputs: { after: 2 } },
        printer('joined', 'both arrived'),
      ],
      [
        ['start.exec', 'fan.exec'],
        ['fan.exec[0]', 'slow.exec'],
        ['fan.exec[1]', 'fast.exec'],
        ['slow.exec', 'join.exec'],
        ['fast.exec', 'join.exec'],
        ['join.exec', 'joined.exec'],
      ],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text()).toBe('both arrived\n');
  });

  it('sleep pauses only its own path, in seconds, milliseconds or microseconds', async () => {
    const host = fakeHost();
    const text = actYaml(
      [
        { id: 'fan', type: 'core/concurrent-exec@v1', outputs: { 'exec[0]': '', 'exec[1]': '' } },
        { id: 'nap', type: 'core/sleep@v1', inputs: { unit: 'milliseconds', duration: 300 } },
        printer('late', 'late'),
        { id: 'tiny', type: 'core/sleep@v1', inputs: { unit: 'microseconds', duration: 500 } },
        printer('early', 'early'),
      ],
      [
        ['start.exec', 'fan.exec'],
        ['fan.exec[0]', 'nap.exec'],
        ['nap.exec', 'late.exec'],
        ['fan.exec[1]', 'tiny.exec'],
        ['tiny.exec', 'early.exec'],
      ],
    );
    // The clock is a fake one, moved by the test: what is asserted is which sleeps have ended at a time.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const running = runText(text, host);
      await timersPending(2);
      await vi.advanceTimersByTimeAsync(1);
      expect(host.text()).toBe('early\n');
      await vi.advanceTimersByTimeAsync(298);
      expect(host.text()).toBe('early\n');
      await vi.advanceTimersByTimeAsync(1);
      expect((await running).status).toBe('succeeded');
      expect(host.text()).toBe('early\nlate\n');
      // Durations are whole numbers of the unit, as in the reference: 1 second, not 0.2 of one.
      const seconds = actYaml([{ id: 's', type: 'core/sleep@v1', inputs: { duration: 1 } }], [['start.exec', 's.exec']]);
      let ended = false;
      const second = runText(seconds, fakeHost()).finally(() => (ended = true));
      await timersPending(1);
      await vi.advanceTimersByTimeAsync(999);
      expect(ended).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect((await second).status).toBe('succeeded');
    } finally {
      vi.useRealTimers();
    }
  });

  it('process-exit ends the graph with its code; 0 succeeds', async () => {
    for (const code of [0, 7]) {
      const host = fakeHost();
      const text = actYaml(
        [{ id: 'seq', type: 'core/sequence@v1', outputs: { 'exec[0]': '', 'exec[1]': '' } }, { id: 'bye', type: 'core/process-exit@v1', inputs: { code } }, printer('never', 'should-not-print')],
        [
          ['start.exec', 'seq.exec'],
          ['seq.exec[0]', 'bye.exec'],
          ['seq.exec[1]', 'never.exec'],
        ],
      );
      const result = await runText(text, host);
      expect(result.exitCode).toBe(code);
      expect(result.status).toBe(code === 0 ? 'succeeded' : 'failed');
      if (code !== 0) expect(result.error).toMatch(/node bye \(core\/process-exit@v1\) ended the graph with exit code 7/);
      expect(host.text()).not.toContain('should-not-print');
    }
  });

  it('an uncaught error of a non-run node fails the graph; exec-err routes a handled one', async () => {
    const host = fakeHost();
    const text = actYaml(
      [
        { id: 'bad', type: 'core/sleep@v1', inputs: { duration: 'soon' } },
        { id: 'after', type: 'core/print@v1', inputs: { 'values[0]': 'x' } },
      ],
      [
        ['start.exec', 'bad.exec'],
        ['bad.exec', 'after.exec'],
      ],
    );
    const result = await runText(text, host);
    expect(result).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(result.error).toMatch(/^node bad \(core\/sleep@v1\) failed: unable to convert string to int at input 'duration' of node bad/);
  });
});

describe('data flow', () => {
  it('exec node outputs are the values of their last run; data nodes are evaluated afresh for each executing node', async () => {
    const host = fakeHost();
    const text = actYaml(
      [
        { id: 'loop', type: 'core/for-loop@v1', inputs: { first_index: 1, last_index: 3 } },
        { id: 'r', type: 'core/run@v1', inputs: { print: 'output' } },
        { id: 'fmt', type: 'core/string-fmt@v1', inputs: { fmt: 'echo run-%v', 'substitutes[0]': null } },
        { id: 'show', type: 'core/print@v1', inputs: { 'values[0]': null } },
        { id: 'final', type: 'core/print@v1', inputs: { 'values[0]': null } },
      ],
      [
        ['start.exec', 'loop.exec'],
        ['loop.exec-body', 'r.exec'],
        ['r.exec-success', 'show.exec'],
        ['loop.exec-completed', 'final.exec'],
      ],
      [
        ['loop.index', 'fmt.substitutes[0]'],
        ['fmt.result', 'r.script'],
        ['r.output', 'show.values[0]'],
        ['r.output', 'final.values[0]'],
      ],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text('show')).toBe('run-1\n\nrun-2\n\nrun-3\n\n');
    expect(host.text('final')).toBe('run-3\n\n');
  });

  it('groups pass data in and out through group-inputs and group-outputs', async () => {
    const host = fakeHost();
    const text = actYaml(
      [
        { id: 'word', type: 'core/const-string@v1', inputs: { value: 'inner' } },
        {
          id: 'g',
          type: 'core/group@v1',
          graph: {
            entry: 'gin',
            nodes: [
              { id: 'gin', type: 'core/group-inputs@v1' },
              { id: 'fmt', type: 'core/string-fmt@v1', inputs: { fmt: '<%s>', 'substitutes[0]': null } },
              { id: 'say', type: 'core/print@v1', inputs: { 'values[0]': null } },
              { id: 'gout', type: 'core/group-outputs@v1' },
            ],
            connections: [
              { src: { node: 'gin', port: 'text' }, dst: { node: 'fmt', port: 'substitutes[0]' } },
              { src: { node: 'fmt', port: 'result' }, dst: { node: 'say', port: 'values[0]' } },
              { src: { node: 'fmt', port: 'result' }, dst: { node: 'gout', port: 'wrapped' } },
            ],
            executions: [
              { src: { node: 'gin', port: 'exec-in' }, dst: { node: 'say', port: 'exec' } },
              { src: { node: 'say', port: 'exec' }, dst: { node: 'gout', port: 'exec-out' } },
            ],
            inputs: { 'exec-in': { type: '', index: 0, exec: true }, text: { type: 'string', index: 1 } },
            outputs: { 'exec-out': { type: '', index: 0, exec: true }, wrapped: { type: 'string', index: 1 } },
          },
        },
        { id: 'outer', type: 'core/print@v1', inputs: { 'values[0]': null } },
      ],
      [
        ['start.exec', 'g.exec-in'],
        ['g.exec-out', 'outer.exec'],
      ],
      [
        ['word.result', 'g.text'],
        ['g.wrapped', 'outer.values[0]'],
      ],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text('g/say')).toBe('<inner>\n');
    expect(host.text('outer')).toBe('<inner>\n');
    // While the path continues outside the group, the group is not reported as executing.
    const whileOuter = host.activeHistory.find((set) => set.includes('outer'));
    expect(whileOuter).toEqual(['outer']);
  });
});

describe('reporting', () => {
  it('reports active node sets on change and an empty set at the end; states per node', async () => {
    const host = fakeHost();
    const text = actYaml([printer('a', 'a'), printer('b', 'b')], [
      ['start.exec', 'a.exec'],
      ['a.exec', 'b.exec'],
    ]);
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.activeHistory).toEqual([['start'], [], ['a'], [], ['b'], [], []]);
    expect(host.states.map((entry) => `${entry.node}:${entry.state}`)).toEqual(['start:running', 'start:succeeded', 'a:running', 'a:succeeded', 'b:running', 'b:succeeded']);
  });

  it('a throwing host callback does not break the run', async () => {
    const host = fakeHost({
      output: () => {
        throw new Error('sink down');
      },
      onActiveNodes: () => {
        throw new Error('nope');
      },
    });
    const text = actYaml([printer('a', 'a')], [['start.exec', 'a.exec']]);
    expect(await runText(text, host)).toEqual({ status: 'succeeded', exitCode: 0 });
  });
});

describe('concurrency and cancellation', () => {
  const pidScript = (tag: string): string => `echo "${tag}-pid $$"; touch ${tag}-started; sleep 30 & sleep 30 & wait`;
  const pidsOf = (text: string, tag: string): number[] => [...text.matchAll(new RegExp(`${tag}-pid (\\d+)`, 'g'))].map((match) => Number(match[1]));

  it('the first error cancels the other concurrent paths and fails the graph', async () => {
    const host = fakeHost();
    const text = actYaml(
      [
        { id: 'fan', type: 'core/concurrent-exec@v1', outputs: { 'exec[0]': '', 'exec[1]': '', 'exec[2]': '' } },
        { id: 'slow1', type: 'core/run@v1', inputs: { script: pidScript('slow1') } },
        { id: 'slow2', type: 'core/sleep@v1', inputs: { duration: 30 } },
        // Fails once slow1 runs (30 s bound a broken build), so that there is a process tree to stop.
        { id: 'boom', type: 'core/run@v1', inputs: { script: 'for i in $(seq 1500); do [ -e slow1-started ] && break; sleep 0.02; done; echo boom; exit 5' } },
        printer('done', 'should-not-print'),
      ],
      [
        ['start.exec', 'fan.exec'],
        ['fan.exec[0]', 'slow1.exec'],
        ['fan.exec[1]', 'slow2.exec'],
        ['fan.exec[2]', 'boom.exec'],
        ['fan.exec-completed', 'done.exec'],
      ],
    );
    const result = await runText(text, host);
    expect(result).toMatchObject({ status: 'failed', exitCode: 5 });
    // The 30 s sleep was stopped, not waited for: its path failed (cancelled) rather than succeeding.
    expect(host.states.filter((entry) => entry.node === 'slow2').map((entry) => entry.state)).toEqual(['running', 'failed']);
    expect(result.error).toMatch(/node boom/);
    expect(host.text()).not.toContain('should-not-print');
    const [pgid] = pidsOf(host.text(), 'slow1');
    expect(pgid).toBeGreaterThan(0);
    await waitUntil(() => liveGroupMembers(pgid).length === 0, 60_000);
    expect(host.activeHistory.at(-1)).toEqual([]);
  });

  it('exec-completed fires after all concurrent paths end', async () => {
    const host = fakeHost();
    const text = actYaml(
      [
        { id: 'fan', type: 'core/concurrent-exec@v1', outputs: { 'exec[0]': '', 'exec[1]': '' } },
        // Path a ends only after path b has run (30 s bound a broken build): exec-completed after the first
        // path to end would print before a.
        { id: 'a', type: 'core/run@v1', inputs: { script: 'for i in $(seq 1500); do [ -e b-ran ] && break; sleep 0.02; done' } },
        printer('a-done', 'a'),
        { id: 'b', type: 'core/run@v1', inputs: { script: 'touch b-ran' } },
        printer('b-done', 'b'),
        printer('all', 'all'),
      ],
      [
        ['start.exec', 'fan.exec'],
        ['fan.exec[0]', 'a.exec'],
        ['a.exec-success', 'a-done.exec'],
        ['fan.exec[1]', 'b.exec'],
        ['b.exec-success', 'b-done.exec'],
        ['fan.exec-completed', 'all.exec'],
      ],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    const lines = host.text().split('\n').filter(Boolean);
    expect(lines.at(-1)).toBe('all');
    expect(lines.slice(0, -1).sort()).toEqual(['a', 'b']);
  });

  it('aborting the host signal stops every process tree and ends sleeps; the result is cancelled', async () => {
    const host = fakeHost();
    const text = actYaml(
      [
        { id: 'fan', type: 'core/concurrent-exec@v1', outputs: { 'exec[0]': '', 'exec[1]': '', 'exec[2]': '' } },
        { id: 'job1', type: 'core/run@v1', inputs: { script: pidScript('job1') } },
        { id: 'job2', type: 'core/run@v1', inputs: { script: pidScript('job2') } },
        { id: 'nap', type: 'core/sleep@v1', inputs: { duration: 60 } },
      ],
      [
        ['start.exec', 'fan.exec'],
        ['fan.exec[0]', 'job1.exec'],
        ['fan.exec[1]', 'job2.exec'],
        ['fan.exec[2]', 'nap.exec'],
      ],
    );
    const running = runText(text, host);
    await waitUntil(() => pidsOf(host.text(), 'job1').length > 0 && pidsOf(host.text(), 'job2').length > 0);
    const groups = [...pidsOf(host.text(), 'job1'), ...pidsOf(host.text(), 'job2')];
    await waitUntil(() => groups.every((pgid) => liveGroupMembers(pgid).length === 3));
    host.controller.abort();
    const result = await running;
    expect(result).toMatchObject({ status: 'cancelled', exitCode: 130 });
    // The 60 s sleep ended with the abort.
    expect(host.states.filter((entry) => entry.node === 'nap').map((entry) => entry.state)).toEqual(['running', 'failed']);
    await waitUntil(() => groups.every((pgid) => liveGroupMembers(pgid).length === 0), 60_000);
    expect(host.activeHistory.at(-1)).toEqual([]);
    expect(host.states.filter((entry) => entry.state === 'running').length).toBe(host.states.filter((entry) => entry.state !== 'running').length);
  });

  it('a script ignoring SIGTERM is SIGKILLed after the grace period', async () => {
    const host = fakeHost({ cancelGraceMs: 300 });
    const text = actYaml([{ id: 'stubborn', type: 'core/run@v1', inputs: { script: `trap '' TERM; ${pidScript('stubborn')}` } }], [['start.exec', 'stubborn.exec']]);
    const running = runText(text, host);
    await waitUntil(() => pidsOf(host.text(), 'stubborn').length > 0);
    const [pgid] = pidsOf(host.text(), 'stubborn');
    await waitUntil(() => liveGroupMembers(pgid).length === 3);
    host.controller.abort();
    const result = await running;
    expect(result.status).toBe('cancelled');
    // Sent by the grace-period timer, and only to a group that is still alive when it fires.
    expect(host.text()).toMatch(/still running 300 ms after SIGTERM: SIGKILL sent/);
    await waitUntil(() => liveGroupMembers(pgid).length === 0, 60_000);
  });

  it('an already aborted signal runs nothing', async () => {
    const host = fakeHost();
    host.controller.abort();
    const result = await runAct(parseAct(actYaml([printer('a', 'a')], [['start.exec', 'a.exec']])).graph, host);
    expect(result.status).toBe('cancelled');
    expect(host.states).toEqual([]);
  });
});

describe('concurrent loops, select-exec and data caching', () => {
  it('concurrent-for-loop gives each iteration its own index, runs them at once, then completes once', async () => {
    const host = fakeHost();
    const text = actYaml(
      [
        { id: 'loop', type: 'core/concurrent-for-loop@v1', inputs: { first_index: 1, last_index: 3, worker_count: 0 } },
        // Each iteration waits until all three have started: only concurrent iterations can finish. The
        // 30 s budget (1500 × 20 ms) only bounds a broken build; a busy machine never comes near it.
        { id: 'r', type: 'core/run@v1', inputs: { script: null, args: null } },
        { id: 'script', type: 'core/string-fmt@v1', inputs: { fmt: 'touch started-%s; for i in $(seq 1500); do [ $(ls started-* | wc -l) -ge 3 ] && echo "iteration %s" && exit 0; sleep 0.02; done; exit 1', 'substitutes[0]': null, 'substitutes[1]': null } },
        printer('done', 'completed'),
      ],
      [['start.exec', 'loop.exec'], ['loop.exec-body', 'r.exec'], ['loop.exec-completed', 'done.exec']],
      [['loop.index', 'script.substitutes[0]'], ['loop.index', 'script.substitutes[1]'], ['script.result', 'r.script']],
    );
    expect((await runText(text, host)).status, host.text()).toBe('succeeded');
    expect(host.text('r').split('\n').filter(Boolean).sort()).toEqual(['iteration 1', 'iteration 2', 'iteration 3']);
    expect(host.text('done')).toBe('completed\n');
  });

  it('concurrent-for-each-loop runs worker_count bodies at once, never more (peak of a running-bodies counter), over every item', async () => {
    const host = fakeHost();
    // Under a lock: count the body as started and running, and keep the highest running count. The k-th body
    // then waits until its wave of two has started (wave = ceil(k/2)), so two bodies overlap whenever two
    // workers exist, and a third can only start once one has ended. 30 s (1500 × 20 ms) bounds a broken build.
    const counter = [
      'exec 9>lock',
      'flock 9; s=$(( $(cat started 2>/dev/null || echo 0) + 1 )); echo $s > started',
      'r=$(( $(cat running 2>/dev/null || echo 0) + 1 )); echo $r > running',
      'if [ $r -gt $(cat peak 2>/dev/null || echo 0) ]; then echo $r > peak; fi; flock -u 9',
      'need=$(( (s + 1) / 2 * 2 ))',
      'for i in $(seq 1500); do [ $(cat started) -ge $need ] && break; sleep 0.02; done',
      'flock 9; echo $(( $(cat running) - 1 )) > running; flock -u 9',
    ].join('\n');
    const text = actYaml(
      [
        { id: 'each', type: 'core/concurrent-for-each-loop@v1', inputs: { input: ['a', 'b', 'c', 'd'], worker_count: 2 } },
        { id: 'count', type: 'core/run@v1', inputs: { script: counter } },
        { id: 'say', type: 'core/print@v1', inputs: { 'values[0]': null } },
        printer('done', 'completed'),
      ],
      [['start.exec', 'each.exec'], ['each.exec-body', 'count.exec'], ['count.exec-success', 'say.exec'], ['each.exec-completed', 'done.exec']],
      [['each.value', 'say.values[0]']],
    );
    expect((await runText(text, host)).status, host.text()).toBe('succeeded');
    expect(readFileSync(join(host.workDir, 'peak'), 'utf8').trim()).toBe('2');
    expect(readFileSync(join(host.workDir, 'started'), 'utf8').trim()).toBe('4');
    expect(host.text('say').split('\n').filter(Boolean).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(host.text('done')).toBe('completed\n');
  });

  it('a failing concurrent-for-each-loop body fails the graph, and exec-completed never fires', async () => {
    const failing = fakeHost();
    const broken = actYaml(
      [{ id: 'each', type: 'core/concurrent-for-each-loop@v1', inputs: { input: ['ok', 'bad'], worker_count: 0 } }, { id: 'r', type: 'core/run@v1', inputs: { script: null } }, printer('done', 'completed')],
      [['start.exec', 'each.exec'], ['each.exec-body', 'r.exec'], ['each.exec-completed', 'done.exec']],
      [['each.value', 'r.script']],
    );
    // "bad" is a command that does not exist: exit 127, and exec-completed never fires.
    const result = await runText(broken, failing);
    expect(result).toMatchObject({ status: 'failed', exitCode: 127 });
    expect(failing.text()).not.toContain('completed');
  });

  it('select-exec fires exec with the index of the input it was entered through', async () => {
    for (const condition of [true, false]) {
      const host = fakeHost();
      const text = actYaml(
        [
          { id: 'b', type: 'core/branch@v1', inputs: { condition } },
          { id: 'pick', type: 'core/select-exec@v1', inputs: { 'exec[0]': null, 'exec[1]': null } },
          { id: 'say', type: 'core/print@v1', inputs: { 'values[0]': null } },
        ],
        [['start.exec', 'b.exec'], ['b.exec-then', 'pick.exec[0]'], ['b.exec-otherwise', 'pick.exec[1]'], ['pick.exec', 'say.exec']],
        [['pick.index', 'say.values[0]']],
      );
      expect((await runText(text, host)).status).toBe('succeeded');
      expect(host.text('say')).toBe(condition ? '0\n' : '1\n');
    }
  });

  it('a data node is evaluated once per executing node: two reads agree, the next node sees a fresh value', async () => {
    const host = fakeHost();
    const text = actYaml(
      [
        // No exec connection: random-number is a data node here.
        { id: 'n', type: 'core/random-number@v1', inputs: { min: 0, max: 1000000000 } },
        { id: 'first', type: 'core/print@v1', inputs: { 'values[0]': null, 'values[1]': null } },
        { id: 'second', type: 'core/print@v1', inputs: { 'values[0]': null } },
      ],
      [['start.exec', 'first.exec'], ['first.exec', 'second.exec']],
      [['n.number', 'first.values[0]'], ['n.number', 'first.values[1]'], ['n.number', 'second.values[0]']],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    const [a, b] = host.text('first').trim().split('\n');
    expect(a).toBe(b);
    expect(host.text('second').trim()).not.toBe(a);
  });
});

describe('abort listeners', () => {
  it('a 1000-iteration loop around concurrent-exec leaves no abort listener behind, and trips no MaxListenersExceededWarning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const host = fakeHost();
      const text = actYaml(
        [
          { id: 'loop', type: 'core/for-loop@v1', inputs: { first_index: 1, last_index: 1000 } },
          { id: 'fan', type: 'core/concurrent-exec@v1', outputs: { 'exec[0]': '', 'exec[1]': '' } },
          printer('a', 'a'),
          printer('b', 'b'),
        ],
        [['start.exec', 'loop.exec'], ['loop.exec-body', 'fan.exec'], ['fan.exec[0]', 'a.exec'], ['fan.exec[1]', 'b.exec']],
      );
      expect((await runText(text, host)).status, host.text()).toBe('succeeded');
      // The run's own listener on the host's signal goes too: an agent's signal outlives many runs.
      expect(getEventListeners(host.signal, 'abort')).toHaveLength(0);
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a state keeps no listener of a child path that has ended', async () => {
    const root = ExecState.root({}, new AbortController().signal);
    for (let i = 0; i < 1000; i++) await root.withChild((child) => child.withChild(async () => undefined));
    expect(getEventListeners(root.signal, 'abort')).toHaveLength(0);
    root.release();
  });
});
