// Command line and environment → agent settings. Pure (argv and env are passed in) so it can be tested
// without spawning the CLI.

import * as os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AGENT_NAME_PATTERN, AGENT_NAME_RULE, LABEL_PATTERN, LABEL_RULE, MAX_AGENT_LABELS } from '../contract/agent-protocol.contract';

export type CliOptions = {
  url: string;
  token: string;
  labels: string[];
  name: string;
  workDir: string;
  once: boolean;
  cancelGraceMs: number;
  keepWorkspace: boolean;
  /** Ctrl-C lets the running job finish first (a second one hands it back). */
  drain: boolean;
};

export type CliParseResult = { ok: true; options: CliOptions } | { ok: false; message: string } | { ok: false; help: true };

export const USAGE = `Usage: bellows-agent --url URL --token TOKEN [--labels k=v,k=v] [--name NAME] [--work-dir DIR] [--once] [--drain]

  --url       Bellows server URL                 (env BELLOWS_URL)
  --token     agent registration token           (env BELLOWS_AGENT_TOKEN)
  --labels    comma-separated labels             (env BELLOWS_AGENT_LABELS)
  --name      agent name, default: hostname      (env BELLOWS_AGENT_NAME)
  --work-dir  job directories live here          (env BELLOWS_AGENT_WORK_DIR)
  --once      exit after one job
  --drain     on SIGTERM/Ctrl-C finish the running job first  (env BELLOWS_AGENT_DRAIN=1)

Stopping: the first SIGTERM/SIGINT stops the running job and hands it back to the server, which queues
it again at once; a second abandons it. With --drain the first lets the job finish, the second hands it
back, a third abandons it.
`;

const DEFAULT_CANCEL_GRACE_MS = 10_000;

export function parseCliOptions(argv: string[], env: NodeJS.ProcessEnv): CliParseResult {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        token: { type: 'string' },
        labels: { type: 'string' },
        name: { type: 'string' },
        'work-dir': { type: 'string' },
        once: { type: 'boolean', default: false },
        drain: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    // parseArgs messages are already one sentence ("Unknown option '--foo'…").
    return { ok: false, message: error instanceof Error ? error.message.split('\n')[0] : String(error) };
  }
  if (values.help) return { ok: false, help: true };

  const url = (values.url ?? env.BELLOWS_URL ?? '').trim();
  if (url === '') return { ok: false, message: 'Missing server URL: pass --url or set BELLOWS_URL.' };
  if (!isHttpUrl(url)) return { ok: false, message: `Invalid server URL "${url}": expected http(s)://host[:port].` };

  const token = (values.token ?? env.BELLOWS_AGENT_TOKEN ?? '').trim();
  if (token === '') return { ok: false, message: 'Missing registration token: pass --token or set BELLOWS_AGENT_TOKEN.' };

  const labelsResult = parseLabels(values.labels ?? env.BELLOWS_AGENT_LABELS ?? '');
  if (typeof labelsResult === 'string') return { ok: false, message: labelsResult };

  const name = (values.name ?? env.BELLOWS_AGENT_NAME ?? os.hostname()).trim();
  if (!AGENT_NAME_PATTERN.test(name)) return { ok: false, message: `Invalid agent name "${name}": use ${AGENT_NAME_RULE}.` };

  const workDir = (values['work-dir'] ?? env.BELLOWS_AGENT_WORK_DIR ?? '').trim() || join(os.tmpdir(), `bellows-agent-${name}`);

  const graceText = env.BELLOWS_AGENT_CANCEL_GRACE_MS;
  const cancelGraceMs = graceText === undefined || graceText === '' ? DEFAULT_CANCEL_GRACE_MS : Number(graceText);
  if (!Number.isInteger(cancelGraceMs) || cancelGraceMs < 0) {
    return { ok: false, message: `Invalid BELLOWS_AGENT_CANCEL_GRACE_MS "${graceText}": expected a whole number of milliseconds.` };
  }

  return {
    ok: true,
    options: {
      url: url.replace(/\/+$/, ''),
      token,
      labels: labelsResult,
      name,
      workDir,
      once: values.once,
      cancelGraceMs,
      keepWorkspace: env.BELLOWS_KEEP_WORKSPACE === '1',
      drain: values.drain || env.BELLOWS_AGENT_DRAIN === '1',
    },
  };
}

/** "os=linux, arch=x64,gpu" → ["os=linux", "arch=x64", "gpu"]; returns an error sentence when malformed. */
export function parseLabels(text: string): string[] | string {
  const labels: string[] = [];
  for (const raw of text.split(',')) {
    const label = raw.trim();
    if (label === '') continue;
    if (!LABEL_PATTERN.test(label)) return `Invalid label "${label}": use ${LABEL_RULE}.`;
    if (!labels.includes(label)) labels.push(label);
  }
  if (labels.length > MAX_AGENT_LABELS) return `Too many labels (${labels.length}): an agent may declare at most ${MAX_AGENT_LABELS}.`;
  return labels;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}
