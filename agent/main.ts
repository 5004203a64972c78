// bellows-agent entry point: parse flags, wire signals, run the agent. Exit codes: 0 stopped normally,
// 1 fatal error (e.g. registration refused), 2 bad command line.

import { Agent, RegistrationRejectedError } from './agent';
import { parseCliOptions, USAGE } from './cli-options';
import { createConsoleLogger, errorMessage } from './logger';

async function main(): Promise<number> {
  const parsed = parseCliOptions(process.argv.slice(2), process.env);
  if (!parsed.ok) {
    if ('help' in parsed) {
      process.stdout.write(USAGE);
      return 0;
    }
    process.stderr.write(`bellows-agent: ${parsed.message}\n`);
    return 2;
  }
  const { options } = parsed;
  const logger = createConsoleLogger();
  const agent = new Agent({
    url: options.url,
    registrationToken: options.token,
    labels: options.labels,
    name: options.name,
    workDir: options.workDir,
    once: options.once,
    cancelGraceMs: options.cancelGraceMs,
    keepWorkspace: options.keepWorkspace,
    drain: options.drain,
    logger,
  });

  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info(`Received ${signal}`);
    const count = agent.requestStop();
    // Without a job there is nothing to wait for on a repeated signal; with one, the one that abandons
    // it (the second, or the third with --drain) gives up at once.
    if ((count >= 2 && !agent.busy) || count >= agent.stopRequestsToAbandon) process.exit(count >= agent.stopRequestsToAbandon ? 1 : 0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  logger.info(`bellows-agent "${options.name}" starting; server ${options.url}, work dir ${options.workDir}`);
  try {
    return await agent.run();
  } catch (error) {
    logger.error(error instanceof RegistrationRejectedError ? error.message : `Agent failed: ${errorMessage(error)}`);
    return 1;
  }
}

void main().then((code) => {
  process.exitCode = code;
  // Pending keep-alive sockets or timers must not keep a stopped agent alive.
  setTimeout(() => process.exit(code), 100).unref();
});
