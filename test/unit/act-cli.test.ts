import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childEnvironment, parseCliArgs, runCli, type CliIo } from '../../agent/act/cli';
import { actYaml } from './act-test-host';

const GRAPHS = '/work/shared/graphs';

function io(environment: NodeJS.ProcessEnv = {}, signal?: AbortSignal): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: { write: (text: string) => out.push(text), isTTY: false },
    stderr: { write: (text: string) => err.push(text), isTTY: false },
    environment: { PATH: process.env.PATH, ...environment },
    cwd: mkdtempSync(join(tmpdir(), 'act-cli-')),
    signal,
  };
}

describe('bellows-act CLI', () => {
  it('runs a graph with --input, prefixing each line with its node id', async () => {
    const cli = io();
    expect(await runCli(['run', join(GRAPHS, 'hello.act'), '--input', 'name=Ada'], cli)).toBe(0);
    expect(cli.out).toContain('[greet] \x1b[32mhello from Ada\x1b[0m\n');
    expect(cli.err).toContain('[greet] to stderr\n');
    expect(cli.out).toContain('[done] \x1b[33mfinished\x1b[0m\n');
  });

  it('colours the prefix dim when asked to (FORCE_COLOR) and masks secrets', async () => {
    const cli = io({ FORCE_COLOR: '1' });
    expect(await runCli(['run', join(GRAPHS, 'secret.act'), '--secret=DEPLOY_TOKEN=tok-abcdef'], cli)).toBe(0);
    expect(cli.out).toEqual(['\x1b[2m[use-secret]\x1b[0m token is ***\n']);
  });

  it('reads inputs and secrets from ACT_INPUT_* variables and JSON', async () => {
    const fromVars = io({ ACT_INPUT_INPUT_NAME: 'Env', ACT_INPUT_SECRET_DEPLOY_TOKEN: 'zzz-secret' });
    expect(await runCli(['run', join(GRAPHS, 'hello.act')], fromVars)).toBe(0);
    expect(fromVars.out.join('')).toContain('hello from Env');
    const fromJson = io({ ACT_INPUT_INPUTS: '{"name":"Json"}', ACT_INPUT_SECRETS: '{"DEPLOY_TOKEN":"json-secret"}' });
    expect(await runCli(['run', join(GRAPHS, 'secret.act')], fromJson)).toBe(0);
    expect(fromJson.out.join('')).toBe('[use-secret] token is ***\n');
    expect(await runCli(['run', join(GRAPHS, 'hello.act')], fromJson)).toBe(0);
    expect(fromJson.out.join('')).toContain('hello from Json');
  });

  it('flags override environment values', () => {
    const parsed = parseCliArgs(['run', 'x.act', '--input', 'name=flag'], { ACT_INPUT_INPUT_NAME: 'env', ACT_INPUT_INPUTS: '{"name":"json","other":1}' }, '/');
    expect(parsed).toMatchObject({ ok: true, options: { inputs: { name: 'flag', other: '1' } } });
  });

  it('exits with the graph exit code and shows the failing node', async () => {
    const cli = io();
    expect(await runCli(['run', join(GRAPHS, 'fails.act')], cli)).toBe(3);
    expect(cli.err.join('')).toContain('[build] node build (core/run@v1) failed: exit code 3');
  });

  it('exits 2 with the problem list for an invalid graph', async () => {
    const cli = io();
    expect(await runCli(['run', join(GRAPHS, 'unknown-node.act')], cli)).toBe(2);
    expect(cli.err.join('')).toMatch(/node teleport: unknown node type core\/teleport@v1/);
    expect(cli.out).toEqual([]);
  });

  it('exits 2 with one sentence for bad flags, files and environment', async () => {
    for (const argv of [['run'], ['launch', 'x.act'], ['run', 'x.act', '--bogus'], ['run', 'x.act', '--input'], ['run', 'x.act', '--input', 'novalue'], ['run', 'a.act', 'b.act'], ['run', join(GRAPHS, 'nope.act')], ['run', join(GRAPHS, 'hello.act'), '--workdir', '/does/not/exist']]) {
      const cli = io();
      expect(await runCli(argv, cli), argv.join(' ')).toBe(2);
      expect(cli.err).toHaveLength(1);
      expect(cli.err[0]).toMatch(/^bellows-act: .+\n$/);
    }
    const badJson = io({ ACT_INPUT_INPUTS: '{oops' });
    expect(await runCli(['run', join(GRAPHS, 'hello.act')], badJson)).toBe(2);
    expect(badJson.err[0]).toBe('bellows-act: ACT_INPUT_INPUTS is not valid JSON\n');
  });

  it('prints usage for --help', async () => {
    const cli = io();
    expect(await runCli(['--help'], cli)).toBe(0);
    expect(cli.out[0]).toMatch(/^usage: bellows-act run/);
  });

  it('uses --workdir and --env for scripts', async () => {
    const cli = io();
    const dir = mkdtempSync(join(tmpdir(), 'act-wd-'));
    const file = join(cli.cwd, 'g.act');
    writeFileSync(file, actYaml([{ id: 'r', type: 'core/run@v1', inputs: { script: 'echo "$(pwd) $STAGE"' } }], [['start.exec', 'r.exec']]));
    expect(await runCli(['run', 'g.act', '--workdir', dir, '--env', 'STAGE=qa'], cli)).toBe(0);
    expect(cli.out).toEqual([`[r] ${dir} qa\n`]);
  });

  it('keeps secret-carrying variables out of child environments', () => {
    const env = childEnvironment({ A: '1', ACT_INPUT_SECRET_X: 's', ACT_INPUT_SECRETS: '{}', ACT_INPUT_INPUT_Y: 'i' }, { B: '2' });
    expect(env).toEqual({ A: '1', ACT_INPUT_INPUT_Y: 'i', B: '2' });
  });

  it('exits 130 when cancelled', async () => {
    const controller = new AbortController();
    const cli = io({}, controller.signal);
    const file = join(cli.cwd, 'slow.act');
    writeFileSync(file, actYaml([{ id: 'r', type: 'core/run@v1', inputs: { script: 'echo started; sleep 30' } }], [['start.exec', 'r.exec']]));
    const running = runCli(['run', file], cli);
    while (!cli.out.join('').includes('started')) await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    expect(await running).toBe(130);
  });
});
