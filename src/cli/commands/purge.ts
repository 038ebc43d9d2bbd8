// `warrant purge`: expired and revoked rows out of the read models (the events stay).

import type { Command } from 'commander';
import { migrate } from '../../db/migrate.js';
import { purge } from '../../readmodels/purge.js';
import { context, fail, out, withDatabase } from '../context.js';
import { progress, type Progress } from '../progress.js';

export function purgeCommand(program: Command): void {
  program
    .command('purge')
    .description('remove expired and revoked rows from the read models (events are kept; valid refresh chains are never touched)')
    .option('--expired', 'only expired tokens, codes and device codes')
    .option('--revoked', 'only revoked token families')
    .option('--hours <n>', 'only what expired or was revoked more than n hours ago', '0')
    .action(async (options: { expired?: boolean; revoked?: boolean; hours: string }) => {
      const hours = Number(options.hours);
      if (!Number.isFinite(hours) || hours < 0) fail('--hours must be a non-negative number', 2);
      const both = !options.expired && !options.revoked;
      const { config, logger } = context();
      const result = await withDatabase(config, logger, async (pool) => {
        await migrate(pool);
        let bar: Progress | undefined;
        try {
          return await purge(pool, {
            expired: both || !!options.expired,
            revoked: both || !!options.revoked,
            hours,
            onProgress: (done, total) => {
              if (total === 0) return;
              bar ??= progress('purging', total);
              bar.update(done);
            },
          });
        } finally {
          bar?.stop();
        }
      });
      out(`Purged ${result.families} token families (${result.accessTokens} access tokens, ${result.refreshTokens} refresh tokens), ${result.codes} authorization codes, ${result.devices} device codes.`);
    });
}
