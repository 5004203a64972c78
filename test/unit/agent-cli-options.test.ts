import { describe, expect, it } from 'vitest';
import { parseCliOptions, parseLabels, USAGE } from '../../agent/cli-options';
import { buildJobEnvironment, envKey } from '../../agent/job-environment';

describe('parseCliOptions', () => {
  it('reads flags, falling back to the environment', () => {
    const result = parseCliOptions(['--url', 'http://localhost:3000/', '--labels', 'os=linux, arch=x64', '--once'], {
      BELLOWS_AGENT_TOKEN: 'tok',
      BELLOWS_AGENT_NAME: 'build-1',
      BELLOWS_AGENT_CANCEL_GRACE_MS: '250',
    });
    expect(result).toMatchObject({
      ok: true,
      options: { url: 'http://localhost:3000', token: 'tok', labels: ['os=linux', 'arch=x64'], name: 'build-1', once: true, cancelGraceMs: 250 },
    });
    if (result.ok) expect(result.options.workDir).toMatch(/bellows-agent-build-1$/);
  });

  it.each([
    [[], {}, /Missing server URL/],
    [['--url', 'ftp://x'], { BELLOWS_AGENT_TOKEN: 't' }, /Invalid server URL/],
    [['--url', 'http://x'], {}, /Missing registration token/],
    [['--url', 'http://x', '--token', 't', '--labels', 'a b'], {}, /Invalid label/],
    [['--url', 'http://x', '--token', 't', '--bogus'], {}, /Unknown option/],
    // Names and labels the API would refuse at registration are refused here, before any request.
    [['--url', 'http://x', '--token', 't', '--name', 'build@1'], {}, /Invalid agent name/],
    [['--url', 'http://x', '--token', 't', '--name=.build'], {}, /Invalid agent name/],
    [['--url', 'http://x', '--token', 't', '--name', 'b'.repeat(101)], {}, /Invalid agent name/],
    [['--url', 'http://x', '--token', 't', '--labels', `${'n'.repeat(65)}=1`], {}, /Invalid label/],
    [['--url', 'http://x', '--token', 't', '--labels', Array.from({ length: 101 }, (_, i) => `l${i}`).join(',')], {}, /Too many labels/],
  ])('rejects %j with one clear sentence', (argv, env, message) => {
    const result = parseCliOptions(argv, env);
    expect(result.ok).toBe(false);
    if (!result.ok && 'message' in result) {
      expect(result.message).toMatch(message);
      expect(result.message).not.toContain('\n');
    }
  });

  it('hands jobs back on the first stop unless asked to drain (--drain or BELLOWS_AGENT_DRAIN=1)', () => {
    const base = ['--url', 'http://x', '--token', 't'];
    expect(parseCliOptions(base, {})).toMatchObject({ ok: true, options: { drain: false } });
    expect(parseCliOptions([...base, '--drain'], {})).toMatchObject({ ok: true, options: { drain: true } });
    expect(parseCliOptions(base, { BELLOWS_AGENT_DRAIN: '1' })).toMatchObject({ ok: true, options: { drain: true } });
    expect(parseCliOptions(base, { BELLOWS_AGENT_DRAIN: '0' })).toMatchObject({ ok: true, options: { drain: false } });
    expect(USAGE).toContain('--drain');
  });

  it('never echoes the token in error messages', () => {
    const result = parseCliOptions(['--url', 'nope', '--token', 'very-secret-token'], {});
    expect(JSON.stringify(result)).not.toContain('very-secret-token');
  });

  it('parses labels', () => {
    expect(parseLabels('os=linux,,gpu,os=linux')).toEqual(['os=linux', 'gpu']);
    // What the API accepts (names with `/`, values with any non-space characters) the agent accepts too.
    expect(parseLabels('team/web=a@b#1,gpu.count=2')).toEqual(['team/web=a@b#1', 'gpu.count=2']);
  });
});

describe('buildJobEnvironment', () => {
  it('names variables as documented and lets Bellows variables win', () => {
    expect(envKey('node-version')).toBe('NODE_VERSION');
    const env = buildJobEnvironment({
      serverUrl: 'http://api',
      workspaceDir: '/tmp/w',
      artifactsDir: '/tmp/a',
      outputFile: '/tmp/o',
      agentEnv: { PATH: '/bin', BELLOWS_AGENT_TOKEN: 'tok' },
      job: {
        job: { id: 1, name: 'j', try: 2, labels: [], timeoutMinutes: 0 },
        run: { id: 3, number: 4, attempt: 5, project: 'p', pipeline: 'ci', ref: 'main', commitSha: null },
        pipeline: { kind: 'script', content: '', version: 1, path: null },
        repository: null,
        inputs: { a: '1' },
        env: { BELLOWS_JOB_ID: 'spoofed', FOO: 'bar' },
        secrets: { key: 'value' },
        matrix: { os: 'linux' },
      },
    });
    expect(env).toMatchObject({
      PATH: '/bin',
      FOO: 'bar',
      BELLOWS_JOB_ID: '1',
      BELLOWS_TRY: '2',
      BELLOWS_ATTEMPT: '5',
      BELLOWS_COMMIT_SHA: '',
      BELLOWS_ARTIFACTS_DIR: '/tmp/a',
      CI: 'true',
      MATRIX_OS: 'linux',
      ACT_INPUT_INPUT_A: '1',
      ACT_INPUT_INPUTS: '{"a":"1"}',
      ACT_INPUT_SECRET_KEY: 'value',
      ACT_INPUT_SECRETS: '{"key":"value"}',
    });
    expect(env.BELLOWS_AGENT_TOKEN).toBeUndefined();
    expect(env.key).toBeUndefined();
  });
});
