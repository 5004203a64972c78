import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError } from './cli-errors';

export type CliConfig = { url: string; token: string };

/** `$XDG_CONFIG_HOME/bellows/config.json`, by default `~/.config/bellows/config.json`. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'bellows', 'config.json');
}

export function readConfigFile(env: NodeJS.ProcessEnv = process.env): Partial<CliConfig> {
  const file = configPath(env);
  if (!existsSync(file)) return {};
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<CliConfig>;
    return { url: typeof parsed.url === 'string' ? parsed.url : undefined, token: typeof parsed.token === 'string' ? parsed.token : undefined };
  } catch (error) {
    throw new CliError(`The config file ${file} is not valid JSON (${(error as Error).message}); run \`bellows login\` again.`);
  }
}

// The token is a credential: the file is private to the user, whatever the umask.
export function writeConfigFile(config: CliConfig, env: NodeJS.ProcessEnv = process.env): string {
  const file = configPath(env);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

/** Flags win over BELLOWS_URL / BELLOWS_TOKEN, which win over the file `bellows login` wrote. */
export function resolveConfig(flags: { url?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): CliConfig {
  const file = flags.url && flags.token ? {} : readConfigFile(env);
  const url = flags.url ?? env.BELLOWS_URL ?? file.url;
  const token = flags.token ?? env.BELLOWS_TOKEN ?? file.token;
  if (!url || !token) {
    throw new CliError('Not logged in: run `bellows login <url> --token <token>` or set BELLOWS_URL and BELLOWS_TOKEN.');
  }
  return { url: normaliseUrl(url), token };
}

export function normaliseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`"${url}" is not a URL; pass the server's address, e.g. http://localhost:3000.`, 2);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new CliError(`"${url}" must be an http:// or https:// URL.`, 2);
  return parsed.toString().replace(/\/+$/, '');
}
