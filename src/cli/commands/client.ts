// `warrant client create|list|show|revoke|rotate-secret`: what `php artisan passport:client` does.

import type { Command } from 'commander';
import { migrate } from '../../db/migrate.js';
import { readFile } from 'node:fs/promises';
import { CLIENT_PROFILES, GRANT_TYPES, type ClientProfile, type GrantType, type PublicJwks } from '../../events/types.js';
import { registerClient, revokeClient, rotateClientSecret } from '../../oauth/clients.js';
import { isUuid } from '../../oauth/text.js';
import { clientView, ReadModels, type ClientRecord } from '../../readmodels/index.js';
import { context, fail, json, out, shown, withDatabase, withServer } from '../context.js';

function describe(client: ClientRecord): string {
  return [
    `Client ID:     ${client.clientId}`,
    `Name:          ${client.name}`,
    `Type:          ${client.confidential ? 'confidential' : 'public'}${client.firstParty ? ', first party' : ''}`,
    `Grant types:   ${client.grantTypes.join(', ')}`,
    `Scopes:        ${client.scopes.join(' ') || '(none)'}`,
    `Redirect URIs: ${client.redirectUris.join(', ') || '(none)'}`,
    ...(client.postLogoutRedirectUris.length ? [`Post-logout:   ${client.postLogoutRedirectUris.join(', ')}`] : []),
    `Auth method:   ${client.tokenEndpointAuthMethod}${client.jwksUri ? ` (keys from ${client.jwksUri})` : client.jwks ? ` (${client.jwks.keys.length} key${client.jwks.keys.length === 1 ? '' : 's'} registered)` : ''}`,
    `Resources:     ${client.resources.join(', ') || '(the default audience only)'}`,
    ...(client.profile || client.dpopBoundAccessTokens || client.requirePushedAuthorizationRequests
      ? [`Requires:      ${[client.profile ? `profile ${client.profile}` : '', client.dpopBoundAccessTokens ? 'DPoP' : '', client.requirePushedAuthorizationRequests ? 'PAR' : ''].filter(Boolean).join(', ')}`]
      : []),
    `Status:        ${client.revoked ? 'revoked' : 'active'}`,
  ]
    .map(shown)
    .join('\n');
}

/** A JWK Set from a file, or exit 2 with what is wrong (the schema checks the keys themselves). */
async function readJwks(file: string): Promise<PublicJwks> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return fail(`cannot read ${file}: ${(error as Error).message}`, 2);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && Array.isArray((parsed as PublicJwks).keys)) return parsed as PublicJwks;
  } catch {
    // reported below
  }
  return fail(`${file} is not a JWK Set: expected JSON like {"keys":[{"kty":"EC",…}]}`, 2);
}

/** Refuses (exit 2) an argument that cannot be a client id. */
function checkClientId(id: string): void {
  if (!isUuid(id)) fail(`not a client id: ${id}`, 2);
}

export function clientCommands(program: Command): void {
  const client = program.command('client').description('OAuth clients');
  client
    .command('create')
    .description('register a client; a confidential client gets a secret, shown once')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--grant <grant...>', `allowed grant types: ${GRANT_TYPES.join(', ')}`)
    .option('--scope <scope...>', 'scopes the client may receive', [])
    .option('--redirect-uri <uri...>', 'exact redirect URIs', [])
    .option('--resource <uri...>', 'resources (RFC 8707 audiences) it may ask tokens for besides the default audience', [])
    .option('--post-logout-redirect-uri <uri...>', 'where OpenID Connect logout may send people back to', [])
    .option('--jwks-file <file>', 'private_key_jwt: a JSON file with the client\'s public keys ({"keys":[…]}); no secret is issued')
    .option('--jwks-uri <url>', 'private_key_jwt: where the client publishes its public keys; no secret is issued')
    .option('--dpop', 'token requests must carry a DPoP proof: access tokens bound to the client\'s key (RFC 9449)')
    .option('--require-par', 'authorization requests only through pushed authorization requests (RFC 9126)')
    .option('--profile <profile>', 'hold the client to a security profile: fapi2 (PAR, PKCE, DPoP, private_key_jwt, access tokens of at most 10 minutes)')
    .option('--public', 'a public client (no secret)')
    .option('--first-party', 'a first-party client (may skip consent)')
    .option('--access-ttl <seconds>', 'access-token lifetime for this client')
    .option('--refresh-ttl <seconds>', 'refresh-token lifetime for this client')
    .option('--json', 'print {"client_id","client_secret"} as JSON')
    .action(async (options: { name: string; grant: string[]; scope: string[]; redirectUri: string[]; postLogoutRedirectUri: string[]; resource: string[]; jwksFile?: string; jwksUri?: string; dpop?: boolean; requirePar?: boolean; profile?: string; public?: boolean; firstParty?: boolean; accessTtl?: string; refreshTtl?: string; json?: boolean }) => {
      const unknown = options.grant.filter((g) => !GRANT_TYPES.includes(g as GrantType));
      if (unknown.length > 0) fail(`unknown grant type: ${unknown.join(', ')} (known: ${GRANT_TYPES.join(', ')})`, 2);
      const ttl = (value: string | undefined, name: string) => {
        if (value === undefined) return null;
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1) fail(`${name} must be a positive integer of seconds`, 2);
        return n;
      };
      if (options.jwksFile && options.jwksUri) fail('give --jwks-file or --jwks-uri, not both', 2);
      if (options.profile !== undefined && !CLIENT_PROFILES.includes(options.profile as ClientProfile)) fail(`unknown profile: ${options.profile} (known: ${CLIENT_PROFILES.join(', ')})`, 2);
      if ((options.jwksFile || options.jwksUri) && options.public) fail('a public client has no keys: --public cannot go with --jwks-file or --jwks-uri', 2);
      const jwks = options.jwksFile ? await readJwks(options.jwksFile) : null;
      const signed = !!(options.jwksFile || options.jwksUri);
      const { config, logger, actor } = context();
      const created = await withServer(config, logger, (auth) =>
        registerClient(
          auth.context,
          {
            name: options.name,
            grantTypes: options.grant as GrantType[],
            scopes: options.scope.flatMap((s) => s.split(' ')).filter(Boolean),
            redirectUris: options.redirectUri,
            postLogoutRedirectUris: options.postLogoutRedirectUri,
            resources: options.resource,
            tokenEndpointAuthMethod: signed ? 'private_key_jwt' : options.public ? 'none' : 'client_secret_basic',
            jwks,
            jwksUri: options.jwksUri ?? null,
            dpopBoundAccessTokens: options.dpop ?? false,
            requirePushedAuthorizationRequests: options.requirePar ?? false,
            profile: (options.profile as ClientProfile | undefined) ?? null,
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
        const read = new ReadModels(pool).clients;
        const all: ClientRecord[] = [];
        for (let page = await read.list({ limit: 200, includeRevoked: options.revoked ?? false }); page.length > 0; ) {
          all.push(...page);
          page = page.length < 200 ? [] : await read.list({ limit: 200, after: page.at(-1)!.clientId, includeRevoked: options.revoked ?? false });
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
      checkClientId(id);
      const { config, logger } = context();
      const found = await withDatabase(config, logger, async (pool) => {
        await migrate(pool);
        return new ReadModels(pool).clients.find(id);
      });
      if (!found) return fail(`no client ${id}`);
      out(options.json ? json(clientView(found)) : describe(found));
    });
  client
    .command('revoke')
    .description('revoke a client; all its tokens stop working at once')
    .argument('<id>', 'client id')
    .action(async (id: string) => {
      checkClientId(id);
      const { config, logger, actor } = context();
      await withServer(config, logger, (auth) => revokeClient(auth.context, id, actor));
      out(`Client ${id} revoked.`);
    });
  client
    .command('rotate-secret')
    .description('give a confidential client a new secret (the old one stops working)')
    .argument('<id>', 'client id')
    .option('--json', 'print {"client_id","client_secret"} as JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      checkClientId(id);
      const { config, logger, actor } = context();
      const rotated = await withServer(config, logger, (auth) => rotateClientSecret(auth.context, id, actor));
      if (options.json) return out(json({ client_id: id, client_secret: rotated.clientSecret }));
      out(`New client secret: ${rotated.clientSecret}\n(shown only now: store it safely)`);
      return undefined;
    });
}
