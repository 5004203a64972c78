// A git smart-HTTP server for tests: node:http with Basic auth in front of Debian's git-http-backend (CGI),
// serving the bare repositories under `root`, and counting the requests it answered.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type GitHttpServer = {
  /** http://127.0.0.1:PORT — a repository is `${base}/name.git`. */
  base: string;
  /**
   * How many HTTP requests reached the server, refused ones (401) included: lets a test tell whether a
   * step contacted the remote at all (a cached checkout must not) and how many round trips it took.
   */
  requests: number;
  close(): Promise<void>;
};

const GIT_HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';

/**
 * `env` gives the CGI its PATH; its HOME is a fresh empty directory of the server's, so that the
 * machine's ~/.gitconfig (http.uploadpack = false, say) cannot change what the tests see. `backend` is
 * the CGI program (a test of this server names one that does not exist).
 */
export function startGitHttpServer(root: string, accounts: Record<string, string>, env: NodeJS.ProcessEnv = process.env, backend = GIT_HTTP_BACKEND): Promise<GitHttpServer> {
  const state = { requests: 0 };
  const home = mkdtempSync(join(tmpdir(), 'git-http-home-'));
  const server: Server = createServer((req, res) => {
    state.requests++;
    const header = req.headers.authorization ?? '';
    const [user, password] = Buffer.from(header.replace(/^Basic /, ''), 'base64').toString('utf8').split(':');
    if (!header.startsWith('Basic ') || user === undefined || accounts[user] === undefined || accounts[user] !== password) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' });
      res.end('unauthorized');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const cgiEnv: Record<string, string> = {
      PATH: env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      GIT_CONFIG_NOSYSTEM: '1',
      PATH_INFO: decodeURIComponent(url.pathname),
      REQUEST_METHOD: req.method ?? 'GET',
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_USER: user,
      REMOTE_ADDR: '127.0.0.1',
    };
    if (req.headers['content-length']) cgiEnv.CONTENT_LENGTH = req.headers['content-length'];
    if (req.headers['content-encoding']) cgiEnv.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
    const protocol = req.headers['git-protocol'];
    if (typeof protocol === 'string') cgiEnv.HTTP_GIT_PROTOCOL = protocol;
    const cgi = spawn(backend, [], { env: cgiEnv });
    // A backend that cannot start (missing, not executable) answers 500 rather than crashing the test
    // process with an unhandled 'error'.
    cgi.on('error', (error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`git-http-backend failed: ${error.message}`);
    });
    req.pipe(cgi.stdin);
    cgi.stdin.on('error', () => undefined);
    let head = Buffer.alloc(0);
    let started = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (started) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      let status = 200;
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else res.setHeader(name, value);
      }
      res.writeHead(status);
      res.write(head.subarray(end + 4));
      started = true;
    });
    cgi.on('close', () => res.end());
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        get requests() {
          return state.requests;
        },
        close: () =>
          new Promise<void>((done) =>
            server.close(() => {
              rmSync(home, { recursive: true, force: true });
              done();
            }),
          ),
      }),
    ),
  );
}
