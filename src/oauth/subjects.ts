// Everything a user (a subject) holds, ended at once: every token family of theirs is revoked
// (found through the event store, so nothing the read models miss survives), every sign-in
// session ended and every remembered consent forgotten — so a stolen cookie can neither mint new
// tokens nor authorize silently. Used by POST /oauth/subjects/{sub}/revoke and `warrant user delete`.

import { families } from '../audit/history.js';
import type { Actor, WarrantContext } from './context.js';
import { revokeConsents } from './consents.js';
import { endSubjectSessions } from './sessions.js';
import { revokeFamily } from './revocation.js';

export interface SubjectRevoked {
  /** Token families revoked. */
  revoked: number;
  sessionsEnded: number;
  consentsForgotten: number;
}

export async function revokeSubject(ctx: WarrantContext, subject: string, actor: Actor): Promise<SubjectRevoked> {
  // Sessions first: from here on no cookie of theirs can start a new grant while tokens are revoked.
  const sessionsEnded = await endSubjectSessions(ctx, subject, 'subject_revoked', actor);
  const consentsForgotten = await revokeConsents(ctx, subject, 'subject_revoked', actor);
  let revoked = 0;
  for (let after = 0; ; ) {
    const found = await families(ctx.store, { subject }, { after, limit: 200 }, ctx.clock());
    for (const family of found.families) {
      if (family.status === 'revoked') continue;
      await revokeFamily(ctx, family.family_id, 'subject_revoked', actor);
      revoked += 1;
    }
    if (found.next === null) return { revoked, sessionsEnded, consentsForgotten };
    after = found.next;
  }
}
