import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type * as validator from '../../agent/act/act-validator';
import { validateAct } from '../../agent/act/act-validator';
import { childEnvironment, parseCliArgs, runCli, type CliIo } from '../../agent/act/cli';
import { actYaml, waitUntil } from './act-test-host';

// Counts validations (the calls go through to the real validator).
vi.mock('../../agent/act/act-validator', async (importOriginal) => {
  const original = await importOriginal<typeof validator>();
  return { ...original, validateAct: vi.fn(original.validateAct) };
});

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
    // Without the flag, the individual variable wins over the JSON, whatever the case of its key.
    expect(parseCliArgs(['run', 'x.act'], { ACT_INPUT_INPUT_NAME: 'env', ACT_INPUT_INPUTS: '{"name":"json"}' }, '/')).toMatchObject({ ok: true, options: { inputs: { name: 'env' } } });
  });

  it('exits with the graph exit code and shows the failing node', async () => {
    const cli = io();
    expect(await runCli(['run', join(GRAPHS, 'fails.act')], cli)).toBe(3);
    expect(cli.err.join('')).toContain('[build] node build (core/run@v1) failed: exit code 3');
  });

  it('validates the graph once per run', async () => {
    vi.mocked(validateAct).mockClear();
    expect(await runCli(['run', join(GRAPHS, 'hello.act'), '--input', 'name=Ada'], io())).toBe(0);
    expect(validateAct).toHaveBeenCalledTimes(1);
  });

  it('exits 2 with the problem list for an invalid graph', async () => {
    const cli = io();
    expect(await runCli(['run', join(GRAPHS, 'unknown-node.act')], cli)).toBe(2);
    expect(cli.err.join('')).toMatch(/node teleport: unknown node type core\/teleport@v1/);
    expect(cli.out).toEqual([]);
  });

  it('exits 2 with one sentence for bad flags, files and environment', async () => {
    for (const argv of [['run'], ['launch', 'x.act'], ['run', 'x.act', '--bogus'], ['run', 'x.act', '--input'], ['run', 'x.act', '--input', 'novalue'], ['run', 'x.act', '--concurrency', 'maybe'], ['run', join(GRAPHS, 'nope.act')], ['run', join(GRAPHS, 'hello.act'), '--workdir', '/does/not/exist'], ['validate'], ['run', 'x.act', '--config-file', '/dev/null/x']]) {
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
    const env = childEnvironment({ A: '1', ACT_INPUT_SECRET_X: 's', ACT_INPUT_SECRETS: '{}', ACT_INPUT_INPUT_Y: 'i' });
    expect(env).toEqual({ A: '1', ACT_INPUT_INPUT_Y: 'i' });
  });

  it('exits 130 when cancelled', async () => {
    const controller = new AbortController();
    const cli = io({}, controller.signal);
    const file = join(cli.cwd, 'slow.act');
    writeFileSync(file, actYaml([{ id: 'r', type: 'core/run@v1', inputs: { script: 'echo started; sleep 30' } }], [['start.exec', 'r.exec']]));
    const running = runCli(['run', file], cli);
    await waitUntil(() => cli.out.join('').includes('started'), 30_000);
    controller.abort();
    expect(await running).toBe(130);
  });

  it('passes the arguments after -- (or after the file, actrun style) to the start node', async () => {
    const cli = io();
    const file = join(cli.cwd, 'args.act');
    writeFileSync(
      file,
      actYaml([{ id: 'p', type: 'core/print@v1', inputs: { 'values[0]': null } }], [['start.exec', 'p.exec']], [['start.args', 'p.values[0]']]),
    );
    expect(await runCli(['run', file, '--', 'one', '--two'], cli)).toBe(0);
    expect(cli.out).toEqual(['[p] [one --two]\n']);
    const bare = io();
    bare.cwd = cli.cwd;
    expect(await runCli([file, 'x', '--y'], bare)).toBe(0);
    expect(bare.out).toEqual(['[p] [x --y]\n']);
  });

  it('validate lists every problem and exits 2, or says the graph is valid', async () => {
    const bad = io();
    expect(await runCli(['validate', join(GRAPHS, 'unknown-node.act')], bad)).toBe(2);
    expect(bad.err.join('')).toMatch(/unknown-node\.act: The graph cannot run; it has 1 problem:\n {2}- node teleport: unknown node type core\/teleport@v1/);
    const good = io();
    expect(await runCli(['validate', join(GRAPHS, 'concurrent.act')], good)).toBe(0);
    expect(good.out.join('')).toContain('concurrent.act: the graph is valid.');
    // ACT_GRAPH_FILE stands in for the file, as for actrun.
    const fromEnv = io({ ACT_GRAPH_FILE: join(GRAPHS, 'hello.act') });
    expect(await runCli(['validate'], fromEnv)).toBe(0);
  });

  it('reads .env files (the shell wins) and .actconfig files (the lowest precedence)', async () => {
    const cli = io({ ACT_INPUT_INPUT_NAME: 'Shell' });
    writeFileSync(join(cli.cwd, '.env'), 'ACT_INPUT_INPUT_NAME=DotEnv\nACT_INPUT_SECRET_DEPLOY_TOKEN="dotenv-secret"\n# a comment\n');
    writeFileSync(join(cli.cwd, 'run.actconfig'), 'inputs:\n  name: Config\nsecrets:\n  DEPLOY_TOKEN: config-secret\nenv:\n  STAGE: from-config\n');
    expect(await runCli(['run', join(GRAPHS, 'hello.act'), '--env-file', '.env', '--config-file', 'run.actconfig'], cli)).toBe(0);
    expect(cli.out.join('')).toContain('hello from Shell');
    const secret = io();
    writeFileSync(join(secret.cwd, '.env'), 'ACT_INPUT_SECRET_DEPLOY_TOKEN=dotenv-secret\n');
    writeFileSync(join(secret.cwd, 'run.actconfig'), 'secrets:\n  DEPLOY_TOKEN: config-secret\n');
    const file = join(secret.cwd, 'tok.act');
    writeFileSync(file, actYaml([{ id: 'r', type: 'core/run@v1', inputs: { script: 'echo "${{ secrets.DEPLOY_TOKEN }}" | rev; echo "$STAGE"' } }], [['start.exec', 'r.exec']]));
    writeFileSync(join(secret.cwd, 'env.actconfig'), 'env:\n  STAGE: from-config\n');
    expect(await runCli(['run', file, '--env_file=.env', '--config_file=run.actconfig'], secret)).toBe(0);
    expect(secret.out.join('')).toBe('[r] terces-vnetod\n[r] \n');
    const withEnv = io();
    withEnv.cwd = secret.cwd;
    expect(await runCli(['run', file, '--config-file', 'env.actconfig'], withEnv)).toBe(0);
    expect(withEnv.out.join('')).toBe('[r] \n[r] from-config\n');
  });

  it('refuses a YAML file given as --env-file, and "=" in an .actconfig key, in one sentence', async () => {
    const cli = io();
    writeFileSync(join(cli.cwd, 'wrong.yml'), 'inputs:\n  name: x\n');
    expect(await runCli(['run', join(GRAPHS, 'hello.act'), '--env-file', 'wrong.yml'], cli)).toBe(2);
    expect(cli.err[0]).toMatch(/looks like a YAML file, but --env-file takes a \.env file/);
    const eq = io();
    writeFileSync(join(eq.cwd, 'bad.actconfig'), 'env:\n  MY_VAR=foo\n');
    expect(await runCli(['run', join(GRAPHS, 'hello.act'), '--config-file', 'bad.actconfig'], eq)).toBe(2);
    expect(eq.err[0]).toMatch(/uses '=' in key 'env'; write 'NAME: value'/);
  });

  it('--concurrency false runs concurrent paths one after another', async () => {
    const cli = io();
    const file = join(cli.cwd, 'conc.act');
    // Run at once, each path sees the other start (the 30 s budget only bounds a broken build). One after
    // another, each path finds the other either not started or finished, never running.
    const path = (self: string, other: string): string =>
      `touch ${self}; if [ "$CONCURRENT" = true ]; then for i in $(seq 1500); do [ -e ${other} ] && { echo met; break; }; sleep 0.02; done; ` +
      `elif [ -e ${other} ] && [ ! -e ${other}-done ]; then echo overlap; fi; touch ${self}-done`;
    writeFileSync(
      file,
      actYaml(
        [
          { id: 'fan', type: 'core/concurrent-exec@v1', outputs: { 'exec[0]': '', 'exec[1]': '' } },
          { id: 'a', type: 'core/run@v1', inputs: { script: path('a', 'b') } },
          { id: 'b', type: 'core/run@v1', inputs: { script: path('b', 'a') } },
        ],
        [['start.exec', 'fan.exec'], ['fan.exec[0]', 'a.exec'], ['fan.exec[1]', 'b.exec']],
      ),
    );
    const concurrent = io({ CONCURRENT: 'true' });
    concurrent.cwd = mkdtempSync(join(tmpdir(), 'act-conc-'));
    expect(await runCli(['run', file], concurrent)).toBe(0);
    expect([...concurrent.out].sort()).toEqual(['[a] met\n', '[b] met\n']);
    const sequential = io({ ACT_CONCURRENCY: 'false' });
    sequential.cwd = mkdtempSync(join(tmpdir(), 'act-seq-'));
    expect(await runCli(['run', file], sequential)).toBe(0);
    expect(sequential.out).toEqual([]);
  });
});
