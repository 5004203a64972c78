export type LogFields = Record<string, string | number | null | undefined>;

/**
 * A log message that carries run/job ids as fields: one JSON object per line with
 * BELLOWS_LOG_FORMAT=json (so log tooling can filter by runId), `message (runId=1 jobId=2)` otherwise.
 */
export function withIds(message: string, fields: LogFields): string | Record<string, unknown> {
  if (process.env.BELLOWS_LOG_FORMAT === 'json') return { msg: message, ...fields };
  const suffix = Object.entries(fields)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
  return suffix ? `${message} (${suffix})` : message;
}
