// Nodes that start child processes (run, run-exec) and the print node.

import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { CancelledError } from '../act-errors';
import { NodeError, NodeFailure, data, exec, option, staticPorts, type NodeContext, type NodeDef, type PortSpec } from '../act-node-def';
import { findExecutable, runProcess } from '../act-process';
import { DataStream, decodeBytes, formatValue } from '../act-values';

const SHELLS = ['bash', 'python', 'pwsh', 'cmd'] as const;
type Shell = (typeof SHELLS)[number];
const PRINT_MODES = ['output', 'stdout', 'both'] as const;
type PrintMode = (typeof PRINT_MODES)[number];

/** Captured `output` beyond this is dropped (still streamed): a runaway log must not exhaust the agent. */
const MAX_CAPTURE_BYTES = 32 * 1024 * 1024;
const DEFAULT_GRACE_MS = 10_000;

const processInputs = (): PortSpec[] => [data('args', '[]string'), data('stdin', 'stream'), option('print', PRINT_MODES, 'both'), data('env', '[]string')];
const processOutputs = (): PortSpec[] => [exec('exec-success'), exec('exec-err'), data('output', 'string'), data('exit_code', 'number')];

type Command = { command: string; args: string[]; env: Record<string, string> };

const run: NodeDef = {
  type: 'core/run@v1',
  ports: staticPorts([exec('exec'), option('shell', SHELLS, 'bash'), data('script', 'string'), ...processInputs()], processOutputs()),
  async execute(ctx) {
    const shell = await ctx.string('shell');
    const script = await ctx.string('script');
    const { print, args, env, stdin } = await processOptions(ctx);
    const dir = await mkdtemp(join(tmpdir(), 'bellows-run-'));
    try {
      const command = await shellCommand(shell, script, dir, args, env);
      return await runChild(ctx, command, print, stdin);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

const runExec: NodeDef = {
  type: 'core/run-exec@v1',
  ports: staticPorts([exec('exec'), data('path', 'string', { required: true }), ...processInputs()], processOutputs()),
  async execute(ctx) {
    const path = await ctx.string('path');
    const { print, args, env, stdin } = await processOptions(ctx);
    if (path.trim() === '') throw new NodeFailure('path is empty');
    // A bare name is looked up on PATH; a relative path with a slash is relative to the work directory.
    let command = path.includes('/') && !isAbsolute(path) ? resolve(ctx.host.workDir, path) : path;
    if (path === 'python') command = findExecutable('python3', env) ?? command;
    return runChild(ctx, { command, args, env }, print, stdin);
  },
};

async function processOptions(ctx: NodeContext): Promise<{ print: PrintMode; args: string[]; env: Record<string, string>; stdin?: Readable }> {
  const print = (await ctx.string('print')) as PrintMode;
  if (!PRINT_MODES.includes(print)) throw new NodeError(`print ${JSON.stringify(print)} is not one of ${PRINT_MODES.join(', ')}`);
  // The reference trims every argument (values arriving from other nodes often end in a newline).
  const args = (await ctx.strings('args')).map((arg) => arg.trim());
  const env: Record<string, string> = { ...ctx.state.env };
  for (const entry of await ctx.strings('env')) {
    const eq = entry.indexOf('=');
    if (eq < 0) throw new NodeError(`invalid env format: '${entry}' (expected KEY=VALUE)`);
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  const stdin = ctx.hasValue('stdin') ? (await ctx.stream('stdin'))?.take() : undefined;
  return { print, args, env, stdin };
}

let utf8Locale: string | undefined;

/** en_US.UTF-8 as the reference sets, or C.UTF-8 where that locale is not installed (bash would warn). */
function bashLocale(): string {
  if (utf8Locale === undefined) {
    const listed = spawnSync('locale', ['-a'], { encoding: 'utf8' }).stdout ?? '';
    const names = listed.split('\n').map((name) => name.trim().toLowerCase());
    utf8Locale = names.includes('en_us.utf8') || names.includes('en_us.utf-8') ? 'en_US.UTF-8' : 'C.UTF-8';
  }
  return utf8Locale;
}

/** The script goes to a file, as the reference does (long scripts, and `$0` is a real path). */
async function shellCommand(shell: string, script: string, dir: string, args: string[], env: Record<string, string>): Promise<Command> {
  const scriptFile = join(dir, shell === 'pwsh' ? 'script.ps1' : shell === 'cmd' ? 'script.cmd' : 'script');
  const text = shell === 'cmd' ? `@chcp 65001>nul\n${script}` : script;
  await writeFile(scriptFile, text.replace(/\r\n/g, '\n'));
  switch (shell as Shell) {
    case 'bash': {
      const locale = bashLocale();
      // As GitHub Actions and the reference do: a failing command or pipeline fails the node; no rc files.
      return { command: findExecutable('bash', env) ?? 'bash', args: ['--noprofile', '--norc', '-eo', 'pipefail', scriptFile, ...args], env: { ...env, LANG: locale, LC_ALL: locale } };
    }
    case 'python': {
      const python = findExecutable('python3', env) ?? findExecutable('python', env);
      if (!python) throw new NodeFailure('shell python is not available on this agent (neither python3 nor python is on PATH)');
      // -u: unbuffered, so output streams live and interleaves with stderr as written.
      return { command: python, args: ['-u', scriptFile, ...args], env: { ...env, PYTHONIOENCODING: 'utf-8' } };
    }
    case 'pwsh': {
      const pwsh = findExecutable('pwsh', env);
      if (!pwsh) throw new NodeFailure('shell pwsh is not available on this agent (pwsh is not on PATH)');
      return { command: pwsh, args: ['-NoLogo', '-NoProfile', '-NonInteractive', '-File', scriptFile, ...args], env };
    }
    case 'cmd': {
      const cmd = process.platform === 'win32' ? (env.ComSpec ?? findExecutable('cmd.exe', env)) : undefined;
      if (!cmd) throw new NodeFailure("shell cmd is not available on this agent (the 'cmd' shell runs only on Windows agents)");
      return { command: cmd, args: ['/D', '/E:ON', '/V:OFF', '/S', '/C', scriptFile, ...args], env };
    }
    default:
      throw new NodeError(`shell ${JSON.stringify(shell)} is not one of ${SHELLS.join(', ')}`);
  }
}

/**
 * Runs the process and sets `output` (what the print mode captures: stdout and stderr for `both` and
 * `output`, stdout alone for `stdout`) and `exit_code`; a failure continues on exec-err.
 */
async function runChild(ctx: NodeContext, command: Command, mode: PrintMode, stdin: Readable | undefined): Promise<string> {
  const captured: Buffer[] = [];
  let capturedBytes = 0;
  const capture = (text: string): void => {
    if (capturedBytes >= MAX_CAPTURE_BYTES) return;
    const bytes = Buffer.from(text, 'utf8');
    captured.push(bytes);
    capturedBytes += bytes.length;
  };
  const outcome = await runProcess({
    command: command.command,
    args: command.args,
    cwd: ctx.host.workDir,
    env: command.env,
    stdin,
    signal: ctx.signal,
    cancelGraceMs: ctx.host.cancelGraceMs ?? DEFAULT_GRACE_MS,
    onStdout: (text) => {
      capture(text);
      if (mode !== 'output') ctx.print('stdout', text);
    },
    onStderr: (text) => {
      if (mode !== 'stdout') capture(text);
      if (mode !== 'output') ctx.print('stderr', text);
    },
    onSystem: (text) => ctx.print('system', text),
  });
  ctx.set('output', decodeBytes(Buffer.concat(captured)));
  ctx.set('exit_code', outcome.exitCode ?? -1);
  if (outcome.cancelled) throw new CancelledError();
  if (outcome.startError !== undefined) throw new NodeFailure(outcome.startError, 127);
  if (outcome.signal) {
    const number = constants.signals[outcome.signal] ?? 0;
    throw new NodeFailure(`killed by ${outcome.signal}`, 128 + number);
  }
  if (outcome.exitCode !== 0) throw new NodeFailure(`exit code ${outcome.exitCode}`, outcome.exitCode ?? 1);
  return 'exec-success';
}

const COLORS: Record<string, string> = {
  no_color: '',
  fg_black: '\x1b[30m',
  fg_red: '\x1b[31m',
  fg_green: '\x1b[32m',
  fg_yellow: '\x1b[33m',
  fg_blue: '\x1b[34m',
  fg_magenta: '\x1b[35m',
  fg_cyan: '\x1b[36m',
  fg_white: '\x1b[37m',
  // Bellows extras (bright variants); the reference's editor offers the eight above.
  fg_bright_black: '\x1b[90m',
  fg_bright_red: '\x1b[91m',
  fg_bright_green: '\x1b[92m',
  fg_bright_yellow: '\x1b[93m',
  fg_bright_blue: '\x1b[94m',
  fg_bright_magenta: '\x1b[95m',
  fg_bright_cyan: '\x1b[96m',
  fg_bright_white: '\x1b[97m',
};

const print: NodeDef = {
  type: 'core/print@v1',
  ports: staticPorts([exec('exec'), option('color', Object.keys(COLORS), 'no_color'), data('values', 'any', { array: true })], [exec('exec')]),
  async execute(ctx) {
    const values = await ctx.array('values');
    // Never fail because of a colour, as in the reference: an unknown one prints uncoloured.
    const colour = COLORS[await ctx.string('color').catch(() => 'no_color')] ?? '';
    const reset = colour === '' ? '' : '\x1b[0m';
    // One line per value; streams and bytes print their content, anything else as Go's %v shows it.
    for (const value of values) {
      if (value === undefined || value === null) ctx.print('stdout', '\n');
      else if (value instanceof DataStream) ctx.print('stdout', `${colour}${decodeBytes(await value.readAll())}${reset}\n`);
      else if (Buffer.isBuffer(value)) ctx.print('stdout', `${colour}${decodeBytes(value)}${reset}\n`);
      else ctx.print('stdout', `${colour}${formatValue(value)}${reset}\n`);
    }
    return 'exec';
  },
};

export const processNodes: readonly NodeDef[] = [run, runExec, print];
