// Runs `script` pipelines: the content is written to a file and run by bash in its own process group.

import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Execution, ExecutionContext, ExecutionResult, JobExecutor, OutputSink } from './job-executor';
import { signalGroup } from './process-group';

/** After the leader exits, how long to wait for its stdout/stderr to drain before giving up on them. */
const STDIO_DRAIN_MS = 2000;

export function createScriptExecutor(): JobExecutor {
  return {
    kind: 'script',
    async start(context: ExecutionContext): Promise<Execution> {
      const scriptPath = join(context.jobDir, 'script.sh');
      await writeFile(scriptPath, context.job.pipeline.content, { mode: 0o700 });
      return spawnProcessGroup({
        command: 'bash',
        // -e and pipefail make a failing command fail the job; no rc files so agent hosts behave alike.
        args: ['--noprofile', '--norc', '-eo', 'pipefail', scriptPath],
        cwd: context.workspaceDir,
        env: context.env,
        output: context.output,
        cancelGraceMs: context.cancelGraceMs,
      });
    },
  };
}

export type SpawnGroupOptions = {
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  output: OutputSink;
  cancelGraceMs: number;
};

export function spawnProcessGroup(options: SpawnGroupOptions): Execution {
  const { output } = options;
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  let exited = false;
  let cancelling = false;
  let killTimer: NodeJS.Timeout | undefined;

  // utf8 encoding on the stream keeps multi-byte characters split across reads intact.
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (text: string) => output.write('stdout', text));
  child.stderr.on('data', (text: string) => output.write('stderr', text));

  const done = new Promise<ExecutionResult>((resolve) => {
    child.once('error', (error) => {
      if (pid === undefined) {
        exited = true;
        resolve({ exitCode: null, signal: null, error: `could not start ${options.command}: ${error.message}` });
      }
    });
    child.once('exit', (code, signal) => {
      exited = true;
      if (killTimer) clearTimeout(killTimer);
      // Background processes the script left behind would keep running (and hold the output pipes open).
      if (pid !== undefined) signalGroup(pid, 'SIGKILL');
      const drained = new Promise<void>((drain) => child.once('close', () => drain()));
      const timeout = new Promise<void>((later) => setTimeout(later, STDIO_DRAIN_MS).unref());
      void Promise.race([drained, timeout]).then(() => {
        // A process that escaped the group (setsid) may still hold the pipes; stop reading them.
        child.stdout.destroy();
        child.stderr.destroy();
        resolve({ exitCode: code, signal });
      });
    });
  });

  return {
    done,
    cancel(reason: string): void {
      if (cancelling || exited || pid === undefined) return;
      cancelling = true;
      signalGroup(pid, 'SIGTERM');
      output.system(`Cancelling (${reason}): SIGTERM sent`);
      killTimer = setTimeout(() => {
        if (exited) return;
        output.system(`Still running after ${formatSeconds(options.cancelGraceMs)}: SIGKILL sent`);
        signalGroup(pid, 'SIGKILL');
      }, options.cancelGraceMs);
    },
    kill(): void {
      if (killTimer) clearTimeout(killTimer);
      if (pid !== undefined) signalGroup(pid, 'SIGKILL');
    },
  };
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
