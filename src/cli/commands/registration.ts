// `warrant registration-token create`: an RFC 7591 initial access token for POST /oauth/register.

import type { Command } from 'commander';
import { createInitialAccessToken } from '../../oauth/registration.js';
import { context, fail, json, out, withServer } from '../context.js';

export function registrationCommands(program: Command): void {
  const registration = program.command('registration-token').description('initial access tokens for dynamic client registration (RFC 7591)');
  registration
    .command('create')
    .description('make an initial access token (shown once; only its keyed hash is kept)')
    .option('--uses <n>', 'how many clients it may register', '1')
    .option('--ttl <seconds>', 'lifetime in seconds (default: until used)')
    .option('--json', 'print {"initial_access_token": …}')
    .action(async (options: { uses: string; ttl?: string; json?: boolean }) => {
      const uses = Number(options.uses);
      if (!Number.isInteger(uses) || uses < 1 || uses > 1_000_000) fail('--uses must be a whole number from 1 to 1000000', 2);
      const ttl = options.ttl === undefined ? null : Number(options.ttl);
      if (ttl !== null && (!Number.isInteger(ttl) || ttl < 1 || ttl > 10 * 365 * 86_400)) fail('--ttl must be a positive whole number of seconds', 2);
      const { config, logger, actor } = context();
      const created = await withServer(config, logger, (auth) => createInitialAccessToken(auth.context, { uses, ttlSeconds: ttl }, actor));
      if (options.json) return out(json({ initial_access_token: created.token }));
      out(`Initial access token for ${uses} registration${uses === 1 ? '' : 's'} at ${config.issuer}/oauth/register${created.expiresAt ? `, until ${created.expiresAt.toISOString()}` : ''} (shown only now):`);
      return out(created.token);
    });
}
