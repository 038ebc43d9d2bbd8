// The client admin API under /oauth/clients (bearer tokens with scope warrant:admin). Field names
// follow RFC 7591 client metadata (client_name, grant_types, scope, redirect_uris,
// token_endpoint_auth_method); a secret is returned only when created or rotated.

import type Router from '@koa/router';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { CLIENT_AUTH_METHODS, CLIENT_PROFILES, GRANT_TYPES, type ClientChanges, type ClientProfile, type PublicJwks } from '../events/types.js';
import { isUuid } from '../oauth/text.js';
import { clientView } from '../readmodels/clients.js';
import { registerClient, revokeClient, rotateClientSecret, updateClient, type NewClient } from '../oauth/clients.js';
import type { WarrantContext } from '../oauth/context.js';
import { InvalidClientMetadata, InvalidRedirectUri, InvalidRequest, NotFound } from '../oauth/errors.js';
import type { Policy } from '../policy/policy.js';
import { readJson } from './json.js';
import { requirePrivileged } from './privileged.js';
import { adminActorOf, type RequestState } from './request-id.js';

const addFormats = addFormatsModule as unknown as { default: (ajv: Ajv) => Ajv };
const ajv = new Ajv({ strict: true, allowUnionTypes: true });
addFormats.default(ajv);

const metadata = {
  client_name: { type: 'string', minLength: 1, maxLength: 200 },
  grant_types: { type: 'array', items: { type: 'string', enum: [...GRANT_TYPES] }, minItems: 1, uniqueItems: true },
  scope: { type: 'string', maxLength: 4000 },
  // Their rules depend on the client type, so src/oauth/redirect-uris.ts checks them, for the CLI too.
  redirect_uris: {
    type: 'array',
    description: 'https: URIs; http: only on loopback (RFC 8252 §7.3); for public clients also a reverse-domain private-use scheme such as com.example.app:/cb (RFC 8252 §7.1); no fragment, no userinfo',
    items: { type: 'string', maxLength: 2000 },
    maxItems: 50,
    uniqueItems: true,
  },
  // OIDC RP-initiated logout 1.0 §3.1: the same rules as redirect URIs.
  post_logout_redirect_uris: { type: 'array', items: { type: 'string', maxLength: 2000 }, maxItems: 50, uniqueItems: true },
  // private_key_jwt (RFC 7523): the client's public keys, inline or by URL (one of them).
  jwks: { type: ['object', 'null'], description: 'a JWK Set of public keys: {"keys":[…]}' },
  jwks_uri: { type: ['string', 'null'], format: 'uri', maxLength: 2000 },
  // RFC 9449 §5.2 and RFC 9126 §6.
  dpop_bound_access_tokens: { type: 'boolean' },
  require_pushed_authorization_requests: { type: 'boolean' },
  // Warrant's own: a security profile the client is held to (src/oauth/profiles.ts).
  warrant_profile: { type: ['string', 'null'], enum: [...CLIENT_PROFILES, null] },
  // RFC 8707 resources (token audiences) the client may ask for besides the server's default.
  resources: { type: 'array', items: { type: 'string', format: 'uri', pattern: '^[^#]*$', maxLength: 2000 }, maxItems: 50, uniqueItems: true },
  first_party: { type: 'boolean' },
  access_token_ttl: { type: ['integer', 'null'], minimum: 1, maximum: 604800 },
  refresh_token_ttl: { type: ['integer', 'null'], minimum: 60, maximum: 315360000 },
} as const;

export const createClientSchema = {
  type: 'object',
  required: ['client_name', 'grant_types'],
  additionalProperties: false,
  properties: {
    ...metadata,
    token_endpoint_auth_method: { type: 'string', enum: [...CLIENT_AUTH_METHODS] },
    // RFC 7591 §2: only the authorization code flow exists here.
    response_types: { type: 'array', items: { type: 'string', enum: ['code'] }, maxItems: 1 },
  },
} as const;

export const updateClientSchema = { type: 'object', additionalProperties: false, minProperties: 1, properties: metadata } as const;

const validateCreate = ajv.compile(createClientSchema);
const validateUpdate = ajv.compile(updateClientSchema);

function valid<T>(validate: ReturnType<typeof ajv.compile>, body: unknown): T {
  if (validate(body)) return body as T;
  const [error] = validate.errors ?? [];
  const field = error?.keyword === 'required' ? String(error.params['missingProperty']) : error?.keyword === 'additionalProperties' ? String(error.params['additionalProperty']) : (error?.instancePath ?? '').slice(1) || 'body';
  const description = `invalid client metadata: ${JSON.stringify(field.slice(0, 40))} ${error?.keyword === 'additionalProperties' ? 'is not a known field' : (error?.message ?? 'is invalid')}`;
  // RFC 7591 §3.2.2 names the metadata errors; a body that is not a metadata object at all is malformed.
  if (error?.instancePath === '' && error.keyword !== 'required' && error.keyword !== 'additionalProperties') throw new InvalidRequest(description);
  if (field.startsWith('redirect_uris') || field.startsWith('post_logout_redirect_uris')) throw new InvalidRedirectUri(description);
  throw new InvalidClientMetadata(description);
}

function scopes(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : [...new Set(value.split(' ').filter((s) => s !== ''))];
}

export interface Metadata {
  client_name?: string;
  grant_types?: ClientChanges['grantTypes'];
  scope?: string;
  redirect_uris?: string[];
  resources?: string[];
  first_party?: boolean;
  access_token_ttl?: number | null;
  refresh_token_ttl?: number | null;
  token_endpoint_auth_method?: (typeof CLIENT_AUTH_METHODS)[number];
  response_types?: string[];
  post_logout_redirect_uris?: string[];
  jwks?: PublicJwks | null;
  jwks_uri?: string | null;
  dpop_bound_access_tokens?: boolean;
  require_pushed_authorization_requests?: boolean;
  warrant_profile?: ClientProfile | null;
}

/** RFC 7591 client metadata for a new client, checked by the one schema (admin API and registration). */
export function parseClientMetadata(body: unknown): Metadata {
  return valid<Metadata>(validateCreate, body);
}

/** Metadata changes (PATCH here, PUT at RFC 7592 management), checked by the one schema. */
export function parseClientChanges(body: unknown): Metadata {
  return valid<Metadata>(validateUpdate, body);
}

export function newClientFrom(body: Metadata): NewClient {
  return {
    name: body.client_name!,
    grantTypes: body.grant_types!,
    scopes: scopes(body.scope) ?? [],
    redirectUris: body.redirect_uris ?? [],
    resources: body.resources ?? [],
    tokenEndpointAuthMethod: body.token_endpoint_auth_method ?? 'client_secret_basic',
    firstParty: body.first_party ?? false,
    accessTokenTtl: body.access_token_ttl ?? null,
    refreshTokenTtl: body.refresh_token_ttl ?? null,
    postLogoutRedirectUris: body.post_logout_redirect_uris ?? [],
    jwks: body.jwks ?? null,
    jwksUri: body.jwks_uri ?? null,
    dpopBoundAccessTokens: body.dpop_bound_access_tokens ?? false,
    requirePushedAuthorizationRequests: body.require_pushed_authorization_requests ?? false,
    profile: body.warrant_profile ?? null,
  };
}

export function changesFrom(body: Metadata): ClientChanges {
  const changes: ClientChanges = {};
  if (body.client_name !== undefined) changes.name = body.client_name;
  if (body.grant_types !== undefined) changes.grantTypes = body.grant_types;
  if (body.scope !== undefined) changes.scopes = scopes(body.scope)!;
  if (body.redirect_uris !== undefined) changes.redirectUris = body.redirect_uris;
  if (body.resources !== undefined) changes.resources = body.resources;
  if (body.first_party !== undefined) changes.firstParty = body.first_party;
  if (body.access_token_ttl !== undefined) changes.accessTokenTtl = body.access_token_ttl;
  if (body.refresh_token_ttl !== undefined) changes.refreshTokenTtl = body.refresh_token_ttl;
  if (body.post_logout_redirect_uris !== undefined) changes.postLogoutRedirectUris = body.post_logout_redirect_uris;
  if (body.jwks !== undefined) changes.jwks = body.jwks;
  if (body.jwks_uri !== undefined) changes.jwksUri = body.jwks_uri;
  if (body.dpop_bound_access_tokens !== undefined) changes.dpopBoundAccessTokens = body.dpop_bound_access_tokens;
  if (body.require_pushed_authorization_requests !== undefined) changes.requirePushedAuthorizationRequests = body.require_pushed_authorization_requests;
  if (body.warrant_profile !== undefined) changes.profile = body.warrant_profile;
  return changes;
}

export function clientsApi(router: Router<RequestState>, ctx: WarrantContext, policy: Policy): void {
  const admin = requirePrivileged(policy, ctx.config, 'warrant:admin');
  const idOf = (id: string) => {
    if (!isUuid(id)) throw new NotFound('no such client');
    return id;
  };

  router.post('/oauth/clients', admin, async (koa) => {
    const body = parseClientMetadata(await readJson(koa, ctx.config.bodyLimit));
    const { client, clientSecret } = await registerClient(ctx, newClientFrom(body), adminActorOf(koa));
    koa.status = 201;
    koa.set('Cache-Control', 'no-store');
    koa.body = { ...clientView(client), ...(clientSecret ? { client_secret: clientSecret } : {}) };
  });

  router.get('/oauth/clients', admin, async (koa) => {
    const limit = Number(koa.query['limit'] ?? 50);
    const after = typeof koa.query['after'] === 'string' ? koa.query['after'] : undefined;
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new InvalidRequest('limit must be an integer from 1 to 200');
    if (after !== undefined && !isUuid(after)) throw new InvalidRequest('after must be a client id');
    const clients = await ctx.read.clients.list({ limit, ...(after ? { after } : {}), includeRevoked: koa.query['revoked'] === 'true' });
    koa.body = { clients: clients.map(clientView), next: clients.length === limit ? clients.at(-1)!.clientId : null };
  });

  router.get('/oauth/clients/:id', admin, async (koa) => {
    const client = await ctx.read.clients.find(idOf(koa.params['id']!));
    if (!client) throw new NotFound('no such client');
    koa.body = clientView(client);
  });

  router.patch('/oauth/clients/:id', admin, async (koa) => {
    const id = idOf(koa.params['id']!);
    const changes = changesFrom(parseClientChanges(await readJson(koa, ctx.config.bodyLimit)));
    koa.body = clientView(await updateClient(ctx, id, changes, adminActorOf(koa)));
  });

  router.post('/oauth/clients/:id/secret', admin, async (koa) => {
    const { client, clientSecret } = await rotateClientSecret(ctx, idOf(koa.params['id']!), adminActorOf(koa));
    koa.set('Cache-Control', 'no-store');
    koa.body = { client_id: client.clientId, client_secret: clientSecret };
  });

  router.delete('/oauth/clients/:id', admin, async (koa) => {
    koa.body = clientView(await revokeClient(ctx, idOf(koa.params['id']!), adminActorOf(koa)));
  });
}
