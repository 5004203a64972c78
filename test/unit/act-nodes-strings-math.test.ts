// Strings, maths and logic nodes: each node type's documented behaviour and its edge and error cases.
// Expected values follow the node documentation and what the reference engine (actrun) prints for the
// same graphs; where Bellows deliberately differs (a reference crash or bug) the test says so.

import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { NodeFailure, type NodeContext } from '../../agent/act/act-node-def';
import { DataStream } from '../../agent/act/act-values';
import { goSprintf } from '../../agent/act/nodes/string.nodes';
import { nodeDef } from '../../agent/act';
import { actYaml, fakeHost, runText, type FakeHost, type TestEdge, type TestNode } from './act-test-host';

/** What node `node` printed to stdout (the engine's own messages about it left out). */
const printed = (host: FakeHost, node: string): string =>
  host.chunks
    .filter((chunk) => chunk.node === node && chunk.stream === 'stdout')
    .map((chunk) => chunk.text)
    .join('');

/** Runs start → print(values[0] ← `source`) and returns what print printed (without the final newline). */
async function evaluate(nodes: TestNode[], source: string, connections: TestEdge[] = [], host: FakeHost = fakeHost()): Promise<string> {
  const text = actYaml([...nodes, { id: 'out', type: 'core/print@v1', inputs: { 'values[0]': null } }], [['start.exec', 'out.exec']], [[source, 'out.values[0]'], ...connections]);
  const result = await runText(text, host);
  expect(result, host.text()).toEqual({ status: 'succeeded', exitCode: 0 });
  return printed(host, 'out').replace(/\n$/, '');
}

/** The same graph, expected to fail: returns everything the run reported. */
async function failure(nodes: TestNode[], source: string, connections: TestEdge[] = []): Promise<string> {
  const host = fakeHost();
  const text = actYaml([...nodes, { id: 'out', type: 'core/print@v1', inputs: { 'values[0]': null } }], [['start.exec', 'out.exec']], [[source, 'out.values[0]'], ...connections]);
  const result = await runText(text, host);
  expect(result.status, host.text()).toBe('failed');
  expect(printed(host, 'out')).toBe('');
  return `${result.error ?? ''}\n${host.text()}`;
}

const one = (type: string, inputs: Record<string, unknown>): TestNode[] => [{ id: 'n', type, inputs }];
const value = (type: string, inputs: Record<string, unknown>, port = 'result'): Promise<string> => evaluate(one(type, inputs), `n.${port}`);
const fails = (type: string, inputs: Record<string, unknown>, port = 'result'): Promise<string> => failure(one(type, inputs), `n.${port}`);
/** A const-string node `c` whose result feeds `into` (a value that must not be a literal, e.g. a non-option). */
const fed = (text: string, into: string): { node: TestNode; edge: TestEdge } => ({ node: { id: 'c', type: 'core/const-string@v1', inputs: { value: text } }, edge: ['c.result', into] });

describe('constants', () => {
  it('const-string gives its value as text', async () => {
    expect(await value('core/const-string@v1', { value: 'abc' })).toBe('abc');
    expect(await value('core/const-string@v1', { value: 4.25 })).toBe('4.25');
  });

  it('const-string without a value is empty', async () => {
    expect(await value('core/const-string@v1', {})).toBe('');
  });

  it('const-number is an integer, as the reference reads it', async () => {
    expect(await value('core/const-number@v1', { value: 42 })).toBe('42');
    expect(await value('core/const-number@v1', { value: '12' })).toBe('12');
    expect(await value('core/const-number@v1', { value: 3.5 })).toBe('3');
    expect(await value('core/const-number@v1', {})).toBe('0');
  });

  it('const-number refuses text with a fraction', async () => {
    expect(await fails('core/const-number@v1', { value: '1.5' })).toMatch(/unable to convert string to int at input 'value'.*"1\.5"/);
  });

  it('const-bool is Go truthiness: any non-empty text is true', async () => {
    expect(await value('core/const-bool@v1', { value: true })).toBe('true');
    expect(await value('core/const-bool@v1', { value: 'false' })).toBe('true');
  });

  it('const-bool of empty text, 0 or nothing is false', async () => {
    expect(await value('core/const-bool@v1', { value: '' })).toBe('false');
    expect(await value('core/const-bool@v1', { value: 0 })).toBe('false');
    expect(await value('core/const-bool@v1', {})).toBe('false');
  });
});

describe('string-fmt', () => {
  const fmt = (format: string, ...substitutes: unknown[]): Record<string, unknown> => ({ fmt: format, ...Object.fromEntries(substitutes.map((s, i) => [`substitutes[${i}]`, s])) });

  it('replaces %v placeholders with the substitutes (the documented example)', async () => {
    expect(await value('core/string-fmt@v1', fmt('Hello %v, welcome to %v', 'Alice', 'Wonderland'))).toBe('Hello Alice, welcome to Wonderland');
  });

  it('applies Go widths, precision and the s q x X verbs', async () => {
    // The reference counts 5 verbs here (its check does not see %-5s), so 5 substitutes: %X has none left.
    const inputs = fmt('%5s|%-5s|%.2s|%q|%x|%X|%%', 'ab', 'efgh', 'a"b\n', 'hi', 'hi');
    expect(await value('core/string-fmt@v1', inputs)).toBe('   ab|efgh |a"|"hi"|6869|%!X(MISSING)|%');
    expect(await value('core/string-fmt@v1', fmt('%#v %#x %#q %010s %q', 'x', 'hi', 'ab', 'ab', 'é\u0001\t'))).toBe('"x" 0x6869 `ab` 00000000ab "é\\x01\\t"');
  });

  it('marks verbs that do not fit a string, as Go does', async () => {
    expect(await value('core/string-fmt@v1', fmt('Hello %d', 'A'))).toBe('Hello %!d(string=A)');
    expect(await value('core/string-fmt@v1', fmt('%t %f %6.2f', 'a', 'b', 'ab'))).toBe('%!t(string=a) %!f(string=b) %!f(string=    ab)');
    expect(await value('core/string-fmt@v1', fmt('%v and %', 'A'))).toBe('A and %!(NOVERB)');
  });

  it('substitutes numbers as text and nothing as empty', async () => {
    const nodes: TestNode[] = [
      { id: 'd', type: 'core/math-divide@v1', inputs: { 'inputs[0]': 1, 'inputs[1]': 3 } },
      { id: 'n', type: 'core/string-fmt@v1', inputs: fmt('%v|%s|%v', null, 2.5, null) },
    ];
    expect(await evaluate(nodes, 'n.result', [['d.result', 'n.substitutes[0]']])).toBe('0.3333333333333333|2.5|');
  });

  it('refuses a format whose verb count differs from the number of substitutes', async () => {
    expect(await fails('core/string-fmt@v1', fmt('Hello %v', 'A', 'B'))).toMatch(/format string 'Hello %v' has 1 verb\(s\) but 2 substitute\(s\)/);
    expect(await fails('core/string-fmt@v1', fmt('no verbs', 'A'))).toMatch(/has 0 verb\(s\) but 1 substitute/);
  });

  it('returns the format as it is when there are no substitutes', async () => {
    const { node, edge } = fed('Hi %v 100%', 'n.fmt');
    expect(await evaluate([node, { id: 'n', type: 'core/string-fmt@v1', inputs: {} }], 'n.result', [edge])).toBe('Hi %v 100%');
  });

  it('checks a connected format when it arrives (the reference refuses any connected format with substitutes)', async () => {
    const { node, edge } = fed('Hi %v', 'n.fmt');
    expect(await evaluate([node, { id: 'n', type: 'core/string-fmt@v1', inputs: { 'substitutes[0]': 'A' } }], 'n.result', [edge])).toBe('Hi A');
    const bad = fed('Hi %v %v', 'n.fmt');
    expect(await failure([bad.node, { id: 'n', type: 'core/string-fmt@v1', inputs: { 'substitutes[0]': 'A' } }], 'n.result', [bad.edge])).toMatch(/has 2 verb\(s\) but 1 substitute/);
  });

  it('goSprintf gives what Go’s fmt.Sprintf gives for string arguments (outputs taken from Go)', () => {
    const cases: Array<[string, string[], string]> = [
      ["%5s|%-5s|%.2s|%5.1s", ["abc", "abc", "abc", "abc"], "  abc|abc  |ab|    a"],
      ["%x|%X|% x|%#x|% #x", ["hi", "hi", "hi", "hi", "hi"], "6869|6869|68 69|0x6869|0x68 0x69"],
      ["%#q|%+q|%#+q|%q", ["a`b", "\u00e9", "\u00e9", "\u0007"], "\"a`b\"|\"\\u00e9\"|`\u00e9`|\"\\a\""],
      ["%[2]s %[1]s|%[3]*s", ["a", "b", "5", "x"], "b a|%!(BADWIDTH)x"],
      ["%!|%z|%%|%", ["a", "b"], "%!!(string=a)|%!z(string=b)|%|%!(NOVERB)"],
      ["%*s|%-*s|%.*s", ["3", "a", "3", "b", "1", "cd"], "%!(BADWIDTH)a|%!(BADWIDTH)b|%!(BADPREC)cd"],
      ["%v %v", ["a"], "a %!v(MISSING)"],
      ["%T|%#v|%+v", ["a", "b", "c"], "string|\"b\"|c"],
      ["%6.2f|%p|%w", ["a", "b", "c"], "%!f(string=     a)|%!p(string=b)|%!w(string=c)"],
      ["%[0]s|%[x]s|%[1]", ["a"], "%!s(BADINDEX)|%!s(BADINDEX)|%!(NOVERB)"],
      ["%[2]*[1]s|%[1]*s", ["ab", "4"], "%!(BADWIDTH)ab|%!(BADWIDTH)4"],
      ["%.[2]s|%.*[1]s", ["abc", "2"], "|%!(BADPREC)abc"],
      ["%q", ["a\"b\\c\n\t\u00a0\u200b\ufeff"], "\"a\\\"b\\\\c\\n\\t\\u00a0\\u200b\\ufeff\""],
      ["% x|% X|%# x", ["", "ab", "ab"], "|61 62|0x61 0x62"],
    ];
    for (const [format, args, expected] of cases) expect(goSprintf(format, args), format).toBe(expected);
  });

  it('goSprintf reports Go’s bad-index, bad-width and extra-argument marks', () => {
    expect(goSprintf('%[3]v|%*d|%[1]v', ['a', 'b'])).toBe('%!v(BADINDEX)|%!(BADWIDTH)%!d(string=b)|a');
    expect(goSprintf('%v', ['a', 'b', 'c'])).toBe('a%!(EXTRA string=b, string=c)');
    expect(goSprintf('%+q|%.1x|% X|%-4T|', ['é😀', 'hello', 'ab', 'x'])).toBe('"\\u00e9\\U0001f600"|68|61 62|string|');
  });
});

describe('string-match', () => {
  const match = (op: string, str1: string, str2: string): Promise<string> => value('core/string-match@v1', { op, str1, str2 });

  it('supports every op', async () => {
    expect(await match('contains', 'hello', 'ell')).toBe('true');
    expect(await match('notcontains', 'hello', 'ell')).toBe('false');
    expect(await match('startswith', 'hello', 'he')).toBe('true');
    expect(await match('endswith', 'hello', 'he')).toBe('false');
    expect(await match('equals', 'hello', 'hello')).toBe('true');
    expect(await match('regex', 'hello', '(?i)^H.L')).toBe('true');
    expect(await value('core/string-match@v1', { str1: 'abc', str2: 'b' })).toBe('true');
  });

  it('fails on an invalid regex and on an unknown op', async () => {
    expect(await fails('core/string-match@v1', { op: 'regex', str1: 'hello', str2: '(' })).toMatch(/invalid regex pattern: \(/);
    const { node, edge } = fed('bad', 'n.op');
    expect(await failure([node, { id: 'n', type: 'core/string-match@v1', inputs: { str1: 'a', str2: 'b' } }], 'n.result', [edge])).toMatch(/unknown operation: bad/);
  });
});

describe('string-match-regex', () => {
  it('gives the groups of the first match, empty for a group that took no part', async () => {
    expect(await value('core/string-match-regex@v1', { input: 'v1.2.3', pattern: 'v(\\d+)\\.(\\d+)(x)?' }, 'groups')).toBe('[1 2 ]');
    expect(await value('core/string-match-regex@v1', { input: 'John Smith', pattern: '(?P<first>\\w+) (?<last>\\w+)' }, 'groups')).toBe('[John Smith]');
  });

  it('reads Go syntax: POSIX classes, \\z, and . that matches \\r', async () => {
    expect(await value('core/string-match-regex@v1', { input: 'ab12\r\n', pattern: '([[:alpha:]]+)([[:digit:]]+)(.)\\n\\z' }, 'groups')).toBe('[ab 12 \r]');
    expect(await value('core/string-match-regex@v1', { input: 'a\rb\nc', pattern: '(?m)^(\\w)$' }, 'groups')).toBe('[c]');
  });

  it('an item of the groups can be read by index', async () => {
    const nodes: TestNode[] = [{ id: 'n', type: 'core/string-match-regex@v1', inputs: { input: 'v1.22.3', pattern: 'v(\\d+)\\.(\\d+)' }, outputs: { 'groups[1]': '' } }];
    expect(await evaluate(nodes, 'n.groups[1]')).toBe('22');
  });

  it('no match gives no groups', async () => {
    const nodes: TestNode[] = [...one('core/string-match-regex@v1', { input: 'nothing', pattern: '(\\d+)' }), { id: 'len', type: 'core/length@v1' }];
    expect(await evaluate(nodes, 'len.result', [['n.groups', 'len.input']])).toBe('0');
  });

  it('refuses what Go does not have (lookarounds) and what JS cannot do (partial (?i))', async () => {
    expect(await fails('core/string-match-regex@v1', { input: 'abc', pattern: '(?=b)' }, 'groups')).toMatch(/invalid regex pattern: \(\?=b\) \(lookahead and lookbehind .* not part of Go/);
    expect(await fails('core/string-match-regex@v1', { input: 'aB', pattern: 'a(?i)b' }, 'groups')).toMatch(/case-insensitive matching for only part of a pattern/);
    expect(await fails('core/string-match-regex@v1', { input: 'aa', pattern: '(a)\\1' }, 'groups')).toMatch(/no backreferences/);
  });
});

describe('string-replace', () => {
  it('replaces every occurrence of a plain substring, taking $ literally', async () => {
    expect(await value('core/string-replace@v1', { input: 'a.b.c', substring: '.', replacement: '$&' })).toBe('a$&b$&c');
    expect(await value('core/string-replace@v1', { input: 'abc', substring: '', replacement: '-' })).toBe('-a-b-c-');
  });

  it('replaces regex matches with Go templates and Go’s rule for empty matches', async () => {
    const template = '${last}, $first $1x $$ $9 ${2}';
    expect(await value('core/string-replace@v1', { input: 'John Smith', op: 'regex', substring: '(?P<first>\\w+) (?P<last>\\w+)', replacement: template })).toBe('Smith, John  $  Smith');
    expect(await value('core/string-replace@v1', { input: 'baaac', op: 'regex', substring: 'a*', replacement: 'X' })).toBe('XbXcX');
  });

  it('a pattern compiled once serves later reads, as a replacement (global) and as a match alike', async () => {
    // Twice each: the second round takes the compiled patterns from the cache, and the global regex of
    // the replacement (whose lastIndex a match would otherwise start from) is never used for a match.
    for (let round = 0; round < 2; round++) {
      expect(await value('core/string-replace@v1', { input: 'a1b22', op: 'regex', substring: '(\\d+)', replacement: '<$1>' }), `round ${round}`).toBe('a<1>b<22>');
      expect(await value('core/string-match@v1', { op: 'regex', str1: '9', str2: '(\\d+)' }), `round ${round}`).toBe('true');
      expect(await value('core/string-match-regex@v1', { input: 'x7', pattern: '(\\d+)' }, 'groups'), `round ${round}`).toBe('[7]');
      expect(await fails('core/string-replace@v1', { input: 'abc', op: 'regex', substring: '(', replacement: 'X' }), `round ${round}`).toMatch(/invalid regex pattern: \(/);
    }
  });

  it('fails on an invalid pattern and on an unknown op', async () => {
    expect(await fails('core/string-replace@v1', { input: 'abc', op: 'regex', substring: '(', replacement: 'X' })).toMatch(/invalid regex pattern: \(/);
    const { node, edge } = fed('other', 'n.op');
    expect(await failure([node, { id: 'n', type: 'core/string-replace@v1', inputs: { input: 'a', substring: 'a' } }], 'n.result', [edge])).toMatch(/unknown operation: other/);
  });
});

describe('string-split', () => {
  const split = (inputs: Record<string, unknown>): Promise<string> => value('core/string-split@v1', inputs, 'segments');

  it('splits, with at most max_segments parts', async () => {
    expect(await split({ string: 'a,b,c', delimiter: ',' })).toBe('[a b c]');
    expect(await split({ string: 'a,b,c', delimiter: ',', max_segments: 2 })).toBe('[a b,c]');
    expect(await split({ string: 'a\nb', delimiter: '\\n' })).toBe('[a b]');
    expect(await split({ string: 'héllo', delimiter: '' })).toBe('[h é l l o]');
  });

  it('max_segments 0 gives nothing; an empty string gives one empty segment', async () => {
    expect(await split({ string: 'a,b,c', delimiter: ',', max_segments: 0 })).toBe('[]');
    const nodes: TestNode[] = [...one('core/string-split@v1', { string: '', delimiter: ',' }), { id: 'len', type: 'core/length@v1' }];
    expect(await evaluate(nodes, 'len.result', [['n.segments', 'len.input']])).toBe('1');
  });

  it('requires a delimiter', async () => {
    expect(await fails('core/string-split@v1', { string: 'a,b' }, 'segments')).toMatch(/required input delimiter/);
  });
});

describe('string-join, string-join-array, string-array', () => {
  it('string-join joins its segments, numbers as text and nothing as empty', async () => {
    expect(await value('core/string-join@v1', { delimiter: ', ', 'segments[0]': 'a', 'segments[1]': 2, 'segments[2]': null })).toBe('a, 2, ');
  });

  it('string-join without a delimiter concatenates', async () => {
    expect(await value('core/string-join@v1', { 'segments[0]': 'a', 'segments[1]': 'b' })).toBe('ab');
    expect(await value('core/string-join@v1', { delimiter: '-' })).toBe('');
  });

  it('string-join-array joins a list (the reference fails on every graph: it reads the list as an array port)', async () => {
    const nodes: TestNode[] = [
      { id: 's', type: 'core/string-split@v1', inputs: { string: 'a b c', delimiter: ' ' } },
      { id: 'n', type: 'core/string-join-array@v1', inputs: { delimiter: '/' } },
    ];
    expect(await evaluate(nodes, 'n.result', [['s.segments', 'n.segments']])).toBe('a/b/c');
    expect(await value('core/string-join-array@v1', { delimiter: '/' })).toBe('');
  });

  it('string-join-array requires a delimiter', async () => {
    expect(await fails('core/string-join-array@v1', {})).toMatch(/required input delimiter/);
  });

  it('string-array makes a list of text', async () => {
    expect(await value('core/string-array@v1', { 'inputs[0]': 'a', 'inputs[1]': 2.5, 'inputs[2]': null, 'inputs[3]': true }, 'array')).toBe('[a 2.5  true]');
  });

  it('string-array refuses a list as an item', async () => {
    expect(await fails('core/string-array@v1', { 'inputs[0]': ['a', 'b'] }, 'array')).toMatch(/cannot convert '\[\]string' to string at input 'inputs\[0\]'/);
  });
});

describe('string-transform', () => {
  const transform = (input: string, op?: string): Promise<string> => value('core/string-transform@v1', op === undefined ? { input } : { input, op });
  const sample = 'Hello, World! fooBar_baz-QUX XMLHttp';

  it('changes case word by word, as the reference’s case library splits words', async () => {
    expect(await transform(sample, 'lower')).toBe('hello world foo bar baz qux xml http');
    expect(await transform(sample, 'upper')).toBe('HELLO WORLD FOO BAR BAZ QUX XML HTTP');
    expect(await transform(sample, 'title')).toBe('Hello World Foo Bar Baz Qux Xml Http');
    expect(await transform(sample, 'camel')).toBe('helloWorldFooBarBazQuxXmlHttp');
    expect(await transform(sample, 'pascal')).toBe('HelloWorldFooBarBazQuxXmlHttp');
    expect(await transform(sample, 'snake')).toBe('hello_world_foo_bar_baz_qux_xml_http');
    expect(await transform('Hello')).toBe('hello');
    expect(await transform('a$b+c', 'snake')).toBe('a$b+c');
  });

  it('alternating, reverse and the trims', async () => {
    expect(await transform('alternating case', 'alternating')).toBe('aLtErNaTiNg CaSe');
    expect(await transform('héllo😀', 'reverse')).toBe('😀olléh');
    expect(await transform(' \t\u000b x \n\u00a0', 'trim')).toBe('x');
    expect(await transform(' \t\u000b x \n', 'trim_left')).toBe('\u000b x \n');
    expect(await transform(' \t x \n\u000b', 'trim_right')).toBe(' \t x \n\u000b');
  });

  it('keeps words that start with a digit or an uncased letter (the reference drops them)', async () => {
    expect(await transform('version 2', 'snake')).toBe('version_2');
    expect(await transform('release 42x', 'camel')).toBe('release42x');
    expect(await transform('你好 世界', 'lower')).toBe('你好 世界');
  });

  it('maps case one character to one character, as Go does (the reference crashes on ÀBC)', async () => {
    expect(await transform('ÀBC', 'lower')).toBe('àbc');
    expect(await transform('Straße İstanbul ΣΑΣ', 'upper')).toBe('STRAßE İSTANBUL ΣΑΣ');
    expect(await transform('Straße İstanbul ΣΑΣ', 'lower')).toBe('straße istanbul σασ');
  });

  it('fails on an unknown op', async () => {
    const { node, edge } = fed('nope', 'n.op');
    expect(await failure([node, { id: 'n', type: 'core/string-transform@v1', inputs: { input: 'x' } }], 'n.result', [edge])).toMatch(/unknown operation 'nope'/);
    const inherited = fed('constructor', 'n.op');
    expect(await failure([inherited.node, { id: 'n', type: 'core/string-transform@v1', inputs: { input: 'x' } }], 'n.result', [inherited.edge])).toMatch(/unknown operation 'constructor'/);
  });
});

describe('string-encode and string-decode', () => {
  const encode = (input: string, op?: string): Promise<string> => value('core/string-encode@v1', op === undefined ? { input } : { input, op });
  const decode = (input: string, op: string): Promise<string> => value('core/string-decode@v1', { input, op });

  it('encodes to the printable formats', async () => {
    expect(await encode('héllo')).toBe('aMOpbGxv');
    expect(await encode('héllo?>', 'base64url')).toBe('aMOpbGxvPz4=');
    expect(await encode('??>', 'base64url')).toBe('Pz8-');
    expect(await encode('héllo', 'base32')).toBe('NDB2S3DMN4======');
    expect(await encode('héllo', 'hex')).toBe('68c3a96c6c6f');
  });

  it('encodes to UTF-16/32 as bytes, which String Decode turns back into text', async () => {
    const nodes: TestNode[] = [
      { id: 'e', type: 'core/string-encode@v1', inputs: { input: 'hé😀', op: 'utf16le' } },
      { id: 'len', type: 'core/length@v1' },
      { id: 'd', type: 'core/string-decode@v1', inputs: { op: 'utf16le' } },
      { id: 'n', type: 'core/string-fmt@v1', inputs: { fmt: '%v bytes: %v', 'substitutes[0]': null, 'substitutes[1]': null } },
    ];
    const connections: TestEdge[] = [
      ['e.result', 'len.input'],
      ['e.result', 'd.input'],
      ['len.result', 'n.substitutes[0]'],
      ['d.result', 'n.substitutes[1]'],
    ];
    expect(await evaluate(nodes, 'n.result', connections)).toBe('8 bytes: hé😀');
    const be = [
      { id: 'e', type: 'core/string-encode@v1', inputs: { input: 'hé😀', op: 'utf32be' } },
      { id: 'd', type: 'core/string-decode@v1', inputs: { op: 'utf32be' } },
    ];
    expect(await evaluate(be, 'd.result', [['e.result', 'd.input']])).toBe('hé😀');
  });

  it('decodes every printable and escaped format', async () => {
    expect(await decode('aMOpbGxv', 'base64')).toBe('héllo');
    expect(await decode('Zm9v\r\nYg==', 'base64')).toBe('foob');
    expect(await decode('Pz8-', 'base64url')).toBe('??>');
    expect(await decode('NDB2S3DMN4======', 'base32')).toBe('héllo');
    expect(await decode('68C3A96c6c6f', 'hex')).toBe('héllo');
    expect(await decode('&lt;b&gt; &amp;amp; &eacute;&#233;&#xE9; &notit;', 'html')).toBe('<b> &amp; ééé ¬it;');
    expect(await decode('a%20b+c%C3%A9', 'url')).toBe('a b cé');
    expect(await decode('a%20b+c', 'urlpath')).toBe('a b+c');
    expect(await decode('say \\"hi\\"\\n\\u00e9\\ud83d\\ude00\\/', 'json')).toBe('say "hi"\né😀/');
    expect(await decode('&lt;a&gt; &amp;lt; &#60;&#x3C; &apos;&quot;', 'xml')).toBe('<a> &lt; << \'"');
  });

  it('takes the bytes of a stream as they are (binary is not decoded to text and back)', async () => {
    /** start → file-read(bin) → print(node ← read.data): the file holds `bytes`. */
    const throughFile = async (bytes: Buffer, node: TestNode): Promise<string> => {
      const host = fakeHost();
      writeFileSync(join(host.workDir, 'bin'), bytes);
      const nodes: TestNode[] = [{ id: 'read', type: 'core/file-read@v1', inputs: { path: 'bin' } }, node, { id: 'out', type: 'core/print@v1', inputs: { 'values[0]': null } }];
      const text = actYaml(nodes, [['start.exec', 'read.exec'], ['read.exec-success', 'out.exec']], [['read.data', `${node.id}.input`], [`${node.id}.result`, 'out.values[0]']]);
      const result = await runText(text, host);
      expect(result.status, host.text()).toBe('succeeded');
      return printed(host, 'out').replace(/\n$/, '');
    };
    const binary = Buffer.from([0xff, 0x00, 0x80, 0xe9]);
    expect(await throughFile(binary, { id: 'e', type: 'core/string-encode@v1', inputs: { op: 'base64' } })).toBe(binary.toString('base64'));
    expect(await throughFile(binary, { id: 'e', type: 'core/string-encode@v1', inputs: { op: 'hex' } })).toBe('ff0080e9');
    // UTF-16 without a byte-order mark is not valid UTF-8, so as text it would have become Windows-1252.
    expect(await throughFile(Buffer.from('hé€', 'utf16le'), { id: 'd', type: 'core/string-decode@v1', inputs: { op: 'utf16le' } })).toBe('hé€');
  });

  it('fails on malformed input, naming the format', async () => {
    expect(await fails('core/string-decode@v1', { input: 'Zm9vYg', op: 'base64' })).toMatch(/failed to decode base64: illegal base64 data at input byte 4/);
    expect(await fails('core/string-decode@v1', { input: '6g', op: 'hex' })).toMatch(/failed to decode hex: encoding\/hex: invalid byte: U\+0067 'g'/);
    expect(await fails('core/string-decode@v1', { input: '%zz', op: 'url' })).toMatch(/failed to decode url: invalid URL escape "%zz"/);
  });

  it('fails on an unknown op', async () => {
    const { node, edge } = fed('rot13', 'n.op');
    expect(await failure([node, { id: 'n', type: 'core/string-encode@v1', inputs: { input: 'x' } }], 'n.result', [edge])).toMatch(/unknown operation 'rot13'/);
    const other = fed('rot13', 'n.op');
    expect(await failure([other.node, { id: 'n', type: 'core/string-decode@v1', inputs: { input: 'x' } }], 'n.result', [other.edge])).toMatch(/unknown operation 'rot13'/);
    // Encoding has no escapes (the reference only unescapes them); a prototype's name is no operation.
    for (const [type, op] of [
      ['core/string-encode@v1', 'html'],
      ['core/string-encode@v1', 'constructor'],
      ['core/string-decode@v1', 'toString'],
    ]) {
      const fedOp = fed(op, 'n.op');
      expect(await failure([fedOp.node, { id: 'n', type, inputs: { input: 'x' } }], 'n.result', [fedOp.edge]), `${type} ${op}`).toMatch(new RegExp(`unknown operation '${op}' \\(expected one of hex, `));
    }
  });
});

describe('hash', () => {
  /** start → hash → print(hash), with the algorithm as a literal or from a connected node. */
  async function hashOf(input: string, algorithm?: string | number, connected = false): Promise<{ text: string; status: string }> {
    const host = fakeHost();
    const nodes: TestNode[] = [
      { id: 'h', type: 'core/hash@v1', inputs: { input, ...(algorithm !== undefined && !connected ? { algorithm } : {}) } },
      { id: 'out', type: 'core/print@v1', inputs: { 'values[0]': null } },
      { id: 'err', type: 'core/print@v1', inputs: { 'values[0]': 'error path' } },
    ];
    const connections: TestEdge[] = [['h.hash', 'out.values[0]']];
    if (connected) {
      nodes.push({ id: 'a', type: 'core/const-string@v1', inputs: { value: algorithm } });
      connections.push(['a.result', 'h.algorithm']);
    }
    const text = actYaml(nodes, [['start.exec', 'h.exec'], ['h.exec-success', 'out.exec'], ['h.exec-err', 'err.exec']], connections);
    const result = await runText(text, host);
    return { text: printed(host, 'out').replace(/\n$/, '') + printed(host, 'err'), status: `${result.status} ${host.text()}` };
  }

  it('computes every algorithm it offers (sha256 by default)', async () => {
    const expected = (name: string): string => createHash(name).update('hello world').digest('hex');
    expect((await hashOf('hello world')).text).toBe(expected('sha256'));
    for (const [algorithm, name] of Object.entries({ sha1: 'sha1', sha224: 'sha224', sha384: 'sha384', sha512: 'sha512', sha3_256: 'sha3-256', sha3_384: 'sha3-384', sha3_512: 'sha3-512', md5: 'md5', blake2b512: 'blake2b512' })) {
      expect((await hashOf('hello world', algorithm)).text, algorithm).toBe(expected(name));
    }
    // Published test values (and what actrun prints) for the ones node:crypto lacks.
    expect((await hashOf('hello world', 'crc32')).text).toBe('0d4a1185');
    expect((await hashOf('hello world', 'blake2b384')).text).toBe('8c653f8c9c9aa2177fb6f8cf5bb914828faa032d7b486c8150663d3f6524b086784f8e62693171ac51fc80b7d2cbb12b');
    expect((await hashOf('abc', 'blake2b256')).text).toBe('bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319');
  });

  it('takes the algorithm by option index or in any case', async () => {
    expect((await hashOf('hello world', 9)).text).toBe('0d4a1185');
    expect((await hashOf('hello world', 'SHA1', true)).text).toBe('2aae6c35c94fcfb415dbe95f408b9ce91ee846ed');
    expect((await hashOf('', 'md5')).text).toBe('d41d8cd98f00b204e9800998ecf8427e');
  });

  it('a stream that fails while being read is a node failure (exec-err), with the hash of what was read', async () => {
    // The first read gives some bytes, the second fails.
    let reads = 0;
    const failing = new Readable({
      read() {
        if (reads++ === 0) this.push(Buffer.from('hello'));
        else this.destroy(new Error('disk gone'));
      },
    });
    const outputs = new Map<string, unknown>();
    const ctx = {
      path: 'h',
      signal: new AbortController().signal,
      stream: async () => new DataStream(failing),
      string: async () => 'md5',
      set: (port: string, value: unknown) => outputs.set(port, value),
    } as unknown as NodeContext;
    const run = nodeDef('core/hash@v1')?.execute?.(ctx, 'exec');
    await expect(run).rejects.toThrow(NodeFailure);
    await expect(run).rejects.toThrow(/error reading stream: disk gone/);
    expect(outputs.get('hash')).toBe(createHash('md5').update('hello').digest('hex'));
  });

  it('an unsupported algorithm fails the graph even with exec-err connected, as in the reference', async () => {
    const run = await hashOf('x', 'md4', true);
    expect(run.text).toBe('');
    expect(run.status).toMatch(/^failed .*unsupported hash algorithm: md4/s);
  });
});

describe('length', () => {
  it('counts string bytes, list items and map keys', async () => {
    expect(await value('core/length@v1', { input: 'héllo' })).toBe('6');
    expect(await value('core/length@v1', { input: [1, 2, 3] })).toBe('3');
    expect(await value('core/length@v1', { input: { a: 1, b: 2 } })).toBe('2');
  });

  it('is 0 for numbers, bools and nothing', async () => {
    expect(await value('core/length@v1', { input: 12345 })).toBe('0');
    expect(await value('core/length@v1', { input: true })).toBe('0');
    expect(await value('core/length@v1', {})).toBe('0');
  });
});

describe('arithmetic', () => {
  const math = (op: string, ...inputs: unknown[]): Promise<string> => value(`core/math-${op}@v1`, Object.fromEntries(inputs.map((v, i) => [`inputs[${i}]`, v])));

  it('math-add adds any number of inputs as floats', async () => {
    expect(await math('add', 1, 2.5)).toBe('3.5');
    expect(await math('add', '1', true, null)).toBe('2');
    expect(await math('add', 0.1, 0.2)).toBe('0.30000000000000004');
    expect(await math('add')).toBe('0');
  });

  it('math-add refuses text that is not a number', async () => {
    expect(await fails('core/math-add@v1', { 'inputs[0]': 1, 'inputs[1]': 'x' })).toMatch(/unable to convert string to float at input 'inputs\[1\]'/);
  });

  it('math-subtract and math-multiply fold left', async () => {
    expect(await math('subtract', 10, 2, 3)).toBe('5');
    expect(await math('multiply', 2, 3, 4)).toBe('24');
  });

  it('math-multiply overflows to +Inf, printed as Go prints it', async () => {
    expect(await math('multiply', 1e200, 1e200)).toBe('+Inf');
    expect(await math('subtract', 1)).toBe('1');
  });

  it('math-divide gives floats', async () => {
    expect(await math('divide', 100, 10, 5)).toBe('2');
    expect(await math('divide', 7, 2)).toBe('3.5');
    expect(await math('divide', 1, 3e7)).toBe('3.3333333333333334e-08');
  });

  it('math-divide by zero is 0, and stays 0', async () => {
    expect(await math('divide', 1, 0)).toBe('0');
    expect(await math('divide', 1, 0, 5)).toBe('0');
  });

  it('math-modulo truncates both operands, the sign follows the dividend', async () => {
    const modulo = (op1: unknown, op2: unknown): Promise<string> => value('core/math-modulo@v1', { op1, op2 });
    expect(await modulo(10, 3)).toBe('1');
    expect(await modulo(-7, 3)).toBe('-1');
    expect(await modulo(7.9, 2.5)).toBe('1');
    expect(await modulo('9', '4')).toBe('1');
  });

  it('math-modulo by zero is 0, also by a divisor that truncates to 0 (where the reference crashes)', async () => {
    expect(await value('core/math-modulo@v1', { op1: 10, op2: 0 })).toBe('0');
    expect(await value('core/math-modulo@v1', { op1: 7, op2: 0.5 })).toBe('0');
  });

  it('math-op does what its documentation says (the reference’s returns no value)', async () => {
    const op = (operator: string | undefined, op1: number, op2: number): Promise<string> => value('core/math-op@v1', operator === undefined ? { op1, op2 } : { op1, op2, operator });
    expect(await op(undefined, 5, 3)).toBe('8');
    expect(await op('-', 5, 3)).toBe('2');
    expect(await op('*', 5, 3)).toBe('15');
    expect(await op('/', 5, 2)).toBe('2.5');
    expect(await op('/', 5, 0)).toBe('0');
  });

  it('math-op fails on an operator it does not know', async () => {
    const { node, edge } = fed('^', 'n.operator');
    expect(await failure([node, { id: 'n', type: 'core/math-op@v1', inputs: { op1: 1, op2: 2 } }], 'n.result', [edge])).toMatch(/invalid operator '\^'/);
  });

  it("math-op and math-compare-op refuse the names of an object's own machinery as operators", async () => {
    // An operator table looked up by plain indexing would find Object.prototype's functions here.
    for (const [type, operator] of [
      ['core/math-op@v1', 'constructor'],
      ['core/math-compare-op@v1', 'toString'],
    ]) {
      const { node, edge } = fed(operator, 'n.operator');
      expect(await failure([node, { id: 'n', type, inputs: { op1: 1, op2: 2 } }], 'n.result', [edge]), operator).toMatch(new RegExp(`invalid operator '${operator}'`));
    }
  });
});

describe('comparisons', () => {
  const compare = (type: string, op1: unknown, op2: unknown): Promise<string> => value(`core/${type}@v1`, { op1, op2 });

  it('math-compare-op applies each operator (== by default)', async () => {
    const results: Record<string, string> = { '>': 'true', '<': 'false', '>=': 'true', '<=': 'false', '==': 'false', '!=': 'true' };
    for (const [operator, expected] of Object.entries(results)) expect(await value('core/math-compare-op@v1', { op1: 5, op2: 3, operator }), operator).toBe(expected);
    expect(await compare('math-compare-op', 5, 5)).toBe('true');
    expect(await value('core/math-compare-op@v1', { op1: 5, op2: 3, operator: 2 })).toBe('true');
  });

  it('math-compare-op fails on an unknown operator', async () => {
    const { node, edge } = fed('<>', 'n.operator');
    expect(await failure([node, { id: 'n', type: 'core/math-compare-op@v1', inputs: { op1: 1, op2: 2 } }], 'n.result', [edge])).toMatch(/invalid operator '<>'/);
  });

  it('math-equal and math-not-equal compare as floats', async () => {
    expect(await compare('math-equal', 10, 10)).toBe('true');
    expect(await compare('math-equal', '10', 10.0)).toBe('true');
    expect(await compare('math-not-equal', 10, 3)).toBe('true');
    expect(await compare('math-not-equal', 0.5, '0.5')).toBe('false');
  });

  it('math-greater, math-greater-equal, math-less, math-lesser-equal', async () => {
    expect(await compare('math-greater', 10, 3)).toBe('true');
    expect(await compare('math-greater', 3, 3)).toBe('false');
    expect(await compare('math-greater-equal', 10, 10)).toBe('true');
    expect(await compare('math-less', 10, 3)).toBe('false');
    expect(await compare('math-less', -1, 0)).toBe('true');
    expect(await compare('math-lesser-equal', 10, 10)).toBe('true');
    expect(await compare('math-lesser-equal', 11, 10)).toBe('false');
  });

  it('comparisons refuse text that is not a number', async () => {
    for (const type of ['math-equal', 'math-not-equal', 'math-greater', 'math-greater-equal', 'math-less', 'math-lesser-equal']) {
      expect(await fails(`core/${type}@v1`, { op1: 'abc', op2: 10 }), type).toMatch(/unable to convert string to float at input 'op1'/);
    }
  });

  it('the ids are the reference’s: math-less (not math-lesser), math-compare-op (not math-compare)', () => {
    for (const type of ['core/math-less@v1', 'core/math-lesser-equal@v1', 'core/math-compare-op@v1']) expect(nodeDef(type), type).toBeDefined();
    for (const type of ['core/math-lesser@v1', 'core/math-compare@v1', 'core/math-less-equal@v1']) expect(nodeDef(type), type).toBeUndefined();
  });
});

describe('logic', () => {
  it('negate and affirm follow Go truthiness', async () => {
    const truth: Array<[unknown, string]> = [
      ['hello', 'true'],
      ['', 'false'],
      [42, 'true'],
      [0, 'false'],
      [true, 'true'],
      [false, 'false'],
      [[1, 2], 'true'],
      [{ a: 1 }, 'true'],
      [{}, 'false'],
    ];
    for (const [input, expected] of truth) {
      expect(await value('core/affirm@v1', { input }), JSON.stringify(input)).toBe(expected);
      expect(await value('core/negate@v1', { input }), JSON.stringify(input)).toBe(expected === 'true' ? 'false' : 'true');
    }
  });

  it('negate and affirm of nothing', async () => {
    expect(await value('core/negate@v1', {})).toBe('true');
    expect(await value('core/affirm@v1', {})).toBe('false');
  });

  it('negate and affirm refuse a value that has no truth (a stream)', async () => {
    for (const type of ['core/negate@v1', 'core/affirm@v1']) {
      expect(await failure(one(type, {}), 'n.result', [['start.stdin', 'n.input']]), type).toMatch(/cannot convert Data Stream to bool/);
    }
  });

  it('bool-and, bool-or, bool-xor, bool-xand fold their truth tables', async () => {
    const fold = (op: string, ...inputs: unknown[]): Promise<string> => value(`core/bool-${op}@v1`, Object.fromEntries(inputs.map((v, i) => [`inputs[${i}]`, v])));
    const table: Array<[boolean, boolean]> = [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ];
    for (const [a, b] of table) {
      expect(await fold('and', a, b)).toBe(String(a && b));
      expect(await fold('or', a, b)).toBe(String(a || b));
      expect(await fold('xor', a, b)).toBe(String(a !== b));
      expect(await fold('xand', a, b)).toBe(String(a === b));
    }
    expect(await fold('and', true, true, false)).toBe('false');
    expect(await fold('xor', true, true, true)).toBe('true');
    expect(await fold('xand', true, false, false)).toBe('true');
  });

  it('bool folds of nothing are false; of one input, that input; text is true when non-empty', async () => {
    for (const op of ['and', 'or', 'xor', 'xand']) expect(await value(`core/bool-${op}@v1`, {}), op).toBe('false');
    expect(await value('core/bool-and@v1', { 'inputs[0]': true })).toBe('true');
    expect(await value('core/bool-or@v1', { 'inputs[0]': false, 'inputs[1]': 'x' })).toBe('true');
    expect(await value('core/bool-and@v1', { 'inputs[0]': true, 'inputs[1]': null })).toBe('false');
  });
});

describe('number-array and select-data', () => {
  it('number-array makes a list of floats', async () => {
    expect(await value('core/number-array@v1', { 'inputs[0]': 1, 'inputs[1]': '2.5', 'inputs[2]': null }, 'array')).toBe('[1 2.5 0]');
    expect(await value('core/number-array@v1', {}, 'array')).toBe('[]');
  });

  it('number-array refuses text that is not a number', async () => {
    expect(await fails('core/number-array@v1', { 'inputs[0]': 'x' }, 'array')).toMatch(/unable to convert string to float at input 'inputs\[0\]'/);
  });

  it('select-data picks the choice at the index', async () => {
    expect(await value('core/select-data@v1', { index: 1, 'choices[0]': 'a', 'choices[1]': 'b' }, 'value')).toBe('b');
    expect(await value('core/select-data@v1', { index: '1', 'choices[0]': 'a', 'choices[1]': 7 }, 'value')).toBe('7');
    expect(await value('core/select-data@v1', { 'choices[0]': 'a' }, 'value')).toBe('a');
  });

  it('select-data reads only the chosen choice', async () => {
    const nodes: TestNode[] = [
      { id: 'bad', type: 'core/math-greater@v1', inputs: { op1: 'abc' } },
      { id: 'n', type: 'core/select-data@v1', inputs: { index: 0, 'choices[0]': 'ok', 'choices[1]': null } },
    ];
    expect(await evaluate(nodes, 'n.value', [['bad.result', 'n.choices[1]']])).toBe('ok');
  });

  it('select-data fails on an index out of range', async () => {
    expect(await fails('core/select-data@v1', { index: 2, 'choices[0]': 'a', 'choices[1]': 'b' }, 'value')).toMatch(/index out of range: 2, expected 0-1/);
    expect(await fails('core/select-data@v1', { index: -1, 'choices[0]': 'a', 'choices[1]': 'b' }, 'value')).toMatch(/index out of range: -1/);
    expect(await fails('core/select-data@v1', { index: 0 }, 'value')).toMatch(/index out of range: 0, the node has no choices/);
  });
});
