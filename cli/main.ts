// bellows: the command-line client of a Bellows server. Exit codes are listed in cli-errors.ts.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError, EXIT, type ExitCode } from './cli-errors';
import { colours } from './cli-output';
import * as commands from './commands';
import * as schedules from './schedule-commands';

type OptionSpec = NonNullable<ParseArgsConfig['options']>;
type Command = {
  usage: string;
  options: OptionSpec;
  run: (ctx: commands.Context, positionals: string[], values: Record<string, string | boolean | string[] | undefined>) => Promise<ExitCode>;
};

const GLOBAL: OptionSpec = {
  json: { type: 'boolean' },
  url: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const COMMANDS: Record<string, Command> = {
  login: { usage: 'login <url> --token <token>', options: {}, run: commands.login },
  run: {
    usage: 'run <project>/<pipeline> [--ref <branch|tag|commit>] [--commit <sha>] [--input k=v]... [--env K=V]... [--priority N] [--follow]',
    options: { ref: { type: 'string' }, commit: { type: 'string' }, priority: { type: 'string' }, input: { type: 'string', multiple: true }, env: { type: 'string', multiple: true }, follow: { type: 'boolean', short: 'f' } },
    run: commands.run,
  },
  runs: {
    usage: 'runs [--project p] [--pipeline n] [--status s] [--limit n]',
    options: { project: { type: 'string' }, pipeline: { type: 'string' }, status: { type: 'string' }, limit: { type: 'string' } },
    run: commands.runs,
  },
  branches: { usage: 'branches <project>', options: {}, run: (ctx, positionals) => commands.branches(ctx, positionals) },
  logs: { usage: 'logs <run> [--follow]', options: { follow: { type: 'boolean', short: 'f' } }, run: commands.logs },
  queue: { usage: 'queue', options: {}, run: (ctx) => commands.queue(ctx) },
  cancel: { usage: 'cancel <run> [<run>...]', options: {}, run: (ctx, positionals) => commands.cancel(ctx, positionals) },
  rerun: {
    usage: 'rerun <run> [--failed | --job <key>...] [--follow]',
    options: { failed: { type: 'boolean' }, job: { type: 'string', multiple: true }, follow: { type: 'boolean', short: 'f' } },
    run: commands.rerun,
  },
  approve: {
    usage: 'approve <run> [--job <name>] [--comment <text>]',
    options: { job: { type: 'string' }, comment: { type: 'string' } },
    run: (ctx, positionals, values) => commands.decide(ctx, 'approve', positionals, values),
  },
  reject: {
    usage: 'reject <run> [--job <name>] [--comment <text>]',
    options: { job: { type: 'string' }, comment: { type: 'string' } },
    run: (ctx, positionals, values) => commands.decide(ctx, 'reject', positionals, values),
  },
  artifacts: { usage: 'artifacts <run> [--download <dir>]', options: { download: { type: 'string' } }, run: commands.artifacts },
  outputs: { usage: 'outputs <run>', options: {}, run: (ctx, positionals) => commands.outputs(ctx, positionals) },
  'pipeline push': {
    usage: 'pipeline push <project> <file.act|file.sh> [--name <pipeline>] [--label k=v]... [--priority N]',
    options: { name: { type: 'string' }, label: { type: 'string', multiple: true }, priority: { type: 'string' } },
    run: commands.pipelinePush,
  },
  'schedule create': {
    usage: schedules.SCHEDULE_CREATE_USAGE,
    options: { cron: { type: 'string' }, every: { type: 'string' }, ref: { type: 'string' }, input: { type: 'string', multiple: true }, timezone: { type: 'string' }, overlap: { type: 'string' }, paused: { type: 'boolean' } },
    run: schedules.scheduleCreate,
  },
  'schedule list': { usage: 'schedule list <project>', options: {}, run: (ctx, positionals) => schedules.scheduleList(ctx, positionals) },
  'schedule show': { usage: 'schedule show <id>', options: {}, run: (ctx, positionals) => schedules.scheduleShow(ctx, positionals) },
  'schedule pause': { usage: 'schedule pause <id>', options: {}, run: (ctx, positionals) => schedules.schedulePause(ctx, positionals) },
  'schedule resume': { usage: 'schedule resume <id>', options: {}, run: (ctx, positionals) => schedules.scheduleResume(ctx, positionals) },
  'schedule trigger': { usage: 'schedule trigger <id>', options: {}, run: (ctx, positionals) => schedules.scheduleTrigger(ctx, positionals) },
  'schedule delete': { usage: 'schedule delete <id>', options: {}, run: (ctx, positionals) => schedules.scheduleDelete(ctx, positionals) },
};

const USAGE = `Usage: bellows <command> [options]

Commands:
${Object.values(COMMANDS)
  .map((command) => `  bellows ${command.usage}`)
  .join('\n')}

For a project with a repository, \`run --ref\` names a branch, tag or commit (default: the default branch)
and the run records the commit it resolved to; \`branches\` lists the repository's branches.

Options for every command:
  --json            machine-readable output on stdout
  --url, --token    server and token (default: BELLOWS_URL / BELLOWS_TOKEN, then ~/.config/bellows/config.json)
  -h, --help        this help

Exit codes: 0 success, 1 error or failed run, 2 bad usage, 3 server unreachable, 130 run cancelled or interrupted.
`;

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<ExitCode> {
  const words = commandWords(argv);
  // Two-word commands: `pipeline push`, `schedule create`, ...
  const name = words[0] === 'pipeline' || words[0] === 'schedule' ? `${words[0]} ${words[1] ?? ''}`.trim() : words[0];
  if (name === undefined || name === 'help') {
    const wantsHelp = name === 'help' || argv.includes('--help') || argv.includes('-h');
    (wantsHelp ? process.stdout : process.stderr).write(USAGE);
    return wantsHelp ? EXIT.ok : EXIT.usage;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`bellows: unknown command "${name}". Run \`bellows --help\` for the list.\n`);
    return EXIT.usage;
  }
  let parsed: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };
  try {
    // Only string options are `multiple`, so every array is a string[].
    parsed = parseArgs({ args: argv, options: { ...GLOBAL, ...command.options }, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (error) {
    process.stderr.write(`bellows: ${firstSentence((error as Error).message)}\nUsage: bellows ${command.usage}\n`);
    return EXIT.usage;
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(`Usage: bellows ${command.usage}\n`);
    return EXIT.ok;
  }
  const positionals = parsed.positionals.slice(name.split(' ').length);
  const abort = new AbortController();
  const onInterrupt = () => {
    // A second Ctrl-C leaves at once.
    if (abort.signal.aborted) process.exit(EXIT.cancelled);
    abort.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onInterrupt);
  const ctx: commands.Context = {
    env,
    json: values.json === true,
    flags: { url: typeof values.url === 'string' ? values.url : undefined, token: name === 'login' ? undefined : typeof values.token === 'string' ? values.token : undefined },
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    c: colours(process.stdout, env),
    ce: colours(process.stderr, env),
    stderrIsTty: process.stderr.isTTY === true,
    signal: abort.signal,
    readStdin,
  };
  try {
    return await command.run(ctx, positionals, values);
  } catch (error) {
    if (error instanceof CliError) {
      process.stderr.write(`bellows: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`bellows: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    return EXIT.failed;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

/** The words naming the command: every argument that is no option and no value of a global option (`bellows --url U runs`). */
function commandWords(argv: string[]): string[] {
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('-')) words.push(arg);
    else if (GLOBAL[arg.replace(/^--/, '')]?.type === 'string') i++;
  }
  return words;
}

function firstSentence(text: string): string {
  const line = text.split('\n')[0];
  const end = line.indexOf('. ');
  return end === -1 ? line : line.slice(0, end + 1);
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    // Flush stdout before leaving: a piped --json answer must arrive whole.
    process.stdout.write('', () => process.exit(code));
  });
}
