// What a client is held to, from its own metadata, its security profile and the server's settings.
// The FAPI 2.0 Security Profile (https://openid.net/specs/fapi-security-profile-2_0-final.html)
// as `profile: "fapi2"`: pushed requests (§5.3.2.2 item 3), PKCE S256 (item 4), sender-constrained
// tokens by DPoP (§5.3.2.1 item 1), private_key_jwt (§5.3.2.1 item 4, no mTLS here), `iss` in the
// authorization response (§5.3.2.2 item 8; Warrant always sends it) and short-lived access tokens.
// Not covered: mTLS client authentication and mTLS-bound tokens (Warrant terminates no TLS).

import type { Config } from '../config.js';
import type { ClientProfile } from '../events/types.js';
import type { ClientRecord } from '../readmodels/clients.js';

/** FAPI 2.0 access tokens live at most this long (seconds). */
export const FAPI2_MAX_ACCESS_TOKEN_TTL = 600;

type Held = Pick<ClientRecord, 'profile' | 'dpopBoundAccessTokens' | 'requirePushedAuthorizationRequests'>;

export function requiresPar(config: Pick<Config, 'requirePar'>, client: Held): boolean {
  return config.requirePar || client.requirePushedAuthorizationRequests || client.profile === 'fapi2';
}

export function requiresDpop(client: Held): boolean {
  return client.dpopBoundAccessTokens || client.profile === 'fapi2';
}

export function requiresPkce(client: Held & Pick<ClientRecord, 'confidential'>): boolean {
  return !client.confidential || client.profile === 'fapi2';
}

/** Why metadata cannot go with a profile (RFC 7591 invalid_client_metadata), or undefined. */
export function profileProblem(metadata: { profile?: ClientProfile | null; tokenEndpointAuthMethod?: string; accessTokenTtl?: number | null; confidential?: boolean }): string | undefined {
  if (metadata.profile !== 'fapi2') return undefined;
  if (metadata.tokenEndpointAuthMethod !== 'private_key_jwt') return 'warrant_profile fapi2 needs token_endpoint_auth_method private_key_jwt (FAPI 2.0 §5.3.2.1; mTLS is not offered)';
  if (metadata.accessTokenTtl !== undefined && metadata.accessTokenTtl !== null && metadata.accessTokenTtl > FAPI2_MAX_ACCESS_TOKEN_TTL) return `warrant_profile fapi2 allows access tokens of at most ${FAPI2_MAX_ACCESS_TOKEN_TTL} seconds`;
  return undefined;
}
