// Exit codes of the bellows CLI, stable for scripts:
// 0 success (or the followed run succeeded), 1 an error or a failed run, 2 a bad command line,
// 3 the server could not be reached, 130 the followed run was cancelled or following was interrupted.
export type ExitCode = 0 | 1 | 2 | 3 | 130;

export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3, cancelled: 130 } as const satisfies Record<string, ExitCode>;

/** An error whose message is one sentence for the user; the CLI prints it and exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.failed,
  ) {
    super(message);
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage);
