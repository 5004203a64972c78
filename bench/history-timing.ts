import type { Client } from '@temporalio/client';
import { summarize, type Summary } from './stats';

// Reads Temporal histories for two things: how many events a run costs, and when the server recorded
// each step (event times come from the same host clock as Postgres' now() and our wall clock).

type LongLike = number | { toNumber(): number };
type Timestamp = { seconds?: LongLike | null; nanos?: number | null };

/** The decoded protobuf event, reduced to the fields the bench reads. */
export type HistoryEvent = {
  eventId?: LongLike | null;
  eventTime?: Timestamp | null;
  workflowExecutionSignaledEventAttributes?: { signalName?: string | null } | null;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  activityTaskStartedEventAttributes?: { scheduledEventId?: LongLike | null } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: LongLike | null } | null;
  [field: string]: unknown;
};

export type HistoryStats = {
  min: number;
  avg: number;
  max: number;
  /** Events by kind for one representative run, grouped (workflow tasks, activities, timers, signals). */
  byKind: Record<string, number>;
};

function toNumber(value: LongLike | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

/** Epoch ms with sub-millisecond precision (the SDK's tsToMs floors to whole ms). */
export function eventTimeMs(event: HistoryEvent): number {
  return toNumber(event.eventTime?.seconds) * 1000 + (event.eventTime?.nanos ?? 0) / 1e6;
}

export function kindOf(event: HistoryEvent): string {
  // Each decoded event has exactly one `<kind>EventAttributes` field set; its name is the event type.
  const key = Object.keys(event).find((name) => name.endsWith('EventAttributes') && event[name] != null);
  return key ? key.slice(0, -'EventAttributes'.length) : 'unknown';
}

export async function fetchEvents(client: Client, workflowId: string): Promise<HistoryEvent[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []) as unknown as HistoryEvent[];
}

export function signalTimeMs(events: HistoryEvent[], signalName: string): number | null {
  const event = events.find((e) => e.workflowExecutionSignaledEventAttributes?.signalName === signalName);
  return event ? eventTimeMs(event) : null;
}

export function firstEventTimeMs(events: HistoryEvent[], kind: string): number | null {
  const event = events.find((e) => kindOf(e) === kind);
  return event ? eventTimeMs(event) : null;
}

/**
 * Activity name → scheduled-to-completed time of each execution, plus `<name> (scheduled → started)`,
 * the wait for a worker to pick the task up, which is Temporal's share rather than our activity code's.
 */
export function activityDurations(events: HistoryEvent[]): Record<string, number[]> {
  const scheduled = new Map<number, { name: string; at: number }>();
  const durations: Record<string, number[]> = {};
  for (const event of events) {
    const name = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) scheduled.set(toNumber(event.eventId), { name, at: eventTimeMs(event) });
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      const start = scheduled.get(toNumber(started.scheduledEventId));
      if (start) (durations[`${start.name} (scheduled → started)`] ??= []).push(eventTimeMs(event) - start.at);
    }
    const completed = event.activityTaskCompletedEventAttributes;
    if (completed) {
      const start = scheduled.get(toNumber(completed.scheduledEventId));
      if (start) (durations[`${start.name} (scheduled → completed)`] ??= []).push(eventTimeMs(event) - start.at);
    }
  }
  return durations;
}

const GROUPS: [prefix: string, label: string][] = [
  ['workflowTask', 'workflow task'],
  ['activityTask', 'activity'],
  ['timer', 'timer'],
  ['workflowExecutionSignaled', 'signal'],
];

export function historyStats(histories: HistoryEvent[][]): HistoryStats {
  const counts = histories.map((events) => events.length);
  const byKind: Record<string, number> = {};
  for (const event of histories[histories.length - 1] ?? []) {
    const kind = kindOf(event);
    const label = GROUPS.find(([prefix]) => kind.startsWith(prefix))?.[1] ?? 'other';
    byKind[label] = (byKind[label] ?? 0) + 1;
  }
  return {
    min: counts.length ? Math.min(...counts) : Number.NaN,
    avg: counts.reduce((sum, n) => sum + n, 0) / Math.max(1, counts.length),
    max: counts.length ? Math.max(...counts) : Number.NaN,
    byKind,
  };
}

/** Merges per-run activity durations into one summary per activity name. */
export function summarizeActivities(perRun: Record<string, number[]>[]): Record<string, Summary> {
  const all: Record<string, number[]> = {};
  for (const run of perRun) for (const [name, values] of Object.entries(run)) (all[name] ??= []).push(...values);
  return Object.fromEntries(Object.entries(all).map(([name, values]) => [name, summarize(values)]));
}
