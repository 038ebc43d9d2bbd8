// RFC 7662 introspection, served from the read models (one indexed lookup). A DPoP-bound access
// token shows its key (RFC 9449 §6.2: cnf.jkt) and token_type DPoP.

import type { WarrantContext } from './context.js';
import { lookupToken } from './token-lookup.js';

/**
 * §2.2. Anything not active is only {"active": false}. A refresh token is described only to the
 * client it was issued to (§4: the server decides what a caller may learn): no resource server
 * needs it, and otherwise a thief could check a stolen one without rotating it.
 */
export async function introspect(ctx: WarrantContext, input: { token: string; hint: string | undefined; callerId: string }): Promise<Record<string, unknown>> {
  const found = await lookupToken(ctx, input.token, input.hint);
  if (!found || !found.active) return { active: false };
  if (found.type === 'refresh_token' && found.clientId !== input.callerId) return { active: false };
  const iat = Math.floor(found.issuedAt.getTime() / 1000);
  return {
    active: true,
    scope: found.scopes.join(' '),
    client_id: found.clientId,
    sub: found.subject,
    exp: Math.floor(found.expiresAt.getTime() / 1000),
    iat,
    nbf: iat,
    ...(found.jti ? { jti: found.jti } : {}),
    aud: found.audience.length === 1 ? found.audience[0] : found.audience,
    iss: ctx.config.issuer,
    ...(found.jkt ? { cnf: { jkt: found.jkt } } : {}),
    token_type: found.type === 'refresh_token' ? 'refresh_token' : found.jkt ? 'DPoP' : 'Bearer',
  };
}
