// Everything a user (a subject) holds, ended at once: every token family of theirs is revoked,
// found through the event store so nothing the read models miss survives. Used by
// POST /oauth/subjects/{sub}/revoke and `warrant user delete`.

import { families } from '../audit/history.js';
import type { Actor, WarrantContext } from './context.js';
import { revokeFamily } from './tokens.js';

/** Revokes every live token family of `subject`; answers how many were revoked. */
export async function revokeSubject(ctx: WarrantContext, subject: string, actor: Actor): Promise<number> {
  let revoked = 0;
  for (let after = 0; ; ) {
    const found = await families(ctx.store, { subject }, { after, limit: 200 }, ctx.clock());
    for (const family of found.families) {
      if (family.status === 'revoked') continue;
      await revokeFamily(ctx, family.family_id, 'subject_revoked', actor);
      revoked += 1;
    }
    if (found.next === null) return revoked;
    after = found.next;
  }
}
