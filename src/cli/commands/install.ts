// `warrant install`: what `php artisan passport:install` does — the signing key and the pepper in
// WARRANT_STORAGE (if missing), and the migrations.

import type { Command } from 'commander';
import { migrate } from '../../db/migrate.js';
import { ensureKey, SIGNING_ALGS } from '../../keys/keystore.js';
import { ensurePepper } from '../../keys/pepper.js';
import { context, out, withDatabase } from '../context.js';
import { parseAlg } from './keys.js';

export function installCommand(program: Command): void {
  program
    .command('install')
    .description('create the signing key and pepper in WARRANT_STORAGE (if missing) and migrate the database')
    .option('--alg <alg>', `signing algorithm: ${SIGNING_ALGS.join(', ')}`, 'ES256')
    .option('--force', 'replace existing signing keys (tokens they signed stop validating)')
    .action(async (options: { alg: string; force?: boolean }) => {
      const { config, logger } = context();
      const alg = parseAlg(options.alg)!;
      if (config.signingKey) out('Signing key: from WARRANT_SIGNING_KEY (nothing written).');
      else {
        const { key, created } = await ensureKey(config.storage, { alg, force: options.force ?? false });
        out(created ? `Signing key created: ${key.kid} (${key.alg})` : `Signing key exists: ${key.kid} (${key.alg}); --force replaces it`);
      }
      if (config.pepper) out('Pepper: from WARRANT_PEPPER (nothing written).');
      else out((await ensurePepper(config.storage)).created ? 'Pepper created.' : 'Pepper exists.');
      await withDatabase(config, logger, async (pool) => {
        const applied = await migrate(pool);
        out(applied.length === 0 ? 'Database up to date.' : applied.map((m) => `Migrated ${m.file}`).join('\n'));
      });
    });
}
