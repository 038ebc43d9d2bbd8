// `warrant keys list|rotate`: the signing keys in WARRANT_STORAGE/keys.

import type { Command } from 'commander';
import { readStoredKeys, rotateKeys, SIGNING_ALGS, type SigningAlg } from '../../keys/keystore.js';
import { ReadModels } from '../../readmodels/index.js';
import { context, fail, out, withDatabase } from '../context.js';

/** An --alg value, checked (exit 2 otherwise). */
export function parseAlg(value: string | undefined): SigningAlg | undefined {
  if (value === undefined) return undefined;
  if (!SIGNING_ALGS.includes(value as SigningAlg)) fail(`--alg must be one of ${SIGNING_ALGS.join(', ')}`, 2);
  return value as SigningAlg;
}

export function keysCommands(program: Command): void {
  const keys = program.command('keys').description('signing keys');
  keys
    .command('list')
    .description('list signing keys (active and retiring)')
    .action(async () => {
      const { config } = context();
      if (config.signingKey) return out('The signing key comes from WARRANT_SIGNING_KEY.');
      const stored = await readStoredKeys(config.storage);
      if (stored.length === 0) return out('No signing keys: run `warrant install`.');
      for (const key of stored) out(`${key.kid}  ${key.alg.padEnd(6)} ${key.status}${key.retireAfter ? ` until ${key.retireAfter}` : ''}`);
      return undefined;
    });
  keys
    .command('rotate')
    .description('make a new key active; the previous one stays published until the tokens it signed expire')
    .option('--alg <alg>', `signing algorithm: ${SIGNING_ALGS.join(', ')} (default: the current one)`)
    .action(async (options: { alg?: string }) => {
      const { config, logger } = context();
      if (config.signingKey) fail('the signing key comes from WARRANT_SIGNING_KEY; rotate it there');
      const alg = parseAlg(options.alg);
      // Retire after the longest access-token lifetime any client has.
      const longest = await withDatabase(config, logger, async (pool) => {
        const ttl = await new ReadModels(pool).clients.longestAccessTokenTtl().catch(() => null);
        return Math.max(config.accessTokenTtl, ttl ?? 0);
      });
      const { active, retired } = await rotateKeys(config.storage, { ...(alg ? { alg } : {}), retireAfterSeconds: longest });
      out(`Active key: ${active.kid} (${active.alg})`);
      for (const key of retired) out(`Retiring:   ${key.kid} (published until ${key.retireAfter})`);
    });
}
