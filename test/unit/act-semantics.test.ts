// The reference engine's semantics where Bellows once differed (issue 10, part 2): one test each.

import { describe, expect, it } from 'vitest';
import { parseAct, validateAct } from '../../agent/act';
import { runCli, type CliIo } from '../../agent/act/cli';
import { actYaml, fakeHost, graphObject, runText, type TestNode } from './act-test-host';
import { stringify } from 'yaml';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const print = (id: string, values: Record<string, unknown> = { 'values[0]': null }): TestNode => ({ id, type: 'core/print@v1', inputs: values });
const run = (id: string, script: string, extra: Record<string, unknown> = {}): TestNode => ({ id, type: 'core/run@v1', inputs: { script, ...extra } });

/** A group whose graph runs `inner` nodes between group-inputs `in` and group-outputs `out`. */
function group(id: string, ports: { inputs: Record<string, unknown>; outputs: Record<string, unknown> }, nodes: TestNode[], executions: [string, string][], connections: [string, string][] = [], inputs: Record<string, unknown> = {}): TestNode {
  const inner = graphObject([{ id: 'in', type: 'core/group-inputs@v1' }, { id: 'out', type: 'core/group-outputs@v1' }, ...nodes], executions, connections, 'in');
  return { id, type: 'core/group@v1', inputs, graph: { ...inner, type: 'group', inputs: ports.inputs, outputs: ports.outputs } };
}

const execPorts = { inputs: { exec: { type: '', index: 0, exec: true } }, outputs: { 'exec-success': { type: '', index: 0, exec: true }, 'exec-err': { type: '', index: 1, exec: true } } };

describe('reference semantics', () => {
  it('an error routed to a group’s exec-err fails the graph when nothing is connected outside, and continues when something is', async () => {
    const failing = group('g', execPorts, [run('boom', 'exit 7')], [
      ['in.exec', 'boom.exec'],
      ['boom.exec-success', 'out.exec-success'],
      ['boom.exec-err', 'out.exec-err'],
    ]);
    const unhandled = fakeHost();
    const result = await runText(actYaml([failing, print('after', { 'values[0]': 'after' })], [['start.exec', 'g.exec'], ['g.exec-success', 'after.exec']]), unhandled);
    expect(result).toMatchObject({ status: 'failed', exitCode: 7 });
    expect(unhandled.text()).toContain('node g (core/group@v1) passed the failure of node g/boom (exit code 7) to its exec output exec-err, which is not connected');
    expect(unhandled.text()).not.toContain('after\n');

    const handled = fakeHost();
    const ok = await runText(actYaml([failing, print('recovered', { 'values[0]': 'recovered' })], [['start.exec', 'g.exec'], ['g.exec-err', 'recovered.exec']]), handled);
    expect(ok.status).toBe('succeeded');
    expect(handled.text('recovered')).toBe('recovered\n');
  });

  it('reading an output of a node that never ran is an error, not a zero value', async () => {
    const host = fakeHost();
    const text = actYaml([run('never', 'echo hi'), print('p')], [['start.exec', 'p.exec']], [['never.output', 'p.values[0]']]);
    const result = await runText(text, host);
    expect(result.status).toBe('failed');
    expect(host.text()).toContain("output port 'output' of node never has no value");
  });

  it('option inputs are trimmed: a shell named by another node’s output with a newline works', async () => {
    const host = fakeHost();
    const text = actYaml(
      [run('pick', 'echo python'), run('py', 'import sys; print("py", sys.version_info[0])')],
      [['start.exec', 'pick.exec'], ['pick.exec-success', 'py.exec']],
      [['pick.output', 'py.shell']],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text('py')).toBe('py 3\n');
  });

  it('run and run-exec trim their arguments, as the reference does', async () => {
    const host = fakeHost();
    const text = actYaml(
      [run('r', 'printf "[%s]" "$@"; echo', { args: ['  a ', 'b\n'] }), { id: 'x', type: 'core/run-exec@v1', inputs: { path: 'printf', args: ['<%s>', '  c  '] } }],
      [['start.exec', 'r.exec'], ['r.exec-success', 'x.exec']],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text('r')).toBe('[a][b]\n');
    // No newline: printf wrote none, and a final partial line is passed on as it is.
    expect(host.text('x')).toBe('<c>');
  });

  it('run sets the encoding environment: PYTHONIOENCODING for python, a UTF-8 locale for bash', async () => {
    const host = fakeHost();
    const text = actYaml(
      [run('py', 'import os; print(os.environ.get("PYTHONIOENCODING"), "é")', { shell: 'python' }), run('sh', 'echo "$LC_ALL $LANG" | grep -qi "utf-8" && echo utf8-locale; locale 2>&1 | grep -c "Cannot set" || true')],
      [['start.exec', 'py.exec'], ['py.exec-success', 'sh.exec']],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text('py')).toBe('utf-8 é\n');
    // The locale exists on this machine (no "cannot set" warnings) and is a UTF-8 one.
    expect(host.text('sh')).toBe('utf8-locale\n0\n');
  });

  it('ACT_INPUT_SECRET_<KEY> wins over the same key in ACT_INPUT_SECRETS, with the key’s case kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'act-secret-'));
    const file = join(dir, 'g.act');
    writeFileSync(file, actYaml([run('r', 'echo "${{ secrets.API_KEY }}" | wc -c')], [['start.exec', 'r.exec']]));
    const out: string[] = [];
    const io: CliIo = {
      stdout: { write: (text: string) => out.push(text) },
      stderr: { write: () => undefined },
      environment: { PATH: process.env.PATH, ACT_INPUT_SECRETS: '{"API_KEY":"from-json-long"}', ACT_INPUT_SECRET_API_KEY: 'from-env' },
      cwd: dir,
    };
    expect(await runCli(['run', file], io)).toBe(0);
    // "from-env\n" is 9 bytes; the JSON value would be 15.
    expect(out.join('')).toBe('[r] 9\n');
  });

  it('inside a group, ${{ inputs.X }} is the group’s input X; a missing input is empty', async () => {
    const ports = { inputs: { exec: { type: '', index: 0, exec: true }, who: { type: 'string', index: 1 } }, outputs: { 'exec-done': { type: '', index: 0, exec: true } } };
    const inner = group('g', ports, [run('say', 'echo "hi ${{ inputs.who }}|${{ inputs.nobody }}|"')], [['in.exec', 'say.exec'], ['say.exec-success', 'out.exec-done']], [], { who: 'group-value' });
    const host = fakeHost({ inputs: { run_input: 'x' } });
    expect(validateAct(parseAct(actYaml([inner], [['start.exec', 'g.exec']])).graph)).toEqual([]);
    expect((await runText(actYaml([inner], [['start.exec', 'g.exec']]), host)).status).toBe('succeeded');
    expect(host.text('g/say')).toBe('hi group-value||\n');
  });

  it('a secret that is not set reads as empty, with one warning however often it is read', async () => {
    const host = fakeHost();
    const text = actYaml(
      [{ id: 'loop', type: 'core/for-loop@v1', inputs: { first_index: 1, last_index: 3 } }, run('r', 'echo "[${{ secrets.NOPE }}]"')],
      [['start.exec', 'loop.exec'], ['loop.exec-body', 'r.exec']],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text('r')).toBe('[]\n[]\n[]\n');
    expect(host.text().match(/secret NOPE is not set/g)).toHaveLength(1);
  });

  it('a comment node’s text is never parsed for expressions', async () => {
    const host = fakeHost();
    const text = actYaml([{ id: 'note', type: 'core/comment@v1', inputs: { markdown: 'write ${{ like this' } }, print('p', { 'values[0]': 'ok' })], [['start.exec', 'p.exec']]);
    expect(validateAct(parseAct(text).graph)).toEqual([]);
    expect((await runText(text, host)).status).toBe('succeeded');
  });

  it('print with several values prints one per line', async () => {
    const host = fakeHost();
    const text = actYaml([print('p', { 'values[0]': 'one', 'values[1]': 2, 'values[2]': true })], [['start.exec', 'p.exec']]);
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text('p')).toBe('one\n2\ntrue\n');
  });

  it('a data cycle through an executed node is allowed; a pure data cycle is not', () => {
    // r reads its own earlier output: a stored value, so nothing is evaluated in a circle.
    const throughExec = actYaml(
      [{ id: 'loop', type: 'core/for-loop@v1', inputs: { first_index: 1, last_index: 2 } }, run('r', 'echo x')],
      [['start.exec', 'loop.exec'], ['loop.exec-body', 'r.exec']],
      [['r.output', 'r.script']],
    );
    expect(validateAct(parseAct(throughExec).graph)).toEqual([]);
    const pure = actYaml(
      [{ id: 'a', type: 'core/env-get@v1' }, { id: 'b', type: 'core/env-get@v1' }],
      [],
      [['a.env', 'b.env'], ['b.env', 'a.env']],
    );
    expect(validateAct(parseAct(pure).graph).map((problem) => problem.message).join('\n')).toContain('data connections form a cycle');
  });

  it('a group whose input and output share an id is refused', () => {
    const clash = group('g', { inputs: { exec: { type: '', index: 0, exec: true }, value: { type: 'string', index: 1 } }, outputs: { value: { type: 'string', index: 0 } } }, [], []);
    const problems = validateAct(parseAct(actYaml([clash], [['start.exec', 'g.exec']])).graph);
    expect(problems).toContainEqual({ node: 'g', message: "the group has an input and an output with the same id 'value'" });
  });

  it('an executed node’s outputs are what it set when it last ran', async () => {
    const host = fakeHost();
    const text = actYaml(
      [{ id: 'loop', type: 'core/for-loop@v1', inputs: { first_index: 1, last_index: 3 } }, print('each'), print('after')],
      [['start.exec', 'loop.exec'], ['loop.exec-body', 'each.exec'], ['loop.exec-completed', 'after.exec']],
      [['loop.index', 'each.values[0]'], ['loop.index', 'after.values[0]']],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text('each')).toBe('1\n2\n3\n');
    expect(host.text('after')).toBe('3\n');
  });

  it('legacy node types without core/ still resolve, and refused types say why before anything runs', async () => {
    const legacy = fakeHost();
    const text = stringify(graphObject([{ id: 'start', type: 'start@v1' }, { id: 'p', type: 'print@v1', inputs: { 'values[0]': 'legacy' } }], [['start.exec', 'p.exec']]));
    expect((await runText(text, legacy)).status).toBe('succeeded');
    expect(legacy.text('p')).toBe('legacy\n');

    const refused = fakeHost();
    const gh = actYaml([{ id: 'co', type: 'github.com/actions/checkout@v4' }, { id: 'llm', type: 'core/llm-prompt@v1' }, run('r', 'echo never')], [['start.exec', 'r.exec']]);
    const result = await runText(gh, refused);
    expect(result.status).toBe('failed');
    expect(refused.text()).toContain('node co: node type github.com/actions/checkout@v4 cannot run on a Bellows agent: it runs a GitHub Action');
    expect(refused.text()).toContain('node llm: node type core/llm-prompt@v1 cannot run on a Bellows agent');
    expect(refused.text()).not.toContain('never');
  });
  it('items of a data node’s list output read in one step come from one evaluation (the node read a stream, readable once)', async () => {
    const host = fakeHost();
    const text = actYaml(
      [
        { id: 'digits', type: 'core/random-stream@v1', inputs: { length: 12, include_numbers: true } },
        { id: 'split', type: 'core/string-match-regex@v1', inputs: { pattern: '^(\\d{6})(\\d{6})$' }, outputs: { 'groups[0]': '', 'groups[1]': '' } },
        print('p', { 'values[0]': null, 'values[1]': null }),
      ],
      [['start.exec', 'p.exec']],
      [['digits.stream', 'split.input'], ['split.groups[0]', 'p.values[0]'], ['split.groups[1]', 'p.values[1]']],
    );
    // Evaluated once per item, the second evaluation found the stream already read: no match, no item 1.
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text('p')).toMatch(/^\d{6}\n\d{6}\n$/);
    expect(host.text()).not.toContain('read more than once');
  });

  it('an item past the end of a list output is the zero value of the item type, as in the reference', async () => {
    const host = fakeHost();
    const text = actYaml(
      [{ id: 'm', type: 'core/string-match-regex@v1', inputs: { input: 'v1', pattern: 'v(\\d)' }, outputs: { 'groups[3]': '' } }, print('p', { 'values[0]': '<', 'values[1]': null, 'values[2]': '>' })],
      [['start.exec', 'p.exec']],
      [['m.groups[3]', 'p.values[1]']],
    );
    const result = await runText(text, host);
    expect(host.text()).not.toContain('failed');
    expect(result.status).toBe('succeeded');
    expect(host.text('p')).toBe('<\n\n>\n');
  });
});
