// Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3):
// client_secret_basic, client_secret_post, private_key_jwt (RFC 7523 §2.2, ./client-assertion.ts),
// or none for public clients. One method per request, and the one the client registered for
// private_key_jwt (a signing client has no secret; a secret client cannot sign); secrets compared
// in constant time; every failure is the same invalid_client (401).

import type { Params } from './params.js';
import type { ClientRecord } from '../readmodels/clients.js';
import type { WarrantContext } from './context.js';
import { assertedClientId, CLIENT_ASSERTION_TYPE, verifyClientAssertion } from './client-assertion.js';
import { InvalidClient, InvalidRequest } from './errors.js';
import { RateLimits } from './rate-limit.js';

export type AuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none' | 'private_key_jwt';

export interface AuthenticatedClient {
  client: ClientRecord;
  method: AuthMethod;
  /** Rate-limit keys of this request ((client, address) and address). */
  limitKeys: string[];
}

function parseBasic(header: string): { id: string; secret: string } {
  const encoded = header.slice(6).trim();
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || colon < 0) throw new InvalidClient('malformed Basic credentials', { basic: true });
  try {
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
    return {
      id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
      secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
    };
  } catch {
    throw new InvalidClient('malformed Basic credentials', { basic: true });
  }
}

/**
 * `address` is the caller's network address: failures and requests are limited per client id and
 * per address. `endpoint` is the absolute URL of the endpoint called, which a client assertion
 * may name as its audience (besides the issuer and the token endpoint).
 */
export async function authenticateClient(ctx: WarrantContext, authorization: string | undefined, params: Params, address: string, endpoint?: string): Promise<AuthenticatedClient> {
  const bodyId = params.get('client_id');
  const bodySecret = params.get('client_secret');
  const assertionType = params.get('client_assertion_type');
  const assertion = params.get('client_assertion');
  if (assertionType !== undefined || assertion !== undefined) {
    if ((authorization && /^basic /i.test(authorization)) || bodySecret !== undefined) throw new InvalidRequest('use one client authentication method, not several');
    if (assertionType === undefined || assertion === undefined) throw new InvalidRequest('client_assertion and client_assertion_type go together');
    return byAssertion(ctx, { assertionType, assertion, bodyId, address, endpoint });
  }
  let id: string;
  let secret: string | undefined;
  let method: AuthMethod;

  if (authorization && /^basic /i.test(authorization)) {
    if (bodySecret !== undefined) throw new InvalidRequest('use one client authentication method, not several');
    try {
      ({ id, secret } = parseBasic(authorization));
    } catch (error) {
      await ctx.limits.failed([`address:${address}`]);
      throw error;
    }
    if (bodyId !== undefined && bodyId !== id) throw new InvalidRequest('client_id differs from the authenticated client');
    method = 'client_secret_basic';
  } else if (bodyId !== undefined) {
    id = bodyId;
    secret = bodySecret;
    method = secret === undefined ? 'none' : 'client_secret_post';
  } else {
    throw new InvalidClient('client authentication is required');
  }

  const basic = method === 'client_secret_basic';
  const limitKeys = RateLimits.clientKeys(id, address);
  // Over a limit: refused before any secret is compared, so the refusal reveals nothing.
  ctx.limits.admit(limitKeys);
  const client = await ctx.clients.find(id);
  if (!client || client.revoked) {
    // Spend the same time as a real comparison, so probing for client ids learns nothing.
    ctx.hasher.matches(secret ?? '', null);
    await ctx.limits.failed(limitKeys);
    throw new InvalidClient('client authentication failed', { basic, detail: client ? 'client revoked' : 'unknown client' });
  }
  if (client.tokenEndpointAuthMethod === 'private_key_jwt') {
    ctx.hasher.matches(secret ?? '', null);
    await ctx.limits.failed(limitKeys);
    throw new InvalidClient('client authentication failed', { basic, detail: 'the client is registered for private_key_jwt: it must send a client assertion' });
  }
  if (client.confidential) {
    if (secret === undefined || !ctx.hasher.matches(secret, client.secretHash)) {
      await ctx.limits.failed(limitKeys);
      throw new InvalidClient('client authentication failed', { basic, detail: 'wrong or missing secret' });
    }
  } else if (secret !== undefined) {
    await ctx.limits.failed(limitKeys);
    throw new InvalidClient('client authentication failed', { basic, detail: 'public client presented a secret' });
  }
  // Request volume per client counts only requests that proved to be that client.
  ctx.limits.countRequest(`client:${client.clientId}`);
  return { client, method, limitKeys };
}

/** RFC 7523 §2.2: client_assertion_type jwt-bearer and a client_assertion signed by the client. */
async function byAssertion(
  ctx: WarrantContext,
  request: { assertionType: string; assertion: string; bodyId: string | undefined; address: string; endpoint: string | undefined },
): Promise<AuthenticatedClient> {
  let id: string;
  try {
    if (request.assertionType !== CLIENT_ASSERTION_TYPE) throw new InvalidClient('client authentication failed', { detail: `unsupported client_assertion_type ${request.assertionType.slice(0, 100)}` });
    id = assertedClientId(request.assertion);
  } catch (error) {
    await ctx.limits.failed([`address:${request.address}`]);
    throw error;
  }
  const limitKeys = RateLimits.clientKeys(id, request.address);
  ctx.limits.admit(limitKeys);
  const refuse = async (detail: string): Promise<never> => {
    await ctx.limits.failed(limitKeys);
    throw new InvalidClient('client authentication failed', { detail });
  };
  // RFC 7521 §4.2: a client_id sent alongside must be the assertion's subject.
  if (request.bodyId !== undefined && request.bodyId !== id) return refuse('client_id differs from the client assertion\'s sub');
  const client = await ctx.clients.find(id);
  if (!client || client.revoked) return refuse(client ? 'client revoked' : 'unknown client');
  if (client.tokenEndpointAuthMethod !== 'private_key_jwt') return refuse(`the client is registered for ${client.tokenEndpointAuthMethod}, not private_key_jwt`);
  try {
    await verifyClientAssertion(ctx, client, request.assertion, request.endpoint);
  } catch (error) {
    if (error instanceof InvalidClient) await ctx.limits.failed(limitKeys);
    throw error;
  }
  ctx.limits.countRequest(`client:${client.clientId}`);
  return { client, method: 'private_key_jwt', limitKeys };
}
