import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { api } from '../../contract';
import type { RouteDef } from '../../contract/http';
import type { ApiClient } from '../../cli/api-client';
import { targetPath } from '../../cli/artifact-download';
import { configPath, resolveConfig, writeConfigFile } from '../../cli/cli-config';
import { CliError } from '../../cli/cli-errors';
import { colours, formatBytes, progressLine, table } from '../../cli/cli-output';
import { exitCodeFor, parsePairs, parsePriority, parseRunId } from '../../cli/commands';
import { printRunLogs } from '../../cli/log-follower';

describe('config', () => {
  it('writes a private file and lets flags and environment override it', () => {
    const home = mkdtempSync(join(tmpdir(), 'bellows-cli-'));
    const env = { HOME: home };
    const file = writeConfigFile({ url: 'http://ci.example:3000', token: 'bel_file' }, env);
    expect(file).toBe(join(home, '.config', 'bellows', 'config.json'));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ url: 'http://ci.example:3000', token: 'bel_file' });
    expect(resolveConfig({}, env)).toEqual({ url: 'http://ci.example:3000', token: 'bel_file' });
    expect(resolveConfig({}, { ...env, BELLOWS_TOKEN: 'bel_env' }).token).toBe('bel_env');
    expect(resolveConfig({ url: 'http://other/' }, { ...env, BELLOWS_URL: 'http://env' }).url).toBe('http://other');
    expect(configPath({ XDG_CONFIG_HOME: '/x' })).toBe('/x/bellows/config.json');
  });

  it('explains how to log in when nothing is configured', () => {
    expect(() => resolveConfig({}, { HOME: mkdtempSync(join(tmpdir(), 'bellows-cli-')) })).toThrow(/bellows login/);
  });
});

describe('arguments', () => {
  it('parses run ids and key=value pairs, refusing the rest as usage errors', () => {
    expect(parseRunId('42')).toBe(42);
    expect(parseRunId('#7')).toBe(7);
    for (const bad of ['abc', '0', '-1', '1.5', undefined]) {
      expect(() => parseRunId(bad)).toThrow(CliError);
      try {
        parseRunId(bad);
      } catch (error) {
        expect((error as CliError).exitCode).toBe(2);
      }
    }
    expect(parsePairs(['a=1', 'url=http://x?y=z'], 'input')).toEqual({ a: '1', url: 'http://x?y=z' });
    expect(() => parsePairs(['=1'], 'input')).toThrow('--input takes key=value');
  });

  it('reads --priority as a whole number and refuses anything else with a sentence', () => {
    expect([parsePriority(undefined), parsePriority('7'), parsePriority('-20')]).toEqual([undefined, 7, -20]);
    for (const bad of ['high', '1.5', '', '1e3']) {
      expect(() => parsePriority(bad)).toThrow(`--priority takes a whole number (higher goes first); got "${bad}".`);
    }
  });

  it('maps run outcomes onto exit codes', () => {
    expect([exitCodeFor('succeeded'), exitCodeFor('failed'), exitCodeFor('cancelled')]).toEqual([0, 1, 130]);
  });
});

describe('artifact paths', () => {
  it('keeps downloads inside the target directory', () => {
    expect(targetPath('/tmp/out', 'nested/a.txt')).toBe('/tmp/out/nested/a.txt');
    expect(() => targetPath('/tmp/out', '../escape.txt')).toThrow(/outside/);
    expect(() => targetPath('/tmp/out', '/etc/passwd')).toThrow(/outside/);
  });
});

describe('output', () => {
  it('formats sizes, progress and tables, colouring only when asked', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MiB');
    expect(progressLine('a.bin', 50, 100, 80)).toMatch(/^\[#+-+\]\s+50%/);
    expect(table([['1', 'x']], ['ID', 'NAME'])).toBe('ID  NAME\n1   x\n');
    const plain = colours({ isTTY: false } as NodeJS.WriteStream, {});
    expect(plain.red('x')).toBe('x');
    const forced = colours({ isTTY: false } as NodeJS.WriteStream, { FORCE_COLOR: '1' });
    expect(forced.red('x')).toBe('\u001b[31mx\u001b[39m');
    expect(colours({ isTTY: true } as NodeJS.WriteStream, { NO_COLOR: '1' }).red('x')).toBe('x');
  });
});

describe('log following', () => {
  it('prints each chunk once, with a header per job and a line when it ends', async () => {
    const job = { id: 7, name: 'build', status: 'running', reason: null, exitCode: null, carriedFromJobId: null };
    const logs = [
      { seq: 1, stream: 'stdout', text: 'one\n' },
      { seq: 2, stream: 'stdout', text: '\u001b[32mtwo\u001b[0m\n' },
    ];
    let polls = 0;
    const fake = {
      call: async (route: RouteDef, input: { query?: { after?: string } }) => {
        if (route === api.runs.get) {
          polls++;
          const done = polls >= 3;
          return { id: 1, number: 1, attempt: 1, status: done ? 'succeeded' : 'running', jobs: [{ ...job, status: done ? 'succeeded' : 'running', exitCode: done ? 0 : null }] };
        }
        expect(route).toBe(api.jobs.logs);
        const after = Number(input.query?.after);
        const visible = logs.slice(0, polls).filter((chunk) => chunk.seq > after);
        return { chunks: visible, nextSeq: visible.length ? visible[visible.length - 1].seq : after, complete: false };
      },
    } as unknown as ApiClient;
    let out = '';
    const run = await printRunLogs({ client: fake, runId: 1, write: (text) => (out += text), colours: colours({ isTTY: false } as NodeJS.WriteStream, {}), follow: true, intervalMs: 1 });
    expect(run.status).toBe('succeeded');
    expect(out).toBe('── build ──\none\n\u001b[32mtwo\u001b[0m\n✓ build succeeded (exit 0)\n');
  });
});
