import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type ApiResponse, type Stack } from '../support/stack';

type Hook = { id: string; url: string; secret?: string; token?: string; events: string[]; branches: string[] };
type DeliveryAnswer = { runId?: number; number?: number; ref?: string; commitSha?: string | null; duplicate?: boolean; skipped?: string; error?: { code: string; message: string } };
type Delivery = { id: number; deliveryId: string | null; event: string | null; verdict: string; verified: boolean; reason: string | null; runId: number | null; responseCode: number; redeliveryOf: number | null };
type Run = { id: number; ref: string; commitSha: string | null; status: string; trigger: Record<string, unknown> };

let stack: Stack;
const SHA = '9fceb02d0ae598e95dc970b74767f19372d61af8';

async function createHook(body: Record<string, unknown>, project = 'hooked'): Promise<Hook> {
  const res = await stack.request<Hook>('POST', `/api/v1/projects/${project}/hooks`, { body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

function githubSign(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function standardSign(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

function pushPayload(ref: string, after = SHA, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ref, after, before: '0'.repeat(40), deleted: false, pusher: { name: 'octocat' }, repository: { full_name: 'acme/web' }, ...extra });
}

async function sendGithub(hook: Hook, body: string, options: { event?: string; delivery?: string; signature?: string } = {}): Promise<ApiResponse<DeliveryAnswer>> {
  return stack.request<DeliveryAnswer>('POST', `/api/v1/hooks/${hook.id}`, {
    token: null,
    rawBody: body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': options.event ?? 'push',
      'x-github-delivery': options.delivery ?? randomUUID(),
      'x-hub-signature-256': options.signature ?? githubSign(hook.secret!, body),
    },
  });
}

async function runCount(): Promise<number> {
  const [{ count }] = await stack.sql<{ count: string }[]>`select count(*)::text as count from runs`;
  return Number(count);
}

async function deliveries(hook: Hook): Promise<Delivery[]> {
  const res = await stack.request<{ deliveries: Delivery[] }>('GET', `/api/v1/hooks/${hook.id}/deliveries`);
  expect(res.status).toBe(200);
  return res.body.deliveries;
}

beforeAll(async () => {
  stack = await startStack();
  expect((await stack.request('POST', '/api/v1/projects', { body: { slug: 'hooked', name: 'Hooked' } })).status).toBe(201);
  // No agent: runs stay queued, which is all these tests need (they are about which runs exist).
  expect((await stack.request('PUT', '/api/v1/projects/hooked/pipelines/build', { body: { content: 'echo "$BELLOWS_REF $BELLOWS_COMMIT_SHA"' } })).status).toBe(200);
});

afterAll(async () => {
  await stack?.stop();
});

describe('hook management', () => {
  it('creates a hook with a generated secret shown once, lists it without the secret, and refuses bad definitions', async () => {
    const hook = await createHook({ pipeline: 'build', format: 'github' });
    expect(hook.secret).toMatch(/^bhs_[A-Za-z0-9_-]{43}$/);
    expect(hook.url).toMatch(new RegExp(`/api/v1/hooks/${hook.id}$`));
    expect(hook.events).toEqual(['push']);
    const listed = await stack.request<{ hooks: Record<string, unknown>[] }>('GET', '/api/v1/projects/hooked/hooks');
    expect(listed.status).toBe(200);
    expect(listed.body.hooks.find((h) => h.id === hook.id)).toBeTruthy();
    expect(JSON.stringify(listed.body)).not.toContain(hook.secret);
    const [stored] = await stack.sql<{ secret_ciphertext: string }[]>`select secret_ciphertext from hooks where id = ${hook.id}`;
    expect(stored.secret_ciphertext).not.toContain(hook.secret);

    const standard = await createHook({ pipeline: 'build', format: 'standard' });
    expect(Buffer.from(standard.secret!.replace(/^whsec_/, ''), 'base64')).toHaveLength(32);

    expect((await stack.request('POST', '/api/v1/projects/hooked/hooks', { body: { pipeline: 'nope', format: 'github' } })).status).toBe(404);
    expect((await stack.request('POST', '/api/v1/projects/hooked/hooks', { body: { pipeline: 'build', format: 'gitlab' } })).status).toBe(400);
    const weak = await stack.request<DeliveryAnswer>('POST', '/api/v1/projects/hooked/hooks', { body: { pipeline: 'build', format: 'standard', secret: 'not-a-whsec-secret-at-all' } });
    expect(weak.status).toBe(400);
    expect(weak.body.error?.code).toBe('invalid_secret');
  });

  it('deletes a hook; its URL then answers 404', async () => {
    const hook = await createHook({ pipeline: 'build', format: 'github' });
    expect((await stack.request('DELETE', `/api/v1/hooks/${hook.id}`)).status).toBe(204);
    expect((await sendGithub(hook, pushPayload('refs/heads/main'))).status).toBe(404);
    expect((await stack.request('DELETE', `/api/v1/hooks/${hook.id}`)).status).toBe(404);
  });
});

describe('GitHub deliveries', () => {
  let hook: Hook;
  beforeAll(async () => {
    hook = await createHook({ pipeline: 'build', format: 'github', events: ['push'], branches: ['main', 'release/*', 'v*'] });
  });

  it('a signed push starts one run with the branch and commit; the run records its trigger', async () => {
    const delivery = randomUUID();
    const res = await sendGithub(hook, pushPayload('refs/heads/main'), { delivery });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ ref: 'main', commitSha: SHA, duplicate: false });
    const run = (await stack.request<Run>('GET', `/api/v1/runs/${res.body.runId}`)).body;
    expect(run).toMatchObject({ ref: 'main', commitSha: SHA });
    expect(run.trigger).toMatchObject({ kind: 'webhook', actor: 'octocat', hookId: hook.id, event: 'push', deliveryId: delivery, commitSha: SHA });
    const [attempt] = await stack.sql<{ workflow_id: string }[]>`select workflow_id from run_attempts where run_id = ${res.body.runId!}`;
    expect(attempt.workflow_id).toBe(`run-${res.body.runId}-attempt-1`);
  });

  it('maps a tag push to the tag name', async () => {
    const res = await sendGithub(hook, pushPayload('refs/tags/v1.2.0'));
    expect(res.status).toBe(201);
    expect(res.body.ref).toBe('v1.2.0');
  });

  it('the same delivery id again answers 200 with the same run and starts nothing', async () => {
    const delivery = randomUUID();
    const body = pushPayload('refs/heads/release/2.0');
    const first = await sendGithub(hook, body, { delivery });
    expect(first.status).toBe(201);
    const before = await runCount();
    const second = await sendGithub(hook, body, { delivery });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ runId: first.body.runId, duplicate: true });
    expect(await runCount()).toBe(before);
  });

  it('20 concurrent copies of one delivery start exactly one run', async () => {
    const delivery = randomUUID();
    const body = pushPayload('refs/heads/main', 'a'.repeat(40));
    const answers = await Promise.all(Array.from({ length: 20 }, () => sendGithub(hook, body, { delivery })));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(19);
    expect(new Set(answers.map((a) => a.body.runId)).size).toBe(1);
    const rows = await stack.sql`select id from runs where idempotency_key = ${`hook:${hook.id}:${delivery}`}`;
    expect(rows).toHaveLength(1);
    const [{ count }] = await stack.sql<{ count: string }[]>`select count(*)::text as count from runs where commit_sha = ${'a'.repeat(40)}`;
    expect(count).toBe('1');
    const log = (await deliveries(hook)).filter((d) => d.deliveryId === delivery);
    expect(log.map((d) => d.verdict).sort()).toEqual(['accepted', ...Array(19).fill('duplicate')]);
  });

  it('a wrong signature gets 401 with a reason, starts nothing, and is logged', async () => {
    const before = await runCount();
    const delivery = randomUUID();
    const res = await sendGithub(hook, pushPayload('refs/heads/main'), { delivery, signature: githubSign('not-the-secret', pushPayload('refs/heads/main')) });
    expect(res.status).toBe(401);
    expect(res.body.error?.code).toBe('invalid_signature');
    const missing = await stack.request<DeliveryAnswer>('POST', `/api/v1/hooks/${hook.id}`, {
      token: null,
      rawBody: pushPayload('refs/heads/main'),
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': randomUUID() },
    });
    expect(missing.status).toBe(401);
    expect(missing.body.error?.code).toBe('missing_signature');
    expect(await runCount()).toBe(before);
    const logged = (await deliveries(hook)).find((d) => d.deliveryId === delivery);
    expect(logged).toMatchObject({ verdict: 'rejected', verified: false, responseCode: 401, runId: null });
    // A rejected delivery cannot be turned into a run by redelivering it.
    const redeliver = await stack.request<DeliveryAnswer>('POST', `/api/v1/hooks/${hook.id}/deliveries/${logged!.id}/redeliver`);
    expect(redeliver.status).toBe(409);
    expect(await runCount()).toBe(before);
  });

  it('checks the signature on the raw bytes: a re-serialised body does not verify', async () => {
    const body = pushPayload('refs/heads/main');
    const pretty = JSON.stringify(JSON.parse(body), null, 2);
    const res = await sendGithub(hook, pretty, { signature: githubSign(hook.secret!, body) });
    expect(res.status).toBe(401);
  });

  it('answers ping with 200 and no run', async () => {
    const before = await runCount();
    const res = await sendGithub(hook, JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 }), { event: 'ping' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ message: 'pong' });
    expect(await runCount()).toBe(before);
  });

  it('skips branches and events outside its filters, and deleted branches', async () => {
    const before = await runCount();
    const branch = await sendGithub(hook, pushPayload('refs/heads/feature/x'));
    expect(branch.status).toBe(200);
    expect(branch.body.skipped).toContain('feature/x');
    const nested = await sendGithub(hook, pushPayload('refs/heads/release/1/hotfix'));
    expect(nested.body.skipped).toBeTruthy();
    const event = await sendGithub(hook, JSON.stringify({ action: 'created' }), { event: 'issues' });
    expect(event.status).toBe(200);
    expect(event.body.skipped).toContain('issues');
    const deleted = await sendGithub(hook, pushPayload('refs/heads/main', '0'.repeat(40), { deleted: true }));
    expect(deleted.status).toBe(200);
    expect(deleted.body.skipped).toContain('deleted');
    expect(await runCount()).toBe(before);
  });

  it('refuses a body over the size limit with 413 and a non-JSON body with 400, starting nothing', async () => {
    const before = await runCount();
    const huge = 'x'.repeat(10 * 1024 * 1024);
    const big = await sendGithub(hook, huge);
    expect(big.status).toBe(413);
    expect(big.body.error?.code).toBe('payload_too_large');
    const notJson = await sendGithub(hook, 'this is not json');
    expect(notJson.status).toBe(400);
    expect(notJson.body.error?.code).toBe('malformed_json');
    expect(await runCount()).toBe(before);
    const verdicts = (await deliveries(hook)).slice(0, 2).map((d) => [d.verdict, d.responseCode]);
    expect(verdicts).toEqual([
      ['failed', 400],
      ['rejected', 413],
    ]);
  });

  it('answers 404 for an unknown hook', async () => {
    const before = await runCount();
    const unknown = await sendGithub({ ...hook, id: randomUUID() }, pushPayload('refs/heads/main'));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error?.code).toBe('hook_not_found');
    expect((await sendGithub({ ...hook, id: 'not-a-uuid' }, pushPayload('refs/heads/main'))).status).toBe(404);
    expect(await runCount()).toBe(before);
  });

  it('redelivers a stored delivery under its original id: one that started a run answers with that run', async () => {
    const other = await createHook({ pipeline: 'build', format: 'github', branches: ['main'] });
    const delivery = randomUUID();
    const res = await sendGithub(other, pushPayload('refs/heads/main', 'b'.repeat(40)), { delivery });
    expect(res.status).toBe(201);
    const [logged] = await deliveries(other);
    const again = await stack.request<{ delivery: Delivery; response: { status: number; body: DeliveryAnswer } }>(
      'POST',
      `/api/v1/hooks/${other.id}/deliveries/${logged.id}/redeliver`,
    );
    expect(again.status).toBe(200);
    expect(again.body.response).toMatchObject({ status: 200, body: { runId: res.body.runId, duplicate: true } });
    expect(again.body.delivery).toMatchObject({ verdict: 'duplicate', redeliveryOf: logged.id, deliveryId: delivery, runId: res.body.runId });
    const [{ count }] = await stack.sql<{ count: string }[]>`select count(*)::text as count from runs where commit_sha = ${'b'.repeat(40)}`;
    expect(count).toBe('1');
  });
});

describe('Standard Webhooks deliveries', () => {
  let hook: Hook;
  beforeAll(async () => {
    hook = await createHook({ pipeline: 'build', format: 'standard' });
  });

  const send = (body: string, options: { id?: string; timestamp?: number; signature?: string } = {}) => {
    const id = options.id ?? `msg_${randomUUID()}`;
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    return stack.request<DeliveryAnswer>('POST', `/api/v1/hooks/${hook.id}`, {
      token: null,
      rawBody: body,
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': options.signature ?? standardSign(hook.secret!, id, timestamp, body),
      },
    });
  };

  it('a signed delivery starts a run with its ref and commit; a repeat returns the same run', async () => {
    const body = JSON.stringify({ type: 'build.requested', timestamp: new Date().toISOString(), data: { ref: 'refs/heads/develop', commitSha: SHA } });
    const id = `msg_${randomUUID()}`;
    const res = await send(body, { id });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ ref: 'develop', commitSha: SHA });
    const run = (await stack.request<Run>('GET', `/api/v1/runs/${res.body.runId}`)).body;
    expect(run.trigger).toMatchObject({ kind: 'webhook', hookId: hook.id, event: 'build.requested', deliveryId: id });
    const again = await send(body, { id });
    expect(again.status).toBe(200);
    expect(again.body.runId).toBe(res.body.runId);
  });

  it('accepts any one of several signatures (secret rotation)', async () => {
    const body = JSON.stringify({ type: 'build.requested', data: { ref: 'main' } });
    const id = `msg_${randomUUID()}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const wrong = standardSign(`whsec_${Buffer.alloc(32, 1).toString('base64')}`, id, timestamp, body);
    const res = await send(body, { id, timestamp, signature: `${wrong} ${standardSign(hook.secret!, id, timestamp, body)}` });
    expect(res.status).toBe(201);
  });

  it('refuses a stale timestamp and a wrong signature with 401, starting nothing', async () => {
    const before = await runCount();
    const body = JSON.stringify({ type: 'build.requested', data: { ref: 'main' } });
    const stale = await send(body, { timestamp: Math.floor(Date.now() / 1000) - 10 * 60 });
    expect(stale.status).toBe(401);
    expect(stale.body.error?.code).toBe('stale_timestamp');
    const future = await send(body, { timestamp: Math.floor(Date.now() / 1000) + 10 * 60 });
    expect(future.status).toBe(401);
    const forged = await send(body, { signature: `v1,${Buffer.alloc(32).toString('base64')}` });
    expect(forged.status).toBe(401);
    expect(forged.body.error?.code).toBe('invalid_signature');
    expect(await runCount()).toBe(before);
  });
});

describe('token deliveries', () => {
  it('accepts the minted trigger token, refuses others, and honours Idempotency-Key', async () => {
    const hook = await createHook({ pipeline: 'build', format: 'token' });
    expect(hook.token).toMatch(/^bel_/);
    expect(hook.secret).toBeUndefined();
    const send = (token: string | null, headers: Record<string, string> = {}, body: Record<string, unknown> = { ref: 'main', commitSha: SHA }) =>
      stack.request<DeliveryAnswer>('POST', `/api/v1/hooks/${hook.id}`, { token, body, headers });

    const before = await runCount();
    expect((await send(null)).status).toBe(401);
    expect((await send('bel_not-a-real-token')).status).toBe(401);
    const reader = await stack.request<{ token: string }>('POST', '/api/v1/tokens', { body: { name: 'reader', scopes: ['read'] } });
    expect((await send(reader.body.token)).status).toBe(403);
    expect(await runCount()).toBe(before);

    const first = await send(hook.token!, { 'idempotency-key': 'deploy-42' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ ref: 'main', commitSha: SHA });
    const second = await send(hook.token!, { 'idempotency-key': 'deploy-42' });
    expect(second.status).toBe(200);
    expect(second.body.runId).toBe(first.body.runId);
    // Without a key every call is its own run.
    const a = await send(hook.token!);
    const b = await send(hook.token!);
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(a.body.runId).not.toBe(b.body.runId);

    // Deleting the hook revokes its token.
    expect((await stack.request('DELETE', `/api/v1/hooks/${hook.id}`)).status).toBe(204);
    expect((await stack.request('GET', '/api/v1/runs', { token: hook.token! })).status).toBe(401);
  });
});

describe('across an API restart', () => {
  it('a delivery replayed after a restart still maps to its first run', async () => {
    const hook = await createHook({ pipeline: 'build', format: 'github' });
    const delivery = randomUUID();
    const body = pushPayload('refs/heads/main', 'c'.repeat(40));
    const first = await sendGithub(hook, body, { delivery });
    expect(first.status).toBe(201);
    await stack.killApi();
    await stack.startApi();
    const again = await sendGithub(hook, body, { delivery });
    expect(again.status).toBe(200);
    expect(again.body.runId).toBe(first.body.runId);
  });
});

describe('API triggers', () => {
  it('record kind "api" and the token name', async () => {
    const res = await stack.request<Run>('POST', '/api/v1/projects/hooked/pipelines/build/runs', { body: { ref: 'main' } });
    expect(res.status).toBe(201);
    expect(res.body.trigger).toMatchObject({ kind: 'api', actor: 'admin' });
  });
});
