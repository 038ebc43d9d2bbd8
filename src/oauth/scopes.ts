// The rules every grant shares: is the client allowed this grant, these scopes, this audience —
// and who may hold privileged scopes.
//
// Privileged scopes (`warrant:*`, the admin and audit APIs) are for a client acting for itself
// (client_credentials): a user-facing grant never carries them, even when an operator lists them
// in WARRANT_SCOPES, so no signed-in user can mint an admin token. The one door for people is
// explicit: personal access tokens of the subjects an operator names in WARRANT_ADMIN_SUBJECTS,
// so the audit log names the person who acted.

import type { Config } from '../config.js';
import type { GrantType } from '../events/types.js';
import type { ClientRecord } from '../readmodels/clients.js';
import { InvalidScope, InvalidTarget, UnauthorizedClient } from './errors.js';
import { hasControlCharacters } from './text.js';

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const PRIVILEGED = /^warrant:/;

/** The privileged scopes Warrant itself defines, with what they allow. */
export const BUILT_IN_SCOPES: Record<string, string> = {
  'warrant:admin': 'Manage Warrant clients',
  'warrant:audit': 'Read token and client history',
};

const GRANT_NAMES: Partial<Record<GrantType, string>> = { 'urn:ietf:params:oauth:grant-type:device_code': 'device_code' };

/** unauthorized_client unless the client is registered for the grant (RFC 6749 §5.2). */
export function requireGrant(client: ClientRecord, grant: GrantType): void {
  if (!client.grantTypes.includes(grant)) throw new UnauthorizedClient(`the client is not allowed the ${GRANT_NAMES[grant] ?? grant} grant`);
}

/** RFC 6749 §3.3: space-delimited, case-sensitive scope tokens; undefined when absent. */
export function parseScope(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const scopes = raw.split(' ').filter((s) => s !== '');
  if (scopes.some((s) => !SCOPE_TOKEN.test(s) || s.length > 128)) throw new InvalidScope('the scope parameter is malformed');
  return [...new Set(scopes)];
}

/** invalid_scope unless the client is registered for every scope asked for. */
export function requireScopes(client: ClientRecord, scopes: readonly string[]): void {
  const refused = scopes.filter((scope) => !client.scopes.includes(scope));
  if (refused.length > 0) throw new InvalidScope('the client is not allowed the requested scope', `refused: ${refused.join(' ')}`);
}

/** RFC 8707 §2: an absolute URI without a fragment; the token's audience. */
export function parseResource(raw: string | undefined, fallback: string): string[] {
  if (raw === undefined) return [fallback];
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidTarget('resource must be an absolute URI');
  }
  if (url.hash || raw.includes('#') || raw.length > 2000) throw new InvalidTarget('resource must not have a fragment');
  if (hasControlCharacters(raw)) throw new InvalidTarget('resource must not contain control characters');
  return [raw];
}

/**
 * The audience of a new grant: the server's default audience, or a resource the client was
 * registered for (RFC 8707 §2: invalid_target otherwise) — a client cannot mint tokens for an API
 * it was not meant to reach.
 */
export function audienceFor(config: Pick<Config, 'audience'>, client: ClientRecord, raw: string | undefined): string[] {
  const audience = parseResource(raw, config.audience);
  const [resource] = audience as [string];
  if (resource !== config.audience && !client.resources.includes(resource)) {
    throw new InvalidTarget('the client is not allowed tokens for this resource', `not in the client's resources: ${resource}`);
  }
  return audience;
}

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
