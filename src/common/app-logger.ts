import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import type { Config } from '../config/config';
import { isLogRecord, textOf } from './log-fields';

// Nest's boot chatter (one line per route and module) buries what operators need; it stays
// available at BELLOWS_LOG_LEVEL=debug. BELLOWS_LOG_FORMAT=json gives one JSON object per line.
const BOOT_CONTEXTS = new Set(['RoutesResolver', 'RouterExplorer', 'InstanceLoader']);

/** Nest's levels shown at each of ours (Nest's `log` is our `info`). */
const LEVELS: Record<Config['logLevel'], LogLevel[]> = {
  debug: ['debug', 'verbose', 'log', 'warn', 'error', 'fatal'],
  info: ['log', 'warn', 'error', 'fatal'],
  warn: ['warn', 'error', 'fatal'],
  error: ['error', 'fatal'],
};

/**
 * The API's logger, as the config says (BELLOWS_LOG_LEVEL, BELLOWS_LOG_FORMAT). Messages carrying ids
 * (withIds) stay objects in JSON, so log tooling can filter by runId, and read `message (runId=1)` as text.
 */
class AppLogger extends ConsoleLogger {
  constructor(private readonly format: Config['logFormat'], levels: LogLevel[]) {
    super('bellows', { json: format === 'json', logLevels: levels });
  }

  protected override stringifyMessage(message: unknown, logLevel: LogLevel): unknown {
    return super.stringifyMessage(this.format === 'text' && isLogRecord(message) ? textOf(message) : message, logLevel);
  }
}

export function createAppLogger(config: Pick<Config, 'logLevel' | 'logFormat'>): ConsoleLogger {
  const logger = new AppLogger(config.logFormat, LEVELS[config.logLevel]);
  if (config.logLevel === 'debug') return logger;
  const log = logger.log.bind(logger);
  logger.log = (message: unknown, ...rest: unknown[]) => {
    const context = rest[rest.length - 1];
    if (typeof context === 'string' && BOOT_CONTEXTS.has(context)) return;
    log(message, ...(rest as string[]));
  };
  return logger;
}
