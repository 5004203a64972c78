import { formatMs, type Summary } from './stats';

// Plain-text table rendering for the bench report (no dependency: the output goes to a terminal or a CI log).

export type Cell = string;

export function renderTable(header: Cell[], rows: (Cell[] | string)[]): string {
  const tableRows = rows.filter((row): row is Cell[] => Array.isArray(row));
  const widths = header.map((cell, i) => Math.max(cell.length, ...tableRows.map((row) => (row[i] ?? '').length)));
  // Text columns align left, numbers right: the first column is a label, the rest are mostly figures.
  const line = (row: Cell[]): string =>
    row
      .map((cell, i) => (i === 0 || /^[a-z(]/i.test(cell) ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join('──');
  return [line(header), rule, ...rows.map((row) => (typeof row === 'string' ? row : line(row)))].join('\n');
}

export function ms(value: number): string {
  return formatMs(value);
}

export function ratio(value: number, baseline: number): string {
  if (!Number.isFinite(value) || !Number.isFinite(baseline) || baseline <= 0) return '—';
  return `${(value / baseline).toFixed(value / baseline >= 10 ? 0 : 1)}×`;
}

export function p50p95(summary: Summary): string {
  return `${ms(summary.p50)} / ${ms(summary.p95)}`;
}
