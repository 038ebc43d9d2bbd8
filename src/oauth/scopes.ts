// Scope rules every grant shares. Privileged scopes (`warrant:*`, the admin and audit APIs) are for
// a client acting for itself (client_credentials): a user-facing grant never carries them, even
// when an operator lists them in WARRANT_SCOPES, so no signed-in user can mint an admin token.
// The one door for people is explicit: personal access tokens of the subjects an operator names
// in WARRANT_ADMIN_SUBJECTS, so the audit log names the person who acted.

import type { Config } from '../config.js';
import type { GrantType } from '../events/types.js';
import { InvalidScope } from './errors.js';

const PRIVILEGED = /^warrant:/;

/** The privileged scopes Warrant itself defines, with what they allow. */
export const BUILT_IN_SCOPES: Record<string, string> = {
  'warrant:admin': 'Manage Warrant clients',
  'warrant:audit': 'Read token and client history',
};

/** Grants through which a person (not the client itself) obtains tokens. */
export const USER_GRANTS: readonly GrantType[] = ['authorization_code', 'password', 'urn:ietf:params:oauth:grant-type:device_code', 'personal_access'];

export function privilegedScopes(scopes: readonly string[]): string[] {
  return scopes.filter((scope) => PRIVILEGED.test(scope));
}

/** May a token of this grant, for this subject, carry privileged scopes? */
export function mayHoldPrivileged(config: Pick<Config, 'adminSubjects'>, grant: { grantType: string; subject: string }): boolean {
  if (grant.grantType === 'client_credentials') return true;
  return grant.grantType === 'personal_access' && config.adminSubjects.includes(grant.subject);
}

/** Throws invalid_scope when `scopes` holds a privileged scope this grant may not carry. */
export function refusePrivileged(config: Pick<Config, 'adminSubjects'>, scopes: readonly string[], grant: { grantType: string; subject: string }): void {
  const privileged = privilegedScopes(scopes);
  if (privileged.length === 0 || mayHoldPrivileged(config, grant)) return;
  throw new InvalidScope(`${privileged.join(' ')} ${privileged.length === 1 ? 'is' : 'are'} only for a client acting for itself (client_credentials)`, `grant ${grant.grantType}, subject ${grant.subject}`);
}
