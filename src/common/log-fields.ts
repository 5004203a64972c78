export type LogFields = Record<string, string | number | null | undefined>;
/** A log message with the run/job ids it concerns as fields; the logger decides how it is printed. */
export type LogRecord = { msg: string } & LogFields;

export function withIds(message: string, fields: LogFields): LogRecord {
  return { msg: message, ...fields };
}

export function isLogRecord(value: unknown): value is LogRecord {
  return typeof value === 'object' && value !== null && typeof (value as { msg?: unknown }).msg === 'string';
}

/** The text form: `message (runId=1 jobId=2)`, fields without a value left out. */
export function textOf(record: LogRecord): string {
  const suffix = Object.entries(record)
    .filter(([key, value]) => key !== 'msg' && value !== undefined && value !== null)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
  return suffix ? `${record.msg} (${suffix})` : record.msg;
}
