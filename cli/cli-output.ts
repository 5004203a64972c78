import { formatBytes } from '../contract/format';
// Terminal presentation: colours only on a terminal (and never with NO_COLOR), plain text otherwise,
// so piped output and --json stay clean. Log text from jobs is printed as the job wrote it, colours included.

export { formatBytes };

export type Paint = (text: string) => string;

export function colours(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env) {
  const on = env.NO_COLOR === undefined && (env.FORCE_COLOR !== undefined ? env.FORCE_COLOR !== '0' : stream.isTTY === true);
  const wrap = (open: number, close: number): Paint => (text) => (on ? `\u001b[${open}m${text}\u001b[${close}m` : text);
  return { bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), cyan: wrap(36, 39) };
}

export type Colours = ReturnType<typeof colours>;

export function statusColour(c: Colours, status: string): Paint {
  if (status === 'succeeded') return c.green;
  if (status === 'failed') return c.red;
  if (status === 'cancelled' || status === 'skipped') return c.yellow;
  return c.cyan;
}

export function table(rows: string[][], header: string[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => visibleLength(row[i] ?? ''))));
  return all.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i] - visibleLength(cell)))).join('  ').trimEnd()).join('\n') + '\n';
}

function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}


export function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${ms} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m ${Math.round(seconds % 60)}s`;
}

/** `[#####-----]  42%  1.2 MiB / 3.0 MiB  name`, sized to fit a terminal line. */
export function progressLine(name: string, done: number, total: number, width = 80): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const barWidth = Math.max(10, Math.min(30, width - 40));
  const filled = Math.round(fraction * barWidth);
  const text = `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%  ${formatBytes(done)} / ${formatBytes(total)}  ${name}`;
  return text.length > width - 1 ? text.slice(0, width - 2) + '…' : text;
}
