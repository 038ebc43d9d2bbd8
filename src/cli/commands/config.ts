// `warrant config`: the effective configuration, secrets redacted.

import type { Command } from 'commander';
import { redactedConfig } from '../../config.js';
import { context } from '../context.js';

export function configCommand(program: Command): void {
  program
    .command('config')
    .description('print the effective configuration (secrets redacted)')
    .action(() => {
      const { config } = context();
      process.stdout.write(`${JSON.stringify(redactedConfig(config), null, 2)}\n`);
    });
}
