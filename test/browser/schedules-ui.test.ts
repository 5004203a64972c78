import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Schedule } from '../../contract/schedules.contract';
import { startStack, type Stack } from '../support/stack';
import { launchBrowser, serveUi, signIn, type Browser, type UiServer } from './browser-harness';

let stack: Stack;
let ui: UiServer;
let browser: Browser;

beforeAll(async () => {
  stack = await startStack({ agents: [{ name: 'ui-sched', labels: 'pool=ui-sched' }] });
  expect((await stack.request('POST', '/api/v1/projects', { body: { slug: 'web', name: 'Web shop' } })).status).toBe(201);
  expect((await stack.request('PUT', '/api/v1/projects/web/pipelines/nightly', { body: { content: 'echo nightly', labels: ['pool=ui-sched'] } })).status).toBe(200);
  ui = await serveUi(stack);
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await ui?.close();
  await stack?.stop();
});

it('lists schedules with their next and last runs; Run now starts one, Pause pauses it in Temporal', async () => {
  const created = await stack.request<Schedule>('POST', '/api/v1/projects/web/schedules', { body: { pipeline: 'nightly', cron: '0 3 * * *' } });
  expect(created.status).toBe(201);
  const id = created.body.id;
  const page = await browser.context.newPage();
  await signIn(page, ui.url, stack.adminToken, '#/runs');
  await page.getByRole('link', { name: 'Schedules' }).click();
  const row = page.locator(`tr[data-schedule="${id}"]`);
  await row.getByText('0 3 * * *').waitFor();
  await row.getByText('none yet').waitFor();

  await row.getByRole('button', { name: 'Run now' }).click();
  // The run's link (#1 with its status) appears once it exists; live run events reread the list.
  await row.getByRole('link', { name: /#1/ }).waitFor({ timeout: 60_000 });
  await expect.poll(async () => (await row.getByRole('link', { name: /#1/ }).textContent()) ?? '', { timeout: 60_000 }).toMatch(/succeeded/);

  await row.getByRole('button', { name: 'Pause' }).click();
  await row.getByRole('button', { name: 'Resume' }).waitFor();
  await expect.poll(async () => (await stack.request<Schedule>('GET', `/api/v1/schedules/${id}`)).body.paused).toBe(true);
  await page.close();
}, 180_000);
