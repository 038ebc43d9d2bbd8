// Dynamic client registration: POST /oauth/register (RFC 7591) with an initial access token
// (`warrant registration-token create`; anyone, when WARRANT_OPEN_REGISTRATION=true), and the
// client's own management at its registration_client_uri (RFC 7592): GET, PUT (which rotates the
// registration access token) and DELETE (which revokes the client and so all its tokens).
//
// The metadata is checked by the admin API's one schema (./clients.ts), and then held to what a
// client may give itself: grant types from WARRANT_REGISTRATION_GRANTS, never a `warrant:*` scope,
// never first party (which skips consent). Software statements are not supported and say so.

import type Router from '@koa/router';
import type { Context } from 'koa';
import { checkNewClient, registerClient, revokeClient, updateClient } from '../oauth/clients.js';
import type { WarrantContext } from '../oauth/context.js';
import { BearerError, InvalidClientMetadata, OAuthError } from '../oauth/errors.js';
import { checkRegistrationAccessToken, issueRegistrationAccessToken, useInitialAccessToken } from '../oauth/registration.js';
import { isUuid } from '../oauth/text.js';
import { clientView, type ClientRecord } from '../readmodels/clients.js';
import { changesFrom, newClientFrom, parseClientChanges, parseClientMetadata, type Metadata } from './clients.js';
import { readJson } from './json.js';
import { actorOf, type RequestState } from './request-id.js';
import { randomUUID } from 'node:crypto';

/** RFC 7591 §3.2.2 */
class InvalidSoftwareStatement extends OAuthError {
  constructor() {
    super(400, 'invalid_software_statement', 'software statements are not supported: register without software_statement');
  }
}

/** Fields RFC 7592 §2.2 has the client send back in a PUT that are not metadata it may change. */
const ECHOED = ['client_id', 'client_secret', 'registration_access_token', 'registration_client_uri', 'client_id_issued_at', 'client_secret_expires_at'];

/** Loopback, private, link-local and unspecified address literals (RFC 1918, RFC 3927, RFC 4193). */
function internalHost(uri: string): boolean {
  let host: string;
  try {
    host = new URL(uri).hostname.toLowerCase();
  } catch {
    return false;
  }
  return /^(localhost|.*\.localhost|0\.0\.0\.0|127\.\d+\.\d+\.\d+|10\.\d+\.\d+\.\d+|192\.168\.\d+\.\d+|169\.254\.\d+\.\d+|172\.(1[6-9]|2\d|3[01])\.\d+\.\d+)$/.test(host) || /^\[(::1?|f[cd][0-9a-f]*:.*|fe80:.*|::ffff:.*)\]$/.test(host);
}

function bearer(koa: Context): string | undefined {
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(koa.get('authorization'));
  return match?.[1];
}

export function registrationEndpoints(router: Router<RequestState>, ctx: WarrantContext): void {
  const realm = ctx.config.issuer;
  const uriOf = (clientId: string) => `${ctx.config.issuer}/oauth/register/${clientId}`;

  /** What a client may give itself, beyond what the schema and the client rules check. */
  const selfServe = (body: Metadata, current?: ClientRecord) => {
    const grants = body.grant_types ?? current?.grantTypes ?? [];
    const refused = grants.filter((grant) => !ctx.config.registrationGrants.includes(grant));
    if (refused.length > 0) throw new InvalidClientMetadata(`grant_types ${refused.join(' ')} cannot be self-registered (allowed: ${ctx.config.registrationGrants.join(' ')})`);
    if ((body.scope ?? '').split(' ').some((scope) => scope.startsWith('warrant:'))) throw new InvalidClientMetadata('warrant:* scopes cannot be self-registered');
    if (body.first_party) throw new InvalidClientMetadata('first_party cannot be self-registered: an operator marks first-party clients');
    // The server fetches jwks_uri: a self-registered one may not point it at itself or its network.
    if (typeof body.jwks_uri === 'string' && internalHost(body.jwks_uri)) throw new InvalidClientMetadata('jwks_uri of a self-registered client must be a public https address');
  };

  const readBody = async (koa: Context): Promise<Record<string, unknown>> => {
    const body = await readJson(koa, ctx.config.bodyLimit);
    if (body && typeof body === 'object' && !Array.isArray(body) && 'software_statement' in body) throw new InvalidSoftwareStatement();
    return body as Record<string, unknown>;
  };

  const answer = (koa: Context, status: number, client: ClientRecord, extra: Record<string, unknown>) => {
    koa.status = status;
    koa.set('Cache-Control', 'no-store');
    koa.set('Pragma', 'no-cache');
    koa.body = { ...clientView(client), registration_client_uri: uriOf(client.clientId), client_id_issued_at: Math.floor(Date.parse(client.createdAt) / 1000), ...extra };
  };

  router.post('/oauth/register', async (koa) => {
    const token = bearer(koa);
    if (!token && !ctx.config.openRegistration) {
      throw new BearerError(401, null, 'an initial access token is required to register', { realm });
    }
    const raw = await readBody(koa);
    // RFC 7591 §2: grant_types defaults to authorization_code.
    const body = parseClientMetadata({ grant_types: ['authorization_code'], ...raw });
    selfServe(body);
    const input = { ...newClientFrom(body), firstParty: false };
    checkNewClient(ctx, input);
    const clientId = randomUUID();
    const actor = actorOf(koa, token ? 'registration' : 'anonymous');
    if (token && !(await useInitialAccessToken(ctx, token, clientId, actor))) {
      throw new BearerError(401, 'invalid_token', 'the initial access token is invalid, expired or used up', { realm });
    }
    const { client, clientSecret } = await registerClient(ctx, input, { ...actor, actor: `client:${clientId}` }, { clientId });
    const registrationToken = await issueRegistrationAccessToken(ctx, clientId, { ...actor, actor: `client:${clientId}` });
    answer(koa, 201, client, { ...(clientSecret ? { client_secret: clientSecret, client_secret_expires_at: 0 } : {}), registration_access_token: registrationToken });
  });

  /** The client this request manages, by its registration access token (401 otherwise, RFC 7592 §3). */
  const managed = async (koa: Context & { params: Record<string, string> }): Promise<ClientRecord> => {
    const clientId = koa.params['id'] ?? '';
    const token = bearer(koa);
    if (!token) throw new BearerError(401, null, 'the registration access token is required', { realm });
    const client = isUuid(clientId) ? await ctx.read.clients.find(clientId) : undefined;
    const valid = await checkRegistrationAccessToken(ctx, token, clientId);
    if (!valid || !client || client.revoked) throw new BearerError(401, 'invalid_token', 'the registration access token is invalid, or the client is gone', { realm });
    return client;
  };

  router.get('/oauth/register/:id', async (koa) => {
    answer(koa, 200, await managed(koa), {});
  });

  router.put('/oauth/register/:id', async (koa) => {
    const client = await managed(koa);
    const raw = await readBody(koa);
    if (raw['client_id'] !== client.clientId) throw new OAuthError(400, 'invalid_request', 'the body must carry this client\'s client_id (RFC 7592 §2.2)');
    const metadata = Object.fromEntries(Object.entries(raw).filter(([key]) => !ECHOED.includes(key)));
    const body = parseClientChanges(metadata);
    selfServe(body, client);
    const actor = actorOf(koa, `client:${client.clientId}`);
    const updated = Object.keys(body).length > 0 ? await updateClient(ctx, client.clientId, changesFrom(body), actor) : client;
    // Every PUT rotates the registration access token: the old one answers 401 from now on.
    const registrationToken = await issueRegistrationAccessToken(ctx, client.clientId, actor);
    answer(koa, 200, updated, { registration_access_token: registrationToken });
  });

  router.delete('/oauth/register/:id', async (koa) => {
    const client = await managed(koa);
    await revokeClient(ctx, client.clientId, actorOf(koa, `client:${client.clientId}`));
    koa.status = 204;
  });
}
