// The agent's own diagnostics (not job output). Kept tiny so nothing here can print a token by accident:
// callers pass finished sentences, never request objects or headers.

export type Logger = {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
};

export function createConsoleLogger(): Logger {
  const line = (level: string, message: string): string => `${new Date().toISOString()} ${level} ${message}\n`;
  return {
    info: (message) => process.stdout.write(line('INFO ', message)),
    warn: (message) => process.stderr.write(line('WARN ', message)),
    error: (message) => process.stderr.write(line('ERROR', message)),
  };
}

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };

export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    // fetch reports everything as "fetch failed"; the useful part (ECONNREFUSED, bad port…) is the cause.
    const cause: unknown = error.cause;
    const detail =
      cause && typeof cause === 'object' && 'code' in cause && cause.code !== undefined
        ? String(cause.code)
        : cause instanceof Error
          ? cause.message
          : undefined;
    return detail ? `${error.message} (${detail})` : error.message;
  }
  return String(error);
}
