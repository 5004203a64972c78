import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../../scripts/chromium';
import type { Stack } from '../support/stack';

// Browser tests drive Debian's Chromium (apt-get install chromium) through playwright-core; no
// browser download. The UI comes from the API itself when it serves dist/web, else from a small
// static server here that proxies /api and /socket.io (WebSocket upgrades included) to the stack.

export const SCREENSHOT_DIR = path.resolve('test/artifacts');
const WEB_DIST = path.resolve('dist/web');

export type Browser = { context: BrowserContext; downloadsDir: string; close(): Promise<void> };

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set BELLOWS_CHROMIUM)`);
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bellows-chromium-'));
  const downloadsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bellows-downloads-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 1000 },
    acceptDownloads: true,
    downloadsPath: downloadsDir,
  });
  context.setDefaultTimeout(30_000);
  return {
    context,
    downloadsDir,
    async close() {
      await context.close().catch(() => undefined);
      fs.rmSync(userDataDir, { recursive: true, force: true });
      fs.rmSync(downloadsDir, { recursive: true, force: true });
    },
  };
}

export type UiServer = { url: string; close(): Promise<void> };

/** The UI's origin: the API when it serves the web UI already, else a local static server proxying to it. */
export async function serveUi(stack: Stack): Promise<UiServer> {
  if (!fs.existsSync(path.join(WEB_DIST, 'index.html'))) throw new Error('dist/web/index.html is missing: run npm run build');
  const probe = await fetch(`${stack.apiUrl}/runs-probe`).catch(() => null);
  if (probe?.ok && (await probe.text()).includes('id="root"')) return { url: stack.apiUrl, close: async () => undefined };
  return startStaticProxy(new URL(stack.apiUrl));
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.svg': 'image/svg+xml' };

async function startStaticProxy(target: URL): Promise<UiServer> {
  const toApi = (urlPath: string) => urlPath.startsWith('/api/') || urlPath.startsWith('/socket.io/');
  const server = http.createServer((req, res) => {
    const urlPath = (req.url ?? '/').split('?')[0];
    if (toApi(urlPath)) {
      const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
      return;
    }
    const file = path.join(WEB_DIST, path.normalize(urlPath).replace(/^(\.\.[/\\])+/, ''));
    const chosen = fs.existsSync(file) && fs.statSync(file).isFile() ? file : path.join(WEB_DIST, 'index.html');
    res.writeHead(200, { 'content-type': TYPES[path.extname(chosen)] ?? 'application/octet-stream' });
    fs.createReadStream(chosen).pipe(res);
  });
  server.on('upgrade', (req, socket, head) => {
    const upstream = net.connect(Number(target.port), target.hostname, () => {
      const headers = Object.entries(req.headers).map(([key, value]) => `${key}: ${key === 'host' ? target.host : value}`);
      upstream.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`);
      if (head.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

export async function signIn(page: Page, baseUrl: string, token: string, hash = '#/runs'): Promise<void> {
  await page.goto(`${baseUrl}/${hash}`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.topbar').waitFor();
}

/** Every line the (virtualised) log viewer renders, top to bottom, collected by scrolling through it. */
export async function renderedLogLines(page: Page): Promise<string[]> {
  const scroller = page.getByTestId('log-scroll');
  const byNumber = new Map<number, string>();
  await scroller.evaluate((element) => (element.scrollTop = 0));
  for (;;) {
    const rows = await page.locator('.log-line').evaluateAll((elements) =>
      elements.map((element) => [Number(element.querySelector('.log-number')?.textContent), element.querySelector('.log-text')?.textContent ?? ''] as const),
    );
    for (const [number, text] of rows) byNumber.set(number, text);
    const done = await scroller.evaluate((element) => {
      const atEnd = element.scrollTop + element.clientHeight >= element.scrollHeight - 1;
      element.scrollTop += element.clientHeight / 2;
      return atEnd;
    });
    if (done) break;
    await page.waitForTimeout(50);
  }
  const numbers = [...byNumber.keys()].sort((a, b) => a - b);
  return numbers.map((n) => byNumber.get(n)!);
}
