// `bellows-act run file.act [--input k=v]… [--env k=v]… [--secret k=v]… [--workdir DIR]`: runs a graph
// locally with live, prefixed, secret-masked output; the exit code is the graph's.

import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecretMasker } from '../secret-masker';
import { formatProblems } from './act-problems';
import { parseAct } from './act-parser';
import { CANCELLED_EXIT_CODE, INVALID_GRAPH_EXIT_CODE, runAct } from './act-runtime';
import type { ActOutput } from './act-types';
import { validateAct } from './act-validator';

export const USAGE = 'usage: bellows-act run FILE.act [--input KEY=VALUE]... [--env KEY=VALUE]... [--secret KEY=VALUE]... [--workdir DIR]';

export type CliOptions = {
  file: string;
  inputs: Record<string, string>;
  secrets: Record<string, string>;
  env: Record<string, string>;
  workDir: string;
};

export type CliParse = { ok: true; options: CliOptions } | { ok: false; message: string } | { ok: true; help: true };

const FLAGS = { '--input': 'inputs', '--env': 'env', '--secret': 'secrets' } as const;

/** Flags win over ACT_INPUT_* variables, which win over the ACT_INPUT_INPUTS / ACT_INPUT_SECRETS JSON. */
export function parseCliArgs(argv: readonly string[], environment: NodeJS.ProcessEnv, cwd: string): CliParse {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') return { ok: true, help: true };
  if (argv[0] !== 'run') return { ok: false, message: `unknown command ${JSON.stringify(argv[0])}; the only command is run (${USAGE})` };

  const fromEnv = valuesFromEnvironment(environment);
  if (!fromEnv.ok) return fromEnv;
  const options: CliOptions = { file: '', inputs: fromEnv.inputs, secrets: fromEnv.secrets, env: {}, workDir: cwd };
  const rest = argv.slice(1);
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === '--help' || arg === '-h') return { ok: true, help: true };
    if (!arg.startsWith('-')) {
      if (options.file !== '') return { ok: false, message: `only one graph file can be run, but both ${options.file} and ${arg} were given` };
      options.file = arg;
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 && arg.startsWith('--') ? arg.slice(0, eq) : arg;
    let value = eq > 0 && arg.startsWith('--') ? arg.slice(eq + 1) : undefined;
    if (flag !== '--workdir' && !(flag in FLAGS)) return { ok: false, message: `unknown option ${flag} (${USAGE})` };
    if (value === undefined) {
      value = rest[++i];
      if (value === undefined) return { ok: false, message: `option ${flag} needs a value` };
    }
    if (flag === '--workdir') {
      options.workDir = resolve(cwd, value);
      continue;
    }
    const split = value.indexOf('=');
    if (split <= 0) return { ok: false, message: `option ${flag} takes KEY=VALUE, not ${JSON.stringify(value)}` };
    options[FLAGS[flag as keyof typeof FLAGS]][value.slice(0, split)] = value.slice(split + 1);
  }
  if (options.file === '') return { ok: false, message: `no graph file given (${USAGE})` };
  return { ok: true, options };
}

type EnvValues = { ok: true; inputs: Record<string, string>; secrets: Record<string, string> } | { ok: false; message: string };

function valuesFromEnvironment(environment: NodeJS.ProcessEnv): EnvValues {
  const inputs = parseJsonMap(environment.ACT_INPUT_INPUTS, 'ACT_INPUT_INPUTS');
  if (typeof inputs === 'string') return { ok: false, message: inputs };
  const secrets = parseJsonMap(environment.ACT_INPUT_SECRETS, 'ACT_INPUT_SECRETS');
  if (typeof secrets === 'string') return { ok: false, message: secrets };
  for (const [name, value] of Object.entries(environment)) {
    if (value === undefined) continue;
    if (name.startsWith('ACT_INPUT_INPUT_')) inputs[name.slice('ACT_INPUT_INPUT_'.length).toLowerCase()] = value;
    else if (name.startsWith('ACT_INPUT_SECRET_')) secrets[name.slice('ACT_INPUT_SECRET_'.length).toLowerCase()] = value;
  }
  return { ok: true, inputs, secrets };
}

function parseJsonMap(text: string | undefined, name: string): Record<string, string> | string {
  if (text === undefined || text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return `${name} is not valid JSON`;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return `${name} must be a JSON object of names to values`;
  const map: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) map[key] = typeof value === 'string' ? value : JSON.stringify(value);
  return map;
}

/** The environment children see: ours minus the secret-carrying ACT_INPUT_* variables, plus --env. */
export function childEnvironment(environment: NodeJS.ProcessEnv, extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(environment)) {
    if (value === undefined || name === 'ACT_INPUT_SECRETS' || name.startsWith('ACT_INPUT_SECRET_')) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

export type CliIo = {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  environment: NodeJS.ProcessEnv;
  cwd: string;
  /** Aborting it cancels the graph (SIGINT/SIGTERM in the real process). */
  signal?: AbortSignal;
};

export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const parsed = parseCliArgs(argv, io.environment, io.cwd);
  if (!parsed.ok) {
    io.stderr.write(`bellows-act: ${parsed.message}\n`);
    return INVALID_GRAPH_EXIT_CODE;
  }
  if ('help' in parsed) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { options } = parsed;
  let text: string;
  try {
    text = readFileSync(resolve(io.cwd, options.file), 'utf8');
  } catch (error) {
    io.stderr.write(`bellows-act: cannot read ${options.file}: ${(error as Error).message}\n`);
    return INVALID_GRAPH_EXIT_CODE;
  }
  if (!isDirectory(options.workDir)) {
    io.stderr.write(`bellows-act: the work directory ${options.workDir} does not exist\n`);
    return INVALID_GRAPH_EXIT_CODE;
  }
  const { graph } = parseAct(text);
  const problems = validateAct(graph);
  if (problems.length > 0) {
    io.stderr.write(`${formatProblems(problems)}\n`);
    return INVALID_GRAPH_EXIT_CODE;
  }

  const masker = createSecretMasker(Object.values(options.secrets));
  const colour = (stream: CliIo['stdout']): boolean => (io.environment.FORCE_COLOR ? io.environment.FORCE_COLOR !== '0' : !io.environment.NO_COLOR && stream.isTTY === true);
  const print = (chunk: ActOutput): void => {
    const target = chunk.stream === 'stdout' ? io.stdout : io.stderr;
    const useColour = colour(target);
    const label = `[${chunk.node === '' ? 'act' : chunk.node}]`;
    const prefix = useColour ? `\x1b[2m${label}\x1b[0m ` : `${label} `;
    let body = masker.mask(chunk.text);
    if (chunk.stream === 'system' && useColour) body = `\x1b[33m${body}\x1b[0m`;
    target.write(`${prefix}${body}${body.endsWith('\n') ? '' : '\n'}`);
  };

  const result = await runAct(graph, {
    env: childEnvironment(io.environment, options.env),
    inputs: options.inputs,
    secrets: options.secrets,
    workDir: options.workDir,
    signal: io.signal ?? new AbortController().signal,
    output: print,
  });
  if (result.status === 'cancelled') return CANCELLED_EXIT_CODE;
  // Exit statuses are one byte; a process-exit code outside it still has to read as a failure.
  return result.exitCode >= 0 && result.exitCode <= 255 ? result.exitCode : 1;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, environment: process.env, cwd: process.cwd() };
}

/** Entry point of bin/bellows-act.js: the first SIGINT/SIGTERM cancels the graph, a second one exits at once. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const controller = new AbortController();
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(CANCELLED_EXIT_CODE);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    process.exitCode = await runCli(argv, { ...processIo(), signal: controller.signal });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

if (require.main === module) void main();
