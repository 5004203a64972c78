// Nodes that start child processes (run, run-exec) and the print node.

import { constants } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { CancelledError } from '../act-errors';
import { NodeFailure, data, exec, staticPorts, type NodeContext, type NodeDef, type PortSpec } from '../act-node-def';
import { findExecutable, runProcess } from '../act-process';
import { toText } from '../act-values';

const SHELLS = ['bash', 'python', 'pwsh', 'cmd'] as const;
type Shell = (typeof SHELLS)[number];
const PRINT_MODES = ['output', 'stdout', 'both'] as const;
type PrintMode = (typeof PRINT_MODES)[number];

/** Captured `output` beyond this is dropped (still streamed): a runaway log must not exhaust the agent. */
const MAX_CAPTURE_CHARS = 32 * 1024 * 1024;
const DEFAULT_GRACE_MS = 10_000;

const processInputs = (): PortSpec[] => [
  data('args', 'string', { array: true }),
  data('env', 'string', { array: true }),
  data('stdin', 'stream'),
  data('print', 'option', { default: 'both', options: PRINT_MODES }),
];
const processOutputs = (): PortSpec[] => [exec('exec-success'), exec('exec-err'), data('output', 'string'), data('exit_code', 'number')];

type Command = { command: string; args: string[]; env?: Record<string, string> };

const run: NodeDef = {
  type: 'core/run@v1',
  ports: staticPorts(
    [exec('exec'), data('shell', 'option', { default: 'bash', options: SHELLS }), data('script', 'string', { required: true }), ...processInputs()],
    processOutputs(),
  ),
  async execute(ctx) {
    const shell = (await ctx.readString('shell')) as Shell;
    const script = await ctx.readString('script');
    const args = (await ctx.readArray('args')).map(toText);
    const env = await childEnv(ctx);
    return runChild(ctx, shellCommand(shell, script, args, env), env);
  },
};

const runExec: NodeDef = {
  type: 'core/run-exec@v1',
  ports: staticPorts([exec('exec'), data('path', 'string', { required: true }), ...processInputs()], processOutputs()),
  async execute(ctx) {
    const path = await ctx.readString('path');
    if (path.trim() === '') throw new NodeFailure('path is empty');
    // A bare name is looked up on PATH by spawn; a relative path with a slash is relative to the work dir.
    const command = path.includes('/') && !isAbsolute(path) ? resolve(ctx.host.workDir, path) : path;
    const args = (await ctx.readArray('args')).map(toText);
    const env = await childEnv(ctx);
    return runChild(ctx, { command, args }, env);
  },
};

function shellCommand(shell: Shell, script: string, args: string[], env: Record<string, string>): Command {
  switch (shell) {
    case 'bash':
      // Same flags as GitHub Actions' bash: a failing command or pipeline fails the node; no rc files.
      return { command: findExecutable('bash', env) ?? 'bash', args: ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script, 'bash', ...args] };
    case 'python': {
      const python = findExecutable('python3', env) ?? findExecutable('python', env);
      if (!python) throw new NodeFailure('shell python is not available on this agent (neither python3 nor python is on PATH)');
      // -u: unbuffered, so output streams live and interleaves with stderr as written.
      return { command: python, args: ['-u', '-c', script, ...args] };
    }
    case 'pwsh': {
      const pwsh = findExecutable('pwsh', env);
      if (!pwsh) throw new NodeFailure('shell pwsh is not available on this agent (pwsh is not on PATH)');
      return { command: pwsh, args: ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', script, ...args] };
    }
    case 'cmd': {
      const cmd = process.platform === 'win32' ? findExecutable('cmd.exe', env) : undefined;
      if (!cmd) throw new NodeFailure('shell cmd is not available on this agent (cmd runs only on Windows agents)');
      return { command: cmd, args: ['/d', '/s', '/c', script, ...args] };
    }
    default:
      throw new NodeFailure(`shell ${JSON.stringify(shell)} is not one of ${SHELLS.join(', ')}`);
  }
}

/** The host environment plus the node's `env` list of KEY=VALUE entries. */
async function childEnv(ctx: NodeContext): Promise<Record<string, string>> {
  const env: Record<string, string> = { ...ctx.host.env };
  for (const entry of await ctx.readArray('env')) {
    for (const item of Array.isArray(entry) ? entry : [entry]) {
      const text = toText(item);
      if (text.trim() === '') continue;
      const eq = text.indexOf('=');
      if (eq <= 0) throw new NodeFailure(`env entry ${JSON.stringify(text)} is not KEY=VALUE`);
      env[text.slice(0, eq)] = text.slice(eq + 1);
    }
  }
  return env;
}

async function runChild(ctx: NodeContext, command: Command, env: Record<string, string>): Promise<string> {
  const mode = (await ctx.readString('print')) as PrintMode;
  if (!PRINT_MODES.includes(mode)) throw new NodeFailure(`print ${JSON.stringify(mode)} is not one of ${PRINT_MODES.join(', ')}`);
  const stdinValue = ctx.hasValue('stdin') ? await ctx.read('stdin') : undefined;
  const stdin = stdinValue === undefined ? undefined : Buffer.isBuffer(stdinValue) ? stdinValue : toText(stdinValue);
  let captured = '';
  const outcome = await runProcess({
    command: command.command,
    args: command.args,
    cwd: ctx.host.workDir,
    env: { ...env, ...command.env },
    stdin,
    signal: ctx.signal,
    cancelGraceMs: ctx.host.cancelGraceMs ?? DEFAULT_GRACE_MS,
    onStdout: (text) => {
      if (mode !== 'stdout' && captured.length < MAX_CAPTURE_CHARS) captured += text;
      if (mode !== 'output') ctx.print('stdout', text);
    },
    onStderr: (text) => ctx.print('stderr', text),
    onSystem: (text) => ctx.print('system', text),
  });
  ctx.set('output', captured);
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
  ports: staticPorts([exec('exec'), data('color', 'option', { default: 'no_color', options: Object.keys(COLORS) }), data('values', 'any', { array: true })], [exec('exec')]),
  async execute(ctx) {
    const color = await ctx.readString('color');
    const code = COLORS[color];
    if (code === undefined) throw new NodeFailure(`color ${JSON.stringify(color)} is not one of ${Object.keys(COLORS).join(', ')}`);
    const text = (await ctx.readArray('values')).map(toText).join(' ');
    ctx.print('stdout', code === '' ? `${text}\n` : `${code}${text}\x1b[0m\n`);
    return 'exec';
  },
};

export const processNodes: readonly NodeDef[] = [run, runExec, print];
