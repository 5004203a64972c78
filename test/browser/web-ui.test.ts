import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRepository, git } from '../support/git-repository';
import { startStack, type Stack } from '../support/stack';
import { launchBrowser, renderedLogLines, screenshot, serveUi, signIn, type Browser, type UiServer } from './browser-harness';

// The web UI in real headless Chromium against the real stack: sign-in, triggering a run and
// watching it live (log and executing graph node), reordering and bulk-cancelling the queue,
// finding and downloading an artifact, a reconnect in the middle of a streaming log, and running a
// branch of a project's git repository picked in the Run dialog.

type Job = { id: number; status: string; startedAt: string | null };
type Run = { id: number; number: number; status: string; priority: number; jobs: Job[]; concurrency?: { waitingBecause: string | null } | null };

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

let stack: Stack;
let ui: UiServer;
let browser: Browser;

// `build` keeps running until the test has seen it executing (no race against a fixed sleep on a busy CI box).
const RELEASE = `/tmp/bellows-ui-release-${process.pid}-${Date.now()}`;

const GRAPH = `entry: start
type: generic
nodes:
  - id: start
    type: core/start@v1
    position: {x: 0, y: 0}
  - id: build
    type: core/run@v1
    position: {x: 300, y: 0}
    inputs:
      shell: bash
      script: |
        printf '\\033[32mbuild started for %s\\033[0m\\n' "\${{ inputs.name }}"
        for i in $(seq 1 1200); do [ -e ${RELEASE} ] && break; sleep 0.1; done
        echo "build step two"
  - id: done
    type: core/print@v1
    position: {x: 600, y: 0}
    inputs:
      values[0]: graph finished
connections: []
executions:
  - src: {node: start, port: exec}
    dst: {node: build, port: exec}
  - src: {node: build, port: exec-success}
    dst: {node: done, port: exec}
`;

async function put(name: string, body: Record<string, unknown>): Promise<void> {
  const res = await stack.request('PUT', `/api/v1/projects/web/pipelines/${name}`, { body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

async function trigger(name: string, body: Record<string, unknown> = {}): Promise<Run> {
  const res = await stack.request<Run>('POST', `/api/v1/projects/web/pipelines/${name}/runs`, { body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function getRun(id: number): Promise<Run> {
  return (await stack.request<Run>('GET', `/api/v1/runs/${id}`)).body;
}

async function finished(id: number): Promise<Run> {
  return stack.waitFor(
    async () => {
      const run = await getRun(id);
      return ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : null;
    },
    { timeoutMs: 90_000, message: `run ${id} to finish` },
  );
}

/** Job ids of a set of runs once their jobs exist (they are queued by the workflow). */
async function queuedJobIds(runs: Run[]): Promise<number[]> {
  return stack.waitFor(
    async () => {
      const queue = (await stack.request<{ jobs: { id: number; runId: number }[] }>('GET', '/api/v1/queue')).body.jobs;
      const ids = runs.map((run) => queue.find((job) => job.runId === run.id)?.id);
      return ids.every((id) => id !== undefined) ? (ids as number[]) : null;
    },
    { timeoutMs: 30_000, message: 'jobs to be queued' },
  );
}

async function pendingOrder(page: Page): Promise<number[]> {
  return page.locator('.queue-table tbody tr').evaluateAll((rows) => rows.map((row) => Number(row.getAttribute('data-job-id'))));
}

beforeAll(async () => {
  // file:// repositories are allowed so a test can give a project a repository made on the spot.
  stack = await startStack({ agents: [{ name: 'ui-runner', labels: 'os=linux' }], env: { BELLOWS_ALLOW_FILE_REPOSITORIES: 'true' } });
  expect((await stack.request('POST', '/api/v1/projects', { body: { slug: 'web', name: 'Web shop' } })).status).toBe(201);
  await put('graph', { content: GRAPH, kind: 'act', labels: ['os=linux'], inputs: { name: { default: 'Ada', description: 'who to greet' } } });
  ui = await serveUi(stack);
  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await ui?.close();
  await stack?.stop();
});

describe('web UI in Chromium', () => {
  it('signs in, starts a run from the Run button and shows its log lines and executing node live', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${ui.url}/#/projects`);
    await page.getByLabel('API token').fill('bel_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBeTruthy();
    await screenshot(page, 'sign-in');
    await page.getByLabel('API token').fill(stack.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Web shop' }).waitFor();
    await screenshot(page, 'projects');
    await page.getByRole('link', { name: 'Web shop' }).click();
    await page.getByRole('cell', { name: 'graph' }).first().waitFor();
    await screenshot(page, 'project');

    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.getByLabel('Value of name').inputValue()).toBe('Ada');
    await dialog.getByLabel('Branch or ref').fill('feature/ui');
    await dialog.getByLabel('Value of name').fill('Grace');
    await screenshot(page, 'run-dialog');
    await dialog.getByRole('button', { name: 'Start run' }).click();

    await page.waitForURL(/#\/runs\/\d+/);
    const runId = Number(/#\/runs\/(\d+)/.exec(page.url())![1]);
    // While `build` sleeps: its first line is on screen and the node is marked as executing.
    await page.locator('.graph-node[data-node="build"][data-state="active"]').waitFor({ timeout: 60_000 });
    await page.locator('.log-line', { hasText: 'build started for Grace' }).waitFor({ timeout: 30_000 });
    const whileRunning = await getRun(runId);
    expect(whileRunning.status).toBe('running');
    await expect(page.locator('.log-line', { hasText: 'build started for Grace' }).locator('.fg-green').count()).resolves.toBe(1);
    await screenshot(page, 'run-detail-live');
    fs.writeFileSync(RELEASE, '');

    // Then the rest streams in and every node ends marked.
    await page.locator('.log-line', { hasText: 'graph finished' }).waitFor({ timeout: 60_000 });
    await page.locator('.graph-node[data-node="done"][data-state="succeeded"]').waitFor({ timeout: 30_000 });
    await page.locator('.graph-node[data-node="build"][data-state="succeeded"]').waitFor();
    const run = await finished(runId);
    expect(run.status).toBe('succeeded');
    await page.getByTestId('log-viewer').and(page.locator('[data-complete="true"]')).waitFor();
    const stored = (await stack.request<string>('GET', `/api/v1/jobs/${run.jobs[0].id}/logs?format=text`)).body;
    expect(await renderedLogLines(page)).toEqual(stored.replace(/\n$/, '').replace(ANSI, '').split('\n'));

    // Clicking a node shows only its section; search highlights matches.
    await page.locator('.graph-node[data-node="build"]').click();
    await expect.poll(() => page.locator('.log-line').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-node')))).toEqual(
      expect.arrayContaining(['build']),
    );
    // The build rows were there before the click too: wait for the other nodes' rows to go.
    await expect.poll(() => page.locator('.log-line[data-node="done"]').count(), { timeout: 30_000 }).toBe(0);
    await page.getByLabel('Search log').fill('step two');
    await page.locator('mark.match-active').waitFor();
    await screenshot(page, 'run-detail');

    await page.getByRole('link', { name: 'Runs' }).click();
    await page.locator(`tr[data-run-id="${runId}"]`).waitFor();
    await screenshot(page, 'runs');
    await page.getByRole('link', { name: 'Agents' }).click();
    await page.locator('tr[data-agent="ui-runner"]').waitFor();
    await screenshot(page, 'agents');
    await page.close();
  }, 180_000);

  it('reorders queued jobs by drag and drop; an agent then claims them in the new order', async () => {
    await put('drag', { content: 'echo "job $BELLOWS_JOB_ID"', labels: ['pool=drag'] });
    const runs = [await trigger('drag'), await trigger('drag'), await trigger('drag')];
    const [a, b, c] = await queuedJobIds(runs);

    const page = await browser.context.newPage();
    await signIn(page, ui.url, stack.adminToken, '#/queue');
    const watcher = await browser.context.newPage();
    await signIn(watcher, ui.url, stack.adminToken, '#/queue');
    for (const p of [page, watcher]) await expect.poll(() => pendingOrder(p), { timeout: 30_000 }).toEqual([a, b, c]);
    const row = page.locator(`tr[data-job-id="${a}"]`);
    await expect(row.getByTestId('matching-agents').textContent()).resolves.toContain('0 matching');
    await expect(row.locator('.waiting').textContent()).resolves.toContain('pool=drag');

    await page.locator(`tr[data-job-id="${c}"]`).dragTo(page.locator(`tr[data-job-id="${a}"]`), { targetPosition: { x: 40, y: 4 } });
    await expect.poll(() => pendingOrder(page), { timeout: 30_000 }).toEqual([c, a, b]);
    const storedOrder = async () => (await stack.request<{ jobs: { id: number }[] }>('GET', '/api/v1/queue')).body.jobs.map((job) => job.id).filter((id) => [a, b, c].includes(id));
    await expect.poll(storedOrder, { timeout: 30_000 }).toEqual([c, a, b]);
    expect(await page.getByRole('alert').count()).toBe(0);
    // The other viewer sees the new order without reloading.
    await expect.poll(() => pendingOrder(watcher), { timeout: 30_000 }).toEqual([c, a, b]);
    await screenshot(page, 'queue');
    await watcher.close();

    await stack.startAgent({ name: 'drag-pool', labels: 'pool=drag' });
    const done = await Promise.all(runs.map((run) => finished(run.id)));
    const started = (id: number) => new Date(done.flatMap((run) => run.jobs).find((job) => job.id === id)!.startedAt!).getTime();
    expect(started(c)).toBeLessThan(started(a));
    expect(started(a)).toBeLessThan(started(b));
    await expect.poll(() => pendingOrder(page), { timeout: 30_000 }).toEqual([]);
    await page.close();
  }, 180_000);

  it('cancels two queued runs in bulk', async () => {
    await put('parked', { content: 'echo never', labels: ['pool=nobody'] });
    const runs = [await trigger('parked'), await trigger('parked')];
    const jobIds = await queuedJobIds(runs);
    const page = await browser.context.newPage();
    await signIn(page, ui.url, stack.adminToken, '#/queue');
    for (const id of jobIds) await page.getByLabel(`Select job ${id}`).check();
    await page.getByRole('button', { name: /Cancel selected runs \(2\)/ }).click();
    await page.getByRole('button', { name: 'Yes, cancel 2 runs' }).click();
    await page.getByRole('status').filter({ hasText: 'Cancelled 2 runs' }).waitFor();
    for (const run of runs) expect((await finished(run.id)).status).toBe('cancelled');
    await expect.poll(() => pendingOrder(page), { timeout: 30_000 }).not.toEqual(expect.arrayContaining([jobIds[0]]));
    await page.close();
  }, 120_000);

  it('pages a long queue with Load more; a job on the second page can be selected and its run cancelled', async () => {
    // One run of 120 matrix jobs nobody can take: more than the first page (100).
    await put('long-queue', { content: 'echo never', labels: ['pool=nobody'], matrix: { n: Array.from({ length: 120 }, (_, i) => i) } });
    const run = await trigger('long-queue');
    const listed = await stack.waitFor(
      async () => {
        const body = (await stack.request<{ jobs: { id: number; runId: number }[]; total: number }>('GET', '/api/v1/queue?limit=500')).body;
        const mine = body.jobs.filter((job) => job.runId === run.id);
        return mine.length === 120 ? { ids: mine.map((job) => job.id), total: body.total } : null;
      },
      { timeoutMs: 60_000, message: '120 queued jobs' },
    );
    const page = await browser.context.newPage();
    await signIn(page, ui.url, stack.adminToken, '#/queue');
    await expect.poll(async () => (await pendingOrder(page)).length, { timeout: 30_000 }).toBe(Math.min(100, listed.total));
    await page.getByRole('heading', { name: `Pending · ${listed.total}` }).waitFor();
    await page.getByRole('button', { name: /Load more/ }).click();
    await expect.poll(async () => (await pendingOrder(page)).length, { timeout: 30_000 }).toBe(listed.total);
    expect((await pendingOrder(page)).filter((id) => listed.ids.includes(id))).toEqual(listed.ids);
    expect(await page.getByRole('button', { name: /Load more/ }).count()).toBe(0);

    const last = listed.ids[listed.ids.length - 1];
    await page.getByLabel(`Select job ${last}`).check();
    await page.getByRole('button', { name: /Cancel selected runs \(1\)/ }).click();
    await page.getByRole('button', { name: 'Yes, cancel 1 run' }).click();
    await page.getByRole('status').filter({ hasText: 'Cancelled 1 run' }).waitFor();
    expect((await finished(run.id)).status).toBe('cancelled');
    await expect.poll(async () => (await pendingOrder(page)).filter((id) => listed.ids.includes(id)), { timeout: 30_000 }).toEqual([]);
    await page.close();
  }, 180_000);

  it('shows why a run waits for its concurrency group on the queue and the run page, and lets it go live', async () => {
    await put('one-deploy', { content: 'echo never', labels: ['pool=nobody'], concurrency: { group: 'deploy-${ref}' } });
    const holder = await trigger('one-deploy');
    await queuedJobIds([holder]);
    const waiting = await trigger('one-deploy');
    const sentence = `waiting for concurrency group deploy-main (held by run #${holder.number})`;
    await stack.waitFor(async () => (await getRun(waiting.id)).concurrency?.waitingBecause === sentence, { timeoutMs: 30_000, message: 'the second run to wait for the slot' });

    const page = await browser.context.newPage();
    await signIn(page, ui.url, stack.adminToken, '#/queue');
    const heldRow = page.locator(`.held-table tr[data-run-id="${waiting.id}"]`);
    await expect.poll(async () => (await heldRow.count()) && heldRow.getByTestId('held-because').textContent(), { timeout: 30_000 }).toBe(sentence);
    const runPage = await browser.context.newPage();
    await signIn(runPage, ui.url, stack.adminToken, `#/runs/${waiting.id}`);
    await expect.poll(() => runPage.getByTestId('run-concurrency').textContent(), { timeout: 30_000 }).toBe(sentence);
    await expect(runPage.getByTestId('run-concurrency-group').textContent()).resolves.toContain('deploy-main');

    // The holder ends: the waiting run takes the slot, and both pages follow without a reload.
    expect((await stack.request('POST', `/api/v1/runs/${holder.id}/cancel`)).status).toBe(200);
    await expect.poll(() => heldRow.count(), { timeout: 30_000 }).toBe(0);
    await expect.poll(async () => (await pendingOrder(page)).length > 0 && (await page.locator(`.queue-table tr[data-run-id="${waiting.id}"]`).count()), { timeout: 30_000 }).toBe(1);
    await expect.poll(() => runPage.getByTestId('run-concurrency').count(), { timeout: 30_000 }).toBe(0);
    await expect(runPage.getByTestId('run-concurrency-group').textContent()).resolves.toContain('holding a slot');
    expect((await stack.request('POST', `/api/v1/runs/${waiting.id}/cancel`)).status).toBe(200);
    await runPage.close();
    await page.close();
  }, 120_000);

  it('starts a run with a priority from the Run dialog; the run page and the queue show it', async () => {
    await put('urgent-work', { content: 'echo never', labels: ['pool=nobody'], priority: 3 });
    const page = await browser.context.newPage();
    await signIn(page, ui.url, stack.adminToken, '#/projects/web');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Pipeline').selectOption('urgent-work');
    // Empty means the pipeline's own priority, which the field shows.
    await expect.poll(() => dialog.getByLabel('Priority').getAttribute('placeholder')).toBe("3 (the pipeline's)");
    await dialog.getByLabel('Priority').fill('40');
    await dialog.getByRole('button', { name: 'Start run' }).click();
    await page.waitForURL(/#\/runs\/\d+/);
    const runId = Number(/#\/runs\/(\d+)/.exec(page.url())![1]);
    await expect.poll(() => page.getByTestId('run-priority').textContent()).toBe('40');
    expect((await getRun(runId)).priority).toBe(40);

    await page.goto(`${ui.url}/#/queue`);
    const [jobId] = await stack.waitFor(async () => {
      const ids = (await getRun(runId)).jobs.map((job) => job.id);
      return ids.length ? ids : null;
    }, { message: `run ${runId}'s job` });
    const row = page.locator('tr', { has: page.getByLabel(`Select job ${jobId}`) });
    await row.getByText('priority 40').waitFor();
    await screenshot(page, 'queue-priority');
    expect((await stack.request('POST', `/api/v1/runs/${runId}/cancel`)).status).toBe(200);
    await page.close();
  }, 120_000);

  it('re-runs one job from its row: it and what needs it run again, the rest carry over', async () => {
    await put('chain', {
      content: 'echo unused',
      jobs: [
        { name: 'a', content: 'echo a-$BELLOWS_ATTEMPT' },
        { name: 'b', needs: ['a'], content: 'echo b-$BELLOWS_ATTEMPT' },
        { name: 'c', needs: ['b'], content: 'echo c-$BELLOWS_ATTEMPT' },
      ],
    });
    const first = await finished((await trigger('chain')).id);
    const page = await browser.context.newPage();
    await signIn(page, ui.url, stack.adminToken, `#/runs/${first.id}`);
    const row = page.locator('.jobs-table tbody tr').filter({ has: page.getByRole('link', { name: 'b', exact: true }) });
    await row.getByRole('button', { name: 'Re-run' }).click();
    await page.waitForURL(/attempt=2/);
    await expect.poll(() => page.getByTestId('attempt-rerun-jobs').textContent()).toContain('re-ran b');
    const second = await stack.waitFor(
      async () => {
        const run = await stack.request<{ attempt: number; status: string; jobs: { key: string; carriedFromJobId: number | null }[] }>('GET', `/api/v1/runs/${first.id}`);
        return run.body.attempt === 2 && run.body.status === 'succeeded' ? run.body : null;
      },
      { timeoutMs: 60_000, message: 'attempt 2 to succeed' },
    );
    expect(second.jobs.map((job) => [job.key, job.carriedFromJobId !== null])).toEqual([
      ['a', true],
      ['b', false],
      ['c', false],
    ]);
    await page.close();
  }, 120_000);

  it('finds an artifact by name and downloads it with matching SHA-256', async () => {
    // A second artifact the search must leave out: before the search the table lists both.
    await put('report', { content: 'head -c 200000 /dev/urandom > "$BELLOWS_ARTIFACTS_DIR/coverage-report.bin"; echo other > "$BELLOWS_ARTIFACTS_DIR/unrelated.txt"; echo stored', labels: ['os=linux'] });
    const run = await trigger('report');
    expect((await finished(run.id)).status).toBe('succeeded');
    const listed = (await stack.request<{ artifacts: { name: string; sha256: string; size: number }[] }>('GET', `/api/v1/artifacts?runId=${run.id}`)).body.artifacts;
    const artifact = listed.find((a) => a.name === 'coverage-report.bin')!;
    expect(artifact).toBeTruthy();

    const page = await browser.context.newPage();
    await signIn(page, ui.url, stack.adminToken, '#/artifacts');
    await page.getByPlaceholder('Search by name').fill('coverage-rep');
    await page.getByRole('button', { name: 'Search' }).click();
    const row = page.locator('.artifacts-table tbody tr', { hasText: 'coverage-report.bin' });
    // The search replaces the list (for a moment there is none): wait for the filtered one, not any.
    await expect.poll(() => page.locator('.artifacts-table tbody tr').allTextContents(), { timeout: 30_000 }).toEqual([expect.stringContaining('coverage-report.bin')]);
    expect(await row.getByTestId('sha256').textContent()).toBe(artifact.sha256);
    await screenshot(page, 'artifacts');

    const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('button', { name: /Download/ }).click()]);
    expect(download.suggestedFilename()).toBe('coverage-report.bin');
    const file = await download.path();
    const bytes = fs.readFileSync(file);
    expect(bytes.length).toBe(artifact.size);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(artifact.sha256);
    await page.close();
  }, 120_000);

  it('shows a job\'s outputs on the run page, a multi-line value kept whole', async () => {
    await put('with-outputs', { content: 'echo "version=2.0.1" >> "$BELLOWS_OUTPUT"\nprintf "notes<<END\\nline one\\nline two\\nEND\\n" >> "$BELLOWS_OUTPUT"', labels: ['os=linux'] });
    const run = await trigger('with-outputs');
    const done = await finished(run.id);
    expect(done.status).toBe('succeeded');
    const page = await browser.context.newPage();
    await signIn(page, ui.url, stack.adminToken, `#/runs/${run.id}`);
    const outputs = page.getByTestId('job-outputs');
    await expect.poll(() => outputs.locator('tr').allInnerTexts(), { timeout: 30_000 }).toEqual([expect.stringMatching(/^notes\s+line one\nline two$/), expect.stringMatching(/^version\s+2\.0\.1$/)]);
    await screenshot(page, 'job-outputs');
    await page.close();
  }, 120_000);

  it('keeps a 100k-line log virtualised: every line is held, few are in the DOM, search finds the last', async () => {
    await put('huge', { content: 'seq 1 100000 | sed "s/^/row /"', labels: ['os=linux'] });
    const run = await trigger('huge');
    expect((await finished(run.id)).status).toBe('succeeded');
    const page = await browser.context.newPage();
    await signIn(page, ui.url, stack.adminToken, `#/runs/${run.id}`);
    const viewer = page.getByTestId('log-viewer');
    await viewer.and(page.locator('[data-complete="true"]')).waitFor({ timeout: 60_000 });
    expect(Number(await viewer.getAttribute('data-line-count'))).toBeGreaterThanOrEqual(100_000);
    // Following the tail: the last line is on screen, and only a window of rows exists.
    await page.locator('.log-line', { hasText: /^\d+row 100000$/ }).waitFor();
    expect(await page.locator('.log-line').count()).toBeLessThan(200);
    await page.getByLabel('Search log').fill('row 4242');
    await expect.poll(() => page.getByTestId('match-count').textContent()).toBe('1/11');
    await page.locator('.log-line-active', { hasText: 'row 4242' }).waitFor();
    await page.close();
  }, 180_000);

  it('resumes a streaming log after the connection drops, without a gap or a duplicate', async () => {
    await put('stream', { content: 'for i in $(seq 1 150); do echo "tick $i"; sleep 0.04; done', labels: ['os=linux'] });
    const page = await browser.context.newPage();
    await signIn(page, ui.url, stack.adminToken, '#/runs');
    await page.getByTestId('connection').and(page.locator('[data-state="connected"]')).waitFor({ timeout: 30_000 });
    const run = await trigger('stream');
    await page.goto(`${ui.url}/#/runs/${run.id}`);
    const viewer = page.getByTestId('log-viewer');
    await expect.poll(async () => Number(await viewer.getAttribute('data-line-count')), { timeout: 60_000 }).toBeGreaterThanOrEqual(10);

    // Drop the transport and keep the browser offline a moment while the agent writes on.
    await browser.context.setOffline(true);
    await page.evaluate(() => (window as unknown as { __bellowsLive: { dropConnection(): void } }).__bellowsLive.dropConnection());
    await page.getByTestId('connection').and(page.locator('[data-state="disconnected"]')).waitFor();
    const before = Number(await viewer.getAttribute('data-line-count'));
    await page.waitForTimeout(1500);
    await browser.context.setOffline(false);
    await page.getByTestId('connection').and(page.locator('[data-state="connected"]')).waitFor({ timeout: 30_000 });

    expect((await finished(run.id)).status).toBe('succeeded');
    await viewer.and(page.locator('[data-complete="true"]')).waitFor({ timeout: 30_000 });
    expect(before).toBeLessThan(150);
    const stored = (await stack.request<string>('GET', `/api/v1/jobs/${run.jobs[0]?.id ?? (await getRun(run.id)).jobs[0].id}/logs?format=text`)).body;
    const storedLines = stored.replace(/\n$/, '').split('\n');
    expect(storedLines.filter((line) => line.startsWith('tick '))).toHaveLength(150);
    const rendered = await renderedLogLines(page);
    expect(rendered).toEqual(storedLines);
    await page.close();
  }, 180_000);

  it('runs a branch of the project’s repository picked in the Run dialog, and shows the commit it ran', async () => {
    // A real repository: main and feature, each with its own .bellows/build.sh, and a tag on main.
    const repo = createTestRepository('shop');
    const { bare, clone } = repo;
    const build = (marker: string) => ({ '.bellows/build.sh': `echo "built ${marker} at $BELLOWS_COMMIT_SHA"\n` });
    repo.commit(build('main'), 'main');
    git(clone, 'tag', 'v1.0');
    repo.push('main', 'v1.0');
    repo.checkout('feature');
    repo.commit(build('feature'), 'feature');
    repo.push('feature');
    const featureSha = git(clone, 'rev-parse', 'feature');
    const created = await stack.request('POST', '/api/v1/projects', { body: { slug: 'shop', name: 'Shop', repository: { url: `file://${bare}` } } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);

    const page = await browser.context.newPage();
    await signIn(page, ui.url, stack.adminToken, '#/projects/shop');
    await expect.poll(() => page.getByTestId('repository-url').textContent()).toBe(`file://${bare}`);
    await expect.poll(() => page.getByTestId('default-branch').textContent()).toBe('main');
    // The file under .bellows/ is offered before any pipeline exists; its button defines one, then opens the dialog.
    const fileRow = page.locator('tr[data-file=".bellows/build.sh"]');
    await fileRow.getByText('not set up yet').waitFor();
    await screenshot(page, 'project-repository');
    await fileRow.getByRole('button', { name: 'Run…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    const pipelines = (await stack.request<{ pipelines: { name: string; path: string | null }[] }>('GET', '/api/v1/projects/shop/pipelines')).body.pipelines;
    expect(pipelines).toEqual([expect.objectContaining({ name: 'build', path: '.bellows/build.sh' })]);
    await expect.poll(() => dialog.locator('select[name="pipeline"]').inputValue()).toBe('build');

    // The ref starts on the default branch; the list offers every branch, the default first.
    const picker = dialog.getByRole('combobox', { name: 'Branch or ref' });
    await expect.poll(() => picker.inputValue()).toBe('main');
    const refList = dialog.getByRole('listbox', { name: 'Branches and tags' });
    const offered = () => refList.getByRole('option').evaluateAll((options) => options.map((option) => `${option.getAttribute('data-kind')}:${option.getAttribute('data-ref')}`));
    await picker.click();
    await expect.poll(offered).toEqual(['branch:main', 'branch:feature']);
    await screenshot(page, 'run-dialog-branches');

    // Typing filters the branches; tags come from the refs search.
    await picker.fill('fea');
    await expect.poll(offered).toEqual(['branch:feature']);
    await picker.fill('v1');
    await expect.poll(offered).toEqual(['tag:v1.0']);

    // The keyboard works too: Escape closes the list but not the dialog, arrows and Enter pick a ref without submitting.
    await picker.fill('ma');
    await expect.poll(offered).toEqual(['branch:main']);
    await picker.press('Escape');
    await refList.waitFor({ state: 'detached' });
    expect(await dialog.isVisible()).toBe(true);
    await picker.press('ArrowDown');
    await refList.locator('[role="option"][data-ref="main"][aria-selected="true"]').waitFor();
    await picker.press('Enter');
    await refList.waitFor({ state: 'detached' });
    expect(await picker.inputValue()).toBe('main');
    expect(await dialog.isVisible()).toBe(true);

    // A ref the repository does not have: the run does not start, and the dialog says why.
    await picker.fill('no-such-branch');
    await dialog.getByRole('button', { name: 'Start run' }).click();
    await expect.poll(() => dialog.getByRole('alert').textContent()).toContain('Ref "no-such-branch" does not exist');
    expect(await picker.getAttribute('aria-invalid')).toBe('true');
    expect(page.url()).toContain('#/projects/shop');

    await picker.fill('FEAT');
    await refList.locator('[role="option"][data-ref="feature"]').click();
    expect(await picker.inputValue()).toBe('feature');
    // Choosing closes the list.
    await refList.waitFor({ state: 'detached' });
    await dialog.getByRole('button', { name: 'Start run' }).click();

    await page.waitForURL(/#\/runs\/\d+/);
    const runId = Number(/#\/runs\/(\d+)/.exec(page.url())![1]);
    await expect.poll(() => page.getByTestId('commit-sha').textContent()).toBe(featureSha.slice(0, 12));
    expect(await page.getByTestId('run-ref').textContent()).toBe('feature');
    expect(await page.getByTestId('pipeline-path').textContent()).toBe('.bellows/build.sh');
    expect(await page.getByTestId('commit-sha').getAttribute('title')).toBe(featureSha);

    // The copy button puts the full SHA on the clipboard.
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(ui.url).origin });
    await page.getByRole('button', { name: 'Copy full commit SHA' }).click();
    await page.getByRole('button', { name: 'Copy full commit SHA' }).and(page.locator('[data-state="copied"]')).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(featureSha);
    await screenshot(page, 'run-detail-commit');

    const run = await finished(runId);
    expect(run.status).toBe('succeeded');
    expect((await stack.request<{ ref: string; commitSha: string }>('GET', `/api/v1/runs/${runId}`)).body).toMatchObject({ ref: 'feature', commitSha: featureSha });
    await page.locator('.log-line', { hasText: `built feature at ${featureSha}` }).waitFor({ timeout: 30_000 });
    await page.close();
  }, 180_000);
});
