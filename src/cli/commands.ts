// `warrant install`, `keys …` and `client …` (DESIGN §7): what `php artisan passport:*` does.

import type { Command } from 'commander';
import type { Config } from '../config.js';
import { GRANT_TYPES, type GrantType } from '../events/types.js';
import { ensureKey, readStoredKeys, rotateKeys, SIGNING_ALGS, type SigningAlg } from '../keys/keystore.js';
import { ensurePepper } from '../keys/pepper.js';
import { migrate } from '../db/migrate.js';
import type { Logger } from '../logger.js';
import { clientView, findClient, isUuid, listClients, type ClientRecord } from '../oauth/clients-read.js';
import { registerClient, revokeClient, rotateClientSecret } from '../oauth/clients.js';
import type { AuthServer } from '../server.js';
import type pg from 'pg';
import type { EventStore } from '../eventstore/port.js';
import { familyHistory, findFamily } from '../audit/history.js';
import { verifyAll } from '../audit/verify.js';
import { progress, type Progress } from './progress.js';
import { createUser, deleteUser, findUserByName, listUsers, UserError } from '../users/directory.js';
import { createPersonalToken, listAllPersonalTokens } from '../oauth/personal.js';
import { revokeSubject } from '../oauth/subjects.js';
import { revokeFamily } from '../oauth/tokens.js';
import { purge } from '../oauth/purge.js';
import { escapeDisplayControls } from '../oauth/text.js';

export interface CliHelpers {
  context(): { config: Config; logger: Logger };
  withDatabase<T>(config: Config, logger: Logger, fn: (pool: pg.Pool, store: EventStore) => Promise<T>): Promise<T>;
  withServer<T>(config: Config, logger: Logger, fn: (auth: AuthServer) => Promise<T>): Promise<T>;
  fail(message: string, code?: number): never;
}

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
/**
 * A stored string (a client's name or redirect URIs, a username, a token's name) as printed: its
 * terminal and bidi controls written out (\x1b, \u202e), so it cannot recolour, retitle or clear
 * the operator's terminal, or read as something else. Names stored before they were checked may
 * hold them.
 */
const shown = escapeDisplayControls;
/** JSON for programs, same value: JSON.stringify escapes only C0 controls, so the rest get \u escapes too. */
const json = (value: unknown): string =>
  JSON.stringify(value).replace(/[\p{Cc}\p{Bidi_Control}\u2028\u2029]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
const actor = { actor: `admin:cli:${process.env['USER'] ?? 'unknown'}` };

function parseAlg(value: string | undefined, fail: CliHelpers['fail']): SigningAlg | undefined {
  if (value === undefined) return undefined;
  if (!SIGNING_ALGS.includes(value as SigningAlg)) fail(`--alg must be one of ${SIGNING_ALGS.join(', ')}`, 2);
  return value as SigningAlg;
}

function describe(client: ClientRecord): string {
  return [
    `Client ID:     ${client.clientId}`,
    `Name:          ${client.name}`,
    `Type:          ${client.confidential ? 'confidential' : 'public'}${client.firstParty ? ', first party' : ''}`,
    `Grant types:   ${client.grantTypes.join(', ')}`,
    `Scopes:        ${client.scopes.join(' ') || '(none)'}`,
    `Redirect URIs: ${client.redirectUris.join(', ') || '(none)'}`,
    `Resources:     ${client.resources.join(', ') || '(the default audience only)'}`,
    `Status:        ${client.revoked ? 'revoked' : 'active'}`,
  ]
    .map(shown)
    .join('\n');
}

export function registerCommands(program: Command, helpers: CliHelpers): void {
  const { context, withDatabase, withServer, fail } = helpers;

  program
    .command('install')
    .description('create the signing key and pepper in WARRANT_STORAGE (if missing) and migrate the database')
    .option('--alg <alg>', `signing algorithm: ${SIGNING_ALGS.join(', ')}`, 'ES256')
    .option('--force', 'replace existing signing keys (tokens they signed stop validating)')
    .action(async (options: { alg: string; force?: boolean }) => {
      const { config, logger } = context();
      const alg = parseAlg(options.alg, fail)!;
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
      const alg = parseAlg(options.alg, fail);
      // Retire after the longest access-token lifetime any client has.
      const longest = await withDatabase(config, logger, async (pool) => {
        const { rows } = await pool.query<{ ttl: number | null }>('SELECT max(access_token_ttl) AS ttl FROM clients').catch(() => ({ rows: [{ ttl: null }] }));
        return Math.max(config.accessTokenTtl, rows[0]?.ttl ?? 0);
      });
      const { active, retired } = await rotateKeys(config.storage, { ...(alg ? { alg } : {}), retireAfterSeconds: longest });
      out(`Active key: ${active.kid} (${active.alg})`);
      for (const key of retired) out(`Retiring:   ${key.kid} (published until ${key.retireAfter})`);
    });

  const client = program.command('client').description('OAuth clients');
  client
    .command('create')
    .description('register a client; a confidential client gets a secret, shown once')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--grant <grant...>', `allowed grant types: ${GRANT_TYPES.join(', ')}`)
    .option('--scope <scope...>', 'scopes the client may receive', [])
    .option('--redirect-uri <uri...>', 'exact redirect URIs', [])
    .option('--resource <uri...>', 'resources (RFC 8707 audiences) it may ask tokens for besides the default audience', [])
    .option('--public', 'a public client (no secret)')
    .option('--first-party', 'a first-party client (may skip consent)')
    .option('--access-ttl <seconds>', 'access-token lifetime for this client')
    .option('--refresh-ttl <seconds>', 'refresh-token lifetime for this client')
    .option('--json', 'print {"client_id","client_secret"} as JSON')
    .action(async (options: { name: string; grant: string[]; scope: string[]; redirectUri: string[]; resource: string[]; public?: boolean; firstParty?: boolean; accessTtl?: string; refreshTtl?: string; json?: boolean }) => {
      const unknown = options.grant.filter((g) => !GRANT_TYPES.includes(g as GrantType));
      if (unknown.length > 0) fail(`unknown grant type: ${unknown.join(', ')} (known: ${GRANT_TYPES.join(', ')})`, 2);
      const ttl = (value: string | undefined, name: string) => {
        if (value === undefined) return null;
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1) fail(`${name} must be a positive integer of seconds`, 2);
        return n;
      };
      const { config, logger } = context();
      const created = await withServer(config, logger, (auth) =>
        registerClient(
          auth.context,
          {
            name: options.name,
            grantTypes: options.grant as GrantType[],
            scopes: options.scope.flatMap((s) => s.split(' ')).filter(Boolean),
            redirectUris: options.redirectUri,
            resources: options.resource,
            confidential: !options.public,
            firstParty: options.firstParty ?? false,
            accessTokenTtl: ttl(options.accessTtl, '--access-ttl'),
            refreshTokenTtl: ttl(options.refreshTtl, '--refresh-ttl'),
          },
          actor,
        ),
      );
      if (options.json) return out(json({ client_id: created.client.clientId, client_secret: created.clientSecret ?? null }));
      out(describe(created.client));
      if (created.clientSecret) out(`Client secret: ${created.clientSecret}\n(shown only now: store it safely)`);
      return undefined;
    });
  client
    .command('list')
    .description('list clients')
    .option('--revoked', 'include revoked clients')
    .option('--json', 'JSON output')
    .action(async (options: { revoked?: boolean; json?: boolean }) => {
      const { config, logger } = context();
      const clients = await withDatabase(config, logger, async (pool) => {
        await migrate(pool);
        const all: ClientRecord[] = [];
        for (let page = await listClients(pool, { limit: 200, includeRevoked: options.revoked ?? false }); page.length > 0; ) {
          all.push(...page);
          page = page.length < 200 ? [] : await listClients(pool, { limit: 200, after: page.at(-1)!.clientId, includeRevoked: options.revoked ?? false });
        }
        return all;
      });
      if (options.json) return out(json(clients.map(clientView)));
      if (clients.length === 0) return out('No clients.');
      for (const c of clients) out(`${c.clientId}  ${shown(c.name).padEnd(24).slice(0, 24)}  ${c.grantTypes.join(',')}  ${c.revoked ? 'revoked' : ''}`.trimEnd());
      return undefined;
    });
  client
    .command('show')
    .description('show one client')
    .argument('<id>', 'client id')
    .option('--json', 'JSON output')
    .action(async (id: string, options: { json?: boolean }) => {
      if (!isUuid(id)) fail(`not a client id: ${id}`, 2);
      const { config, logger } = context();
      const found = await withDatabase(config, logger, async (pool) => {
        await migrate(pool);
        return findClient(pool, id);
      });
      if (!found) return fail(`no client ${id}`);
      out(options.json ? json(clientView(found)) : describe(found));
    });
  client
    .command('revoke')
    .description('revoke a client; all its tokens stop working at once')
    .argument('<id>', 'client id')
    .action(async (id: string) => {
      if (!isUuid(id)) fail(`not a client id: ${id}`, 2);
      const { config, logger } = context();
      await withServer(config, logger, (auth) => revokeClient(auth.context, id, actor));
      out(`Client ${id} revoked.`);
    });
  client
    .command('rotate-secret')
    .description('give a confidential client a new secret (the old one stops working)')
    .argument('<id>', 'client id')
    .option('--json', 'print {"client_id","client_secret"} as JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      if (!isUuid(id)) fail(`not a client id: ${id}`, 2);
      const { config, logger } = context();
      const rotated = await withServer(config, logger, (auth) => rotateClientSecret(auth.context, id, actor));
      if (options.json) return out(json({ client_id: id, client_secret: rotated.clientSecret }));
      out(`New client secret: ${rotated.clientSecret}\n(shown only now: store it safely)`);
      return undefined;
    });

  const audit = program.command('audit').description('history from the event store');
  audit
    .command('token')
    .description("print a token family's timeline (id: a family id or any access token's jti)")
    .argument('<id>', 'family id or jti')
    .option('--json', 'JSON output')
    .action(async (id: string, options: { json?: boolean }) => {
      const { config, logger } = context();
      const history = await withDatabase(config, logger, async (pool, store) => {
        await migrate(pool);
        const familyId = await findFamily(store, id);
        return familyId ? familyHistory(store, familyId, new Date()) : undefined;
      });
      if (!history) return fail(`no token or token family ${id}`);
      if (options.json) return out(json(history));
      out(shown(`Family ${history.family_id}  client ${history.client_id}  subject ${history.subject}  grant ${history.grant_type}  now: ${history.state.status}`));
      const rows = history.events.map((e) => [String(e.revision), e.occurred_at, e.type, e.actor, e.state.status, e.state.current_jti ?? '', e.state.scopes.join(' ')].map(shown));
      const head = ['#', 'occurred at', 'event', 'actor', 'status', 'access token (jti)', 'scopes'];
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
      out(line(head));
      out(widths.map((w) => '-'.repeat(w)).join('  '));
      for (const row of rows) out(line(row));
      return undefined;
    });
  audit
    .command('verify')
    .description('check the hash chain of every stream (exit 1 if any is broken)')
    .action(async () => {
      const { config, logger } = context();
      const verdict = await withDatabase(config, logger, async (pool, store) => {
        await migrate(pool);
        const bar = progress('verifying', await store.headPosition());
        try {
          return await verifyAll(store, (position) => bar.update(position));
        } finally {
          bar.stop();
        }
      });
      out(`Checked ${verdict.events} events in ${verdict.streams} streams.`);
      if (verdict.broken.length === 0) return out('Every hash chain holds.');
      for (const b of verdict.broken) out(shown(`BROKEN ${b.stream} at revision ${b.revision} (${b.reason})`));
      return fail(`${verdict.broken.length} stream(s) have a broken hash chain`);
    });

  const user = program.command('user').description("the standalone server's built-in users");
  user
    .command('create')
    .description('create a user who can sign in on the login page (password hashed with scrypt)')
    .requiredOption('--username <username>', 'login name')
    .requiredOption('--password <password>', 'password (8 characters at least)')
    .option('--json', 'print {"user_id","username"} as JSON')
    .action(async (options: { username: string; password: string; json?: boolean }) => {
      const { config, logger } = context();
      const created = await withDatabase(config, logger, async (pool) => {
        await migrate(pool);
        try {
          return await createUser(pool, options.username, options.password);
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
      const { config, logger } = context();
      const revoked = await withServer(config, logger, async (auth) => {
        const found = await findUserByName(auth.pool, username);
        if (!found) return fail(`no user ${username}`);
        const { revoked: count } = await revokeSubject(auth.context, found.userId, actor);
        await deleteUser(auth.pool, found.userId);
        return count;
      });
      out(`User ${username} deleted; ${revoked} token famil${revoked === 1 ? 'y' : 'ies'} revoked.`);
    });

  const token = program.command('token').description('personal access tokens');
  token
    .command('create')
    .description("create a named personal access token for a user (shown once)")
    .requiredOption('--user <username>', 'the user it acts for')
    .requiredOption('--name <name>', 'a name to recognise it by')
    .option('--scope <scope...>', 'scopes (from WARRANT_SCOPES)', [])
    .option('--json', 'JSON output')
    .action(async (options: { user: string; name: string; scope: string[]; json?: boolean }) => {
      const { config, logger } = context();
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
        return listAllPersonalTokens(pool, subject === undefined ? {} : { subject });
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
      const { config, logger } = context();
      await withServer(config, logger, async (auth) => {
        const found = (await listAllPersonalTokens(auth.pool)).find((t) => t.id === id);
        if (!found) return fail(`no personal access token ${id}`);
        return revokeFamily(auth.context, id, 'admin', actor);
      });
      out(`Personal access token ${id} revoked.`);
    });

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
