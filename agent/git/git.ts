// Runs Debian's `git` binary for the agent: the .act git nodes, and checking out a job's repository.
//
// Every command runs the same way:
// - never interactive: no terminal prompt, no askpass program, no credential manager dialogs;
// - credentials belong to that one command: an https Authorization header passed as command-scope
//   configuration through GIT_CONFIG_* variables (git's environment form of `-c`, so the token is not on
//   a command line that `ps` shows) and scoped to the host being talked to, or an ssh key in a temporary
//   file named in GIT_SSH_COMMAND and removed afterwards; nothing reaches .git/config, a credential helper
//   or the URL. Only commands that talk to a remote should be given any;
// - inherited variables that would point git at another repository (GIT_DIR, GIT_INDEX_FILE …) are dropped,
//   with credentials also those that would trace the conversation (GIT_TRACE*, GIT_CURL_VERBOSE) or swap git's
//   helpers (GIT_EXEC_PATH); hooks do not run (go-git, which the reference engine uses, never runs them either);
// - a timeout and an AbortSignal end the whole process group (git's helpers and ssh included);
// - a failure is a GitError naming the repository and git's own reason, every credential redacted.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { CheckoutAuth } from '../../contract/agent-protocol.contract';
import { signalGroup } from '../process-group';
import { redact } from '../secret-masker';

type BasicAuth = Extract<CheckoutAuth, { type: 'basic' }>;
/** A checkout's key, or one a graph gives (core/credentials-ssh@v1), which may be encrypted and name a login. */
type SshKeyAuth = Extract<CheckoutAuth, { type: 'ssh' }> & {
  /** For an encrypted key; handed to ssh through a temporary askpass program. */
  passphrase?: string;
  /** The ssh login; the URL's user (`git@…`) otherwise. */
  username?: string;
};
/** The wire's CheckoutAuth, and what graphs may add to an ssh key. */
export type GitAuth = BasicAuth | SshKeyAuth;

export type GitOptions = {
  /** The directory git runs in. */
  cwd: string;
  /**
   * What the command works on (a URL or a path), named in errors with its credentials redacted; for a
   * command given basic auth, the URL the Authorization header is scoped to.
   */
  repository?: string;
  auth?: GitAuth;
  /** The environment to start from (the job's); process.env when absent. */
  env?: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal;
  /** Ends the command after this long (no limit when absent). */
  timeoutMs?: number;
  /** After SIGTERM (timeout, abort), how long before SIGKILL; default 5 s. */
  killGraceMs?: number;
  /** Written to git's stdin (a commit message for `commit -F -`). */
  input?: string | Buffer;
  /** Extra environment for this command (GIT_AUTHOR_NAME …), applied last. */
  extraEnv?: Readonly<Record<string, string>>;
  /** Fail unless `cwd` itself is the repository: no walking up into a parent directory's repository. */
  exactRepository?: boolean;
  /** More text that must never appear in messages (a token also present elsewhere). */
  secrets?: readonly string[];
};

export type GitErrorKind = 'failed' | 'auth' | 'timeout' | 'cancelled' | 'spawn';

/** A git command's failure; the message is always `git COMMAND (REPOSITORY): REASON`. */
export class GitError extends Error {
  constructor(
    /** The subcommand (`fetch`, `cat-file` …). */
    command: string,
    readonly kind: GitErrorKind,
    /** The repository the command worked on, redacted. */
    readonly repository: string,
    /** Git's reason (its fatal/error lines), redacted; the message without the command and repository. */
    readonly reason: string,
    readonly exitCode: number | null,
  ) {
    super(`git ${command} (${repository}): ${reason}`);
    this.name = 'GitError';
  }
}

/** Repository-locating variables an enclosing process may have set (`git rev-parse --local-env-vars`, and a few more). */
const DROPPED_VARIABLES = new Set([
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_CONFIG',
  'GIT_CONFIG_PARAMETERS',
  'GIT_CONFIG_COUNT',
  'GIT_OBJECT_DIRECTORY',
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_IMPLICIT_WORK_TREE',
  'GIT_GRAFT_FILE',
  'GIT_INDEX_FILE',
  'GIT_NO_REPLACE_OBJECTS',
  'GIT_REPLACE_REF_BASE',
  'GIT_PREFIX',
  'GIT_INTERNAL_SUPER_PREFIX',
  'GIT_SHALLOW_FILE',
  'GIT_COMMON_DIR',
  'GIT_NAMESPACE',
  'GIT_CEILING_DIRECTORIES',
  'GIT_ASKPASS',
  'SSH_ASKPASS',
  'SSH_ASKPASS_REQUIRE',
]);

/**
 * Also dropped when the command carries credentials: each would hand them to someone. GIT_TRACE_CURL with
 * GIT_TRACE_REDACT=0 writes the Authorization header to a file, GIT_TRACE2_ENV_VARS / _CONFIG_PARAMS log the
 * GIT_CONFIG_VALUE holding it (every GIT_TRACE* goes), GIT_CURL_VERBOSE prints it, SSLKEYLOGFILE lets a
 * recording of the TLS connection be decrypted, and GIT_EXEC_PATH runs another git-remote-https with it.
 * GIT_SSH / GIT_SSH_COMMAND / GIT_SSH_VARIANT would run another ssh with the key (an ssh key's command sets
 * its own afterwards; core.sshCommand in any configuration loses to that), GIT_PROXY_COMMAND another
 * connection program, and LD_PRELOAD / LD_AUDIT load code into git and its helpers. Proxies stay: an agent
 * behind one needs them, and a job's own credentials run in the agent's environment (see repo-download).
 */
const DROPPED_WITH_CREDENTIALS = new Set([
  'GIT_EXEC_PATH',
  'GIT_CURL_VERBOSE',
  'GIT_REDACT_COOKIES',
  'SSLKEYLOGFILE',
  'GIT_SSH',
  'GIT_SSH_COMMAND',
  'GIT_SSH_VARIANT',
  'GIT_PROXY_COMMAND',
  'LD_PRELOAD',
  'LD_AUDIT',
]);

function dropped(name: string, withCredentials: boolean): boolean {
  if (DROPPED_VARIABLES.has(name) || /^GIT_CONFIG_(KEY|VALUE)_\d+$/.test(name)) return true;
  return withCredentials && (DROPPED_WITH_CREDENTIALS.has(name) || name.startsWith('GIT_TRACE'));
}

const MAX_STDOUT_BYTES = 64 * 1024 * 1024;
const MAX_STDERR_BYTES = 256 * 1024;
const MAX_REASON_CHARS = 4000;
const DEFAULT_KILL_GRACE_MS = 5000;

// ---- scratch files -------------------------------------------------------------------------------

const SCRATCH_PREFIX = 'bellows-git-';
/** A command using scratch files runs at most its timeout; a day covers any of them, even a graph's without one. */
const SCRATCH_STALE_MS = 24 * 60 * 60 * 1000;
let scratchRoot: string | undefined;

/**
 * Puts ssh key files and askpass programs under `dir` (the agent's work directory) instead of the system's
 * temporary directory, which may be mounted noexec (askpass is a program) and is not the agent's own; and
 * removes what a killed agent left there more than a day ago.
 */
export async function useScratchRoot(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing directory's mode alone: others must not even list what is in there.
  await chmod(dir, 0o700);
  scratchRoot = dir;
  for (const name of await readdir(dir)) {
    if (!name.startsWith(SCRATCH_PREFIX)) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > SCRATCH_STALE_MS) await rm(path, { recursive: true, force: true });
  }
}

/** A new private directory for scratch files (under useScratchRoot's directory when one was set). */
function scratchDirectory(prefix = SCRATCH_PREFIX): Promise<string> {
  return mkdtemp(join(scratchRoot ?? tmpdir(), prefix));
}

// ---- one command ---------------------------------------------------------------------------------

/** Runs `git ARGS` and returns its output; throws GitError when it fails, times out or is aborted. */
export async function runGit(args: readonly string[], options: GitOptions): Promise<{ stdout: string; stderr: string }> {
  const secrets = [...authSecrets(options.auth), ...(options.secrets ?? [])];
  const repository = redact(options.repository ?? options.cwd, secrets);
  const fail = (kind: GitErrorKind, reason: string, exitCode: number | null): GitError => {
    const text = redact(reason, secrets);
    return new GitError(commandName(args), kind, repository, text, exitCode);
  };
  if (options.signal?.aborted) throw fail('cancelled', 'cancelled', null);

  const scratch = options.auth?.type === 'ssh' ? await scratchDirectory() : undefined;
  try {
    const env = await commandEnvironment(options, scratch);
    const outcome = await spawnGit(args, options, env);
    if (outcome.spawnError) {
      const { kind, reason } = spawnFailure(options.cwd, outcome.spawnError);
      throw fail(kind, reason, null);
    }
    if (outcome.stopped === 'cancelled') throw fail('cancelled', 'cancelled', outcome.exitCode);
    if (outcome.stopped === 'timeout') throw fail('timeout', `timed out after ${options.timeoutMs} ms`, outcome.exitCode);
    if (outcome.stopped === 'overflow') throw fail('failed', `output exceeds ${MAX_STDOUT_BYTES} bytes`, outcome.exitCode);
    if (outcome.exitCode !== 0) {
      const { kind, reason } = explainFailure(outcome.stderr, outcome.stdout, options.auth);
      throw fail(kind, outcome.signal ? `killed by ${outcome.signal}` : reason, outcome.exitCode);
    }
    return { stdout: outcome.stdout, stderr: redact(outcome.stderr, secrets) };
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

/** The subcommand, for messages: the first argument that is no option (`--git-dir=…`) or option value (`-c k=v`). */
function commandName(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-c' || args[i] === '-C') i++;
    else if (!args[i].startsWith('-')) return args[i];
  }
  return '';
}

/**
 * Why git could not be started. Node reports a missing working directory as ENOENT, like a missing git, so
 * the directory is looked at only now that starting failed (not before every command).
 */
function spawnFailure(cwd: string, error: Error): { kind: GitErrorKind; reason: string } {
  let isDirectory: boolean | undefined;
  try {
    isDirectory = statSync(cwd).isDirectory();
  } catch {
    return { kind: 'failed', reason: `directory ${cwd} does not exist` };
  }
  if (!isDirectory) return { kind: 'failed', reason: `${cwd} is not a directory` };
  return { kind: 'spawn', reason: `could not start git (${error.message}); is git installed on this agent?` };
}

/** The environment of one command: the base, cleaned, with this command's configuration and credentials. */
async function commandEnvironment(options: GitOptions, scratch: string | undefined): Promise<Record<string, string>> {
  const auth = options.auth;
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.env ?? process.env)) if (value !== undefined && !dropped(name, auth !== undefined)) env[name] = value;
  Object.assign(env, {
    GIT_TERMINAL_PROMPT: '0',
    GCM_INTERACTIVE: 'never',
    GIT_MERGE_AUTOEDIT: 'no',
    // Git's messages in English whatever the agent's locale: errors are reported and recognised by their text.
    LC_ALL: 'C',
  });
  if (options.exactRepository) env.GIT_CEILING_DIRECTORIES = dirname(resolve(options.cwd));

  const config: Array<[string, string]> = [
    ['core.askPass', ''],
    ['core.hooksPath', '/dev/null'],
  ];
  // Given credentials are the only ones: no helper is asked for others, and none is told to store these.
  if (auth) config.push(['credential.helper', '']);
  const scope = auth?.type === 'basic' ? headerScope(options.repository) : undefined;
  if (auth?.type === 'basic' && scope) {
    // Only for the host of the URL fetched: an insteadOf rewrite or an lfs.url elsewhere does not get it.
    // The empty value first drops headers other configuration set for that host (a checkout action's own token).
    config.push([`http.${scope}.extraHeader`, ''], [`http.${scope}.extraHeader`, `Authorization: Basic ${basicToken(auth)}`]);
  }
  if (auth?.type === 'ssh' && scratch) {
    env.GIT_SSH_COMMAND = await sshCommand(auth, scratch, env);
    env.GIT_SSH_VARIANT = 'ssh';
    delete env.GIT_SSH;
  }
  env.GIT_CONFIG_COUNT = String(config.length);
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  Object.assign(env, options.extraEnv ?? {});
  return env;
}

/**
 * `scheme://host[:port]/` of an http(s) URL, the prefix git's `http.<url>.*` settings match by; undefined for
 * anything else (basic credentials are for http(s) only: authMismatch refuses them for ssh URLs).
 */
function headerScope(url: string | undefined): string | undefined {
  if (url === undefined || transportOf(url) !== 'http') return undefined;
  try {
    const parsed = new URL(splitUrlCredentials(url).url);
    return `${parsed.protocol}//${parsed.host}/`;
  } catch {
    return undefined;
  }
}

/** The ssh command for a key: the key in a private temporary file, no other identity, new hosts accepted. */
async function sshCommand(auth: SshKeyAuth, scratch: string, env: Record<string, string>): Promise<string> {
  const keyFile = join(scratch, 'key');
  // OpenSSH refuses a key whose last line is not terminated.
  const key = auth.privateKey.replace(/\r\n/g, '\n');
  await writeFile(keyFile, key.endsWith('\n') ? key : `${key}\n`, { mode: 0o600 });
  const parts = ['ssh', '-i', keyFile, '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=accept-new', '-o', 'PreferredAuthentications=publickey'];
  if (auth.username) parts.push('-l', auth.username);
  if (auth.passphrase) {
    // ssh asks the askpass program for the passphrase; publickey-only means it can never be asked for
    // (and hand the passphrase out as) a server password.
    const passFile = join(scratch, 'passphrase');
    const askpass = join(scratch, 'askpass');
    await writeFile(passFile, auth.passphrase, { mode: 0o600 });
    await writeFile(askpass, `#!/bin/sh\nexec cat ${shellQuote(passFile)}\n`, { mode: 0o700 });
    await chmod(askpass, 0o700);
    env.SSH_ASKPASS = askpass;
    env.SSH_ASKPASS_REQUIRE = 'force';
  } else parts.push('-o', 'BatchMode=yes');
  return parts.map(shellQuote).join(' ');
}

function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

// ---- a git process: its group, timeout and abort ---------------------------------------------------

type StopReason = 'timeout' | 'cancelled' | 'overflow';

type GitProcess = {
  child: ChildProcessWithoutNullStreams;
  /** Settles when git is gone: its pipes closed, or it never started. */
  closed: Promise<void>;
  /** Why it was stopped, if it was (the first reason counts). */
  readonly stopped: StopReason | undefined;
  /** SIGTERM to the whole group, SIGKILL after the grace period. */
  stop(why: StopReason): void;
  /** Clears the timer, the kill timer and the abort listener. */
  release(): void;
};

/**
 * Starts git in a process group of its own, so that a timeout or abort also ends git-remote-https, ssh and
 * upload-pack; `onStop` hears of a timeout or abort as it happens.
 */
function startGit(args: readonly string[], options: GitOptions, env: Record<string, string>, onStop: (why: StopReason) => void = () => undefined): GitProcess {
  const child = spawn('git', [...args], { cwd: options.cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let stopped: StopReason | undefined;
  let exited = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (why: StopReason): void => {
    if (stopped !== undefined) return;
    stopped = why;
    onStop(why);
    if (exited || child.pid === undefined) return;
    signalGroup(child.pid, 'SIGTERM');
    killTimer = setTimeout(() => child.pid !== undefined && signalGroup(child.pid, 'SIGKILL'), options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
  };
  const onAbort = (): void => stop('cancelled');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  // An abort while the command was being prepared (scratch files, environment) fired no event for us.
  if (options.signal?.aborted) stop('cancelled');
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => stop('timeout'), options.timeoutMs);
  // Anything still holding git's pipes after it exits (a background ssh) is ended, so 'close' follows.
  child.once('exit', () => {
    exited = true;
    if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
  });
  child.stdin.on('error', () => undefined);
  // A git that never started emits 'error' and no 'close'.
  const closed = new Promise<void>((done) => {
    child.once('close', () => done());
    child.once('error', () => child.pid === undefined && done());
  });
  return {
    child,
    closed,
    get stopped() {
      return stopped;
    },
    stop,
    release: () => {
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
    },
  };
}

type Outcome = {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  stopped: StopReason | undefined;
  spawnError?: Error;
};

function spawnGit(args: readonly string[], options: GitOptions, env: Record<string, string>): Promise<Outcome> {
  return new Promise((done) => {
    const git = startGit(args, options, env);
    const { child } = git;
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = Buffer.alloc(0);
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > MAX_STDOUT_BYTES) return git.stop('overflow');
      stdout.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      // The end holds the fatal line; keep that part of a long progress log.
      stderr = Buffer.concat([stderr, chunk]);
      if (stderr.length > MAX_STDERR_BYTES) stderr = stderr.subarray(stderr.length - MAX_STDERR_BYTES);
    });
    child.stdin.end(options.input);
    let finished = false;
    const finish = (outcome: Partial<Outcome>): void => {
      if (finished) return;
      finished = true;
      git.release();
      done({ exitCode: null, signal: null, stdout: Buffer.concat(stdout).toString('utf8'), stderr: stderr.toString('utf8'), stopped: git.stopped, ...outcome });
    };
    child.once('error', (error) => child.pid === undefined && finish({ spawnError: error }));
    child.once('close', (code, signal) => finish({ exitCode: code, signal }));
  });
}

// ---- a conversation with one cat-file process -----------------------------------------------------

type BatchObject = { oid: string; type: string; size: number; content: Buffer };

/** Asks for one object by name (as rev-parse takes it); undefined when the name resolves to nothing. */
export type CatFileAsk = (name: string, maxBytes?: number) => Promise<BatchObject | undefined>;

/**
 * Looks objects up through one `git cat-file --batch` process: each `ask` names an object as
 * rev-parse would (`refs/heads/main^{commit}`, `<commit>:<path>`) and gets it back, or undefined
 * when the name resolves to nothing. Starting git from the API's process costs ~20 ms (fork copies
 * the page tables of a ~140 MB process, and blocks its event loop meanwhile; 4 ms from a small one),
 * so a lookup that depends on the one before it — a ref's commit, then a file at that commit —
 * costs one start here instead of two. An object larger than `maxObjectBytes` (or the ask's own
 * limit) ends the conversation with a GitError rather than being read into memory. Local only: no
 * credentials are taken.
 */
export async function withCatFile<T>(options: Omit<GitOptions, 'auth'> & { maxObjectBytes: number }, talk: (ask: CatFileAsk) => Promise<T>): Promise<T> {
  const repository = redact(options.repository ?? options.cwd);
  const fail = (reason: string, kind: GitErrorKind = 'failed'): GitError => new GitError('cat-file', kind, repository, reason, null);
  if (options.signal?.aborted) throw fail('cancelled', 'cancelled');
  const env = await commandEnvironment(options, undefined);
  let buffered: Buffer = Buffer.alloc(0);
  let stderr = '';
  let ended: GitError | undefined;
  let waiting: { name: string; maxBytes: number; resolve(object: BatchObject | undefined): void; reject(error: GitError): void } | undefined;

  const end = (error: GitError): void => {
    ended ??= error;
    waiting?.reject(ended);
    waiting = undefined;
  };
  const git = startGit(['cat-file', '--batch'], options, env, (why) => end(why === 'timeout' ? fail(`timed out after ${options.timeoutMs} ms`, 'timeout') : fail('cancelled', 'cancelled')));
  const { child } = git;
  // Answers the pending question once its whole reply is buffered: `<oid> <type> <size>\n<content>\n` or `<name> missing\n`.
  const answer = (): void => {
    if (!waiting) return;
    const newline = buffered.indexOf(10);
    if (newline < 0) return;
    const header = buffered.subarray(0, newline).toString('utf8');
    if (/ (missing|ambiguous)$/.test(header)) {
      buffered = buffered.subarray(newline + 1);
      const { resolve } = waiting;
      waiting = undefined;
      resolve(undefined);
      return;
    }
    const [oid, type, sizeText] = header.split(' ');
    const size = Number(sizeText);
    if (!oid || !type || !Number.isSafeInteger(size)) return end(fail(`unexpected reply "${header.slice(0, 200)}"`));
    if (size > waiting.maxBytes) return end(fail(`${waiting.name} is ${size} bytes; at most ${waiting.maxBytes} are read`));
    if (buffered.length < newline + 1 + size + 1) return;
    const content = Buffer.from(buffered.subarray(newline + 1, newline + 1 + size));
    buffered = buffered.subarray(newline + 1 + size + 1);
    const { resolve } = waiting;
    waiting = undefined;
    resolve({ oid, type, size, content });
  };

  child.stdout.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    answer();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-MAX_REASON_CHARS);
  });
  child.once('error', (error) => {
    if (child.pid !== undefined) return;
    const { kind, reason } = spawnFailure(options.cwd, error);
    end(fail(reason, kind));
  });
  child.once('close', () => end(fail(explainFailure(stderr, '', undefined).reason)));

  const ask: CatFileAsk = (name, maxBytes = options.maxObjectBytes) => {
    // The request is one line: a name with a line break in it cannot be asked (and names no object git accepts).
    if (/[\r\n]/.test(name)) return Promise.resolve(undefined);
    if (ended) return Promise.reject(ended);
    if (waiting) return Promise.reject(fail('one question at a time'));
    return new Promise((resolve, reject) => {
      waiting = { name, maxBytes, resolve, reject };
      child.stdin.write(`${name}\n`);
      answer();
    });
  };
  try {
    return await talk(ask);
  } finally {
    child.stdin.end();
    // A conversation ended early (too large, timed out) may leave git writing into a full pipe.
    if (ended) git.stop('cancelled');
    await git.closed;
    git.release();
  }
}

/** Git's reason from its output, and whether it is about credentials. */
function explainFailure(stderr: string, stdout: string, auth: GitAuth | undefined): { kind: GitErrorKind; reason: string } {
  // `commit` says "nothing to commit" on stdout, after a status report: its last line is the reason.
  const text = stderr.trim() === '' ? (stdout.trim().split('\n').pop() ?? '') : stderr;
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.split('\r').pop()?.trim() ?? '')
    // Hints and boilerplate ("Please make sure you have the correct access rights …") say nothing specific.
    .filter((line) => line !== '' && !/^(hint:|To \S+$|Please make sure you have the correct access rights|and the repository exists)/.test(line))
    .map((line) => line.replace(/^(fatal|error): /, '').replace(/\s+/g, ' ').replace(/\.$/, ''));
  const reason = lines.join('; ').slice(0, MAX_REASON_CHARS) || 'git gave no reason';
  if (/terminal prompts disabled|could not read (Username|Password)|Authentication failed|HTTP Basic: Access denied|returned error: 401/.test(text)) {
    return {
      kind: 'auth',
      reason: auth ? 'authentication failed: the server rejected the credentials given' : 'authentication required: the server asks for credentials and none were given',
    };
  }
  if (/Permission denied \(publickey|incorrect passphrase|bad passphrase|Load key .*: (invalid format|incorrect passphrase)/i.test(text)) {
    return { kind: 'auth', reason: `ssh authentication failed: ${reason}` };
  }
  if (/Please tell me who you are|unable to auto-detect email address|empty ident name/.test(text)) {
    return { kind: 'failed', reason: 'no author identity: give the author name and email, or set user.name and user.email in git configuration' };
  }
  return { kind: 'failed', reason };
}

// ---- credentials ---------------------------------------------------------------------------------

function basicToken(auth: BasicAuth): string {
  return Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64');
}

/** Every form in which the auth's secret could show up in text. */
export function authSecrets(auth: GitAuth | undefined): string[] {
  if (!auth) return [];
  if (auth.type === 'basic') {
    // A token may be all there is, given as the user name (https://TOKEN@host); a user name next to a
    // password is no secret (and masking "git" in every log line would help nobody).
    const secret = auth.password === '' ? auth.username : auth.password;
    return [basicToken(auth), secret, encodeURIComponent(secret)];
  }
  return auth.passphrase ? [auth.passphrase, auth.privateKey] : [auth.privateKey];
}

/**
 * A URL's embedded user-info taken out. For http(s) it becomes credentials (a token may be all there is of
 * it) and the URL is returned without it; for any other scheme the password is dropped (ssh takes keys, not
 * passwords) and the login kept. User-info ends at the last `@` before the path: `https://bob:p@ss@host/`.
 */
export function splitUrlCredentials(url: string): { url: string; auth?: BasicAuth } {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/]*)@(.*)$/is.exec(url);
  if (!match) return { url };
  const [, scheme, userInfo, rest] = match;
  const colon = userInfo.indexOf(':');
  if (!/^https?:\/\/$/i.test(scheme)) return { url: colon < 0 ? url : `${scheme}${userInfo.slice(0, colon)}@${rest}` };
  const decode = (part: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  };
  const username = decode(colon < 0 ? userInfo : userInfo.slice(0, colon));
  const password = colon < 0 ? '' : decode(userInfo.slice(colon + 1));
  const clean = `${scheme}${rest}`;
  return username === '' && password === '' ? { url: clean } : { url: clean, auth: { type: 'basic', username, password } };
}

export type Transport = 'http' | 'ssh' | 'git' | 'file' | 'local' | 'other';

/** How git reaches `url`: scheme URLs by scheme, `host:path` (scp form) by ssh, anything else is a local path. */
export function transportOf(url: string): Transport {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https') return 'http';
  if (scheme === 'ssh' || scheme === 'git+ssh' || scheme === 'ssh+git') return 'ssh';
  if (scheme === 'git') return 'git';
  if (scheme === 'file') return 'file';
  if (scheme !== undefined) return 'other';
  // Git's rule: a colon before the first slash makes it [user@]host:path.
  const colon = url.indexOf(':');
  const slash = url.indexOf('/');
  if (colon > 0 && (slash < 0 || colon < slash) && !isAbsolute(url)) return 'ssh';
  return 'local';
}

/** Why `auth` cannot be used with `url`, or undefined when it can (local and file URLs take none and ignore it). */
export function authMismatch(url: string, auth: GitAuth | undefined): string | undefined {
  if (!auth) return undefined;
  const transport = transportOf(url);
  if (auth.type === 'basic' && transport === 'ssh') return `username/password credentials work over http(s) only, and ${redact(url)} is an ssh URL (use ssh key credentials)`;
  if (auth.type === 'ssh' && transport === 'http') return `ssh key credentials work over ssh only, and ${redact(url)} is an http(s) URL (use username/password credentials)`;
  return undefined;
}

// ---- common operations ---------------------------------------------------------------------------

export type GitCommonOptions = Omit<GitOptions, 'cwd' | 'repository' | 'exactRepository'>;

type RemoteRef = { name: string; sha: string };

/** The refs a remote advertises (`HEAD` first when it has one). */
export async function listRemoteRefs(url: string, cwd: string, options: GitCommonOptions = {}): Promise<RemoteRef[]> {
  const { stdout } = await runGit(['ls-remote', '--', url], { ...options, cwd, repository: url });
  return stdout
    .split('\n')
    .map((line) => line.split('\t'))
    .filter((parts) => parts.length === 2 && parts[1] !== '')
    .map(([sha, name]) => ({ name: name.trim(), sha: sha.trim() }));
}

type CloneSpec = {
  url: string;
  /** Target directory (created with its parents; an existing one must be empty). */
  directory: string;
  /** Where git runs: a relative `url` or `directory` is relative to it. */
  cwd: string;
  /** A branch or tag name (short); the remote's default branch when absent. */
  branch?: string;
  /** History truncated to this many commits (0: all). */
  depth?: number;
  /** Only the one branch (and its tags); with depth > 0 git's own default, so given explicitly either way. */
  singleBranch?: boolean;
  noCheckout?: boolean;
};

/** `git clone`; the remote URL stored in .git/config is `url` exactly, so pass it without credentials. */
export async function cloneRepository(spec: CloneSpec, options: GitCommonOptions = {}): Promise<void> {
  const args = ['clone', '--quiet'];
  if (spec.branch) args.push('--branch', spec.branch);
  const depth = spec.depth ?? 0;
  if (depth > 0) {
    args.push('--depth', String(depth));
    // A plain local path would be copied whole, ignoring the depth.
    if (transportOf(spec.url) === 'local') args.push('--no-local');
  }
  if (spec.singleBranch) args.push('--single-branch');
  else if (depth > 0) args.push('--no-single-branch');
  if (spec.noCheckout) args.push('--no-checkout');
  args.push('--', spec.url, spec.directory);
  await runGit(args, { ...options, cwd: spec.cwd, repository: spec.url });
}

/**
 * Fetches one revision (a commit id, a branch, a tag, `HEAD`) from `url` into the repository whose git
 * directory is `gitDir`, without touching any remote configuration, and returns its commit id. A server
 * that refuses a commit id that is not a ref tip is tried again through `fallbackRef`, unshallowed. Only
 * the fetches get the credentials; reading the fetched commit's id is local.
 */
export async function fetchRevision(
  spec: { gitDir: string; url: string; revision: string; depth?: number; fallbackRef?: string },
  options: GitCommonOptions = {},
): Promise<string> {
  const local = { ...options, auth: undefined };
  const at = { cwd: dirname(spec.gitDir), repository: spec.url };
  const fetch = (args: string[]): Promise<unknown> => runGit([`--git-dir=${spec.gitDir}`, 'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', ...args], { ...options, ...at });
  const commitOf = async (name: string): Promise<string> => (await runGit([`--git-dir=${spec.gitDir}`, 'rev-parse', '--verify', '--quiet', `${name}^{commit}`], { ...local, ...at })).stdout.trim();
  const depth = spec.depth ?? 0;
  try {
    await fetch([...(depth > 0 ? [`--depth=${depth}`] : []), '--', spec.url, `+${spec.revision}:refs/bellows/fetched`]);
  } catch (error) {
    const isCommitId = /^[0-9a-f]{7,64}$/i.test(spec.revision);
    if (!(error instanceof GitError) || error.kind !== 'failed' || !isCommitId || !spec.fallbackRef) throw error;
    await fetch(['--', spec.url, `+${spec.fallbackRef}:refs/bellows/fallback`]);
    return commitOf(spec.revision).catch(() => {
      throw error;
    });
  }
  return commitOf('refs/bellows/fetched');
}

/** The repository's top directory, or GitError when `path` itself is not a working tree. */
export async function openRepository(path: string, options: GitCommonOptions = {}): Promise<string> {
  const { stdout } = await runGit(['rev-parse', '--show-toplevel'], { ...options, cwd: path, repository: path, exactRepository: true });
  return stdout.trim();
}

/** The checked-out branch (`main`), or undefined on a detached HEAD. */
export async function currentBranch(repo: string, options: GitCommonOptions = {}): Promise<string | undefined> {
  try {
    const { stdout } = await runGit(['symbolic-ref', '--quiet', '--short', 'HEAD'], { ...options, cwd: repo, exactRepository: true });
    return stdout.trim() || undefined;
  } catch (error) {
    if (error instanceof GitError && error.kind === 'failed' && error.exitCode === 1) return undefined;
    throw error;
  }
}

/** The commit id HEAD points at. */
export async function headCommit(repo: string, options: GitCommonOptions = {}): Promise<string> {
  return (await runGit(['rev-parse', '--verify', 'HEAD^{commit}'], { ...options, cwd: repo, exactRepository: true })).stdout.trim();
}
