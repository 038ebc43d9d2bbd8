// clients: one row per registered client, as the token endpoint and client authentication read it.

import type { ClientChanges, ClientRegistered, ClientRevoked, ClientSecretRotated, ClientUpdated } from '../src/events/types.js';
import type { RecordedEvent } from '../src/eventstore/port.js';
import { sql, type Projection, type SqlStatement } from './types.js';

const updatable: Record<keyof ClientChanges, string> = {
  name: 'name',
  grantTypes: 'grant_types',
  scopes: 'scopes',
  redirectUris: 'redirect_uris',
  resources: 'resources',
  firstParty: 'first_party',
  accessTokenTtl: 'access_token_ttl',
  refreshTokenTtl: 'refresh_token_ttl',
  jwks: 'jwks',
  jwksUri: 'jwks_uri',
  postLogoutRedirectUris: 'post_logout_redirect_uris',
  dpopBoundAccessTokens: 'dpop_bound_access_tokens',
  requirePushedAuthorizationRequests: 'require_pushed_authorization_requests',
  profile: 'profile',
};

export const clientsProjection: Projection = {
  name: 'clients',
  tables: ['clients'],
  eventTypes: ['ClientRegistered', 'ClientUpdated', 'ClientSecretRotated', 'ClientRevoked'],
  handle(event: RecordedEvent): SqlStatement[] {
    const at = event.metadata.occurredAt;
    switch (event.type) {
      case 'ClientRegistered': {
        const d = event.data as ClientRegistered;
        return [
          sql(
            `INSERT INTO clients (client_id, name, confidential, secret_hash, grant_types, scopes, redirect_uris, first_party,
                                  access_token_ttl, refresh_token_ttl, created_at, updated_at, revision, resources,
                                  token_endpoint_auth_method, jwks, jwks_uri, post_logout_redirect_uris,
                                  dpop_bound_access_tokens, require_pushed_authorization_requests, profile)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
             ON CONFLICT (client_id) DO NOTHING`,
            d.clientId, d.name, d.confidential, d.secretHash, d.grantTypes, d.scopes, d.redirectUris, d.firstParty,
            d.accessTokenTtl, d.refreshTokenTtl, at, event.revision, d.resources ?? [],
            d.tokenEndpointAuthMethod ?? null, d.jwks ? JSON.stringify(d.jwks) : null, d.jwksUri ?? null, d.postLogoutRedirectUris ?? [],
            d.dpopBoundAccessTokens ?? false, d.requirePushedAuthorizationRequests ?? false, d.profile ?? null,
          ),
        ];
      }
      case 'ClientUpdated': {
        const d = event.data as ClientUpdated;
        const keys = (Object.keys(d.changes) as (keyof ClientChanges)[]).filter((key) => key in updatable);
        if (keys.length === 0) return [];
        const sets = keys.map((key, i) => `${updatable[key]} = $${i + 4}`);
        return [
          sql(
            `UPDATE clients SET ${sets.join(', ')}, updated_at = $2, revision = $3
              WHERE client_id = $1 AND revision < $3 AND NOT revoked`,
            // jsonb takes JSON text: node-postgres would send a JS object as it is.
            d.clientId, at, event.revision, ...keys.map((key) => (key === 'jwks' && d.changes.jwks ? JSON.stringify(d.changes.jwks) : d.changes[key])),
          ),
        ];
      }
      case 'ClientSecretRotated': {
        const d = event.data as ClientSecretRotated;
        return [
          sql(
            'UPDATE clients SET secret_hash = $2, updated_at = $3, revision = $4 WHERE client_id = $1 AND revision < $4 AND NOT revoked',
            d.clientId, d.secretHash, at, event.revision,
          ),
        ];
      }
      case 'ClientRevoked': {
        const d = event.data as ClientRevoked;
        return [
          sql(
            'UPDATE clients SET revoked = true, revoked_at = $2, updated_at = $2, revision = $3 WHERE client_id = $1 AND revision < $3',
            d.clientId, at, event.revision,
          ),
        ];
      }
      default:
        return [];
    }
  },
};
