import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../scripts/chromium';
import { sleep } from '../scripts/process-utils';
import type { BenchStack } from './bench-stack';
import { triggerRun, waitRunFinished } from './bench-utils';
import { summarize, type Summary } from './stats';

// End to end as a person sees it: a real agent runs a script that stamps each line with the
// wall-clock time it printed it; the run page in headless Chromium records when each line shows up
// in the log viewer. Everything between is the product: the agent's output capture and log
// shipping, the API's append, Socket.IO, and the React log viewer's render. Same machine, same
// clock, so the difference is the latency.

export type BrowserLatencyResult = { lines: number; latency: Summary; missing: number };
export type BrowserLatencyOptions = { project: string; lines: number; intervalMs: number; signal: AbortSignal; onProgress: (message: string) => void };

const LABELS = ['pool=browser-bench'];
const MARK = 'visible-probe';

export function chromiumAvailable(): boolean {
  return fs.existsSync(CHROMIUM);
}

function probeScript(lines: number, intervalMs: number): string {
  // GNU date's %3N gives milliseconds; each line carries its own birth time.
  return [
    `for i in $(seq 1 ${lines}); do`,
    `  echo "${MARK} $i $(date +%s%3N)"`,
    `  sleep ${(intervalMs / 1000).toFixed(3)}`,
    'done',
  ].join('\n');
}

export async function benchBrowserLatency(stack: BenchStack, options: BrowserLatencyOptions): Promise<BrowserLatencyResult> {
  const put = await stack.request('PUT', `/api/v1/projects/${options.project}/pipelines/visible`, {
    body: { content: probeScript(options.lines, options.intervalMs), labels: LABELS },
  });
  if (put.status >= 300) throw new Error(`saving the browser-latency pipeline failed: ${put.status} ${JSON.stringify(put.body)}`);
  await stack.startAgent('bench-browser-agent', LABELS);

  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bellows-bench-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 1000 } });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    // Before the app's own scripts: sign in the way the UI keeps it (the token in this tab's
    // sessionStorage), and time every probe line's first appearance anywhere in the page.
    await page.addInitScript(({ mark, token }) => {
      sessionStorage.setItem('bellows.token', token);
      const seen = new Map<string, number>();
      (window as unknown as { probeSeen: Map<string, number> }).probeSeen = seen;
      const pattern = new RegExp(`${mark} (\\d+) (\\d+)`, 'g');
      const scan = (text: string | null) => {
        if (!text?.includes(mark)) return;
        const now = Date.now();
        for (const match of text.matchAll(pattern)) if (!seen.has(match[1])) seen.set(match[1], now - Number(match[2]));
      };
      new MutationObserver((records) => {
        for (const record of records) {
          if (record.type === 'characterData') scan(record.target.textContent);
          for (const node of record.addedNodes) scan(node.textContent);
        }
      }).observe(document, { childList: true, subtree: true, characterData: true });
    }, { mark: MARK, token: stack.adminToken });

    const runId = await triggerRun(stack, options.project, 'visible');
    await page.goto(`${stack.apiUrl}/#/runs/${runId}`);
    options.onProgress(`  browser: run ${runId} open in Chromium; ${options.lines} lines every ${options.intervalMs} ms…`);
    const status = await waitRunFinished(stack, runId, options.signal, 120_000);
    if (status !== 'succeeded') throw new Error(`the browser-latency run ended ${status}`);
    await sleep(1500); // the last lines' render
    const seen = await page.evaluate(() => [...(window as unknown as { probeSeen: Map<string, number> }).probeSeen.values()]);
    return { lines: options.lines, latency: summarize(seen), missing: options.lines - seen.length };
  } finally {
    await context.close().catch(() => undefined);
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}
