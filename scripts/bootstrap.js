#!/usr/bin/env node
// Entry point for `npm start|test|agent|bench`. Plain CommonJS with no dependencies because it runs
// before `npm ci` has installed anything: it installs, builds when sources changed, then hands over.
// Deliberately old syntax (no `??`, `?.`) so an outdated Node reaches the friendly version message.
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const repoRoot = path.resolve(__dirname, '..');
/** Inputs no compiler tracks: a dependency change rebuilds everything. */
const BUILD_INPUTS = ['package-lock.json', 'web/vite.config.mts'];
/**
 * What tsc -b writes when it (re)compiles a project: its record of every input's version. Whether the
 * TypeScript is current is tsc's call, from the project references, not a folder list kept here.
 */
const BUILD_INFO = {
  server: path.join(repoRoot, 'dist', 'tsbuildinfo', 'build.tsbuildinfo'),
  web: path.join(repoRoot, 'dist', 'tsbuildinfo', 'web.tsbuildinfo'),
};
const STAMP = path.join(repoRoot, 'dist', '.build-stamp');
const MIN_NODE = [20, 19];
const isWindows = process.platform === 'win32';

class BootstrapError extends Error {}

function fail(message) {
  throw new BootstrapError(message);
}

function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1])) {
    fail(`Node ${MIN_NODE.join('.')} or newer is required (this is ${process.versions.node}).`);
  }
}

function mtime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch (_error) {
    return null;
  }
}

function newestUnder(dir, limit, accept) {
  // Early exit as soon as one file beats `limit`: we only need "is anything newer".
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (_error) {
    return null;
  }
  for (const entry of entries) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = newestUnder(full, limit, accept);
      if (found) return found;
    } else if ((!accept || accept(entry.name)) && (mtime(full) || 0) > limit) {
      return full;
    }
  }
  return null;
}

function run(command, args, label) {
  const result = spawnSync(command, args, { cwd: repoRoot, stdio: 'inherit', shell: isWindows });
  if (result.error) fail(`${label} could not start: ${result.error.message}`);
  if (result.status !== 0) fail(`${label} failed (exit ${result.status === null ? result.signal : result.status}).`);
}

function ensureDependencies() {
  const installed = mtime(path.join(repoRoot, 'node_modules', '.package-lock.json'));
  const lock = mtime(path.join(repoRoot, 'package-lock.json'));
  if (installed !== null && (lock === null || lock <= installed)) return;
  console.error(installed === null ? 'bellows: installing dependencies (npm ci)…' : 'bellows: package-lock.json changed; reinstalling dependencies (npm ci)…');
  run('npm', ['ci', '--no-audit', '--no-fund'], 'npm ci');
}

/** The files under `dir` that no tsconfig covers (the web UI's CSS and HTML) newer than `limit`. */
function newerAsset(dir, limit) {
  const found = newestUnder(dir, limit, function (name) { return !/\.tsx?$/.test(name); });
  return found ? path.relative(repoRoot, found) : null;
}

/** What the last successful build saw: the tsbuildinfo times it bundled from (the stamp file's content). */
function readStamp() {
  try {
    return JSON.parse(fs.readFileSync(STAMP, 'utf8'));
  } catch (_error) {
    return null;
  }
}

/**
 * `tsc -b` first, every time (it compiles only what changed and takes about a second when nothing did);
 * then the two bundles, each only when its inputs moved since the last successful build: the workflow
 * bundle when tsc rewrote the server project, the web UI when it rewrote the web project or an asset
 * (CSS, HTML) changed. The stamp's time is when that build started, so edits made during it count next time.
 */
function ensureBuild() {
  const stamp = mtime(STAMP);
  const last = stamp === null ? null : readStamp();
  const startedAt = new Date();
  run(process.execPath, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'tsconfig.build.json', 'web/tsconfig.json'], 'tsc -b');
  const built = { server: mtime(BUILD_INFO.server), web: mtime(BUILD_INFO.web) };
  const since = stamp === null ? -Infinity : stamp;
  const dependencies = BUILD_INPUTS.filter(function (input) { return (mtime(path.join(repoRoot, input)) || 0) > since; });
  const fresh = last === null || dependencies.length > 0;
  const workflows = fresh || built.server !== last.server ? 'sources changed' : null;
  const web = fresh || built.web !== last.web ? 'web/ changed' : newerAsset(path.join(repoRoot, 'web'), since);
  if (workflows) {
    console.error(`bellows: bundling workflows (${last === null ? 'no build yet' : workflows})…`);
    run(process.execPath, [path.join(repoRoot, 'dist', 'scripts', 'bundle-workflows.js')], 'bundle-workflows');
  }
  if (web) {
    console.error(`bellows: building the web UI (${last === null ? 'no build yet' : web})…`);
    run(process.execPath, [path.join(repoRoot, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'web/vite.config.mts', '--logLevel', 'warn'], 'vite build');
  }
  if (!workflows && !web && stamp !== null) return;
  fs.mkdirSync(path.dirname(STAMP), { recursive: true });
  fs.writeFileSync(STAMP, `${JSON.stringify(built)}\n`);
  fs.utimesSync(STAMP, startedAt, startedAt);
}

/** Runs a child with inherited stdio; relays termination signals and exits with the child's status. */
function handOver(command, args, env) {
  const child = spawn(command, args, { cwd: repoRoot, stdio: 'inherit', env: env || process.env, shell: isWindows && command !== process.execPath });
  const relay = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, relay);
  child.on('error', (error) => {
    console.error(`bellows: could not start ${command}: ${error.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      // Re-raise so our parent sees the same cause of death; the listeners must go first or we would just relay it again.
      for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.removeAllListeners(name);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code === null ? 1 : code);
  });
}

function requireBuilt(relative) {
  const file = path.join(repoRoot, 'dist', relative);
  if (!fs.existsSync(file)) fail(`dist/${relative} is missing after the build — does its source exist?`);
  return file;
}

/**
 * The real Temporal server and temporal-sql-tool for the cluster tests, built before vitest starts.
 * Without Go (and no cached build) those tests are skipped, and this says so.
 */
function resolveTemporalServer() {
  if (process.env.TEMPORAL_SERVER_BIN && process.env.TEMPORAL_SQL_TOOL) return {};
  const result = spawnSync(process.execPath, [requireBuilt('scripts/temporal-server.js')], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (result.status !== 0) {
    console.error('bellows: the Temporal server could not be built (see above); the cluster tests will be skipped.');
    return { BELLOWS_SKIP_CLUSTER_TESTS: '1' };
  }
  const { server, sql } = JSON.parse(result.stdout.trim());
  return { TEMPORAL_SERVER_BIN: server, TEMPORAL_SQL_TOOL: sql };
}

function resolveTemporalCli() {
  if (process.env.TEMPORAL_CLI) return process.env.TEMPORAL_CLI;
  const result = spawnSync(process.execPath, [requireBuilt('scripts/temporal-cli.js')], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (result.status !== 0) fail('could not resolve the Temporal CLI (see above).');
  return result.stdout.trim();
}

function main() {
  checkNode();
  const [command, ...args] = process.argv.slice(2);
  const commands = ['start', 'cluster', 'test', 'test-stress', 'soak', 'agent', 'bench', 'bench-cluster'];
  if (!commands.includes(command)) fail(`usage: node scripts/bootstrap.js <${commands.join('|')}> [args…]`);
  ensureDependencies();
  ensureBuild();
  switch (command) {
    case 'start':
      return handOver(process.execPath, [requireBuilt('scripts/stack.js'), ...args]);
    case 'cluster':
      // Builds the Temporal server and temporal-sql-tool itself when they are missing (scripts/temporal-server.ts).
      return handOver(process.execPath, [requireBuilt('scripts/cluster.js'), ...args]);
    case 'test': {
      // The whole suite also type-checks and lints everything (server, agent, CLI, web, tests): a type
      // error anywhere fails `npm test` and so CI. A run of chosen test files skips these (~25 s).
      if (args.length === 0) {
        run('npm', ['run', 'typecheck', '--silent'], 'npm run typecheck');
        run('npm', ['run', 'lint', '--silent'], 'npm run lint');
      }
      const cli = resolveTemporalCli();
      // Empty = no local binary could be found or built: the test setup falls back to the SDK's download.
      const env = cli ? { ...process.env, TEMPORAL_CLI: cli } : { ...process.env, BELLOWS_TEMPORAL_SDK_DOWNLOAD: '1' };
      Object.assign(env, resolveTemporalServer());
      return handOver('npx', ['--no-install', 'vitest', 'run', ...args], env);
    }
    case 'test-stress':
      // The whole suite, three times over, with both cores kept busy (scripts/test-stress.ts).
      return handOver(process.execPath, [requireBuilt('scripts/test-stress.js'), ...args]);
    case 'soak':
      // Builds the Temporal server like `cluster` does: the soak runs on the cluster profile (scripts/soak.ts).
      return handOver(process.execPath, [requireBuilt('scripts/soak.js'), ...args]);
    case 'agent':
      return handOver(process.execPath, [requireBuilt('agent/main.js'), ...args]);
    case 'bench':
      return handOver(process.execPath, [requireBuilt('bench/main.js'), ...args]);
    case 'bench-cluster':
      return handOver(process.execPath, [requireBuilt('bench/cluster.js'), ...args]);
  }
}

try {
  main();
} catch (error) {
  if (error instanceof BootstrapError) {
    console.error(`bellows: ${error.message}`);
  } else {
    console.error(`bellows: unexpected error: ${error && error.stack ? error.stack : error}`);
  }
  process.exit(1);
}
