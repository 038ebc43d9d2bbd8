// RFC 6749 §4.4: the client acting on its own behalf. No refresh token (§4.4.3).

import type { ClientRecord } from '../../readmodels/clients.js';
import type { Actor, WarrantContext } from '../context.js';
import { UnauthorizedClient } from '../errors.js';
import { issueTokens, type TokenResponse } from '../issue.js';
import { audienceFor, parseScope, requireGrant, requireScopes } from '../scopes.js';

export async function clientCredentials(
  ctx: WarrantContext,
  input: { client: ClientRecord; scope: string | undefined; resource: string | undefined; actor: Actor; dpopJkt?: string | undefined },
): Promise<TokenResponse> {
  const { client } = input;
  if (!client.confidential) throw new UnauthorizedClient('public clients cannot use client_credentials');
  requireGrant(client, 'client_credentials');
  // Omitted scope: everything the client is registered with (RFC 6749 §3.3 lets the server choose).
  const scopes = parseScope(input.scope) ?? client.scopes;
  requireScopes(client, scopes);
  const audience = audienceFor(ctx.config, client, input.resource);
  const { familyId: _familyId, ...response } = await issueTokens(ctx, {
    client, subject: client.clientId, grantType: 'client_credentials', scopes, audience, withRefresh: false, actor: input.actor, dpopJkt: input.dpopJkt,
  });
  return response;
}
