// Building Go tools on demand (the Temporal CLI, server and SQL tool have no npm package): find Go,
// serialise concurrent builds with a lock, and show progress while a first build takes minutes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { sleep } from './process-utils';

export function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findOnPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, process.platform === 'win32' ? `${name}.exe` : name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

export function findGo(): string | null {
  const onPath = findOnPath('go');
  if (onPath) return onPath;
  const fallback = process.platform === 'win32' ? 'C:\\Program Files\\Go\\bin\\go.exe' : '/usr/local/go/bin/go';
  return isExecutableFile(fallback) ? fallback : null;
}

export function formatElapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * mkdir is atomic, so it doubles as a cross-process lock. A lock whose owner died (crash, Ctrl-C)
 * is taken over instead of blocking forever.
 */
export async function withBuildLock<T>(lockDir: string, onWait: () => void, body: () => Promise<T>): Promise<T> {
  const pidFile = path.join(lockDir, 'pid');
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(pidFile, String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let owner = Number.NaN;
      try {
        owner = Number(fs.readFileSync(pidFile, 'utf8'));
      } catch {
        // The owner may be between mkdir and writing its pid; give it a moment before judging.
      }
      const lockStat = fs.statSync(lockDir, { throwIfNoEntry: false });
      if (!lockStat) continue;
      const ageMs = Date.now() - lockStat.mtimeMs;
      const stale = Number.isFinite(owner) ? !pidAlive(owner) : ageMs > 10_000;
      if (stale) {
        fs.rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!announced) {
        onWait();
        announced = true;
      }
      await sleep(1000);
    }
  }
  try {
    return await body();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

export type GoInstallOptions = {
  go: string;
  /** Go package to install, e.g. github.com/temporalio/cli/cmd/temporal@v1.5.1. */
  module: string;
  /** Name of the binary the package builds. */
  binary: string;
  /** What to call it in progress lines. */
  label: string;
  cacheDir: string;
  onProgress: (message: string) => void;
  signal?: AbortSignal;
};

/** `go install` into a private dir, then rename into the cache: a concurrent reader never sees a half-written binary. */
export async function goInstallBinary(options: GoInstallOptions): Promise<string> {
  const { go, module, label, cacheDir, onProgress, signal } = options;
  const file = process.platform === 'win32' ? `${options.binary}.exe` : options.binary;
  const buildDir = fs.mkdtempSync(path.join(cacheDir, `.build-${options.binary}-`));
  const started = Date.now();
  const output: string[] = [];
  let lastLine = 'resolving modules';
  onProgress(`Building ${label} (${module}) with ${go}; the first build takes several minutes…`);
  const child = spawn(go, ['install', '-v', module], { env: { ...process.env, GOBIN: buildDir }, stdio: ['ignore', 'pipe', 'pipe'], signal });
  const onData = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      const trimmed = line.trim();
      if (!trimmed) continue;
      lastLine = trimmed;
      output.push(trimmed);
      if (output.length > 50) output.shift();
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const ticker = setInterval(() => onProgress(`  still building ${label}… ${formatElapsed(Date.now() - started)} — ${lastLine}`), 5000);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (exitCode) => resolve(exitCode));
    });
    signal?.throwIfAborted();
    if (code !== 0) throw new Error(`go install ${module} exited with ${code}:\n${output.slice(-15).join('\n')}`);
    const target = path.join(cacheDir, file);
    fs.renameSync(path.join(buildDir, file), target);
    onProgress(`Built ${label} in ${formatElapsed(Date.now() - started)}: ${target}`);
    return target;
  } finally {
    clearInterval(ticker);
    fs.rmSync(buildDir, { recursive: true, force: true });
  }
}
