// Collections, data formats and state: array-add/append/get, freeze, stream-cache, the random nodes,
// core/test@v1, parser, serializer and the property getter/setter. Expected values come from the node
// documentation and from running the same graphs on the reference engine.

import { describe, expect, it } from 'vitest';
import type { ActResult } from '../../agent/act';
import { actYaml, fakeHost, runText, type FakeHost, type TestEdge, type TestNode } from './act-test-host';

type Run = { result: ActResult; host: FakeHost; out: string };

async function run(nodes: TestNode[], executions: TestEdge[], connections: TestEdge[] = []): Promise<Run> {
  const host = fakeHost();
  const result = await runText(actYaml(nodes, executions, connections), host);
  return { result, host, out: host.text('out') };
}

/** Runs the graph, which must succeed, and returns what node `out` printed. */
async function printed(nodes: TestNode[], executions: TestEdge[], connections: TestEdge[] = []): Promise<string> {
  const { result, host, out } = await run(nodes, executions, connections);
  expect(result, host.text()).toEqual({ status: 'succeeded', exitCode: 0 });
  return out;
}

/** A print node `out` with `count` values declared for connections. */
const out = (count = 1): TestNode => ({ id: 'out', type: 'core/print@v1', inputs: Object.fromEntries(Array.from({ length: count }, (_, i) => [`values[${i}]`, null])) });

/** Runs start → node → out, printing the node's outputs `ports` (one line each). */
async function execOutputs(node: TestNode, ports: string[], next = 'exec'): Promise<Run> {
  return run(
    [node, out(ports.length)],
    [
      ['start.exec', `${node.id}.exec`],
      [`${node.id}.${next}`, 'out.exec'],
    ],
    ports.map((port, i): TestEdge => [`${node.id}.${port}`, `out.values[${i}]`]),
  );
}

/** Parses `input` (format `format`) and prints the object. */
async function parsed(input: string, format: string): Promise<Run> {
  return execOutputs({ id: 'p', type: 'core/parser@v1', inputs: { input, format } }, ['object'], 'exec-success');
}

/** Parses JSON `json` and serializes it as `format`, returning the text exactly (print adds one newline). */
async function serialized(json: string, format: string): Promise<Run> {
  return run(
    [{ id: 'p', type: 'core/parser@v1', inputs: { input: json, format: 'json' } }, { id: 's', type: 'core/serializer@v1', inputs: { format } }, out(), { id: 'err', type: 'core/print@v1', inputs: { 'values[0]': 'handled' } }],
    [
      ['start.exec', 'p.exec'],
      ['p.exec-success', 's.exec'],
      ['s.exec-success', 'out.exec'],
      ['s.exec-err', 'err.exec'],
    ],
    [
      ['p.object', 's.object'],
      ['s.output', 'out.values[0]'],
    ],
  );
}

const failed = (r: Run): void => expect(r.result.status, r.host.text()).toBe('failed');

describe('array-add', () => {
  it('adds the item to the end of a copy and reports its index', async () => {
    const text = await printed(
      [{ id: 'add', type: 'core/array-add@v1', inputs: { array: ['a', 'b'], item: 'c' } }, out(3), { id: 'get', type: 'core/array-get@v1', inputs: { array: ['a', 'b'], index: 1 } }],
      [
        ['start.exec', 'add.exec'],
        ['add.exec', 'out.exec'],
      ],
      [
        ['add.array', 'out.values[0]'],
        ['add.index', 'out.values[1]'],
        ['get.result', 'out.values[2]'],
      ],
    );
    expect(text).toBe('[a b c]\n2\nb\n');
  });

  it('appends text to a string (index is the last byte), and needs an array', async () => {
    const add = await execOutputs({ id: 'add', type: 'core/array-add@v1', inputs: { array: 'abc', item: 5 } }, ['array', 'index']);
    expect(add.out).toBe('abc5\n3\n');
    const missing = await execOutputs({ id: 'add', type: 'core/array-add@v1', inputs: { item: 5 } }, ['array']);
    failed(missing);
    expect(missing.host.text()).toContain("no value for input 'array'");
    const map = await execOutputs({ id: 'add', type: 'core/array-add@v1', inputs: { array: { a: 1 }, item: 5 } }, ['array']);
    failed(map);
    expect(map.host.text()).toContain("unsupported type 'map[string]interface {}'");
  });
});

describe('freeze', () => {
  it('with array-add accumulates across loop iterations, fresh from init on each outer run', async () => {
    // The graph from the freeze/array-add documentation, run twice by an outer loop.
    const text = await printed(
      [
        { id: 'outer', type: 'core/for-loop@v1', inputs: { first_index: 1, last_index: 2 } },
        { id: 'freeze', type: 'core/freeze@v1', inputs: { init: [] } },
        { id: 'loop', type: 'core/for-loop@v1', inputs: { first_index: 0, last_index: 4 } },
        { id: 'add', type: 'core/array-add@v1' },
        out(),
      ],
      [
        ['start.exec', 'outer.exec'],
        ['outer.exec-body', 'freeze.exec'],
        ['freeze.exec', 'loop.exec'],
        ['loop.exec-body', 'add.exec'],
        ['add.exec', 'freeze.exec-reset'],
        ['loop.exec-completed', 'out.exec'],
      ],
      [
        ['freeze.value', 'add.array'],
        ['loop.index', 'add.item'],
        ['add.array', 'freeze.replace'],
        ['freeze.value', 'out.values[0]'],
      ],
    );
    expect(text).toBe('[0 1 2 3 4]\n[0 1 2 3 4]\n');
  });

  it('gives init until exec-reset replaces it; before it runs it has no value', async () => {
    const held = await execOutputs({ id: 'f', type: 'core/freeze@v1', inputs: { init: 'first', replace: 'second' } }, ['value']);
    expect(held.out).toBe('first\n');
    const early = await run(
      [{ id: 'f', type: 'core/freeze@v1', inputs: { init: 'x' } }, out()],
      [
        ['start.exec', 'out.exec'],
        ['out.exec', 'f.exec'],
      ],
      [['f.value', 'out.values[0]']],
    );
    failed(early);
    expect(early.host.text()).toContain('has not run yet');
  });
});

describe('array-append', () => {
  it('appends lists, joins strings, and adds a string to a list as its characters', async () => {
    const lists = await execOutputs({ id: 'a', type: 'core/array-append@v1', inputs: { array1: ['a', 'b'], array2: ['1', '2'] } }, ['array']);
    expect(lists.out).toBe('[a b 1 2]\n');
    // The reference appends a string's bytes as numbers ("ab99100"); characters are what is meant.
    const texts = await execOutputs({ id: 'a', type: 'core/array-append@v1', inputs: { array1: 'ab', array2: 'cd' } }, ['array']);
    expect(texts.out).toBe('abcd\n');
    const mixed = await execOutputs({ id: 'a', type: 'core/array-append@v1', inputs: { array1: ['x'], array2: 'hé' } }, ['array']);
    expect(mixed.out).toBe('[x h é]\n');
  });

  it('adds the items of a list to bytes and to text, each at once', async () => {
    // Bytes (string-encode's UTF-16: 61 00 62 00) with three numbers added, and with one that is no byte.
    const appended = (numbers: number[]): Promise<Run> =>
      run(
        [
          { id: 'e', type: 'core/string-encode@v1', inputs: { input: 'ab', op: 'utf16le' } },
          { id: 'a', type: 'core/array-append@v1', inputs: { array2: numbers } },
          { id: 'g4', type: 'core/array-get@v1', inputs: { index: 4 } },
          { id: 'g6', type: 'core/array-get@v1', inputs: { index: 6 } },
          out(2),
        ],
        [
          ['start.exec', 'a.exec'],
          ['a.exec', 'out.exec'],
        ],
        [
          ['e.result', 'a.array1'],
          ['a.array', 'g4.array'],
          ['a.array', 'g6.array'],
          ['g4.result', 'out.values[0]'],
          ['g6.result', 'out.values[1]'],
        ],
      );
    expect((await appended([65, 66, 67])).out).toBe('65\n67\n');
    const tooBig = await appended([65, 300]);
    failed(tooBig);
    expect(tooBig.host.text()).toContain('300 does not fit in a byte');
    const text = await execOutputs({ id: 'a', type: 'core/array-append@v1', inputs: { array1: 'ab', array2: ['c', 1, true] } }, ['array']);
    expect(text.out).toBe('abc1true\n');
  });

  it('refuses what is not indexable', async () => {
    const bad = await execOutputs({ id: 'a', type: 'core/array-append@v1', inputs: { array1: ['x'], array2: true } }, ['array']);
    failed(bad);
    expect(bad.host.text()).toContain("unsupported type 'bool' at input 'array2'");
  });
});

describe('array-get', () => {
  const get = async (inputs: Record<string, unknown>): Promise<Run> =>
    run([{ id: 'g', type: 'core/array-get@v1', inputs }, out()], [['start.exec', 'out.exec']], [['g.result', 'out.values[0]']]);

  it('returns the item at a zero-based index', async () => {
    expect((await get({ array: ['hello', 'world', 'foo123'], index: 2 })).out).toBe('foo123\n');
  });

  it('checks bounds unless told not to, then gives the element zero value', async () => {
    const checked = await get({ array: ['a', 'b'], index: 3 });
    failed(checked);
    expect(checked.host.text()).toContain('index out of bounds: 3');
    expect((await get({ array: ['a', 'b'], index: -1, bound_check: false })).out).toBe('\n');
    expect((await get({ array: [1, 2], index: 9, bound_check: false })).out).toBe('0\n');
    const text = await get({ array: 'hello', index: 1 });
    failed(text);
    expect(text.host.text()).toContain('input is not an array or slice');
  });
});

describe('stream-cache', () => {
  const stream = { id: 'r', type: 'core/random-stream@v1', inputs: { length: 12, include_numbers: true, seed: 99 } };

  it('a stream read twice without it gives the second reader nothing (with a warning)', async () => {
    const { result, host, out: text } = await run([stream, out(2)], [['start.exec', 'r.exec'], ['r.exec-success', 'out.exec']], [['r.stream', 'out.values[0]'], ['r.stream', 'out.values[1]']]);
    expect(result.status).toBe('succeeded');
    expect(text).toMatch(/^\d{12}\n\n$/);
    expect(host.text()).toContain('read more than once');
  });

  it('serves one text to every consumer, as an exec node and as a data node', async () => {
    const cached = await printed(
      [stream, { id: 'c', type: 'core/stream-cache@v1' }, out(2)],
      [
        ['start.exec', 'r.exec'],
        ['r.exec-success', 'c.exec'],
        ['c.exec-success', 'out.exec'],
      ],
      [
        ['r.stream', 'c.stream'],
        ['c.result', 'out.values[0]'],
        ['c.result', 'out.values[1]'],
      ],
    );
    const [first, second] = cached.split('\n');
    expect(first).toMatch(/^\d{12}$/);
    expect(second).toBe(first);
    // As a data node it is read again by each executing node; the same stream still gives the same text.
    const data = await printed(
      [stream, { id: 'c', type: 'core/stream-cache@v1' }, out(), { id: 'out2', type: 'core/print@v1', inputs: { 'values[0]': null } }],
      [
        ['start.exec', 'r.exec'],
        ['r.exec-success', 'out.exec'],
        ['out.exec', 'out2.exec'],
      ],
      [
        ['r.stream', 'c.stream'],
        ['c.result', 'out.values[0]'],
        ['c.result', 'out2.values[0]'],
      ],
    );
    expect(data).toBe(`${first}\n`);
  });

  it('needs a stream', async () => {
    const missing = await execOutputs({ id: 'c', type: 'core/stream-cache@v1', inputs: { stream: ['a'] } }, ['result'], 'exec-success');
    failed(missing);
    expect(missing.host.text()).toContain('expected a data stream');
  });
});

describe('random-number', () => {
  const loop = async (inputs: Record<string, unknown>): Promise<string[]> => {
    const text = await printed(
      [{ id: 'loop', type: 'core/for-loop@v1', inputs: { first_index: 0, last_index: 3 } }, { id: 'n', type: 'core/random-number@v1', inputs }, out()],
      [
        ['start.exec', 'loop.exec'],
        ['loop.exec-body', 'n.exec'],
        ['n.exec-success', 'out.exec'],
      ],
      [['n.number', 'out.values[0]']],
    );
    return text.trim().split('\n');
  };

  it('a seed gives the same sequence on every run, within [min, max)', async () => {
    const first = await loop({ min: 10, max: 20, seed: 1234 });
    expect(first).toHaveLength(4);
    for (const value of first.map(Number)) expect(value >= 10 && value < 20, String(value)).toBe(true);
    expect(new Set(first).size).toBe(4);
    expect(await loop({ min: 10, max: 20, seed: 1234 })).toEqual(first);
    expect(await loop({ min: 10, max: 20, seed: 1235 })).not.toEqual(first);
  });

  it('seed -1 or no seed is random; it works as a data node too', async () => {
    expect(await loop({ min: 0, max: 1, seed: -1 })).not.toEqual(await loop({ min: 0, max: 1, seed: -1 }));
    expect(await loop({ min: 0, max: 1 })).not.toEqual(await loop({ min: 0, max: 1 }));
    const data = await printed([{ id: 'n', type: 'core/random-number@v1', inputs: { min: 5, max: 5 } }, out()], [['start.exec', 'out.exec']], [['n.number', 'out.values[0]']]);
    expect(data).toBe('5\n');
  });
});

describe('random-stream', () => {
  const generate = async (inputs: Record<string, unknown>): Promise<Run> => execOutputs({ id: 'r', type: 'core/random-stream@v1', inputs }, ['stream'], 'exec-success');

  it('draws the given number of characters from the chosen sets; a seed repeats it', async () => {
    const upper = await generate({ length: 40, include_uppercase: true, seed: 7 });
    expect(upper.out).toMatch(/^[A-Z]{40}\n$/);
    expect((await generate({ length: 40, include_uppercase: true, seed: 7 })).out).toBe(upper.out);
    expect((await generate({ length: 40, include_uppercase: true })).out).not.toBe(upper.out);
    const special = await generate({ length: 30, include_special: true, include_numbers: true, seed: 3 });
    expect(special.out).toMatch(/^[0-9!@#$%^&*()\-_=+[\]{}|;:'",.<>?/\\`~]{30}\n$/);
    const data = await printed([{ id: 'r', type: 'core/random-stream@v1', inputs: { length: 5, include_characters: true } }, out()], [['start.exec', 'out.exec']], [['r.stream', 'out.values[0]']]);
    expect(data).toMatch(/^[a-z]{5}\n$/);
  });

  it('needs a character set (the reference crashes) and gives nothing for length 0', async () => {
    const none = await generate({ length: 5 });
    failed(none);
    expect(none.host.text()).toContain('no character sets selected');
    expect((await generate({ length: 0, include_numbers: true })).out).toBe('\n');
  });
});

describe('core/test@v1', () => {
  const through = async (inputs: Record<string, unknown>, output: string): Promise<Run> =>
    run([{ id: 't', type: 'core/test@v1', inputs }, out()], [['start.exec', 'out.exec']], [[`t.${output}-foo123`, 'out.values[0]']]);

  it('gives each input back converted as its port type converts', async () => {
    expect((await through({ 'input_bool-foo123': 'no' }, 'output_bool')).out).toBe('true\n');
    expect((await through({ 'input_number-foo123': '2.5' }, 'output_number')).out).toBe('2.5\n');
    expect((await through({ 'input_string-foo123': 42 }, 'output_string')).out).toBe('42\n');
    expect((await through({ 'input_array_number-foo123': ['1', 2.5] }, 'output_array_number')).out).toBe('[1 2.5]\n');
    expect((await through({ 'input_array_string-foo123[0]': 'a', 'input_array_string-foo123[1]': 7 }, 'output_array_string')).out).toBe('[a 7]\n');
    expect((await through({ 'input_map_string_int32-foo123': { a: '3' } }, 'output_map_string_int32')).out).toBe('map[a:3]\n');
    expect((await through({ 'input_stream-foo123': 'streamed' }, 'output_stream')).out).toBe('streamed\n');
  });

  it('refuses values its types cannot hold', async () => {
    const number = await through({ 'input_number-foo123': 'abc' }, 'output_number');
    failed(number);
    expect(number.host.text()).toContain('unable to convert string to float');
    const int32 = await through({ 'input_map_string_int32-foo123': { a: 3000000000 } }, 'output_map_string_int32');
    failed(int32);
    expect(int32.host.text()).toContain('does not fit in an int32');
  });
});

describe('parser', () => {
  it('reads JSON, YAML, TOML and INI, and detects the format as the reference does', async () => {
    expect((await parsed('{"b": [1, 2.5, "x"], "a": {"y": true}}', 'json')).out).toBe('map[a:map[y:true] b:[1 2.5 x]]\n');
    // go-yaml's integer forms (0x, old octal, underscores), merge keys; `yes` stays text.
    expect((await parsed('a: 0x10\nb: 017\nc: 1_000\nd: yes\nbase: &b {x: 1}\nm:\n  <<: *b\n  y: 2', 'yaml')).out).toBe('map[a:16 b:15 base:map[x:1] c:1000 d:yes m:map[x:1 y:2]]\n');
    expect((await parsed('top = 1\n[t]\nwhen = 1979-05-27\nlist = ["a", "b"]', 'toml')).out).toBe('map[t:map[list:[a b] when:1979-05-27] top:1]\n');
    const ini = await parsed('top = 1\n; comment\n[s]\na = x ; note\nb: "quoted"\nc = `kept ; as is`\n[s]\nd = 2', 'ini');
    expect(ini.out).toBe('map[DEFAULT:map[top:1] s:map[a:x b:quoted c:kept ; as is d:2]]\n');
    expect((await parsed('  {"a": 1}', 'auto')).out).toBe('map[a:1]\n');
    expect((await parsed('k = v', 'auto')).out).toBe('map[DEFAULT:map[k:v]]\n');
    // A TOML table almost always has an `=`, so it is read as INI; a `[` without one means TOML.
    expect((await parsed('[t]\nk = 1', 'auto')).out).toBe('map[t:map[k:1]]\n');
    expect((await parsed('[t]', 'auto')).out).toBe('map[t:map[]]\n');
    expect((await parsed('k: v', 'auto')).out).toBe('map[k:v]\n');
  });

  it('routes a parse error to exec-err, and fails the graph when nothing handles it', async () => {
    const nodes: TestNode[] = [{ id: 'p', type: 'core/parser@v1', inputs: { input: '{"a": ', format: 'json' } }, { id: 'out', type: 'core/print@v1', inputs: { 'values[0]': 'handled' } }];
    expect(await printed(nodes, [['start.exec', 'p.exec'], ['p.exec-err', 'out.exec']])).toBe('handled\n');
    const unhandled = await run(nodes, [['start.exec', 'p.exec']]);
    failed(unhandled);
    expect(unhandled.host.text()).toContain('failed to parse JSON');
    const empty = await parsed('', 'yaml');
    failed(empty);
    expect(empty.host.text()).toContain('holds no value');
    const badIni = await parsed('[s]\nno delimiter here', 'ini');
    expect(badIni.host.text()).toContain('key-value delimiter not found');
  });

  it('refuses formats it does not know, the names of Object.prototype included', async () => {
    for (const format of ['csv', 'toString']) {
      const parsing = await parsed('{}', format);
      failed(parsing);
      expect(parsing.host.text()).toContain(`unsupported format: ${format}`);
      const writing = await serialized('{}', format);
      failed(writing);
      expect(writing.host.text()).toContain(`unsupported format: ${format}`);
    }
  });

  it('does not read XML (an error even with exec-err connected)', async () => {
    const xml = await run(
      [{ id: 'p', type: 'core/parser@v1', inputs: { input: '<a/>' } }, { id: 'out', type: 'core/print@v1', inputs: { 'values[0]': 'handled' } }],
      [
        ['start.exec', 'p.exec'],
        ['p.exec-err', 'out.exec'],
      ],
    );
    failed(xml);
    expect(xml.out).toBe('');
    expect(xml.host.text()).toContain('unsupported format: xml');
  });
});

describe('serializer', () => {
  const sample = '{"b": [1, 2.5, "x<>&", {"q": [1, [2, 3]], "r": "s"}], "a": {"z": null, "y": true, "multi": "l1\\nl2"}, "small": 0.0000001, "str": "123", "sp": " lead", "colon": "a: b", "e": [], "o": {}}';

  it('writes JSON as Go does: two spaces, sorted keys, <>& escaped', async () => {
    const { out: text } = await serialized(sample, 'json');
    expect(text).toBe(
      [
        '{',
        '  "a": {',
        '    "multi": "l1\\nl2",',
        '    "y": true,',
        '    "z": null',
        '  },',
        '  "b": [',
        '    1,',
        '    2.5,',
        '    "x\\u003c\\u003e\\u0026",',
        '    {',
        '      "q": [',
        '        1,',
        '        [',
        '          2,',
        '          3',
        '        ]',
        '      ],',
        '      "r": "s"',
        '    }',
        '  ],',
        '  "colon": "a: b",',
        '  "e": [],',
        '  "o": {},',
        '  "small": 1e-7,',
        '  "sp": " lead",',
        '  "str": "123"',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('writes YAML as go-yaml does: four spaces, ambiguous text double-quoted, literal blocks', async () => {
    const { out: text } = await serialized('{"y": "y", "n": 3, "t": "true", "colon": "a: b", "multi": "l1\\nl2\\n", "list": [1, 2.5], "small": 0.0000001, "empty": ""}', 'yaml');
    expect(text).toBe(['colon: \'a: b\'', 'empty: ""', 'list:', '    - 1', '    - 2.5', 'multi: |', '    l1', '    l2', '"n": 3', 'small: 1e-07', 't: "true"', '"y": "y"', '', ''].join('\n'));
  });

  it("writes TOML in BurntSushi/toml's layout", async () => {
    const { out: text } = await serialized('{"tbl": {"x": 1, "sub": {"w": 2}, "aot": [{"n": 1}, {"n": 2}]}, "key with space": "q\\"", "z": 1.5, "nested": [[1, 2], ["a"]], "skip": null}', 'toml');
    expect(text).toBe(
      [
        '"key with space" = "q\\""',
        'nested = [[1, 2], ["a"]]',
        'z = 1.5',
        '',
        '[tbl]',
        '  x = 1',
        '',
        '  [[tbl.aot]]',
        '    n = 1',
        '',
        '  [[tbl.aot]]',
        '    n = 2',
        '  [tbl.sub]',
        '    w = 2',
        '',
        '',
      ].join('\n'),
    );
  });

  it('orders keys as Go does: JSON and TOML by UTF-8 bytes, YAML by go-yaml\'s rule (non-letters before letters, by code point)', async () => {
    // U+FF5E and U+1F600: UTF-16 (JS's default sort) puts the astral character first, UTF-8 after.
    const keys = '{"z": 1, "\u00e9": 2, "\uff5e": 3, "\ud83d\ude00": 4, "Z": 5, "_": 6}';
    const json = (await serialized(keys, 'json')).out;
    expect([...json.matchAll(/^ {2}"(.*)":/gmu)].map((match) => match[1])).toEqual(['Z', '_', 'z', 'é', '～', '😀']);
    const toml = (await serialized(keys, 'toml')).out;
    expect(toml.split('\n').filter(Boolean).map((line) => line.split(' = ')[0].replaceAll('"', ''))).toEqual(['Z', '_', 'z', 'é', '～', '😀']);
    const yaml = (await serialized(keys, 'yaml')).out;
    expect(yaml.split('\n').filter(Boolean).map((line) => line.split(': ')[0].replaceAll('"', '').replaceAll("'", ''))).toEqual(['_', '～', '😀', 'Z', 'z', 'é']);
    // Digits: numbers compare as numbers; after a digit a letter comes before a non-letter.
    const numbered = (await serialized('{"a10": 1, "a9": 2, "a1b": 3, "a1_": 4, "a01": 5}', 'yaml')).out;
    expect(numbered.split('\n').filter(Boolean).map((line) => line.split(': ')[0])).toEqual(['a1b', 'a1_', 'a01', 'a9', 'a10']);
  });

  it('writes INI as go-ini does: aligned keys, DEFAULT without a header, risky values quoted', async () => {
    const { out: text } = await serialized('{"DEFAULT": {"d": "1"}, "s1": {"a": "x", "long_key": 2, "q": "has ; semi", "sp": " lead"}, "s0": {}}', 'ini');
    expect(text).toBe(['d = 1', '', '[s1]', 'a        = x', 'long_key = 2', 'q        = `has ; semi`', 'sp       = " lead"', '', '[s0]', '', ''].join('\n'));
  });

  it('routes what a format cannot hold to exec-err; INI of a non-map is an error', async () => {
    expect((await serialized('{"a": [1, null]}', 'toml')).out).toBe('');
    expect((await serialized('{"a": [1, null]}', 'toml')).host.text('err')).toBe('handled\n');
    expect((await serialized('[1]', 'toml')).host.text('err')).toBe('handled\n');
    const ini = await serialized('[1]', 'ini');
    failed(ini);
    expect(ini.host.text()).toContain('data must be a map');
    const nan = await run(
      [{ id: 'p', type: 'core/parser@v1', inputs: { input: 'a: .nan', format: 'yaml' } }, { id: 's', type: 'core/serializer@v1' }],
      [
        ['start.exec', 'p.exec'],
        ['p.exec-success', 's.exec'],
      ],
      [['p.object', 's.object']],
    );
    failed(nan);
    expect(nan.host.text()).toContain('json: unsupported value: NaN');
  });
});

describe('property-getter', () => {
  const getter = async (path: string, input = '{"a": {"b": [{"c": 1}, {"c": "two", "d": [[5, 6]]}]}, "n": null}'): Promise<Run> =>
    run(
      [{ id: 'p', type: 'core/parser@v1', inputs: { input, format: 'json' } }, { id: 'g', type: 'core/property-getter@v1', inputs: { path } }, out(2), { id: 'err', type: 'core/print@v1', inputs: { 'values[0]': null } }],
      [
        ['start.exec', 'p.exec'],
        ['p.exec-success', 'g.exec'],
        ['g.exec-success', 'out.exec'],
        ['g.exec-err', 'err.exec'],
      ],
      [
        ['p.object', 'g.object'],
        ['g.value', 'out.values[0]'],
        ['g.found', 'out.values[1]'],
        ['g.found', 'err.values[0]'],
      ],
    );

  it('follows dotted names and [i] indices', async () => {
    expect((await getter('a.b[1].c')).out).toBe('two\ntrue\n');
    expect((await getter('a.b[1].d[0][1]')).out).toBe('6\ntrue\n');
    // Empty parts are skipped, as in the reference: `.` is the whole object.
    expect((await getter('a..b[0].c')).out).toBe('1\ntrue\n');
    expect((await getter('.')).out).toBe('map[a:map[b:[map[c:1] map[c:two d:[[5 6]]]]] n:<nil>]\ntrue\n');
  });

  it('reports what is missing on exec-err with found false', async () => {
    const cases: Array<[string, string]> = [
      ['a.x', 'key not found: x'],
      ['a.b[5]', 'index 5 out of range'],
      ['a[0]', 'expected array at path'],
      ['a.b[0].c.d', 'expected map at path'],
      ['a.b[]', 'invalid array index: b[]'],
      ['a.b[x]', "invalid array index 'x'"],
      ['a.b[-1]', "invalid array index '-1'"],
      ['', 'path cannot be empty'],
      ['n', "the value at path 'n' is null"],
    ];
    for (const [path, message] of cases) {
      const r = await getter(path);
      expect(r.result.status, path).toBe('succeeded');
      expect(r.host.text('err'), path).toBe(path === 'n' ? 'true\n' : 'false\n');
      expect(r.host.text('g'), path).toContain(message);
    }
  });

  it('needs a map as its object', async () => {
    const list = await getter('[0]', '[1, 2]');
    failed(list);
    expect(list.host.text()).toContain("unable to convert '[]int' to a map at input 'object'");
  });
});

describe('property-setter', () => {
  it('sets a value in a deep copy, creating maps and lists on the way', async () => {
    const text = await printed(
      [
        { id: 'p', type: 'core/parser@v1', inputs: { input: 'foo: hello\nlist: [1]', format: 'yaml' } },
        { id: 'set1', type: 'core/property-setter@v1', inputs: { path: 'bar', value: 'foo:\n  hello' } },
        { id: 'set2', type: 'core/property-setter@v1', inputs: { path: 'new.deep[2].x', value: 42 } },
        { id: 'set3', type: 'core/property-setter@v1', inputs: { path: 'list[0]', value: 'replaced' } },
        { id: 's', type: 'core/serializer@v1', inputs: { format: 'yaml' } },
        out(2),
      ],
      [
        ['start.exec', 'p.exec'],
        ['p.exec-success', 'set1.exec'],
        ['set1.exec-success', 'set2.exec'],
        ['set2.exec-success', 'set3.exec'],
        ['set3.exec-success', 's.exec'],
        ['s.exec-success', 'out.exec'],
      ],
      [
        ['p.object', 'set1.object'],
        ['set1.object', 'set2.object'],
        ['set2.object', 'set3.object'],
        ['set3.object', 's.object'],
        ['s.output', 'out.values[0]'],
        ['p.object', 'out.values[1]'],
      ],
    );
    expect(text).toBe(['bar: |-', '    foo:', '      hello', 'foo: hello', 'list:', '    - replaced', 'new:', '    deep:', '        - null', '        - null', '        - x: 42', '', 'map[foo:hello list:[1]]', ''].join('\n'));
  });

  it('sets along a deep path, copying only what is on the path and leaving the input as it was', async () => {
    const depth = 300;
    const path = Array.from({ length: depth }, (_, i) => (i % 3 === 2 ? 'l[1]' : `k${i}`)).join('.');
    const text = await printed(
      [
        { id: 'set', type: 'core/property-setter@v1', inputs: { object: { side: { x: [1, { y: 2 }] }, top: 'kept' }, path, value: 'deep' } },
        { id: 'again', type: 'core/property-setter@v1', inputs: { path: 'side.x[1].z', value: 3 } },
        { id: 'get', type: 'core/property-getter@v1', inputs: { path } },
        { id: 'json', type: 'core/serializer@v1', inputs: { format: 'json' } },
        { id: 'was', type: 'core/serializer@v1', inputs: { format: 'json' } },
        out(3),
      ],
      [
        ['start.exec', 'set.exec'],
        ['set.exec-success', 'again.exec'],
        ['again.exec-success', 'get.exec'],
        ['get.exec-success', 'json.exec'],
        ['json.exec-success', 'was.exec'],
        ['was.exec-success', 'out.exec'],
      ],
      [
        ['set.object', 'again.object'],
        ['again.object', 'get.object'],
        ['again.object', 'json.object'],
        ['set.object', 'was.object'],
        ['get.value', 'out.values[0]'],
        ['json.output', 'out.values[1]'],
        ['was.output', 'out.values[2]'],
      ],
    );
    const [value, ...rest] = text.split('\n');
    expect(value).toBe('deep');
    const after = JSON.parse(rest.join('\n').split('\n}\n')[0] + '\n}') as Record<string, unknown>;
    expect(after.side).toEqual({ x: [1, { y: 2, z: 3 }] });
    expect(after.top).toBe('kept');
    // The first setter's output is not changed by the second setter (no z), and holds the deep value.
    const before = JSON.parse(rest.join('\n').split('\n}\n')[1] + '\n}') as Record<string, unknown>;
    expect(before.side).toEqual({ x: [1, { y: 2 }] });
    let walked: unknown = before;
    for (const part of path.split('.')) {
      walked = part === 'l[1]' ? ((walked as Record<string, unknown[]>).l[1] as unknown) : (walked as Record<string, unknown>)[part];
    }
    expect(walked).toBe('deep');
  });

  it('stores a stream as its text; an unset value removes the key; a bad path goes to exec-err', async () => {
    const stream = await printed(
      [
        { id: 'r', type: 'core/random-stream@v1', inputs: { length: 6, include_numbers: true, seed: 5 } },
        { id: 'set', type: 'core/property-setter@v1', inputs: { object: { keep: 1, gone: 2 }, path: 'code' } },
        { id: 'del', type: 'core/property-setter@v1', inputs: { path: 'gone' } },
        out(),
      ],
      [
        ['start.exec', 'r.exec'],
        ['r.exec-success', 'set.exec'],
        ['set.exec-success', 'del.exec'],
        ['del.exec-success', 'out.exec'],
      ],
      [
        ['r.stream', 'set.value'],
        ['set.object', 'del.object'],
        ['del.object', 'out.values[0]'],
      ],
    );
    expect(stream).toMatch(/^map\[code:\d{6} keep:1\]\n$/);
    const bad = await run(
      [{ id: 'set', type: 'core/property-setter@v1', inputs: { path: 'a[]', value: 1 } }, { id: 'out', type: 'core/print@v1', inputs: { 'values[0]': 'handled' } }],
      [
        ['start.exec', 'set.exec'],
        ['set.exec-err', 'out.exec'],
      ],
    );
    expect(bad.out).toBe('handled\n');
    expect(bad.host.text('set')).toContain('invalid array index: a[]');
  });
});
