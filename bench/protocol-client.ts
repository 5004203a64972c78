import { sleep } from '../scripts/process-utils';
import type { BenchStack } from './bench-stack';
import { wallClockMs } from './stats';
import { api } from '../contract';
import { routeUrl } from '../contract/http';

const routes = api.agentProtocol;

// A minimal in-process agent (like registerClient in test/integration/queue.test.ts): it speaks the
// claim/start/finish protocol over fetch (undici, keep-alive) and runs nothing, so what we time is the
// server's dispatch path and not process spawning in a real agent.

export type ClaimedJob = { job: { id: number; try: number }; run: { id: number; attempt: number } };

export type ProtocolClient = {
  name: string;
  claim(waitSeconds: number, signal: AbortSignal): Promise<{ claimed: ClaimedJob; receivedAt: number } | null>;
  start(jobId: number): Promise<void>;
  finish(jobId: number): Promise<void>;
};

export async function registerClients(stack: BenchStack, prefix: string, count: number, labels: string[]): Promise<ProtocolClient[]> {
  const tokenResponse = await stack.request<{ token: string }>('POST', '/api/v1/agent-tokens', { body: { name: prefix } });
  if (tokenResponse.status >= 300) throw new Error(`creating an agent token failed: ${tokenResponse.status} ${JSON.stringify(tokenResponse.body)}`);
  const token = tokenResponse.body.token;
  const clients: ProtocolClient[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${prefix}-${i}`;
    const registered = await stack.request<{ secret: string }>('POST', routeUrl(routes.register), { token, body: { name, labels } });
    if (registered.status !== 201) throw new Error(`registering ${name} failed: ${registered.status} ${JSON.stringify(registered.body)}`);
    clients.push(protocolClient(stack.apiUrl, name, registered.body.secret));
  }
  return clients;
}

function protocolClient(apiUrl: string, name: string, secret: string): ProtocolClient {
  const post = async (urlPath: string, body: unknown, signal?: AbortSignal): Promise<{ status: number; text: string }> => {
    const response = await fetch(`${apiUrl}${urlPath}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    });
    return { status: response.status, text: await response.text() };
  };
  const expectOk = (what: string, response: { status: number; text: string }): void => {
    if (response.status >= 300) throw new Error(`${name}: ${what} answered ${response.status}: ${response.text.slice(0, 300)}`);
  };
  return {
    name,
    claim: async (waitSeconds, signal) => {
      const response = await post(routeUrl(routes.claim, undefined, { wait: waitSeconds }), {}, signal);
      // "Received" is when the whole body is in, the moment a real agent could act on it.
      const receivedAt = wallClockMs();
      if (response.status === 204) return null;
      expectOk('claim', response);
      return { claimed: JSON.parse(response.text) as ClaimedJob, receivedAt };
    },
    start: async (jobId) => expectOk('start', await post(routeUrl(routes.start, { id: jobId }), {})),
    finish: async (jobId) => expectOk('finish', await post(routeUrl(routes.finish, { id: jobId }), { status: 'succeeded', exitCode: 0 })),
  };
}

export type ClaimPool = {
  /** Resolves once every client has a claim request in flight and the server has had a moment to arm it. */
  idle(): Promise<void>;
  stop(): Promise<void>;
  errors: Error[];
};

/**
 * Every client long-polls in a loop; a claimed job goes to `onJob` (which runs it: start, finish)
 * before that client polls again.
 */
export function startClaimPool(
  clients: ProtocolClient[],
  onJob: (client: ProtocolClient, claimed: ClaimedJob, receivedAt: number) => Promise<void>,
  options: { waitSeconds?: number } = {},
): ClaimPool {
  const waitSeconds = options.waitSeconds ?? 30;
  const controller = new AbortController();
  const errors: Error[] = [];
  let parked = 0;
  const loops = clients.map(async (client) => {
    while (!controller.signal.aborted) {
      let result: Awaited<ReturnType<ProtocolClient['claim']>>;
      parked++;
      try {
        result = await client.claim(waitSeconds, controller.signal);
      } catch (error) {
        if (controller.signal.aborted) return;
        // A keep-alive socket the server closed between two polls shows up here; poll again.
        errors.push(error as Error);
        await sleep(50);
        continue;
      } finally {
        parked--;
      }
      if (!result) continue;
      try {
        await onJob(client, result.claimed, result.receivedAt);
      } catch (error) {
        errors.push(error as Error);
      }
    }
  });
  return {
    errors,
    idle: async () => {
      const deadline = Date.now() + 10_000;
      while (parked < clients.length) {
        if (Date.now() > deadline) throw new Error(`only ${parked} of ${clients.length} clients are polling`);
        await sleep(5);
      }
      // The request is on the wire; give the API time to authenticate it and arm its waiter.
      await sleep(60);
    },
    stop: async () => {
      controller.abort();
      await Promise.all(loops);
    },
  };
}
