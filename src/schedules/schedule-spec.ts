// Pure rules of a schedule's timing: checked before Temporal sees them, so a bad one is a 422 that names it.
import type { ScheduleOverlap } from '../../contract/schedules.contract';

export type TemporalOverlap = 'SKIP' | 'BUFFER_ONE' | 'ALLOW_ALL' | 'CANCEL_OTHER';

const OVERLAP: Record<ScheduleOverlap, TemporalOverlap> = { skip: 'SKIP', buffer_one: 'BUFFER_ONE', allow_all: 'ALLOW_ALL', cancel_other: 'CANCEL_OTHER' };

export const temporalOverlap = (overlap: ScheduleOverlap): TemporalOverlap => OVERLAP[overlap];

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const EVERY_PATTERN = /^(?:\d+[smhd])+$/;
/** A schedule firing more often than this is a mistake, and one year is Temporal's practical horizon. */
export const MIN_EVERY_MS = 1000;
export const MAX_EVERY_MS = 366 * UNIT_MS.d;

/** "30s", "15m", "1h30m" → milliseconds; undefined when it is not such an interval. */
export function everyMs(every: string): number | undefined {
  if (!EVERY_PATTERN.test(every)) return undefined;
  let total = 0;
  for (const [, amount, unit] of every.matchAll(/(\d+)([smhd])/g)) total += Number(amount) * UNIT_MS[unit];
  return total;
}

export function everyProblem(every: string): string | null {
  const ms = everyMs(every);
  if (ms === undefined) return `every "${every}" is not an interval; write a number and s, m, h or d, e.g. "30s", "15m", "1h30m"`;
  if (ms < MIN_EVERY_MS || ms > MAX_EVERY_MS) return `every "${every}" must be from 1s to 366d`;
  return null;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
type CronField = { name: string; min: number; max: number; names?: string[]; namesFrom?: number };
const CRON_FIELDS: CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, namesFrom: 1 },
  // 7 is Sunday too, as in most crons (and Temporal's).
  { name: 'day of week', min: 0, max: 7, names: DAYS, namesFrom: 0 },
];
const CRON_MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

function cronValue(text: string, field: CronField): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const index = field.names?.indexOf(text.toLowerCase()) ?? -1;
  return index < 0 ? undefined : index + (field.namesFrom ?? 0);
}

function cronFieldProblem(text: string, field: CronField): string | null {
  for (const item of text.split(',')) {
    const [range, step, ...extra] = item.split('/');
    if (extra.length || (step !== undefined && !/^[1-9]\d*$/.test(step))) return `${field.name} "${item}" has a bad step`;
    if (range === '*' || range === '?') continue;
    const bounds = range.split('-');
    if (bounds.length > 2) return `${field.name} "${item}" is not a value or a range`;
    const values = bounds.map((bound) => cronValue(bound, field));
    for (const [i, value] of values.entries()) {
      if (value === undefined) return `${field.name} "${bounds[i]}" is not a value`;
      if (value < field.min || value > field.max) return `${field.name} ${value} is outside ${field.min}-${field.max}`;
    }
    if (values.length === 2 && (values[0] ?? 0) > (values[1] ?? 0)) return `${field.name} range "${range}" runs backwards`;
  }
  return null;
}

/** A standard five-field cron (names and @daily-style macros allowed); null when Temporal will accept it. */
export function cronProblem(cron: string): string | null {
  const text = cron.trim();
  if (text.startsWith('@')) return CRON_MACROS.includes(text.toLowerCase()) ? null : `cron "${cron}" is not a known macro (${CRON_MACROS.join(', ')})`;
  const fields = text.split(/\s+/);
  if (fields.length !== 5) return `cron "${cron}" must have 5 fields (minute hour day-of-month month day-of-week); it has ${fields.length}`;
  for (const [i, field] of CRON_FIELDS.entries()) {
    const problem = cronFieldProblem(fields[i], field);
    if (problem) return `cron "${cron}": ${problem}`;
  }
  return null;
}

/** An IANA zone name as this Node (and Temporal, which uses the same tz database) knows it. */
export function timezoneProblem(timezone: string): string | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return /^[A-Za-z0-9_+\-/]+$/.test(timezone) ? null : `timezone "${timezone}" is not an IANA time zone (e.g. "Europe/Berlin", "UTC")`;
  } catch {
    return `timezone "${timezone}" is not an IANA time zone (e.g. "Europe/Berlin", "UTC")`;
  }
}

/** Every problem of a timing at once; exactly one of cron and every. */
export function timingProblems(timing: { cron?: string | null; every?: string | null; timezone: string }): string[] {
  const problems: string[] = [];
  const hasCron = timing.cron !== undefined && timing.cron !== null;
  const hasEvery = timing.every !== undefined && timing.every !== null;
  if (hasCron === hasEvery) problems.push('give exactly one of cron and every');
  if (hasCron) {
    const problem = cronProblem(timing.cron as string);
    if (problem) problems.push(problem);
  }
  if (hasEvery) {
    const problem = everyProblem(timing.every as string);
    if (problem) problems.push(problem);
  }
  const zone = timezoneProblem(timing.timezone);
  if (zone) problems.push(zone);
  return problems;
}
