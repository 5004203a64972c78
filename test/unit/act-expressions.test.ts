// `${{ }}` expressions: results checked against the reference engine's (running the same expressions
// through both engines gave the same text, except where noted).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateText, expressionProblems, splitExpressions, type ExpressionContext } from '../../agent/act/act-expressions';
import { lookupSecret } from '../../agent/act/act-run-state';

function context(overrides: Partial<ExpressionContext> = {}): ExpressionContext {
  const secrets = overrides.secrets ?? { TOKEN: 's3cr3t', lower_case: 'lc' };
  return {
    input: async (name) => ({ name: 'Bob' })[name],
    env: { HOME_X: 'hx' },
    secrets,
    // The run's own rule (RunState.secret), not a copy of it.
    secret: (name) => lookupSecret(secrets, name),
    matrix: { os: 'linux' },
    github: {},
    needs: {},
    runner: { os: 'linux', arch: 'X64' },
    workDir: '/nonexistent',
    ...overrides,
  };
}

const text = async (expression: string, ctx = context()): Promise<unknown> => evaluateText(`[\${{ ${expression} }}]`, ctx);

describe('expressions', () => {
  it('compares as GitHub does: strings ignore case, mixed types become numbers', async () => {
    const cases: Array<[string, string]> = [
      ['1 == 1', 'true'],
      ["'a' == 'A'", 'true'],
      ["'abc' < 'ABD'", 'true'],
      ["1 < '2'", 'true'],
      ['null == 0', 'true'],
      ['true == 1', 'true'],
      ["'' == 0", 'true'],
      ["'x' == 0", 'false'],
      ["!''", 'true'],
      ['!0', 'true'],
    ];
    for (const [expression, expected] of cases) expect(await text(expression), expression).toBe(`[${expected}]`);
  });

  it('&& and || return an operand, not a bool', async () => {
    expect(await text("1 && 'x'")).toBe('[x]');
    expect(await text("0 || 'fallback'")).toBe('[fallback]');
  });

  it('functions: contains, startsWith/endsWith (case-sensitive, as in the reference), format, join, toJSON, fromJSON', async () => {
    expect(await text("contains('Hello', 'ell')")).toBe('[true]');
    expect(await text("contains(fromJSON('[1,2,3]'), 2)")).toBe('[true]');
    expect(await text("startsWith('Hello', 'he')")).toBe('[false]');
    expect(await text("endsWith('Hello', 'llo')")).toBe('[true]');
    expect(await text("format('{0}-{1}', 'a', 2)")).toBe('[a-2]');
    expect(await text('join(fromJSON(\'["a","b"]\'), \'+\')')).toBe('[a+b]');
    expect(await text('toJSON(fromJSON(\'{"a":1}\'))')).toBe('[{\n  "a": 1\n}]');
    // `.*` takes the values of a map; on a list the reference yields an empty list (GitHub would filter).
    expect(await text("fromJSON('{\"b\":2,\"a\":1}').*")).toBe('[[1 2]]');
    expect(await text("fromJSON('[{\"n\":1},{\"n\":2}]').*.n")).toBe('[[]]');
    expect(await text('success()')).toBe('[true]');
    expect(await text("hashFiles('nothing*')")).toBe('[]');
  });

  it('contexts: inputs and property names ignore case, env keeps it, secrets are upper-cased first', async () => {
    expect(await text('inputs.name')).toBe('[Bob]');
    expect(await text('inputs.NAME')).toBe('[Bob]');
    expect(await text('env.HOME_X')).toBe('[hx]');
    expect(await text('env.home_x')).toBe('[]');
    expect(await text('secrets.token')).toBe('[s3cr3t]');
    // Not found under its upper-case name, so the lookup ignores case (a Bellows addition).
    expect(await text('secrets.lower_case')).toBe('[lc]');
    expect(await text("fromJSON('{\"A\":1}').a")).toBe('[1]');
    expect(await text('matrix.os')).toBe('[linux]');
    expect(await text('runner.os')).toBe('[linux]');
    expect(await text('github.sha')).toBe('[]');
    // The reference cannot index inputs (an error there); Bellows reads it like inputs.name.
    expect(await text("inputs['name']")).toBe('[Bob]');
  });

  it('numbers print as Go prints them: shortest form, exponent from 1e6 on for fractions', async () => {
    expect(await text('1.5')).toBe('[1.5]');
    expect(await text('0xff')).toBe('[255]');
    expect(await text('1e3')).toBe('[1000]');
    expect(await text("format('{0}', fromJSON('1234567.5'))")).toBe('[1.2345675e+06]');
    // The reference prints this float64 as 1e+06; JS cannot tell it from the integer 1000000.
    expect(await text("format('{0}', fromJSON('1000000'))")).toBe('[1000000]');
  });

  it('a whole-value expression keeps its type; a missing value adds nothing to text', async () => {
    expect(await evaluateText('${{ 1 == 1 }}', context())).toBe(true);
    expect(await evaluateText("${{ fromJSON('[1]') }}", context())).toEqual([1]);
    expect(await evaluateText('a${{ inputs.nobody }}b', context())).toBe('ab');
    expect(await evaluateText('no expressions', context())).toBe('no expressions');
  });

  it('data that looks like a context is data: a parsed {"proxy": …} map reads no secret, and a context named alone is its map', async () => {
    // A map from fromJSON once passed for the internal marker of the secrets context.
    expect(await text('fromJSON(\'{"proxy":"secrets"}\').token')).toBe('[]');
    expect(await text('fromJSON(\'{"proxy":"secrets"}\')[\'token\']')).toBe('[]');
    expect(await evaluateText('${{ fromJSON(\'{"proxy":"env"}\') }}', context())).toEqual({ proxy: 'env' });
    expect(await text('fromJSON(\'{"proxy":"env"}\').proxy')).toBe('[env]');
    // A context on its own is its contents, never the marker object.
    expect(await evaluateText('${{ env }}', context())).toEqual({ HOME_X: 'hx' });
    expect(await evaluateText('${{ matrix }}', context())).toEqual({ os: 'linux' });
    expect(await text('env')).toBe('[map[HOME_X:hx]]');
    expect(await evaluateText('${{ inputs }}', context())).toEqual({});
    expect(await text('inputs == inputs')).toBe('[true]');
    expect(await text("toJSON(env) == toJSON(fromJSON('{\"HOME_X\":\"hx\"}'))")).toBe('[true]');
  });

  it('secrets: the upper-case name first (as the reference), then the exact name, then ignoring case; one rule for every reader', async () => {
    const secrets = { TOKEN: 'upper', token: 'exact', Mixed: 'mixed' };
    const ctx = context({ secrets });
    expect(await text('secrets.token', ctx)).toBe('[upper]');
    expect(await text("secrets['token']", ctx)).toBe('[upper]');
    expect(await text('secrets.mixed', ctx)).toBe('[mixed]');
    // secret-get, secret inputs and secretNamed use the same lookup.
    expect(lookupSecret(secrets, 'token')).toBe('upper');
    expect(lookupSecret({ token: 'exact', Token: 'other' }, 'Token')).toBe('other');
    expect(lookupSecret({ token: 'exact', Token: 'other' }, 'TOKEN')).toBe('exact');
    expect(lookupSecret(secrets, 'nope')).toBeUndefined();
  });

  it('reports a missing secret once per lookup to the caller', async () => {
    const missing: string[] = [];
    expect(await text('secrets.NOPE', context({ onMissingSecret: (name) => missing.push(name) }))).toBe('[]');
    expect(missing).toEqual(['NOPE']);
  });

  it('hashFiles hashes matching files relative to the work directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'act-hash-'));
    writeFileSync(join(dir, 'a.txt'), 'a');
    writeFileSync(join(dir, 'b.txt'), 'b');
    const one = await text("hashFiles('*.txt')", context({ workDir: dir }));
    // sha256 of "ab": the files in sorted order, concatenated.
    expect(one).toBe('[fb8e20fc2e4c3f248c60c39bd652f3c1347298bb977b8b4d5903b85055620603]');
  });

  it('syntax problems are found before running; an unclosed ${{ is one', () => {
    expect(expressionProblems('${{ 3/2 }}')).toEqual(['${{ 3/2 }}: unexpected character "/" at 2']);
    expect(expressionProblems('${{ inputs.x ')).toEqual(['unclosed expression starting at 0']);
    expect(expressionProblems('${{ inputs.x }} and ${{ env.Y }}')).toEqual([]);
    expect(splitExpressions('a${{ b }}c')).toEqual([{ text: 'a' }, { body: ' b ', start: 1 }, { text: 'c' }]);
  });
});

describe('the needs context', () => {
  it('reads a needed job\'s outputs, names matched either way round, missing ones empty', async () => {
    const ctx = context({ needs: { build: { outputs: { version: '1.2.3', notes: 'a\nb' } } } });
    expect(await text('needs.build.outputs.version', ctx)).toBe('[1.2.3]');
    expect(await text('needs.BUILD.outputs.notes', ctx)).toBe('[a\nb]');
    expect(await text("needs['build'].outputs['version']", ctx)).toBe('[1.2.3]');
    expect(await text('needs.build.outputs.missing', ctx)).toBe('[]');
    expect(await text('needs.other.outputs.version', ctx)).toBe('[]');
    expect(await text('toJSON(needs.build.outputs)', ctx)).toContain('"version": "1.2.3"');
  });
});
