// Network partitions for tests and the chaos soak: a network namespace joined to the host by a veth
// pair with addresses of its own, whose link can be cut (packets dropped, not refused) and healed, and
// a TCP forwarder that can black-hole one service (PostgreSQL) for one process.
//
// What this machine offers decides how a cut is made: `ip` (iproute2) and `tc` are here, iptables and
// nft are not, and the kernel has no netem, matchall or u32. A `pfifo limit 0` root qdisc on both ends
// of the veth drops every packet as it leaves: a connect() hangs on its SYN instead of being refused,
// an open TCP connection stays half-open and retransmits, and healing (deleting the qdiscs) lets those
// retransmits through, as after a real partition. Nothing outside the namespace and its veth changes.

import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import net from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type NetnsSupport = { ok: true } | { ok: false; reason: string };

export type NetnsLink = {
  /** Namespace name, e.g. bellows-3fa9c1. */
  name: string;
  /** The host side of the veth pair (10.213.x.y): what a process inside dials to reach the host. */
  hostAddress: string;
  /** The namespace side of the veth pair. */
  nsAddress: string;
  /** ['ip', 'netns', 'exec', name]: prefix a command with it to run it inside. */
  execPrefix: string[];
  /** Partition: packets dropped (not refused) both ways; TCP connections stay half-open. */
  cut(): Promise<void>;
  heal(): Promise<void>;
  /** Deletes the namespace and its veth; idempotent; also run when this process exits. */
  remove(): Promise<void>;
};

/** The /16 the links take their /30s from (host .1, namespace .2 of each). */
const ADDRESS_PREFIX = '10.213';

async function ip(...args: string[]): Promise<string> {
  return (await run('ip', args, { timeout: 10_000 })).stdout;
}

async function inNamespace(name: string, ...command: string[]): Promise<string> {
  return ip('netns', 'exec', name, ...command);
}

/** Can this process create namespaces here? Root, `ip` and `tc` present, and one made and deleted for real. */
export async function netnsSupport(): Promise<NetnsSupport> {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces need Linux (this is ${process.platform})` };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return { ok: false, reason: 'network namespaces need root (ip netns add)' };
  for (const tool of ['ip', 'tc']) {
    try {
      await run(tool, ['-V'], { timeout: 5000 });
    } catch {
      return { ok: false, reason: `\`${tool}\` (iproute2) is not installed` };
    }
  }
  let link: NetnsLink | undefined;
  try {
    link = await createNetnsLink({ name: `bellows-probe-${crypto.randomBytes(3).toString('hex')}` });
    await link.cut();
    await link.heal();
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `cannot set up a network namespace with a veth pair: ${firstLine(error)}` };
  } finally {
    await link?.remove().catch(() => undefined);
  }
}

/**
 * The same question answered synchronously, for a test file's collection phase (describe.skipIf), where
 * a CommonJS module cannot await: root, `ip` and `tc`, and a namespace made and deleted for real.
 */
export function netnsSupportSync(): NetnsSupport {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces need Linux (this is ${process.platform})` };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return { ok: false, reason: 'network namespaces need root (ip netns add)' };
  for (const tool of ['ip', 'tc']) {
    try {
      execFileSync(tool, ['-V'], { stdio: 'ignore', timeout: 5000 });
    } catch {
      return { ok: false, reason: `\`${tool}\` (iproute2) is not installed` };
    }
  }
  const name = `bellows-probe-${crypto.randomBytes(3).toString('hex')}`;
  try {
    execFileSync('ip', ['netns', 'add', name], { stdio: 'pipe', timeout: 10_000 });
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `cannot create a network namespace: ${firstLine(error)}` };
  } finally {
    try {
      execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      // It was never made.
    }
  }
}

/** A namespace joined to the host by a veth pair on a random unused /30 of 10.213.0.0/16. */
export async function createNetnsLink(options: { name?: string } = {}): Promise<NetnsLink> {
  const id = crypto.randomBytes(3).toString('hex');
  const name = options.name ?? `bellows-${id}`;
  // Interface names are at most 15 characters.
  const hostIf = `bw${id}h`;
  const nsIf = `bw${id}n`;
  let removed: Promise<void> | undefined;
  const removeSync = (): void => {
    try {
      execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore', timeout: 5000 });
    } catch {
      // Already gone.
    }
  };
  const remove = (): Promise<void> =>
    (removed ??= (async () => {
      process.removeListener('exit', removeSync);
      // Deleting the namespace destroys its end of the veth, and with it the host end. A process still
      // inside keeps the namespace alive until it exits; the name is freed at once.
      await ip('netns', 'delete', name).catch(() => undefined);
      await ip('link', 'delete', hostIf).catch(() => undefined);
    })());

  await ip('netns', 'add', name);
  process.once('exit', removeSync);
  try {
    await ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    await ip('link', 'set', nsIf, 'netns', name);
    const { hostAddress, nsAddress } = await claimSubnet(hostIf);
    await ip('link', 'set', hostIf, 'up');
    await inNamespace(name, 'ip', 'addr', 'add', `${nsAddress}/30`, 'dev', nsIf);
    await inNamespace(name, 'ip', 'link', 'set', nsIf, 'up');
    await inNamespace(name, 'ip', 'link', 'set', 'lo', 'up');
    let cut = false;
    return {
      name,
      hostAddress,
      nsAddress,
      execPrefix: ['ip', 'netns', 'exec', name],
      async cut() {
        if (cut) return;
        await run('tc', ['qdisc', 'replace', 'dev', hostIf, 'root', 'pfifo', 'limit', '0']);
        await inNamespace(name, 'tc', 'qdisc', 'replace', 'dev', nsIf, 'root', 'pfifo', 'limit', '0');
        cut = true;
      },
      async heal() {
        if (!cut) return;
        await run('tc', ['qdisc', 'del', 'dev', hostIf, 'root']).catch(() => undefined);
        await inNamespace(name, 'tc', 'qdisc', 'del', 'dev', nsIf, 'root').catch(() => undefined);
        cut = false;
      },
      remove,
    };
  } catch (error) {
    await remove();
    throw error;
  }
}

/**
 * Gives the host end a random /30 no host interface uses. Another process may pick the same one at the
 * same moment (1 in 16,384): the address is checked again once added, and the loser picks another.
 */
async function claimSubnet(hostIf: string): Promise<{ hostAddress: string; nsAddress: string }> {
  for (let tries = 0; tries < 20; tries++) {
    const third = crypto.randomInt(0, 256);
    const base = crypto.randomInt(0, 64) * 4;
    const inSubnet = (address: string): boolean => {
      const parts = address.split('.').map(Number);
      return `${parts[0]}.${parts[1]}` === ADDRESS_PREFIX && parts[2] === third && parts[3] >= base && parts[3] < base + 4;
    };
    if ((await hostAddresses()).some(inSubnet)) continue;
    const hostAddress = `${ADDRESS_PREFIX}.${third}.${base + 1}`;
    await ip('addr', 'add', `${hostAddress}/30`, 'dev', hostIf);
    if ((await hostAddresses()).filter(inSubnet).length === 1) return { hostAddress, nsAddress: `${ADDRESS_PREFIX}.${third}.${base + 2}` };
    await ip('addr', 'del', `${hostAddress}/30`, 'dev', hostIf).catch(() => undefined);
  }
  throw new Error(`no unused /30 found in ${ADDRESS_PREFIX}.0.0/16`);
}

async function hostAddresses(): Promise<string[]> {
  const out = await ip('-4', '-o', 'addr', 'show');
  return [...out.matchAll(/\binet (\d+\.\d+\.\d+\.\d+)\//g)].map((match) => match[1]);
}

export type TcpForwarder = {
  host: string;
  port: number;
  /** Connections made so far (a new PostgreSQL pool connection, a reconnect). */
  readonly connections: number;
  /**
   * Black hole, as a partition looks from the client: nothing is delivered either way and nothing is
   * refused or closed. Bytes sent meanwhile are held and delivered on heal(), as TCP's retransmits
   * would be; a connection opened meanwhile reaches its target only on heal().
   */
  cut(): void;
  /**
   * Ends the black hole. `reset`: the connections that were open across the cut are reset instead of
   * resumed (what a stateful firewall or NAT that forgot them answers), so the client must reconnect.
   */
  heal(options?: { reset?: boolean }): void;
  close(): Promise<void>;
};

/** Forwards listenHost:listenPort (0: any free port) to targetHost:targetPort, byte for byte. */
export async function startTcpForwarder(options: { listenHost: string; listenPort?: number; targetHost: string; targetPort: number }): Promise<TcpForwarder> {
  let cut = false;
  let connections = 0;
  const onHeal = new Set<() => void>();
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };

  /** Writes `from`'s bytes to `to`, holding them while cut. */
  const pipe = (from: net.Socket, to: net.Socket): void => {
    const held: Buffer[] = [];
    const flush = (): void => {
      for (const chunk of held.splice(0)) to.write(chunk);
    };
    onHeal.add(flush);
    from.on('data', (chunk: Buffer) => {
      if (cut) held.push(chunk);
      else to.write(chunk);
    });
    from.once('close', () => {
      onHeal.delete(flush);
      // A close is a packet too: during a cut the other side hears of it only on heal.
      const end = (): void => void to.destroy();
      if (cut) onHeal.add(end);
      else end();
    });
  };

  const server = net.createServer((client) => {
    connections++;
    track(client);
    client.on('error', () => undefined);
    const connect = (): void => {
      onHeal.delete(connect);
      if (client.destroyed) return;
      const upstream = net.connect(options.targetPort, options.targetHost);
      track(upstream);
      upstream.on('error', () => client.destroy());
      pipe(client, upstream);
      pipe(upstream, client);
    };
    if (cut) {
      // The client's bytes arrive before the upstream exists: hold them from the start.
      client.pause();
      onHeal.add(() => {
        client.resume();
        connect();
      });
    } else connect();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listenPort ?? 0, options.listenHost, () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  return {
    host: options.listenHost,
    port: address.port,
    get connections() {
      return connections;
    },
    cut() {
      cut = true;
    },
    heal(healOptions = {}) {
      cut = false;
      const resumes = [...onHeal];
      onHeal.clear();
      if (healOptions.reset) {
        // RST to both ends; what they sent into the hole is gone with them.
        for (const socket of [...sockets]) socket.resetAndDestroy();
        return;
      }
      for (const resume of resumes) resume();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? ((error as Error & { stderr?: string }).stderr || error.message) : String(error);
  return text.trim().split('\n')[0];
}
