// `warrant token create|list|revoke`: personal access tokens.

import type { Command } from 'commander';
import { migrate } from '../../db/migrate.js';
import { createPersonalToken, listAllPersonalTokens } from '../../oauth/grants/personal-access.js';
import { revokeFamily } from '../../oauth/revocation.js';
import { isUuid } from '../../oauth/text.js';
import { ReadModels } from '../../readmodels/index.js';
import { findUserByName } from '../../users/directory.js';
import { context, fail, json, out, shown, withDatabase, withServer } from '../context.js';

export function tokenCommands(program: Command): void {
  const token = program.command('token').description('personal access tokens');
  token
    .command('create')
    .description("create a named personal access token for a user (shown once)")
    .requiredOption('--user <username>', 'the user it acts for')
    .requiredOption('--name <name>', 'a name to recognise it by')
    .option('--scope <scope...>', 'scopes (from WARRANT_SCOPES)', [])
    .option('--json', 'JSON output')
    .action(async (options: { user: string; name: string; scope: string[]; json?: boolean }) => {
      const { config, logger, actor } = context();
      const created = await withServer(config, logger, async (auth) => {
        const found = await findUserByName(auth.pool, options.user);
        if (!found) return fail(`no user ${options.user}`);
        return createPersonalToken(auth.context, { subject: found.userId, name: options.name, scopes: options.scope.flatMap((s) => s.split(' ')).filter(Boolean), actor });
      });
      if (options.json) return out(json(created));
      out(`Personal access token "${shown(created.name)}" (id ${created.id}), expires ${created.expires_at}:`);
      return out(created.access_token);
    });

  token
    .command('list')
    .description("list personal access tokens (never the tokens themselves)")
    .option('--user <username>', "only this user's")
    .option('--json', 'JSON output')
    .action(async (options: { user?: string; json?: boolean }) => {
      const { config, logger } = context();
      const tokens = await withDatabase(config, logger, async (pool) => {
        await migrate(pool);
        let subject: string | undefined;
        if (options.user !== undefined) {
          const found = await findUserByName(pool, options.user);
          if (!found) return fail(`no user ${options.user}`);
          subject = found.userId;
        }
        return listAllPersonalTokens({ read: new ReadModels(pool) }, subject === undefined ? {} : { subject });
      });
      if (options.json) return out(json(tokens));
      if (tokens.length === 0) return out('No personal access tokens.');
      const now = Date.now();
      for (const t of tokens) {
        const status = t.revoked ? 'revoked' : Date.parse(t.expires_at) <= now ? 'expired' : `expires ${t.expires_at.slice(0, 10)}`;
        out(`${t.id}  ${shown(t.username ?? t.subject).padEnd(16)}  ${`"${shown(t.name)}"`.padEnd(20)}  ${shown(t.scopes.join(' ') || '(no scopes)').padEnd(16)}  ${status}`);
      }
      return undefined;
    });
  token
    .command('revoke')
    .description('revoke a personal access token at once')
    .argument('<id>', 'token id (from `token list`)')
    .action(async (id: string) => {
      if (!isUuid(id)) fail(`not a token id: ${id}`, 2);
      const { config, logger, actor } = context();
      await withServer(config, logger, async (auth) => {
        const found = (await listAllPersonalTokens(auth.context)).find((t) => t.id === id);
        if (!found) return fail(`no personal access token ${id}`);
        return revokeFamily(auth.context, id, 'admin', actor);
      });
      out(`Personal access token ${id} revoked.`);
    });
}
