// The guard of the admin and audit APIs: the scope, and a token that may hold it — one a client
// obtained for itself (client_credentials), or a personal access token of an operator named in
// WARRANT_ADMIN_SUBJECTS. A user's token that carries warrant:* from before this rule, or from a
// misconfiguration, is refused here too (src/oauth/scopes.ts keeps new ones from being issued).

import type { Middleware } from 'koa';
import type { Config } from '../config.js';
import { BearerError } from '../oauth/errors.js';
import { mayHoldPrivileged } from '../oauth/scopes.js';
import type { AuthState, Policy } from '../policy/policy.js';

export function requirePrivileged(policy: Policy, config: Pick<Config, 'adminSubjects' | 'issuer'>, scope: 'warrant:admin' | 'warrant:audit'): Middleware {
  const scoped = policy.requireScopes(scope);
  return (ctx, next) =>
    scoped(ctx, async () => {
      const auth = ctx.state['auth'] as AuthState;
      if (!mayHoldPrivileged(config, auth)) {
        throw new BearerError(403, 'insufficient_scope', `${scope} is only for a client acting for itself (client_credentials)`, { realm: config.issuer, scope });
      }
      await next();
    });
}
