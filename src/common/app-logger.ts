import { ConsoleLogger } from '@nestjs/common';

// Nest's boot chatter (one line per route and module) buries what operators need; it stays
// available at BELLOWS_LOG_LEVEL=debug. BELLOWS_LOG_FORMAT=json gives one JSON object per line.
const BOOT_CONTEXTS = new Set(['RoutesResolver', 'RouterExplorer', 'InstanceLoader']);

export function createAppLogger(verbose: boolean): ConsoleLogger {
  const logger = new ConsoleLogger('bellows', {
    json: process.env.BELLOWS_LOG_FORMAT === 'json',
    logLevels: verbose ? ['debug', 'verbose', 'log', 'warn', 'error', 'fatal'] : ['log', 'warn', 'error', 'fatal'],
  });
  if (verbose) return logger;
  const log = logger.log.bind(logger);
  logger.log = (message: unknown, ...rest: unknown[]) => {
    const context = rest[rest.length - 1];
    if (typeof context === 'string' && BOOT_CONTEXTS.has(context)) return;
    log(message, ...(rest as string[]));
  };
  return logger;
}
