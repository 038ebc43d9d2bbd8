// tokens: token families, access tokens by jti and refresh-token hashes. Validation of an access
// token is one indexed lookup of access_tokens joined to its family and client.

import type { TokenIssued, TokenRefreshed, TokenRevoked } from '../src/events/types.js';
import type { RecordedEvent } from '../src/eventstore/port.js';
import { sql, type Projection, type SqlStatement } from './types.js';

// A run of TokenIssued events (a busy append batch, a rebuild page) as one statement: the same
// three inserts as handle() below, over a recordset. ON CONFLICT DO NOTHING keeps the first of
// any duplicates, as applying them one by one would.
const ISSUED_MANY = `
  WITH e AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS e(
      family_id uuid, client_id uuid, subject text, grant_type text, scopes text[], audience text[], jti text, grant_id uuid,
      name text, access_expires_at timestamptz, refresh_expires_at timestamptz, at timestamptz, revision bigint,
      refresh_token_hash text, access_token_hash text)
  ), family AS (
    INSERT INTO token_families (family_id, client_id, subject, grant_type, scopes, audience, current_jti, grant_id, name,
                                access_expires_at, refresh_expires_at, created_at, updated_at, revision)
    SELECT family_id, client_id, subject, grant_type, scopes, audience, jti, grant_id, name, access_expires_at, refresh_expires_at, at, at, revision FROM e
    ON CONFLICT (family_id) DO NOTHING
  ), access AS (
    INSERT INTO access_tokens (jti, family_id, client_id, subject, scopes, audience, issued_at, expires_at, token_hash)
    SELECT jti, family_id, client_id, subject, scopes, audience, at, access_expires_at, access_token_hash FROM e
    ON CONFLICT (jti) DO NOTHING
  )
  INSERT INTO refresh_tokens (token_hash, family_id, client_id, current, issued_at, expires_at)
  SELECT refresh_token_hash, family_id, client_id, true, at, refresh_expires_at FROM e
   WHERE refresh_token_hash IS NOT NULL AND refresh_expires_at IS NOT NULL
  ON CONFLICT (token_hash) DO NOTHING`;

function issuedMany(events: readonly RecordedEvent[]): SqlStatement {
  const rows = events.map((event) => {
    const d = event.data as TokenIssued;
    return {
      family_id: d.familyId, client_id: d.clientId, subject: d.subject, grant_type: d.grantType, scopes: d.scopes, audience: d.audience,
      jti: d.jti, grant_id: d.grantId, name: d.name, access_expires_at: d.accessTokenExpiresAt, refresh_expires_at: d.refreshTokenExpiresAt,
      at: event.metadata.occurredAt, revision: event.revision, refresh_token_hash: d.refreshTokenHash, access_token_hash: d.accessTokenHash,
    };
  });
  return sql(ISSUED_MANY, JSON.stringify(rows));
}

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
               INSERT INTO access_tokens (jti, family_id, client_id, subject, scopes, audience, issued_at, expires_at, token_hash)
               VALUES ($7, $1, $2, $3, $5, $6, $12, $10, $15) ON CONFLICT (jti) DO NOTHING
             )
             INSERT INTO refresh_tokens (token_hash, family_id, client_id, current, issued_at, expires_at)
             SELECT $14, $1, $2, true, $12, $11 WHERE $14::text IS NOT NULL AND $11::timestamptz IS NOT NULL
             ON CONFLICT (token_hash) DO NOTHING`,
            d.familyId, d.clientId, d.subject, d.grantType, d.scopes, d.audience, d.jti, d.grantId, d.name,
            d.accessTokenExpiresAt, d.refreshTokenExpiresAt, at, event.revision, d.refreshTokenHash, d.accessTokenHash,
          ),
        ];
      }
      case 'TokenRefreshed': {
        const d = event.data as TokenRefreshed;
        // One statement, as for TokenIssued. Its parts see one snapshot: the access token copies
        // the family's unchanging columns, and the rotation's UPDATE does not see the new refresh
        // token. Revoked is terminal: a refresh never brings a family back.
        return [
          sql(
            `WITH family AS (
               UPDATE token_families SET current_jti = $2, scopes = $3, access_expires_at = $4, refresh_expires_at = $5,
                      updated_at = $6, revision = $7
                WHERE family_id = $1 AND revision < $7 AND NOT revoked
             ), access AS (
               INSERT INTO access_tokens (jti, family_id, client_id, subject, scopes, audience, issued_at, expires_at, token_hash)
               SELECT $2, family_id, client_id, subject, $3, audience, $6, $4, $10 FROM token_families WHERE family_id = $1
               ON CONFLICT (jti) DO NOTHING
             ), rotated AS (
               -- every earlier refresh token of the family stops being current (after a grace-window
               -- retry the presented token is not the latest one)
               UPDATE refresh_tokens SET current = false, rotated_at = $6 WHERE family_id = $1 AND current
             )
             INSERT INTO refresh_tokens (token_hash, family_id, client_id, current, issued_at, expires_at)
             VALUES ($8, $1, $9, true, $6, $5) ON CONFLICT (token_hash) DO NOTHING`,
            d.familyId, d.jti, d.scopes, d.accessTokenExpiresAt, d.refreshTokenExpiresAt, at, event.revision,
            d.refreshTokenHash, d.clientId, d.accessTokenHash,
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
  handleMany(events: readonly RecordedEvent[]): SqlStatement[] {
    const statements: SqlStatement[] = [];
    let run: RecordedEvent[] = [];
    const flush = () => {
      if (run.length > 1) statements.push(issuedMany(run));
      else if (run.length === 1) statements.push(...this.handle(run[0]!));
      run = [];
    };
    for (const event of events) {
      if (event.type === 'TokenIssued') {
        run.push(event);
        continue;
      }
      flush();
      statements.push(...this.handle(event));
    }
    flush();
    return statements;
  },
};
