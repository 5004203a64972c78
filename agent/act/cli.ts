// `bellows-act`: runs or checks a graph locally, a drop-in for the reference engine's `actrun`.
//
//   bellows-act run FILE [options] [-- ARGS…]     (also: bellows-act FILE [ARGS…], as actrun takes it)
//   bellows-act validate FILE
//
// Values come, lowest precedence first, from the config file (`.actconfig`: env, inputs, secrets), the
// ACT_INPUT_INPUTS / ACT_INPUT_SECRETS JSON, the individual ACT_INPUT_INPUT_<KEY> / ACT_INPUT_SECRET_<KEY>
// variables, then the --input / --secret / --env flags. An --env-file is loaded first, never overriding
// variables the shell already set. ACT_GRAPH_FILE, ACT_CONFIG_FILE and ACT_CONCURRENCY stand in for the
// file, --config-file and --concurrency, as they do for actrun.

import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { createSecretMasker } from '../secret-masker';
import { formatProblems } from './act-problems';
import { parseAct } from './act-parser';
import { CANCELLED_EXIT_CODE, INVALID_GRAPH_EXIT_CODE, runValidatedAct } from './act-runtime';
import type { ActOutput } from './act-types';
import { validateAct } from './act-validator';

export const USAGE = [
  'usage: bellows-act run FILE.act [options] [-- ARGS...]',
  '       bellows-act validate FILE.act',
  'options: --input KEY=VALUE, --secret KEY=VALUE, --env KEY=VALUE (each repeatable), --workdir DIR,',
  '         --env-file FILE (.env), --config-file FILE (.actconfig), --concurrency true|false, --no-prefix',
].join('\n');

export type CliOptions = {
  command: 'run' | 'validate';
  file: string;
  args: string[];
  inputs: Record<string, string>;
  secrets: Record<string, string>;
  env: Record<string, string>;
  workDir: string;
  concurrency: boolean;
  prefix: boolean;
};

type CliParse = { ok: true; options: CliOptions } | { ok: false; message: string } | { ok: true; help: true };

const VALUE_FLAGS = { '--input': 'inputs', '--env': 'env', '--secret': 'secrets' } as const;
/** actrun spells its flags with underscores; both spellings work. */
const FLAG_NAMES: Record<string, string> = { '--env_file': '--env-file', '--config_file': '--config-file' };

/** Turns argv and the environment into options, or one sentence saying what is wrong. */
export function parseCliArgs(argv: readonly string[], environment: NodeJS.ProcessEnv, cwd: string): CliParse {
  if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') return { ok: true, help: true };
  // The command is the first word that is not an option (`bellows-act --no-prefix validate FILE` works too).
  const at = argv.findIndex((arg) => !arg.startsWith('-'));
  const explicit = at >= 0 && (argv[at] === 'run' || argv[at] === 'validate');
  const command = explicit && argv[at] === 'validate' ? 'validate' : 'run';
  const rest = explicit ? [...argv.slice(0, at), ...argv.slice(at + 1)] : argv;

  let file = '';
  let args: string[] = [];
  const flagValues: Record<'inputs' | 'secrets' | 'env', Record<string, string>> = { inputs: {}, secrets: {}, env: {} };
  let workDir = cwd;
  let envFile: string | undefined;
  let configFile = environment.ACT_CONFIG_FILE || undefined;
  let concurrency = environment.ACT_CONCURRENCY ?? '';
  let prefix = true;

  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === '--') {
      args = [...args, ...rest.slice(i + 1)];
      break;
    }
    if (arg === '--help' || arg === '-h') return { ok: true, help: true };
    if (arg === '--no-prefix') {
      prefix = false;
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      // The first positional is the graph; later ones are the graph's args (as actrun reads them).
      if (file === '') file = arg;
      else args.push(arg);
      continue;
    }
    if (file !== '' && !explicit) {
      // `bellows-act FILE …` reads like actrun: after the file, everything belongs to the graph.
      args.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const rawFlag = eq > 0 ? arg.slice(0, eq) : arg;
    const flag = FLAG_NAMES[rawFlag] ?? rawFlag;
    let value = eq > 0 ? arg.slice(eq + 1) : undefined;
    const known = flag in VALUE_FLAGS || ['--workdir', '--env-file', '--config-file', '--concurrency'].includes(flag);
    if (!known) return { ok: false, message: `unknown option ${rawFlag}; bellows-act --help shows the usage` };
    if (value === undefined) {
      value = rest[++i];
      if (value === undefined) return { ok: false, message: `option ${rawFlag} needs a value` };
    }
    if (flag === '--workdir') workDir = resolve(cwd, value);
    else if (flag === '--env-file') envFile = resolve(cwd, value);
    else if (flag === '--config-file') configFile = resolve(cwd, value);
    else if (flag === '--concurrency') concurrency = value;
    else {
      const split = value.indexOf('=');
      if (split <= 0) return { ok: false, message: `option ${rawFlag} takes KEY=VALUE, not ${JSON.stringify(value)}` };
      flagValues[VALUE_FLAGS[flag as keyof typeof VALUE_FLAGS]][value.slice(0, split)] = value.slice(split + 1);
    }
  }

  let effective: NodeJS.ProcessEnv = environment;
  if (envFile !== undefined) {
    const loaded = loadEnvFile(envFile);
    if (typeof loaded === 'string') return { ok: false, message: loaded };
    // The shell's variables win over the .env file's, as with actrun.
    effective = { ...loaded, ...environment };
  }
  if (file === '') file = effective.ACT_GRAPH_FILE ?? '';
  if (file === '') return { ok: false, message: 'no graph file given (nor ACT_GRAPH_FILE); bellows-act --help shows the usage' };
  if (!['', 'true', '1', 'false', '0'].includes(concurrency)) return { ok: false, message: `--concurrency takes true or false, not ${JSON.stringify(concurrency)}` };

  const config = configFile === undefined ? { env: {}, inputs: {}, secrets: {} } : loadConfigFile(resolve(cwd, configFile));
  if (typeof config === 'string') return { ok: false, message: config };
  const fromEnv = valuesFromEnvironment(effective);
  if (!fromEnv.ok) return fromEnv;

  return {
    ok: true,
    options: {
      command,
      file,
      args,
      // Input names are matched in lower case (as the reference keeps them), so each source is lowered before it wins.
      inputs: Object.assign({}, ...[config.inputs, fromEnv.jsonInputs, fromEnv.inputs, flagValues.inputs].map(lowerKeys)) as Record<string, string>,
      secrets: { ...config.secrets, ...fromEnv.jsonSecrets, ...fromEnv.secrets, ...flagValues.secrets },
      env: { ...childEnvironment(effective), ...config.env, ...flagValues.env },
      workDir,
      concurrency: concurrency !== 'false' && concurrency !== '0',
      prefix,
    },
  };
}

function lowerKeys(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key.toLowerCase(), value]));
}

type EnvValues =
  | { ok: true; inputs: Record<string, string>; secrets: Record<string, string>; jsonInputs: Record<string, string>; jsonSecrets: Record<string, string> }
  | { ok: false; message: string };

/** ACT_INPUT_INPUT_<KEY> / ACT_INPUT_SECRET_<KEY> keep their keys' case; they win over the JSON forms. */
function valuesFromEnvironment(environment: NodeJS.ProcessEnv): EnvValues {
  const jsonInputs = parseJsonMap(environment.ACT_INPUT_INPUTS, 'ACT_INPUT_INPUTS');
  if (typeof jsonInputs === 'string') return { ok: false, message: jsonInputs };
  const jsonSecrets = parseJsonMap(environment.ACT_INPUT_SECRETS, 'ACT_INPUT_SECRETS');
  if (typeof jsonSecrets === 'string') return { ok: false, message: jsonSecrets };
  const inputs: Record<string, string> = {};
  const secrets: Record<string, string> = {};
  for (const [name, value] of Object.entries(environment)) {
    if (value === undefined) continue;
    if (name.startsWith('ACT_INPUT_INPUT_')) inputs[name.slice('ACT_INPUT_INPUT_'.length)] = value;
    else if (name.startsWith('ACT_INPUT_SECRET_')) secrets[name.slice('ACT_INPUT_SECRET_'.length)] = value;
  }
  return { ok: true, inputs, secrets, jsonInputs, jsonSecrets };
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

/** A `.env` file (KEY=VALUE lines); a YAML file given by mistake is named as such. */
function loadEnvFile(path: string): Record<string, string> | string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return `cannot read the env file ${path}: ${(error as Error).message}`;
  }
  if (/\.(ya?ml)$/i.test(path) || looksLikeYamlMapping(text)) return `${path} looks like a YAML file, but --env-file takes a .env file (KEY=VALUE lines)`;
  return parseEnv(text) as Record<string, string>;
}

function looksLikeYamlMapping(text: string): boolean {
  const lines = text.split('\n').filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
  return lines.length > 0 && lines.every((line) => /^\s*[\w.-]+\s*:(\s|$)/.test(line)) && !lines.some((line) => /^\s*(export\s+)?[\w.]+=/.test(line));
}

type ConfigValues = { env: Record<string, string>; inputs: Record<string, string>; secrets: Record<string, string> };

/** `.actconfig`: YAML with `env:`, `inputs:` and `secrets:` maps (nested keys are joined with dots). */
function loadConfigFile(path: string): ConfigValues | string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    // A config file that does not exist is no config (as for actrun); any other read error is reported.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { env: {}, inputs: {}, secrets: {} };
    return `cannot read the config file ${path}: ${(error as Error).message}`;
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    return `the config file ${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`;
  }
  if (doc === null || doc === undefined) return { env: {}, inputs: {}, secrets: {} };
  if (typeof doc !== 'object' || Array.isArray(doc)) return `the config file ${path} must be a YAML mapping with env, inputs and secrets`;
  const flat = flatten(doc as Record<string, unknown>, '');
  const values: ConfigValues = { env: {}, inputs: {}, secrets: {} };
  for (const [key, value] of Object.entries(flat)) {
    if (!key.includes('.') && String(value).includes('=')) return `the config file ${path} uses '=' in key '${key}'; write 'NAME: value' under env, inputs or secrets`;
    const dot = key.indexOf('.');
    const section = key.slice(0, dot) as keyof ConfigValues;
    if (dot > 0 && section in values && value !== null && value !== undefined) values[section][key.slice(dot + 1)] = String(value);
  }
  return values;
}

function flatten(map: Record<string, unknown>, prefix: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(map)) {
    const full = prefix === '' ? key : `${prefix}.${key}`;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) Object.assign(out, flatten(value as Record<string, unknown>, full));
    else out[full] = value;
  }
  return out;
}

/** The environment children see: ours minus the secret-carrying ACT_INPUT_* variables (--env is added by the caller). */
export function childEnvironment(environment: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(environment)) {
    if (value === undefined || name === 'ACT_INPUT_SECRETS' || name.startsWith('ACT_INPUT_SECRET_')) continue;
    env[name] = value;
  }
  return env;
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
  const { graph } = parseAct(text);
  const problems = validateAct(graph);
  if (options.command === 'validate') {
    if (problems.length > 0) {
      io.stderr.write(`${options.file}: ${formatProblems(problems)}\n`);
      return INVALID_GRAPH_EXIT_CODE;
    }
    io.stdout.write(`${options.file}: the graph is valid.\n`);
    return 0;
  }
  if (problems.length > 0) {
    io.stderr.write(`${formatProblems(problems)}\n`);
    return INVALID_GRAPH_EXIT_CODE;
  }
  if (!isDirectory(options.workDir)) {
    io.stderr.write(`bellows-act: the work directory ${options.workDir} does not exist\n`);
    return INVALID_GRAPH_EXIT_CODE;
  }

  const masker = createSecretMasker(Object.values(options.secrets));
  const colour = (stream: CliIo['stdout']): boolean =>
    io.environment.ACT_NOCOLOR === 'true' ? false : io.environment.FORCE_COLOR ? io.environment.FORCE_COLOR !== '0' : !io.environment.NO_COLOR && stream.isTTY === true;
  const print = (chunk: ActOutput): void => {
    const target = chunk.stream === 'stdout' ? io.stdout : io.stderr;
    const useColour = colour(target);
    let body = masker.mask(chunk.text);
    if (chunk.stream === 'system' && useColour) body = `\x1b[33m${body}\x1b[0m`;
    const label = `[${chunk.node === '' ? 'act' : chunk.node}]`;
    const prefix = !options.prefix ? '' : useColour ? `\x1b[2m${label}\x1b[0m ` : `${label} `;
    // Without prefixes, process output passes through byte for byte (a last line without newline stays so).
    const newline = body.endsWith('\n') || (!options.prefix && chunk.stream !== 'system') ? '' : '\n';
    target.write(`${prefix}${body}${newline}`);
  };

  // Validated above: the run does not check the graph a second time.
  const result = await runValidatedAct(graph, {
    env: options.env,
    inputs: options.inputs,
    secrets: options.secrets,
    args: options.args,
    graphFile: resolve(io.cwd, options.file),
    workDir: options.workDir,
    concurrency: options.concurrency,
    signal: io.signal ?? new AbortController().signal,
    output: print,
    onSecret: (_name, value) => masker.add(value),
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
