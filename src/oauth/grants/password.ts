// RFC 6749 §4.3, the resource owner's password (legacy, RFC 9700 §2.4 discourages it): off
// unless WARRANT_PASSWORD_GRANT=true, for clients allowed it, against the built-in user directory.

import type { ClientRecord } from '../../readmodels/clients.js';
import { checkLogin } from '../../users/directory.js';
import type { Actor, WarrantContext } from '../context.js';
import { InvalidGrant } from '../errors.js';
import { issueTokens, type TokenResponse } from '../issue.js';
import { parseScope, privilegedScopes, refusePrivileged, requireGrant, requireScopes } from '../scopes.js';

export async function passwordGrant(
  ctx: WarrantContext,
  input: { client: ClientRecord; username: string | undefined; password: string | undefined; scope: string | undefined; actor: Actor; address: string; dpopJkt?: string | undefined },
): Promise<TokenResponse> {
  const { client } = input;
  requireGrant(client, 'password');
  // Omitted scope: the client's scopes a user may hold (never warrant:*; asking for one is refused).
  const scopes = parseScope(input.scope) ?? client.scopes.filter((scope) => privilegedScopes([scope]).length === 0);
  requireScopes(client, scopes);
  refusePrivileged(ctx.config, scopes, { grantType: 'password', subject: '' }); // before any password is checked
  // Guessing passwords is limited as at the login form (src/oauth/rate-limit.ts).
  const failed = await ctx.limits.signInAttempt(input.username ?? '', input.address);
  const user = await checkLogin(ctx.pool, input.username ?? '', input.password ?? '');
  if (!user) {
    await failed();
    throw new InvalidGrant('wrong username or password');
  }
  const { familyId: _f, ...response } = await issueTokens(ctx, {
    client, subject: user.userId, grantType: 'password', scopes, audience: [ctx.config.audience],
    withRefresh: client.grantTypes.includes('refresh_token'), actor: { ...input.actor, actor: user.userId }, dpopJkt: input.dpopJkt,
  });
  return response;
}
