// bellows schedule create|list|show|pause|resume|trigger|delete
import { api } from '../contract';
import type { Schedule } from '../contract/schedules.contract';
import { SCHEDULE_OVERLAPS } from '../contract/schedules.contract';
import { ApiRequestError } from './api-client';
import { CliError, EXIT, usageError, type ExitCode } from './cli-errors';
import { statusColour, table } from './cli-output';
import { client, parsePairs, printJson, when, type Context, type Values } from './commands';

/** Its usage line, for the help and for its own usage errors. */
export const SCHEDULE_CREATE_USAGE = `schedule create <project>/<pipeline> (--cron "<expr>" | --every <30s|15m|2h>) [--ref r] [--input k=v]... [--timezone Z] [--overlap ${SCHEDULE_OVERLAPS.join('|')}] [--paused]`;
const timing = (s: Schedule) => (s.cron !== null ? `cron ${s.cron}${s.timezone === 'UTC' ? '' : ` (${s.timezone})`}` : `every ${s.every}`);

function scheduleId(raw: string | undefined, usage: string): string {
  if (raw === undefined) throw usageError(`Name a schedule by its id: bellows ${usage}`);
  return raw;
}

/** Server answers, in a sentence: a missing schedule and a refused timing are the usual ones. */
function scheduleError(error: unknown, id?: string): unknown {
  if (error instanceof ApiRequestError && error.code === 'schedule_not_found') return new CliError(`Schedule "${id ?? ''}" does not exist.`);
  if (error instanceof ApiRequestError && error.code === 'project_not_found') return new CliError(error.message);
  return error;
}

async function call<T>(work: () => Promise<T>, id?: string): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw scheduleError(error, id);
  }
}

function printSchedule(ctx: Context, s: Schedule): void {
  const c = ctx.c;
  ctx.out(
    [
      `${c.bold(`${s.project}/${s.pipeline}`)}  ${s.id}`,
      `  when:      ${timing(s)}`,
      `  ref:       ${s.ref ?? '(default)'}`,
      `  overlap:   ${s.overlap}`,
      `  state:     ${s.paused ? c.yellow('paused') : c.green('active')}`,
      `  next run:  ${when(s.nextRunAt)}`,
      ...(Object.keys(s.inputs).length ? [`  inputs:    ${Object.entries(s.inputs).map(([k, v]) => `${k}=${v}`).join(' ')}`] : []),
      `  recent:    ${s.recentRuns.length ? s.recentRuns.map((run) => `#${run.number} ${statusColour(c, run.status)(run.status)} (run ${run.id})`).join(', ') : 'none yet'}`,
    ].join('\n') + '\n',
  );
}

export async function scheduleCreate(ctx: Context, positionals: string[], values: Values): Promise<ExitCode> {
  const [target, extra] = positionals;
  const usage = SCHEDULE_CREATE_USAGE;
  const match = /^([^/]+)\/([^/]+)$/.exec(target ?? '');
  if (!match || extra !== undefined) throw usageError(`Usage: bellows ${usage}`);
  const cron = typeof values.cron === 'string' ? values.cron : undefined;
  const every = typeof values.every === 'string' ? values.every : undefined;
  if ((cron === undefined) === (every === undefined)) throw usageError('Give exactly one of --cron and --every.');
  const overlap = typeof values.overlap === 'string' ? values.overlap : undefined;
  if (overlap !== undefined && !(SCHEDULE_OVERLAPS as readonly string[]).includes(overlap)) throw usageError(`--overlap must be one of ${SCHEDULE_OVERLAPS.join(', ')}; got "${overlap}".`);
  const body = {
    pipeline: match[2],
    ...(cron !== undefined ? { cron } : {}),
    ...(every !== undefined ? { every } : {}),
    ...(typeof values.ref === 'string' ? { ref: values.ref } : {}),
    ...(typeof values.timezone === 'string' ? { timezone: values.timezone } : {}),
    ...(overlap !== undefined ? { overlap: overlap as Schedule['overlap'] } : {}),
    ...(values.paused === true ? { paused: true } : {}),
    inputs: parsePairs(values.input as string[] | undefined, 'input'),
  };
  const schedule = await call(() => client(ctx).call(api.schedules.create, { params: { slug: match[1] }, body }));
  if (ctx.json) printJson(ctx, schedule);
  else {
    ctx.out(`Schedule ${schedule.id} created.\n`);
    printSchedule(ctx, schedule);
  }
  return EXIT.ok;
}

export async function scheduleList(ctx: Context, positionals: string[]): Promise<ExitCode> {
  const [project, extra] = positionals;
  if (!project || extra !== undefined) throw usageError('Usage: bellows schedule list <project>');
  const list = await call(() => client(ctx).call(api.schedules.list, { params: { slug: project } }));
  if (ctx.json) {
    printJson(ctx, list);
    return EXIT.ok;
  }
  if (list.schedules.length === 0) {
    ctx.out(`Project "${project}" has no schedules.\n`);
    return EXIT.ok;
  }
  const c = ctx.c;
  ctx.out(
    table(
      list.schedules.map((s) => {
        const last = s.recentRuns[0];
        return [s.id, s.pipeline, timing(s), s.paused ? c.yellow('paused') : 'active', when(s.nextRunAt), last ? `#${last.number} ${statusColour(c, last.status)(last.status)}` : '-'];
      }),
      ['ID', 'PIPELINE', 'WHEN', 'STATE', 'NEXT RUN', 'LAST RUN'],
    ),
  );
  return EXIT.ok;
}

export async function scheduleShow(ctx: Context, positionals: string[]): Promise<ExitCode> {
  const id = scheduleId(positionals[0], 'schedule show <id>');
  const schedule = await call(() => client(ctx).call(api.schedules.get, { params: { scheduleId: id } }), id);
  if (ctx.json) printJson(ctx, schedule);
  else printSchedule(ctx, schedule);
  return EXIT.ok;
}

const setPaused = (paused: boolean) => async (ctx: Context, positionals: string[]): Promise<ExitCode> => {
  const id = scheduleId(positionals[0], `schedule ${paused ? 'pause' : 'resume'} <id>`);
  const schedule = await call(() => client(ctx).call(api.schedules.update, { params: { scheduleId: id }, body: { paused } }), id);
  if (ctx.json) printJson(ctx, schedule);
  else ctx.out(`Schedule ${id} ${paused ? 'paused' : `resumed; next run ${when(schedule.nextRunAt)}`}.\n`);
  return EXIT.ok;
};

export const schedulePause = setPaused(true);
export const scheduleResume = setPaused(false);

export async function scheduleTrigger(ctx: Context, positionals: string[]): Promise<ExitCode> {
  const id = scheduleId(positionals[0], 'schedule trigger <id>');
  const schedule = await call(() => client(ctx).call(api.schedules.trigger, { params: { scheduleId: id } }), id);
  if (ctx.json) printJson(ctx, schedule);
  else ctx.out(`Schedule ${id} triggered; its run appears in \`bellows runs --project ${schedule.project} --pipeline ${schedule.pipeline}\`.\n`);
  return EXIT.ok;
}

export async function scheduleDelete(ctx: Context, positionals: string[]): Promise<ExitCode> {
  const id = scheduleId(positionals[0], 'schedule delete <id>');
  await call(() => client(ctx).call(api.schedules.delete, { params: { scheduleId: id } }), id);
  if (ctx.json) printJson(ctx, { deleted: id });
  else ctx.out(`Schedule ${id} deleted.\n`);
  return EXIT.ok;
}
