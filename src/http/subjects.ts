// POST /oauth/subjects/{sub}/revoke (scope warrant:admin): end everything a user holds, at once —
// tokens, sign-in sessions and remembered consents.

import type Router from '@koa/router';
import type { WarrantContext } from '../oauth/context.js';
import { revokeSubject } from '../oauth/subjects.js';
import type { Policy } from '../policy/policy.js';
import { subjectParam } from './audit.js';
import { requirePrivileged } from './privileged.js';
import { adminActorOf, type RequestState } from './request-id.js';

export function subjectsApi(router: Router<RequestState>, ctx: WarrantContext, policy: Policy): void {
  router.post('/oauth/subjects/:sub/revoke', requirePrivileged(policy, ctx.config, 'warrant:admin'), async (koa) => {
    const subject = subjectParam(koa);
    const done = await revokeSubject(ctx, subject, adminActorOf(koa));
    koa.body = { subject, revoked: done.revoked, sessions_ended: done.sessionsEnded, consents_forgotten: done.consentsForgotten };
  });
}
