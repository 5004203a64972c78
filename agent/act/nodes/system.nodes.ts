// The environment, secrets and facts about the machine the agent runs on.

import { availableParallelism } from 'node:os';
import { NodeError, data, exec, staticPorts, type NodeDef } from '../act-node-def';

const envGet: NodeDef = {
  type: 'core/env-get@v1',
  ports: staticPorts([data('env', 'string', { default: '' })], [data('env', 'string')]),
  async evaluate(ctx) {
    return ctx.state.env[await ctx.string('env')] ?? '';
  },
};

const envArray: NodeDef = {
  type: 'core/env-array@v1',
  ports: staticPorts([data('env', 'string', { array: true, default: '' })], [data('env', '[]string')]),
  // The whole environment of this path with the listed KEY=VALUE entries on top, as the reference builds it.
  async evaluate(ctx) {
    const env = { ...ctx.state.env };
    for (const [i, item] of (await ctx.array('env')).entries()) {
      const entry = typeof item === 'string' ? item : String(item ?? '');
      const eq = entry.indexOf('=');
      if (eq < 0) throw new NodeError(`invalid string at item ${i} of input 'env': expected 'KEY=VALUE', got '${entry}'${entry === '' ? ' (empty string)' : ''}`);
      env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    return Object.entries(env).map(([name, value]) => `${name}=${value}`);
  },
};

const secretGet: NodeDef = {
  type: 'core/secret-get@v1',
  ports: staticPorts([data('prefix', 'string'), data('name', 'secret', { required: true })], [data('secret', 'secret')]),
  async evaluate(ctx) {
    const name = await ctx.string('name');
    const prefix = await ctx.string('prefix');
    const value = ctx.secretNamed(name);
    if (value === undefined) {
      // As in the reference: a secret that is not set reads as empty.
      ctx.warnOnce(`secret ${name} is not set; node ${ctx.path} reads it as empty`);
      return '';
    }
    // The prefix exists to build env entries such as `TOKEN=<value>`.
    return prefix + value;
  },
};

const secretSet: NodeDef = {
  type: 'core/secret-set@v1',
  ports: staticPorts([exec('exec'), data('name', 'string', { required: true }), data('value', 'string', { required: true })], [exec('exec-success')]),
  async execute(ctx) {
    const name = await ctx.string('name');
    const value = await ctx.string('value');
    ctx.addSecret(name, value);
    return 'exec-success';
  },
};

const PLATFORM_NAMES: Record<string, string> = { win32: 'windows', darwin: 'macos', linux: 'linux' };
const PLATFORM_INDEX: Record<string, number> = { win32: 0, darwin: 1, linux: 2 };
const ARCH_NAMES: Record<string, string> = { x64: 'x64', arm64: 'arm64' };
const ARCH_INDEX: Record<string, number> = { x64: 0, arm64: 1 };

const SYSTEM_FACTS: Record<string, () => unknown> = {
  platform_string: () => PLATFORM_NAMES[process.platform] ?? process.platform,
  platform_index: () => PLATFORM_INDEX[process.platform] ?? 0,
  is_win: () => process.platform === 'win32',
  is_macos: () => process.platform === 'darwin',
  is_linux: () => process.platform === 'linux',
  arch_string: () => ARCH_NAMES[process.arch] ?? process.arch,
  arch_index: () => ARCH_INDEX[process.arch] ?? 0,
  is_x64: () => process.arch === 'x64',
  is_arm64: () => process.arch === 'arm64',
  cpu_count: () => availableParallelism(),
};

const systemInfo: NodeDef = {
  type: 'core/system-info@v1',
  ports: staticPorts(
    [],
    Object.keys(SYSTEM_FACTS).map((id) => data(id, id.startsWith('is_') ? 'bool' : id.endsWith('_string') ? 'string' : 'number')),
  ),
  async evaluate(_ctx, port) {
    const fact = SYSTEM_FACTS[port];
    if (!fact) throw new NodeError(`unknown output id: '${port}'`);
    return fact();
  },
};

export const systemNodes: readonly NodeDef[] = [envGet, envArray, secretGet, secretSet, systemInfo];
