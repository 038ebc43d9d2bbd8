// Who a subject is, for OpenID Connect: the standard claims (OIDC Core §5.1) that userinfo hands
// out by scope (§5.4). The built-in user directory answers by default; a host app that signs its
// own users in (`authenticate`) gives `findAccount` for them.

import type pg from 'pg';
import { userClaims } from '../users/directory.js';

/** The standard claims of a subject, or undefined when there is no such account (any more). */
export type FindAccount = (subject: string) => Promise<Record<string, unknown> | undefined> | Record<string, unknown> | undefined;

/** The OIDC scopes Warrant knows, with the claims each releases (OIDC Core §5.4). */
export const OIDC_SCOPE_CLAIMS: Record<string, readonly string[]> = {
  openid: ['sub'],
  profile: ['name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at'],
  email: ['email', 'email_verified'],
};

export const OIDC_SCOPES: Record<string, string> = {
  openid: 'Know who you are (your account id)',
  profile: 'Your name and username',
  email: 'Your email address',
};

export const CLAIMS_SUPPORTED = ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'at_hash', 'sid', ...OIDC_SCOPE_CLAIMS['profile']!, ...OIDC_SCOPE_CLAIMS['email']!];

export function defaultFindAccount(pool: pg.Pool): FindAccount {
  return (subject) => userClaims(pool, subject);
}

/** `sub` and the claims the scopes release; nothing else of what findAccount returned. */
export function claimsForScopes(subject: string, claims: Record<string, unknown>, scopes: readonly string[]): Record<string, unknown> {
  const released = new Set(scopes.flatMap((scope) => (Object.hasOwn(OIDC_SCOPE_CLAIMS, scope) ? OIDC_SCOPE_CLAIMS[scope]! : [])));
  const out: Record<string, unknown> = { sub: subject };
  for (const [name, value] of Object.entries(claims)) {
    if (name !== 'sub' && released.has(name) && value !== undefined && value !== null) out[name] = value;
  }
  return out;
}
