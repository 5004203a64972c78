import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { actYaml, fakeHost, runText, type FakeHost, type TestEdge, type TestNode } from './act-test-host';

/** Runs start → print(values[0] ← node.port) and returns what print printed. */
async function evaluate(nodes: TestNode[], source: string, host: FakeHost = fakeHost(), connections: TestEdge[] = []): Promise<string> {
  const text = actYaml([...nodes, { id: 'out', type: 'core/print@v1' }], [['start.exec', 'out.exec']], [[source, 'out.values[0]'], ...connections]);
  const result = await runText(text, host);
  expect(result, host.text()).toEqual({ status: 'succeeded', exitCode: 0 });
  return host.text('out').replace(/\n$/, '');
}

const one = (type: string, inputs: Record<string, unknown>): TestNode[] => [{ id: 'n', type, inputs }];

describe('data nodes', () => {
  it('const-string, const-number, const-bool', async () => {
    expect(await evaluate(one('core/const-string@v1', { value: 'abc' }), 'n.result')).toBe('abc');
    expect(await evaluate(one('core/const-number@v1', { value: 4.5 }), 'n.result')).toBe('4.5');
    expect(await evaluate(one('core/const-bool@v1', { value: 'true' }), 'n.result')).toBe('true');
    expect(await evaluate(one('core/const-bool@v1', {}), 'n.result')).toBe('false');
  });

  it('string-fmt handles %s %v %d %%, and marks missing substitutes', async () => {
    const inputs = { fmt: '%s|%v|%d|100%%|%s', 'substitutes[0]': 'a', 'substitutes[1]': 2, 'substitutes[2]': '7.9' };
    expect(await evaluate(one('core/string-fmt@v1', inputs), 'n.result')).toBe('a|2|7|100%|%!s(MISSING)');
  });

  it('string-match supports every op', async () => {
    const cases: Array<[string, string, string, string]> = [
      ['contains', 'hello world', 'lo w', 'true'],
      ['notcontains', 'hello', 'xyz', 'true'],
      ['startswith', 'hello', 'he', 'true'],
      ['endswith', 'hello', 'he', 'false'],
      ['equals', 'hello', 'hello', 'true'],
      ['regex', 'v1.2.3', '^v\\d+\\.\\d+', 'true'],
    ];
    for (const [op, str1, str2, expected] of cases) expect(await evaluate(one('core/string-match@v1', { op, str1, str2 }), 'n.result'), op).toBe(expected);
  });

  it('env-get reads the host env; missing is empty', async () => {
    const host = fakeHost();
    host.env.COLOUR = 'teal';
    expect(await evaluate(one('core/env-get@v1', { env: 'COLOUR' }), 'n.env', host)).toBe('teal');
    expect(await evaluate(one('core/env-get@v1', { env: 'NOT_SET_ANYWHERE' }), 'n.env')).toBe('');
  });

  it('env-array and secret (with prefix) feed a run node environment', async () => {
    const host = fakeHost({ secrets: { api_key: 'k-123456' } });
    const text = actYaml(
      [
        { id: 'vars', type: 'core/env-array@v1', inputs: { 'env[0]': 'A=${{ env.HOME }}-x', 'env[1]': 'B=two', 'env[2]': '' } },
        { id: 'key', type: 'core/secret@v1', inputs: { name: 'API_KEY', prefix: 'KEY=' } },
        { id: 'r1', type: 'core/run@v1', inputs: { script: 'echo "$A $B"' } },
        { id: 'r2', type: 'core/run@v1', inputs: { script: 'echo "key=$KEY"' } },
      ],
      [
        ['start.exec', 'r1.exec'],
        ['r1.exec-success', 'r2.exec'],
      ],
      [
        ['vars.env', 'r1.env'],
        ['key.secret', 'r2.env[0]'],
      ],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text('r1')).toBe(`${host.env.HOME}-x two\n`);
    expect(host.text('r2')).toBe('key=k-123456\n');
  });

  it('math-add, math-compare-op, length, bool-and, bool-or', async () => {
    expect(await evaluate(one('core/math-add@v1', { 'inputs[0]': 1, 'inputs[1]': '2.5', 'inputs[2]': 3 }), 'n.result')).toBe('6.5');
    const compare = async (operator: string, op1: number, op2: number): Promise<string> => evaluate(one('core/math-compare-op@v1', { op1, operator, op2 }), 'n.result');
    expect([await compare('>', 2, 1), await compare('<', 2, 1), await compare('>=', 2, 2), await compare('<=', 3, 2), await compare('==', 2, 2), await compare('!=', 2, 2)]).toEqual([
      'true',
      'false',
      'true',
      'false',
      'true',
      'false',
    ]);
    expect(await evaluate(one('core/length@v1', { input: 'hello' }), 'n.result')).toBe('5');
    expect(await evaluate(one('core/length@v1', { input: [1, 2, 3] }), 'n.result')).toBe('3');
    expect(await evaluate(one('core/length@v1', { input: { a: 1, b: 2 } }), 'n.result')).toBe('2');
    expect(await evaluate(one('core/bool-and@v1', { 'inputs[0]': true, 'inputs[1]': 'false' }), 'n.result')).toBe('false');
    expect(await evaluate(one('core/bool-and@v1', { 'inputs[0]': true, 'inputs[1]': 1 }), 'n.result')).toBe('true');
    expect(await evaluate(one('core/bool-or@v1', { 'inputs[0]': false, 'inputs[1]': true }), 'n.result')).toBe('true');
    expect(await evaluate(one('core/bool-or@v1', {}), 'n.result')).toBe('false');
  });

  it('hash supports sha256 (default), sha1, md5, sha512, sha3_256 and crc32', async () => {
    const digest = (name: string): string => createHash(name).update('abc').digest('hex');
    expect(await evaluate(one('core/hash@v1', { input: 'abc' }), 'n.result')).toBe(digest('sha256'));
    for (const name of ['sha1', 'md5', 'sha512']) expect(await evaluate(one('core/hash@v1', { input: 'abc', algorithm: name }), 'n.result')).toBe(digest(name));
    expect(await evaluate(one('core/hash@v1', { input: 'abc', algorithm: 'sha3_256' }), 'n.result')).toBe(digest('sha3-256'));
    expect(await evaluate(one('core/hash@v1', { input: 'abc', algorithm: 'crc32' }), 'n.result')).toBe('352441c2');
  });

  it('a failing data node fails the node reading it, naming both', async () => {
    const host = fakeHost();
    const text = actYaml(
      [
        { id: 'h', type: 'core/hash@v1', inputs: { input: 'x', algorithm: 'nohash' } },
        { id: 'out', type: 'core/print@v1' },
      ],
      [['start.exec', 'out.exec']],
      [['h.result', 'out.values[0]']],
    );
    const result = await runText(text, host);
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/node out \(core\/print@v1\) failed: input values\[0\]: node h \(core\/hash@v1\): algorithm "nohash" is not supported/);
  });

  it('comment nodes are ignored', async () => {
    const host = fakeHost();
    const text = actYaml([{ id: 'note', type: 'core/comment@v1', inputs: { text: 'hi' } }], []);
    expect(await runText(text, host)).toEqual({ status: 'succeeded', exitCode: 0 });
  });
});

describe('files and artifacts', () => {
  it('file-write then file-read + hash keep binary bytes intact', async () => {
    const host = fakeHost();
    const bytes = Buffer.from([0, 255, 1, 128, 10]);
    writeFileSync(join(host.workDir, 'in.bin'), bytes);
    const text = actYaml(
      [
        { id: 'src', type: 'core/file-read@v1', inputs: { path: 'in.bin' } },
        { id: 'w', type: 'core/file-write@v1', inputs: { path: 'nested/dir/out.bin' } },
        { id: 'back', type: 'core/file-read@v1', inputs: { path: 'nested/dir/out.bin' } },
        { id: 'h', type: 'core/hash@v1' },
        { id: 'out', type: 'core/print@v1' },
      ],
      [
        ['start.exec', 'w.exec'],
        ['w.exec-success', 'out.exec'],
      ],
      [
        ['src.content', 'w.data'],
        ['back.content', 'h.input'],
        ['h.result', 'out.values[0]'],
      ],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(readFileSync(join(host.workDir, 'nested/dir/out.bin'))).toEqual(bytes);
    expect(host.text('out')).toBe(`${createHash('sha256').update(bytes).digest('hex')}\n`);
  });

  it('file-write errors go to exec-err; file-read errors fail the reader', async () => {
    const host = fakeHost();
    const text = actYaml(
      [
        { id: 'w', type: 'core/file-write@v1', inputs: { path: '.', data: 'x' } },
        { id: 'caught', type: 'core/print@v1', inputs: { 'values[0]': 'write failed as expected' } },
        { id: 'missing', type: 'core/file-read@v1', inputs: { path: 'does-not-exist.txt' } },
        { id: 'out', type: 'core/print@v1' },
      ],
      [
        ['start.exec', 'w.exec'],
        ['w.exec-err', 'caught.exec'],
        ['caught.exec', 'out.exec'],
      ],
      [['missing.content', 'out.values[0]']],
    );
    const result = await runText(text, host);
    expect(host.text('caught')).toBe('write failed as expected\n');
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/node out .*node missing \(core\/file-read@v1\): cannot read .*does-not-exist\.txt: ENOENT/);
  });

  it('artifact-download goes through the host; a missing callback is a clear error', async () => {
    const calls: Array<[string, string]> = [];
    const host = fakeHost({
      downloadArtifact: async (name, path) => {
        calls.push([name, path]);
        writeFileSync(path, 'fetched');
      },
    });
    const text = actYaml([{ id: 'dl', type: 'core/artifact-download@v1', inputs: { name: 'report.txt', path: 'in/report.txt' } }], [['start.exec', 'dl.exec']]);
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(calls).toEqual([['report.txt', join(host.workDir, 'in/report.txt')]]);
    expect(readFileSync(join(host.workDir, 'in/report.txt'), 'utf8')).toBe('fetched');

    const bare = fakeHost({ downloadArtifact: undefined, uploadArtifact: undefined });
    const failed = await runText(text, bare);
    expect(failed.error).toMatch(/node dl \(core\/artifact-download@v1\) failed: artifact download is not available here/);
    const up = actYaml([{ id: 'up', type: 'core/artifact-upload@v1', inputs: { name: 'x', path: 'x' } }], [['start.exec', 'up.exec']]);
    expect((await runText(up, bare)).error).toMatch(/artifact upload is not available here/);
  });

  it('artifact-upload of a missing file fails before calling the host', async () => {
    const host = fakeHost();
    const text = actYaml([{ id: 'up', type: 'core/artifact-upload@v1', inputs: { name: 'x', path: 'nope.txt' } }], [['start.exec', 'up.exec']]);
    const result = await runText(text, host);
    expect(result.error).toMatch(/cannot upload .*nope\.txt: ENOENT/);
    expect(host.uploads).toEqual([]);
    expect(existsSync(join(host.workDir, 'nope.txt'))).toBe(false);
  });
});

describe('run, run-exec and print', () => {
  it('runs python with args, and passes stdin', async () => {
    const host = fakeHost();
    const text = actYaml(
      [
        { id: 'py', type: 'core/run@v1', inputs: { shell: 'python', script: 'import sys\nprint("py", sys.argv[1:], sys.stdin.read().strip())', 'args[0]': 'a', 'args[1]': 'b', stdin: 'from-stdin' } },
        { id: 'sh', type: 'core/run@v1', inputs: { script: 'echo "$0 $1 $2"', args: ['x', 'y'] } },
      ],
      [
        ['start.exec', 'py.exec'],
        ['py.exec-success', 'sh.exec'],
      ],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text('py')).toBe("py ['a', 'b'] from-stdin\n");
    expect(host.text('sh')).toBe('bash x y\n');
  });

  it('print option: output captures only, stdout streams only, both does both; exit_code is an output', async () => {
    for (const [mode, streamed, captured] of [
      ['output', '', 'hi\n'],
      ['stdout', 'hi\n', ''],
      ['both', 'hi\n', 'hi\n'],
    ]) {
      const host = fakeHost();
      const text = actYaml(
        [
          { id: 'r', type: 'core/run@v1', inputs: { script: 'echo hi', print: mode } },
          { id: 'show', type: 'core/print@v1' },
        ],
        [
          ['start.exec', 'r.exec'],
          ['r.exec-success', 'show.exec'],
        ],
        [
          ['r.output', 'show.values[0]'],
          ['r.exit_code', 'show.values[1]'],
        ],
      );
      expect((await runText(text, host)).status).toBe('succeeded');
      expect(host.text('r'), mode).toBe(streamed);
      expect(host.text('show'), mode).toBe(`${captured} 0\n`);
    }
  });

  it('the exit code reaches exit_code even on failure, through exec-err', async () => {
    const host = fakeHost();
    const text = actYaml(
      [
        { id: 'r', type: 'core/run@v1', inputs: { script: 'exit 42' } },
        { id: 'show', type: 'core/print@v1' },
      ],
      [
        ['start.exec', 'r.exec'],
        ['r.exec-err', 'show.exec'],
      ],
      [['r.exit_code', 'show.values[0]']],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text('show')).toBe('42\n');
  });

  it('bash runs with -e and pipefail', async () => {
    const host = fakeHost();
    const text = actYaml([{ id: 'r', type: 'core/run@v1', inputs: { script: 'false | true\necho not-reached' } }], [['start.exec', 'r.exec']]);
    const result = await runText(text, host);
    expect(result.status).toBe('failed');
    expect(host.text('r')).not.toContain('not-reached');
  });

  it('pwsh and cmd say clearly when they are not available', async () => {
    const host = fakeHost();
    const text = actYaml([{ id: 'r', type: 'core/run@v1', inputs: { shell: 'cmd', script: 'echo hi' } }], [['start.exec', 'r.exec']]);
    expect((await runText(text, host)).error).toMatch(/node r \(core\/run@v1\) failed: shell cmd is not available on this agent/);
    const pwsh = await runText(text.replace('shell: cmd', 'shell: pwsh'), fakeHost({ env: { PATH: '/nonexistent' } }));
    expect(pwsh.error).toMatch(/shell pwsh is not available on this agent/);
  });

  it('run-exec runs an executable with args; a missing one fails with exit code 127', async () => {
    const host = fakeHost();
    const text = actYaml([{ id: 'e', type: 'core/run-exec@v1', inputs: { path: 'echo', 'args[0]': 'via', 'args[1]': 'exec' } }], [['start.exec', 'e.exec']]);
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text('e')).toBe('via exec\n');
    const missing = await runText(text.replace('path: echo', 'path: ./no-such-binary'), fakeHost());
    expect(missing).toMatchObject({ status: 'failed', exitCode: 127 });
    expect(missing.error).toMatch(/could not start .*no-such-binary/);
  });

  it('print joins values and colours them, or not with no_color', async () => {
    const host = fakeHost();
    const text = actYaml(
      [
        { id: 'plain', type: 'core/print@v1', inputs: { 'values[0]': 'a', 'values[1]': 3, 'values[2]': true } },
        { id: 'red', type: 'core/print@v1', inputs: { color: 'fg_red', 'values[0]': 'alarm' } },
      ],
      [
        ['start.exec', 'plain.exec'],
        ['plain.exec', 'red.exec'],
      ],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text('plain')).toBe('a 3 true\n');
    expect(host.text('red')).toBe('\x1b[31malarm\x1b[0m\n');
  });

  it('keeps line order within a node and flushes a final partial line', async () => {
    const host = fakeHost();
    const text = actYaml([{ id: 'r', type: 'core/run@v1', inputs: { script: 'for i in $(seq 1 200); do echo "line $i"; done; printf "tail-without-newline"' } }], [['start.exec', 'r.exec']]);
    expect((await runText(text, host)).status).toBe('succeeded');
    const lines = host.chunks.filter((chunk) => chunk.node === 'r' && chunk.stream === 'stdout').map((chunk) => chunk.text);
    expect(lines).toHaveLength(201);
    expect(lines.slice(0, 200)).toEqual(Array.from({ length: 200 }, (_, i) => `line ${i + 1}\n`));
    expect(lines[200]).toBe('tail-without-newline');
  });

  it('substitutes inputs, env and secrets expressions in scripts', async () => {
    const host = fakeHost({ inputs: { who: 'Ada' }, secrets: { pw: 'pa55word' } });
    host.env.STAGE = 'qa';
    const text = actYaml([{ id: 'r', type: 'core/run@v1', inputs: { script: 'echo "${{ inputs.who }} ${{env.STAGE}} ${{ secrets.pw }}"' } }], [['start.exec', 'r.exec']]);
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text('r')).toBe('Ada qa pa55word\n');
  });
});
