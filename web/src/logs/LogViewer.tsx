// Virtualised, live log of one job: ANSI colours, per-node sections, tail following, search, raw download.
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { api, downloadWithToken, errorMessage } from '../api/client';
import type { JobStatus } from '../api/wire';
import { ErrorBanner } from '../components/common';
import { AnsiLine } from './AnsiLine';
import { nodeMatches, plainText, type LogLine } from './log-lines';
import { useJobLog } from './use-job-log';

const ROW_HEIGHT = 18;

type Row = { kind: 'header'; node: string | null } | { kind: 'line'; line: LogLine; number: number };

type LogViewerProps = {
  jobId: number;
  jobName: string;
  jobStatus: JobStatus;
  nodeFilter: string | null;
  onNodeFilter: (node: string | null) => void;
};

function buildRows(lines: LogLine[], nodeFilter: string | null): { rows: Row[]; nodes: string[] } {
  const rows: Row[] = [];
  const nodes = new Set<string>();
  let previous: string | null | undefined = undefined;
  const sectioned = lines.some((line) => line.node);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.node) nodes.add(line.node);
    if (nodeFilter !== null && !nodeMatches(line.node, nodeFilter)) continue;
    if (sectioned && nodeFilter === null && line.node !== previous) rows.push({ kind: 'header', node: line.node });
    previous = line.node;
    rows.push({ kind: 'line', line, number: i + 1 });
  }
  return { rows, nodes: [...nodes].sort() };
}

export function LogViewer({ jobId, jobName, jobStatus, nodeFilter, onNodeFilter }: LogViewerProps) {
  const log = useJobLog(jobId, jobStatus);
  const scroller = useRef<HTMLDivElement>(null);
  const [follow, setFollow] = useState(true);
  const [query, setQuery] = useState('');
  const [matchIndex, setMatchIndex] = useState(0);
  const [downloadError, setDownloadError] = useState<string | null>(null);

  const { rows, nodes } = useMemo(() => buildRows(log.lines, nodeFilter), [log.lines, log.version, nodeFilter]);
  const total = log.lines.length;
  // Rows also hold section headers; only a node filter hides lines (and it drops the headers).
  const shown = nodeFilter === null ? total : rows.length;
  const needle = query.trim().toLowerCase();
  const matches = useMemo(() => {
    if (!needle) return [];
    const found: number[] = [];
    rows.forEach((row, index) => {
      if (row.kind === 'line' && plainText(row.line).toLowerCase().includes(needle)) found.push(index);
    });
    return found;
  }, [rows, needle]);
  const activeRow = matches.length ? matches[Math.min(matchIndex, matches.length - 1)] : -1;

  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 30,
  });

  // Follow the tail while the user has not scrolled up.
  useLayoutEffect(() => {
    const element = scroller.current;
    if (follow && element && rows.length) element.scrollTop = element.scrollHeight;
  }, [follow, rows.length]);

  useEffect(() => {
    if (activeRow >= 0) virtualizer.scrollToIndex(activeRow, { align: 'center' });
  }, [activeRow, virtualizer]);

  const onScroll = () => {
    const element = scroller.current;
    if (!element) return;
    const atBottom = element.scrollHeight - element.scrollTop - element.clientHeight < ROW_HEIGHT * 1.5;
    if (atBottom !== follow) setFollow(atBottom);
  };

  const step = (delta: number) => {
    if (!matches.length) return;
    setFollow(false);
    setMatchIndex((current) => (Math.min(current, matches.length - 1) + delta + matches.length) % matches.length);
  };

  const onSearchKey = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === 'Enter') step(event.shiftKey ? -1 : 1);
    if (event.key === 'Escape') setQuery('');
  };

  const download = () => {
    setDownloadError(null);
    downloadWithToken(api.jobs.logText, { params: { id: jobId }, query: { format: 'text' } }, `job-${jobId}.log`).catch((error: unknown) => setDownloadError(errorMessage(error)));
  };

  return (
    <section className="log-viewer" data-testid="log-viewer" data-job-id={jobId} data-last-seq={log.lastSeq} data-line-count={log.lines.length} data-complete={log.complete}>
      <div className="log-toolbar">
        <strong className="log-title">{jobName}</strong>
        {nodes.length > 0 && (
          <select aria-label="Log section" value={nodeFilter ?? ''} onChange={(event) => onNodeFilter(event.target.value || null)}>
            <option value="">All nodes</option>
            {nodes.map((node) => (
              <option key={node} value={node}>
                {node}
              </option>
            ))}
          </select>
        )}
        <div className="log-search">
          <input
            type="search"
            placeholder="Search log"
            aria-label="Search log"
            value={query}
            onChange={(event) => {
              setQuery(event.target.value);
              setMatchIndex(0);
              if (event.target.value) setFollow(false);
            }}
            onKeyDown={onSearchKey}
          />
          <span className="muted match-count" data-testid="match-count">
            {needle ? `${matches.length ? Math.min(matchIndex, matches.length - 1) + 1 : 0}/${matches.length}` : ''}
          </span>
          <button type="button" onClick={() => step(-1)} disabled={!matches.length} title="Previous match (Shift+Enter)">
            ↑
          </button>
          <button type="button" onClick={() => step(1)} disabled={!matches.length} title="Next match (Enter)">
            ↓
          </button>
        </div>
        <span className="spacer" />
        {!follow && (
          <button type="button" onClick={() => setFollow(true)}>
            Follow tail
          </button>
        )}
        <button type="button" onClick={download}>
          Download raw
        </button>
      </div>
      <ErrorBanner error={log.error ?? downloadError} />
      <div className="log-scroll" ref={scroller} onScroll={onScroll} data-testid="log-scroll">
        <div className="log-canvas" style={{ height: virtualizer.getTotalSize() }}>
          {virtualizer.getVirtualItems().map((item) => {
            const row = rows[item.index];
            const style = { transform: `translateY(${item.start}px)`, height: ROW_HEIGHT };
            if (row.kind === 'header') {
              return (
                <div key={item.key} className="log-row log-section" style={style} onClick={() => onNodeFilter(row.node)} data-section={row.node ?? ''}>
                  ▸ {row.node ?? 'job'}
                </div>
              );
            }
            return (
              <div
                key={item.key}
                className={`log-row log-line stream-${row.line.stream}${item.index === activeRow ? ' log-line-active' : ''}`}
                style={style}
                data-seq={row.line.seq}
                data-node={row.line.node ?? ''}
              >
                <span className="log-number">{row.number}</span>
                <span className="log-text">
                  <AnsiLine text={row.line.text} query={needle} active={item.index === activeRow} />
                </span>
              </div>
            );
          })}
        </div>
        {!log.loading && log.lines.length === 0 && <div className="log-empty muted">{log.complete ? 'This job wrote no output.' : 'Waiting for output…'}</div>}
      </div>
      <div className="log-footer muted">
        {nodeFilter === null ? `${total.toLocaleString()} line${total === 1 ? '' : 's'}` : `${shown.toLocaleString()} of ${total.toLocaleString()} lines (node ${nodeFilter})`}
        {log.complete ? ' · complete' : jobStatus === 'running' ? ' · streaming' : ''}
      </div>
    </section>
  );
}
