// Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3):
// client_secret_basic, client_secret_post, or none for public clients. One method per request;
// secrets compared in constant time; every failure is the same invalid_client (401).

import type { Params } from './params.js';
import type { ClientRecord } from '../readmodels/clients.js';
import type { WarrantContext } from './context.js';
import { InvalidClient, InvalidRequest } from './errors.js';
import { RateLimits } from './rate-limit.js';

export type AuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

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

/** `address` is the caller's network address: failures and requests are limited per client id and per address. */
export async function authenticateClient(ctx: WarrantContext, authorization: string | undefined, params: Params, address: string): Promise<AuthenticatedClient> {
  const bodyId = params.get('client_id');
  const bodySecret = params.get('client_secret');
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
