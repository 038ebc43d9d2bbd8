// `warrant migrate`: apply pending migrations.

import type { Command } from 'commander';
import { migrate } from '../../db/migrate.js';
import { context, withDatabase } from '../context.js';

export function migrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (idempotent)')
    .action(async () => {
      const { config, logger } = context();
      await withDatabase(config, logger, async (pool) => {
        const applied = await migrate(pool);
        process.stdout.write(applied.length === 0 ? 'Nothing to migrate.\n' : applied.map((m) => `Migrated ${m.file}\n`).join(''));
      });
    });
}
