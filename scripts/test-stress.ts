// `npm run test:stress`: the whole suite, three times over, with every core kept busy by a load
// generator — the "busy machine" CI is. A test that races a fast path shows up here long before it
// blocks a landing (issue 13). Each run's full output goes to its own log; the terminal gets one line
// per run and a verdict; the exit status is non-zero unless every run passed.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopChild, waitForExit } from './process-utils';
import { describeRun, parseStressArgs, readSuiteOutcome, runPassed, stressVerdict, type StressRun } from './test-stress-plan';

const repoRoot = path.resolve(__dirname, '..', '..');
const load: ChildProcess[] = [];
let suite: ChildProcess | null = null;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** One busy loop per requested core: plain JavaScript spinning, no I/O, no memory growth. */
function startLoad(count: number): void {
  for (let index = 0; index < count; index++) {
    load.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  }
}

async function stopEverything(): Promise<void> {
  await Promise.all([...load.map((child) => stopChild(child, { signal: 'SIGKILL', graceMs: 1000 })), suite ? stopChild(suite, { graceMs: 30_000, group: true }) : null]);
}

async function runSuite(run: number, vitestArgs: string[], logDir: string): Promise<StressRun> {
  const log = path.join(logDir, `run-${run}.log`);
  const out = fs.createWriteStream(log);
  const startedAt = Date.now();
  // Detached: a Ctrl-C here stops the suite's whole tree (Temporal, PostgreSQL, stacks) through its group.
  const child = spawn(process.execPath, [path.join(repoRoot, 'scripts', 'bootstrap.js'), 'test', ...vitestArgs], {
    cwd: repoRoot,
    env: { ...process.env, FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  suite = child;
  let output = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (data: Buffer) => {
      out.write(data);
      output += data.toString('utf8');
      // The summary and FAIL lines are what is read back; a run prints a few MB at most.
      if (output.length > 8 * 1024 * 1024) output = output.slice(-4 * 1024 * 1024);
    });
  }
  const exit = await waitForExit(child);
  suite = null;
  await new Promise<void>((resolve) => out.end(resolve));
  return { run, exitCode: exit.code ?? 1, durationMs: Date.now() - startedAt, outcome: readSuiteOutcome(output), log };
}

async function main(): Promise<void> {
  const parsed = parseStressArgs(process.argv.slice(2));
  if (!parsed.ok) {
    process.stderr.write(`test:stress: ${parsed.error}\n`);
    process.exit(2);
  }
  const { options } = parsed;
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bellows-stress-'));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      say(`test:stress: ${signal}, stopping the load and the suite`);
      void stopEverything().then(() => process.exit(130));
    });
  }
  startLoad(options.load);
  say(`test:stress: ${options.runs} suite run(s) with ${options.load} busy loop(s) beside them; logs in ${logDir}`);
  const runs: StressRun[] = [];
  try {
    for (let run = 1; run <= options.runs; run++) {
      const result = await runSuite(run, options.vitestArgs, logDir);
      runs.push(result);
      say(describeRun(result, options.runs));
      if (!runPassed(result) && !options.keepGoing) break;
    }
  } finally {
    await stopEverything();
  }
  const verdict = stressVerdict(runs, options);
  say(verdict.line);
  process.exit(verdict.ok ? 0 : 1);
}

void main();
