// `warrant user create|list|delete`: the standalone server's built-in users.

import type { Command } from 'commander';
import { migrate } from '../../db/migrate.js';
import { revokeSubject } from '../../oauth/subjects.js';
import { createUser, deleteUser, findUserByName, listUsers, UserError } from '../../users/directory.js';
import { context, fail, json, out, shown, withDatabase, withServer } from '../context.js';

export function userCommands(program: Command): void {
  const user = program.command('user').description("the standalone server's built-in users");
  user
    .command('create')
    .description('create a user who can sign in on the login page (password hashed with scrypt)')
    .requiredOption('--username <username>', 'login name')
    .requiredOption('--password <password>', 'password (8 characters at least)')
    .option('--email <email>', 'email address (the OpenID Connect email claim)')
    .option('--email-verified', 'the address is known to belong to the user (email_verified: true)')
    .option('--name <name>', 'full name (the OpenID Connect name claim)')
    .option('--json', 'print {"user_id","username"} as JSON')
    .action(async (options: { username: string; password: string; email?: string; emailVerified?: boolean; name?: string; json?: boolean }) => {
      const { config, logger } = context();
      const created = await withDatabase(config, logger, async (pool) => {
        await migrate(pool);
        try {
          return await createUser(pool, options.username, options.password, { email: options.email, emailVerified: options.emailVerified ?? false, name: options.name });
        } catch (error) {
          if (error instanceof UserError) return fail(error.message, 2);
          throw error;
        }
      });
      if (options.json) return out(json({ user_id: created.userId, username: created.username }));
      return out(`User ${shown(created.username)} created (subject ${created.userId}).`);
    });
  user
    .command('list')
    .description('list users with their subject ids (the `sub` of their tokens)')
    .option('--json', 'JSON output')
    .action(async (options: { json?: boolean }) => {
      const { config, logger } = context();
      const users = await withDatabase(config, logger, async (pool) => {
        await migrate(pool);
        return listUsers(pool);
      });
      if (options.json) return out(json(users.map((u) => ({ user_id: u.userId, username: u.username, created_at: u.createdAt.toISOString() }))));
      if (users.length === 0) return out('No users.');
      for (const u of users) out(`${u.userId}  ${shown(u.username)}`);
      return undefined;
    });
  user
    .command('delete')
    .description("delete a user: their tokens are revoked, their sessions ended and their consents forgotten first")
    .argument('<username>', 'login name')
    .action(async (username: string) => {
      const { config, logger, actor } = context();
      const revoked = await withServer(config, logger, async (auth) => {
        const found = await findUserByName(auth.pool, username);
        if (!found) return fail(`no user ${username}`);
        const { revoked: count } = await revokeSubject(auth.context, found.userId, actor);
        await deleteUser(auth.pool, found.userId);
        return count;
      });
      out(`User ${username} deleted; ${revoked} token famil${revoked === 1 ? 'y' : 'ies'} revoked.`);
    });
}
