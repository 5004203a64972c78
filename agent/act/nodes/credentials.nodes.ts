// Credential objects for the storage and git nodes. `secret` inputs take a secret's *name*; the node
// receives its value (ctx.secret), so a credential never appears in the graph file.

import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { NodeError, data, describeError, staticPorts, type NodeDef } from '../act-node-def';

export class AccessKeyCredentials {
  constructor(
    readonly accessKey: string,
    readonly accessPassword: string,
  ) {}
}

export class UserPassCredentials {
  constructor(
    readonly username: string,
    readonly password: string,
  ) {}
}

export class SshCredentials {
  constructor(
    /** Optional user (`git`, `ubuntu`); the URL's user otherwise. */
    readonly username: string,
    /** The private key itself (read from the file the node was given). */
    readonly privateKey: string,
    readonly privateKeyPassword: string,
  ) {}
}

export type Credentials = AccessKeyCredentials | UserPassCredentials | SshCredentials;

export function isCredentials(value: unknown): value is Credentials {
  return value instanceof AccessKeyCredentials || value instanceof UserPassCredentials || value instanceof SshCredentials;
}

const accessKey: NodeDef = {
  type: 'core/credentials-accesskey@v1',
  ports: staticPorts([data('access_key', 'secret', { required: true }), data('access_password', 'secret', { required: true })], [data('credential', 'credentials')]),
  async evaluate(ctx) {
    return new AccessKeyCredentials((await ctx.secret('access_key')).secret, (await ctx.secret('access_password')).secret);
  },
};

const userPass: NodeDef = {
  type: 'core/credentials-userpass@v1',
  ports: staticPorts([data('username', 'secret', { required: true }), data('password', 'secret', { required: true })], [data('credential', 'credentials')]),
  async evaluate(ctx) {
    return new UserPassCredentials((await ctx.secret('username')).secret, (await ctx.secret('password')).secret);
  },
};

const ssh: NodeDef = {
  type: 'core/credentials-ssh@v1',
  ports: staticPorts(
    [data('username', 'secret'), data('private_key', 'string', { required: true }), data('private_key_password', 'secret')],
    [data('credential', 'credentials')],
  ),
  async evaluate(ctx) {
    // username and private_key_password are read as text here, as the reference does (they may be empty).
    const username = await ctx.string('username');
    const password = await ctx.string('private_key_password');
    const path = expandPath(await ctx.string('private_key'), ctx.state.env);
    try {
      await stat(path);
    } catch (error) {
      throw new NodeError(`error checking path for private key '${path}': ${describeError(error)}`);
    }
    const key = await readFile(path, 'utf8').catch((error: unknown) => {
      throw new NodeError(`failed to read private key from path '${path}': ${describeError(error)}`);
    });
    if (key === '') throw new NodeError('private key content is empty');
    return new SshCredentials(username, key, password);
  },
};

/** `$VAR` / `${VAR}` from the environment and a leading `~`, as the reference expands key paths. */
function expandPath(path: string, env: Record<string, string>): string {
  const expanded = path.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced: string | undefined, bare: string | undefined) => env[braced ?? bare ?? ''] ?? '');
  return expanded.startsWith('~') ? homedir() + expanded.slice(1) : expanded;
}

export const credentialNodes: readonly NodeDef[] = [accessKey, userPass, ssh];
