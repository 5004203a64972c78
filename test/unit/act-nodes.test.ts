// The core nodes around processes, the environment, secrets and artifacts (other families have their own
// act-nodes-*.test.ts files).

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runProcess } from '../../agent/act/act-process';
import { actYaml, evaluate, fakeHost, runText, waitUntil } from './act-test-host';

describe('environment and secrets', () => {
  it('env-get reads the path’s environment; a missing variable is empty', async () => {
    const host = fakeHost();
    host.env.COLOUR = 'teal';
    expect(await evaluate([{ id: 'n', type: 'core/env-get@v1', inputs: { env: 'COLOUR' } }], 'n.env', { host })).toBe('teal');
    expect(await evaluate([{ id: 'n', type: 'core/env-get@v1', inputs: { env: 'NOT_SET_ANYWHERE' } }], 'n.env')).toBe('');
  });

  it('env-array gives the whole environment with its entries on top, and refuses an entry without =', async () => {
    const host = fakeHost();
    host.env.KEEP = 'kept';
    const text = actYaml(
      [
        { id: 'vars', type: 'core/env-array@v1', inputs: { 'env[0]': 'A=${{ env.KEEP }}-x', 'env[1]': 'B=two' } },
        { id: 'r', type: 'core/run@v1', inputs: { script: 'echo "$A $B $KEEP"' } },
      ],
      [['start.exec', 'r.exec']],
      [['vars.env', 'r.env']],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text('r')).toBe('kept-x two kept\n');
    const bad = fakeHost();
    const result = await runText(text.replace('B=two', 'no-equals'), bad);
    expect(result.status).toBe('failed');
    expect(bad.text()).toContain("expected 'KEY=VALUE', got 'no-equals'");
  });

  it('secret-get (and its old name core/secret) with a prefix feed a run node; a missing one is empty with a warning', async () => {
    const host = fakeHost({ secrets: { API_KEY: 'k-123456' } });
    const text = actYaml(
      [
        { id: 'key', type: 'core/secret@v1', inputs: { name: 'API_KEY', prefix: 'KEY=' } },
        { id: 'none', type: 'core/secret-get@v1', inputs: { name: 'MISSING', prefix: 'NONE=' } },
        { id: 'list', type: 'core/string-array@v1', inputs: { 'inputs[0]': null } },
        { id: 'r', type: 'core/run@v1', inputs: { script: 'echo "key=$KEY"' } },
        { id: 'show', type: 'core/print@v1', inputs: { 'values[0]': null } },
      ],
      [['start.exec', 'r.exec'], ['r.exec-success', 'show.exec']],
      [['key.secret', 'list.inputs[0]'], ['list.array', 'r.env'], ['none.secret', 'show.values[0]']],
    );
    expect((await runText(text, host)).status, host.text()).toBe('succeeded');
    expect(host.text('r')).toBe('key=k-123456\n');
    // As in the reference, a missing secret is empty — prefix and all.
    expect(host.text('show')).toBe('\n');
    expect(host.text()).toContain('warning: secret MISSING is not set; node none reads it as empty');
  });

  it('secret-get and ${{ secrets.NAME }} find a secret by the same rule (upper-case name first)', async () => {
    const host = fakeHost({ secrets: { TOKEN: 'upper', token: 'exact' } });
    const text = actYaml(
      [
        { id: 'get', type: 'core/secret-get@v1', inputs: { name: 'token', prefix: 'T=' } },
        { id: 'list', type: 'core/string-array@v1', inputs: { 'inputs[0]': null } },
        { id: 'r', type: 'core/run@v1', inputs: { script: 'echo "$T ${{ secrets.token }}"' } },
      ],
      [['start.exec', 'r.exec']],
      [['get.secret', 'list.inputs[0]'], ['list.array', 'r.env']],
    );
    expect((await runText(text, host)).status, host.text()).toBe('succeeded');
    expect(host.text('r')).toBe('upper upper\n');
  });

  it('secret-set makes a secret that later nodes read and the host masks from then on', async () => {
    const made: Array<[string, string]> = [];
    const host = fakeHost({ onSecret: (name, value) => made.push([name, value]) });
    const text = actYaml(
      [
        { id: 'set', type: 'core/secret-set@v1', inputs: { name: 'MINTED', value: 'minted-value-42' } },
        { id: 'r', type: 'core/run@v1', inputs: { script: 'echo "${{ secrets.MINTED }}"' } },
      ],
      [['start.exec', 'set.exec'], ['set.exec-success', 'r.exec']],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(made).toEqual([['MINTED', 'minted-value-42']]);
    expect(host.text('r')).toBe('minted-value-42\n');
  });

  it('system-info and the platform and architecture switches describe this machine', async () => {
    expect(await evaluate([{ id: 'n', type: 'core/system-info@v1' }], 'n.platform_string')).toBe('linux');
    expect(await evaluate([{ id: 'n', type: 'core/system-info@v1' }], 'n.is_linux')).toBe('true');
    expect(Number(await evaluate([{ id: 'n', type: 'core/system-info@v1' }], 'n.cpu_count'))).toBeGreaterThan(0);
    const host = fakeHost();
    const text = actYaml(
      [
        { id: 'os', type: 'core/switch-platform@v1' },
        { id: 'arch', type: 'core/switch-arch@v1' },
        { id: 'linux', type: 'core/print@v1', inputs: { 'values[0]': 'on linux' } },
        { id: 'x64', type: 'core/print@v1', inputs: { 'values[0]': 'on x64' } },
        { id: 'arm', type: 'core/print@v1', inputs: { 'values[0]': 'on arm64' } },
      ],
      [['start.exec', 'os.exec'], ['os.exec-linux', 'linux.exec'], ['linux.exec', 'arch.exec'], ['arch.exec-x64', 'x64.exec'], ['arch.exec-arm64', 'arm.exec']],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text()).toBe(`on linux\n${process.arch === 'arm64' ? 'on arm64' : 'on x64'}\n`);
  });
});

describe('run, run-exec and print', () => {
  it('a stdin stream is released when the process exits without reading it (an open file behind it is closed)', async () => {
    // A source that never ends and never fails, like a slow download: only the child's exit can end it.
    const stdin = new Readable({ read: () => undefined });
    const outcome = await runProcess({
      command: 'sh',
      args: ['-c', 'exit 3'],
      cwd: process.cwd(),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdin,
      signal: new AbortController().signal,
      cancelGraceMs: 2000,
      onStdout: () => undefined,
      onStderr: () => undefined,
      onSystem: () => undefined,
    });
    expect(outcome).toMatchObject({ exitCode: 3, cancelled: false });
    // The budget is only a backstop for a broken build; the condition is what is asserted.
    await waitUntil(() => stdin.destroyed, 10_000);
  });

  it('runs a script file with its arguments, python with stdin', async () => {
    const host = fakeHost();
    const text = actYaml(
      [
        { id: 'py', type: 'core/run@v1', inputs: { shell: 'python', script: 'import sys\nprint("py", sys.argv[1:], sys.stdin.read().strip())', args: ['a', 'b'], stdin: 'from-stdin' } },
        { id: 'sh', type: 'core/run@v1', inputs: { script: 'echo "$(basename "$0") $1 $2"', args: ['x', 'y'] } },
      ],
      [['start.exec', 'py.exec'], ['py.exec-success', 'sh.exec']],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text('py')).toBe("py ['a', 'b'] from-stdin\n");
    expect(host.text('sh')).toBe('script x y\n');
  });

  it('print modes: output captures stdout and stderr silently, stdout streams and captures stdout, both does both', async () => {
    for (const [mode, streamed, captured] of [
      ['output', '', 'out\nerr\n'],
      ['stdout', 'out\nerr\n', 'out\n'],
      ['both', 'out\nerr\n', 'out\nerr\n'],
    ]) {
      const host = fakeHost();
      const text = actYaml(
        [
          { id: 'r', type: 'core/run@v1', inputs: { script: 'echo out; sleep 0.05; echo err >&2', print: mode } },
          { id: 'show', type: 'core/print@v1', inputs: { 'values[0]': null, 'values[1]': null } },
        ],
        [['start.exec', 'r.exec'], ['r.exec-success', 'show.exec']],
        [['r.output', 'show.values[0]'], ['r.exit_code', 'show.values[1]']],
      );
      expect((await runText(text, host)).status).toBe('succeeded');
      expect(host.text('r'), mode).toBe(streamed);
      expect(host.text('show'), mode).toBe(`${captured}\n0\n`);
    }
  });

  it('the exit code reaches exit_code even on failure, through exec-err', async () => {
    const host = fakeHost();
    const text = actYaml(
      [{ id: 'r', type: 'core/run@v1', inputs: { script: 'exit 42' } }, { id: 'show', type: 'core/print@v1', inputs: { 'values[0]': null } }],
      [['start.exec', 'r.exec'], ['r.exec-err', 'show.exec']],
      [['r.exit_code', 'show.values[0]']],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text('show')).toBe('42\n');
  });

  it('bash runs with -e and pipefail, and an env entry without = is refused', async () => {
    const host = fakeHost();
    const failing = actYaml([{ id: 'r', type: 'core/run@v1', inputs: { script: 'false | true\necho not-reached' } }], [['start.exec', 'r.exec']]);
    expect((await runText(failing, host)).status).toBe('failed');
    expect(host.text('r')).not.toContain('not-reached');
    const badEnv = fakeHost();
    const result = await runText(actYaml([{ id: 'r', type: 'core/run@v1', inputs: { script: 'echo hi', env: ['NOEQUALS'] } }], [['start.exec', 'r.exec']]), badEnv);
    expect(result.status).toBe('failed');
    expect(badEnv.text()).toContain("invalid env format: 'NOEQUALS'");
  });

  it('pwsh and cmd say clearly when they are not available', async () => {
    const text = actYaml([{ id: 'r', type: 'core/run@v1', inputs: { shell: 'cmd', script: 'echo hi' } }], [['start.exec', 'r.exec']]);
    expect((await runText(text, fakeHost())).error).toMatch(/node r \(core\/run@v1\) failed: shell cmd is not available on this agent/);
    const pwsh = await runText(text.replace('shell: cmd', 'shell: pwsh'), fakeHost({ env: { PATH: '/nonexistent' } }));
    expect(pwsh.error).toMatch(/shell pwsh is not available on this agent/);
  });

  it('run-exec runs an executable with args; a missing one fails with exit code 127', async () => {
    const host = fakeHost();
    const text = actYaml([{ id: 'e', type: 'core/run-exec@v1', inputs: { path: 'echo', args: ['via', 'exec'] } }], [['start.exec', 'e.exec']]);
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text('e')).toBe('via exec\n');
    const missing = await runText(text.replace('path: echo', 'path: ./no-such-binary'), fakeHost());
    expect(missing).toMatchObject({ status: 'failed', exitCode: 127 });
    expect(missing.error).toMatch(/could not start .*no-such-binary/);
  });

  it('print shows each value on its own line, coloured, with streams printed as their text', async () => {
    const host = fakeHost();
    const text = actYaml(
      [
        { id: 'plain', type: 'core/print@v1', inputs: { 'values[0]': 'a', 'values[1]': 3.5, 'values[2]': ['x', 'y'] } },
        { id: 'red', type: 'core/print@v1', inputs: { color: 'fg_red', 'values[0]': 'alarm' } },
        { id: 'odd', type: 'core/print@v1', inputs: { color: 'no-such-colour', 'values[0]': 'uncoloured' } },
        { id: 'stream', type: 'core/print@v1', inputs: { 'values[0]': null } },
      ],
      [['start.exec', 'plain.exec'], ['plain.exec', 'red.exec'], ['red.exec', 'odd.exec'], ['odd.exec', 'stream.exec']],
      [['start.stdin', 'stream.values[0]']],
    );
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text('plain')).toBe('a\n3.5\n[x y]\n');
    expect(host.text('red')).toBe('\x1b[31malarm\x1b[0m\n');
    expect(host.text('odd')).toBe('uncoloured\n');
    expect(host.text('stream')).toBe('\n');
  });

  it('keeps line order within a node and passes a final partial line on as it is', async () => {
    const host = fakeHost();
    const text = actYaml([{ id: 'r', type: 'core/run@v1', inputs: { script: 'for i in $(seq 1 200); do echo "line $i"; done; printf "tail-without-newline"' } }], [['start.exec', 'r.exec']]);
    expect((await runText(text, host)).status).toBe('succeeded');
    const lines = host.chunks.filter((chunk) => chunk.node === 'r' && chunk.stream === 'stdout').map((chunk) => chunk.text);
    expect(lines).toHaveLength(201);
    expect(lines.slice(0, 200)).toEqual(Array.from({ length: 200 }, (_, i) => `line ${i + 1}\n`));
    expect(lines[200]).toBe('tail-without-newline');
  });

  it('substitutes inputs, env and secrets expressions in scripts', async () => {
    const host = fakeHost({ inputs: { who: 'Ada' }, secrets: { PW: 'pa55word' } });
    host.env.STAGE = 'qa';
    const text = actYaml([{ id: 'r', type: 'core/run@v1', inputs: { script: 'echo "${{ inputs.who }} ${{env.STAGE}} ${{ secrets.pw }}"' } }], [['start.exec', 'r.exec']]);
    expect((await runText(text, host)).status).toBe('succeeded');
    expect(host.text('r')).toBe('Ada qa pa55word\n');
  });
});

describe('artifacts', () => {
  it('artifact-upload takes a file path or a data stream; artifact-download gives a path or a stream', async () => {
    const host = fakeHost({
      downloadArtifact: async (name, path, runId) => {
        writeFileSync(path, `fetched ${name}${runId ? ` of run ${runId}` : ''}`);
      },
    });
    writeFileSync(join(host.workDir, 'report.txt'), 'built\n');
    const text = actYaml(
      [
        { id: 'byPath', type: 'core/artifact-upload@v1', inputs: { name: 'report.txt', path: 'report.txt' } },
        { id: 'byData', type: 'core/artifact-upload@v1', inputs: { name: 'made.txt', data: 'made in the graph' } },
        { id: 'toPath', type: 'core/artifact-download@v1', inputs: { name: 'report.txt', path: 'in/report.txt' } },
        { id: 'toData', type: 'core/artifact-download@v1', inputs: { name: 'other.bin', run_id: '7' } },
        { id: 'show', type: 'core/print@v1', inputs: { 'values[0]': null } },
      ],
      [['start.exec', 'byPath.exec'], ['byPath.exec-success', 'byData.exec'], ['byData.exec-success', 'toPath.exec'], ['toPath.exec-success', 'toData.exec'], ['toData.exec-success', 'show.exec']],
      [['toData.data', 'show.values[0]']],
    );
    expect((await runText(text, host)).status, host.text()).toBe('succeeded');
    expect(host.uploads.map(({ name, bytes, sha256 }) => ({ name, bytes, sha256 }))).toEqual([
      { name: 'report.txt', bytes: 6, sha256: createHash('sha256').update('built\n').digest('hex') },
      { name: 'made.txt', bytes: 17, sha256: createHash('sha256').update('made in the graph').digest('hex') },
    ]);
    expect(readFileSync(join(host.workDir, 'in/report.txt'), 'utf8')).toBe('fetched report.txt');
    expect(host.text('show')).toBe('fetched other.bin of run 7\n');
  });

  it('outside a job, artifact nodes fail clearly; a missing file fails before calling the host', async () => {
    const bare = fakeHost({ downloadArtifact: undefined, uploadArtifact: undefined });
    const down = actYaml([{ id: 'dl', type: 'core/artifact-download@v1', inputs: { name: 'r.txt' } }], [['start.exec', 'dl.exec']]);
    expect((await runText(down, bare)).error).toMatch(/node dl \(core\/artifact-download@v1\) failed: artifact download is not available here/);
    const host = fakeHost();
    const up = actYaml([{ id: 'up', type: 'core/artifact-upload@v1', inputs: { name: 'x', path: 'nope.txt' } }], [['start.exec', 'up.exec']]);
    expect((await runText(up, host)).error).toMatch(/cannot upload .*nope\.txt: ENOENT/);
    expect(host.uploads).toEqual([]);
    expect(existsSync(join(host.workDir, 'nope.txt'))).toBe(false);
    const neither = actYaml([{ id: 'up', type: 'core/artifact-upload@v1', inputs: { name: 'x' } }], [['start.exec', 'up.exec']]);
    expect((await runText(neither, fakeHost())).error).toMatch(/needs either input 'data' \(a data stream\) or input 'path'/);
  });

  it('artifact-download opens its file only when its stream is read, and a spooled download is removed when the run ends', async () => {
    // Linux: the files this process has open are the targets of /proc/self/fd.
    const openFiles = (): string[] =>
      readdirSync('/proc/self/fd').flatMap((fd) => {
        try {
          return [readlinkSync(`/proc/self/fd/${fd}`)];
        } catch {
          return [];
        }
      });
    const spooled: string[] = [];
    const host = fakeHost({
      downloadArtifact: async (name, path) => {
        if (!path.startsWith(host.workDir)) spooled.push(path);
        writeFileSync(path, `fetched ${name}`);
      },
    });
    const text = actYaml(
      [
        { id: 'toPath', type: 'core/artifact-download@v1', inputs: { name: 'kept.txt', path: 'kept.txt' } },
        { id: 'toData', type: 'core/artifact-download@v1', inputs: { name: 'unread.bin' } },
      ],
      [['start.exec', 'toPath.exec'], ['toPath.exec-success', 'toData.exec']],
    );
    expect((await runText(text, host)).status, host.text()).toBe('succeeded');
    // Nobody read either stream: neither file was opened (an eager open stayed open after the run).
    expect(openFiles()).not.toContain(join(host.workDir, 'kept.txt'));
    expect(spooled).toHaveLength(1);
    expect(openFiles()).not.toContain(spooled[0]);
    expect(existsSync(spooled[0])).toBe(false);
    expect(readFileSync(join(host.workDir, 'kept.txt'), 'utf8')).toBe('fetched kept.txt');
  });

  it('a stream read a second time warns, in the words every node uses (the runtime gives the warning)', async () => {
    const host = fakeHost({ downloadArtifact: async (name, path) => writeFileSync(path, `fetched ${name}`) });
    const text = actYaml(
      [
        { id: 'dl', type: 'core/artifact-download@v1', inputs: { name: 'once.txt' } },
        { id: 'first', type: 'core/print@v1', inputs: { 'values[0]': null } },
        { id: 'second', type: 'core/print@v1', inputs: { 'values[0]': null } },
      ],
      [['start.exec', 'dl.exec'], ['dl.exec-success', 'first.exec'], ['first.exec', 'second.exec']],
      [['dl.data', 'first.values[0]'], ['dl.data', 'second.values[0]']],
    );
    expect((await runText(text, host)).status, host.text()).toBe('succeeded');
    expect(host.text('first')).toBe('fetched once.txt\n');
    expect(host.text('dl')).toBe('warning: the stream of node dl was read more than once; a stream is readable once, so later readers got nothing (read it through core/stream-cache@v1)\n');
  });
});
