import { describe, expect, it } from 'vitest';
import { FinishRequest, MAX_OUTPUTS_BYTES } from '../../contract/agent-protocol.contract';
import { buildJobEnvironment, needsEnvName } from '../../agent/job-environment';
import { parseOutputsFile } from '../../agent/job-outputs-file';

describe('parseOutputsFile', () => {
  it('reads KEY=VALUE lines, a later key replacing an earlier one', () => {
    expect(parseOutputsFile('version=1.2.3\nempty=\nurl=http://x/?a=b\n\nversion=1.2.4\n')).toEqual({
      ok: true,
      outputs: { version: '1.2.4', empty: '', url: 'http://x/?a=b' },
    });
  });

  it('reads heredoc values across lines, CRLF too, and keeps = and << inside them', () => {
    const text = 'notes<<EOF\nline 1\nkey=value\nx<<y\n\nEOF\r\nlast=1\r\n';
    expect(parseOutputsFile(text)).toEqual({ ok: true, outputs: { notes: 'line 1\nkey=value\nx<<y\n', last: '1' } });
    expect(parseOutputsFile('a<<END\nEND')).toEqual({ ok: true, outputs: { a: '' } });
    // `=` first: a plain value that happens to hold <<.
    expect(parseOutputsFile('cmd=a<<b\n')).toEqual({ ok: true, outputs: { cmd: 'a<<b' } });
  });

  it('is empty for an empty file', () => {
    expect(parseOutputsFile('')).toEqual({ ok: true, outputs: {} });
  });

  it('names the malformed line', () => {
    expect(parseOutputsFile('a=1\njust text\n')).toEqual({ ok: false, error: '$BELLOWS_OUTPUT line 2: expected KEY=VALUE or KEY<<DELIMITER, got "just text"' });
    expect(parseOutputsFile('=1\n')).toMatchObject({ ok: false, error: expect.stringContaining('line 1: expected KEY=VALUE') });
    expect(parseOutputsFile('a=1\n1abc=2\n')).toEqual({
      ok: false,
      error: '$BELLOWS_OUTPUT line 2: "1abc" is not a valid output name (a letter or underscore, then letters, digits or underscores)',
    });
    expect(parseOutputsFile('my-key=2')).toMatchObject({ ok: false, error: expect.stringContaining('"my-key" is not a valid output name') });
    expect(parseOutputsFile('x=1\nbody<<EOF\nno end\n')).toEqual({ ok: false, error: '$BELLOWS_OUTPUT line 2: body<<EOF is never closed by a line "EOF"' });
    expect(parseOutputsFile('body<<\n')).toEqual({ ok: false, error: '$BELLOWS_OUTPUT line 1: body<< needs a delimiter after <<' });
  });

  it('refuses more than the size cap, saying how much', () => {
    const big = `a=${'x'.repeat(MAX_OUTPUTS_BYTES)}\n`;
    expect(parseOutputsFile(big)).toEqual({ ok: false, error: `$BELLOWS_OUTPUT: the outputs take ${MAX_OUTPUTS_BYTES + 1} bytes, more than the ${MAX_OUTPUTS_BYTES} allowed` });
    expect(parseOutputsFile(`a=${'x'.repeat(MAX_OUTPUTS_BYTES - 1)}`)).toMatchObject({ ok: true });
  });

  it('the server refuses what the parser refuses (same contract rules)', () => {
    expect(FinishRequest.safeParse({ status: 'succeeded', outputs: { ok_1: 'v' } }).success).toBe(true);
    expect(FinishRequest.safeParse({ status: 'succeeded' }).success).toBe(true);
    const badKey = FinishRequest.safeParse({ status: 'succeeded', outputs: { 'bad-key': 'v' } });
    expect(badKey.error?.issues[0]?.message).toContain('each output name must be');
    const tooBig = FinishRequest.safeParse({ status: 'succeeded', outputs: { a: 'é'.repeat(MAX_OUTPUTS_BYTES / 2) } });
    expect(tooBig.error?.issues[0]?.message).toBe(`outputs must be at most ${MAX_OUTPUTS_BYTES} bytes in all`);
  });
});

describe('needsEnvName', () => {
  it('upper-cases the job and key and turns other characters into _', () => {
    expect(needsEnvName('build', 'version')).toBe('NEEDS_BUILD_VERSION');
    expect(needsEnvName('build-linux.x64', 'Out_1')).toBe('NEEDS_BUILD_LINUX_X64_OUT_1');
    expect(needsEnvName('unit tests', 'a')).toBe('NEEDS_UNIT_TESTS_A');
  });

  it('exports needed outputs and $BELLOWS_OUTPUT into the job environment', () => {
    const env = buildJobEnvironment({
      serverUrl: 'http://api',
      workspaceDir: '/tmp/w',
      artifactsDir: '/tmp/a',
      outputFile: '/tmp/j/output',
      agentEnv: { BELLOWS_OUTPUT: '/elsewhere' },
      job: {
        job: { id: 1, name: 'deploy', try: 1, labels: [], timeoutMinutes: 0 },
        run: { id: 3, number: 4, attempt: 1, project: 'p', pipeline: 'ci', ref: 'main', commitSha: null },
        pipeline: { kind: 'script', content: '', version: 1, path: null },
        repository: null,
        inputs: {},
        env: {},
        secrets: {},
        matrix: {},
        needs: { build: { outputs: { version: '1.2', notes: 'a\nb' } } },
      },
    });
    expect(env).toMatchObject({ BELLOWS_OUTPUT: '/tmp/j/output', NEEDS_BUILD_VERSION: '1.2', NEEDS_BUILD_NOTES: 'a\nb' });
  });
});
