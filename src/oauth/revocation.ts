// Revoking: a whole token family at once (RFC 7009 §2.1: revoking either token of a grant revokes
// the grant), waiting until the tokens read model shows it — after the answer, every validation
// in every process rejects the token (DESIGN §5).

import { familyDecider } from '../domain/token-family.js';
import type { RevocationReason } from '../events/types.js';
import type { ClientRecord } from '../readmodels/clients.js';
import { handle } from './aggregate.js';
import type { Actor, WarrantContext } from './context.js';
import { InvalidRequest } from './errors.js';
import { familyStream } from './issue.js';
import { lookupToken } from './token-lookup.js';

export async function revokeFamily(ctx: WarrantContext, familyId: string, reason: Exclude<RevocationReason, 'refresh_token_reuse'>, actor: Actor): Promise<void> {
  // A concurrent refresh moves the family on: decide again on the new state. Every retry follows
  // another writer's success, so a burst ends; a revocation must not give up early.
  const { appended } = await handle(ctx, familyStream(familyId), familyDecider, { type: 'Revoke', familyId, reason }, { actor, retries: 50 });
  if (appended) ctx.metrics.revocations.inc({ reason });
}

/** RFC 7009 §2.1: revoke a token the client holds. Unknown or invalid tokens are not an error. */
export async function revokeToken(ctx: WarrantContext, input: { client: ClientRecord; token: string; hint: string | undefined; actor: Actor }): Promise<void> {
  const found = await lookupToken(ctx, input.token, input.hint);
  if (!found) return;
  if (found.clientId !== input.client.clientId) throw new InvalidRequest('the token was not issued to this client');
  await revokeFamily(ctx, found.familyId, 'revoked_by_client', input.actor);
}
