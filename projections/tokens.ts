// tokens: token families, access tokens by jti and refresh-token hashes. Validation of an access
// token is one indexed lookup of access_tokens joined to its family and client.

import type { TokenIssued, TokenRefreshed, TokenRevoked } from '../src/events/types.js';
import type { RecordedEvent } from '../src/eventstore/port.js';
import { sql, type Projection, type SqlStatement } from './types.js';

export const tokensProjection: Projection = {
  name: 'tokens',
  tables: ['token_families', 'access_tokens', 'refresh_tokens'],
  eventTypes: ['TokenIssued', 'TokenRefreshed', 'TokenRevoked'],
  handle(event: RecordedEvent): SqlStatement[] {
    const at = event.metadata.occurredAt;
    switch (event.type) {
      case 'TokenIssued': {
        const d = event.data as TokenIssued;
        // One statement for the family, its access token and its refresh token (one round of
        // parse/bind/execute instead of three: this is the hottest event).
        return [
          sql(
            `WITH family AS (
               INSERT INTO token_families (family_id, client_id, subject, grant_type, scopes, audience, current_jti, grant_id, name,
                                           access_expires_at, refresh_expires_at, created_at, updated_at, revision)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)
               ON CONFLICT (family_id) DO NOTHING
             ), access AS (
               INSERT INTO access_tokens (jti, family_id, client_id, subject, scopes, audience, issued_at, expires_at)
               VALUES ($7, $1, $2, $3, $5, $6, $12, $10) ON CONFLICT (jti) DO NOTHING
             )
             INSERT INTO refresh_tokens (token_hash, family_id, client_id, current, issued_at, expires_at)
             SELECT $14, $1, $2, true, $12, $11 WHERE $14::text IS NOT NULL AND $11::timestamptz IS NOT NULL
             ON CONFLICT (token_hash) DO NOTHING`,
            d.familyId, d.clientId, d.subject, d.grantType, d.scopes, d.audience, d.jti, d.grantId, d.name,
            d.accessTokenExpiresAt, d.refreshTokenExpiresAt, at, event.revision, d.refreshTokenHash,
          ),
        ];
      }
      case 'TokenRefreshed': {
        const d = event.data as TokenRefreshed;
        return [
          // Revoked is terminal: a refresh never brings a family back.
          sql(
            `UPDATE token_families SET current_jti = $2, scopes = $3, access_expires_at = $4, refresh_expires_at = $5,
                    updated_at = $6, revision = $7
              WHERE family_id = $1 AND revision < $7 AND NOT revoked`,
            d.familyId, d.jti, d.scopes, d.accessTokenExpiresAt, d.refreshTokenExpiresAt, at, event.revision,
          ),
          sql(
            `INSERT INTO access_tokens (jti, family_id, client_id, subject, scopes, audience, issued_at, expires_at)
             SELECT $1, family_id, client_id, subject, $2, audience, $3, $4 FROM token_families WHERE family_id = $5
             ON CONFLICT (jti) DO NOTHING`,
            d.jti, d.scopes, at, d.accessTokenExpiresAt, d.familyId,
          ),
          // Every earlier refresh token of the family stops being current (after a grace-window
          // retry the presented token is not the latest one).
          sql(
            'UPDATE refresh_tokens SET current = false, rotated_at = $2 WHERE family_id = $1 AND current',
            d.familyId, at,
          ),
          sql(
            `INSERT INTO refresh_tokens (token_hash, family_id, client_id, current, issued_at, expires_at)
             VALUES ($1, $2, $3, true, $4, $5) ON CONFLICT (token_hash) DO NOTHING`,
            d.refreshTokenHash, d.familyId, d.clientId, at, d.refreshTokenExpiresAt,
          ),
        ];
      }
      case 'TokenRevoked': {
        const d = event.data as TokenRevoked;
        return [
          sql(
            `UPDATE token_families SET revoked = true, revoked_reason = $2, revoked_at = $3, updated_at = $3, revision = $4
              WHERE family_id = $1 AND revision < $4 AND NOT revoked`,
            d.familyId, d.reason, at, event.revision,
          ),
        ];
      }
      default:
        return [];
    }
  },
};
