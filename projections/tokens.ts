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

// A run of TokenRefreshed of distinct families, as one statement: the same parts as handle()'s
// TokenRefreshed statement, joined to a recordset. (A family refreshed twice in one run is
// applied event by event: one UPDATE cannot move a row twice.)
const REFRESHED_MANY = `
  WITH e AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS e(
      family_id uuid, client_id uuid, jti text, scopes text[], access_expires_at timestamptz, refresh_expires_at timestamptz,
      at timestamptz, revision bigint, refresh_token_hash text, access_token_hash text)
  ), family AS (
    UPDATE token_families f SET current_jti = e.jti, scopes = e.scopes, access_expires_at = e.access_expires_at,
           refresh_expires_at = e.refresh_expires_at, updated_at = e.at, revision = e.revision
      FROM e
     WHERE f.family_id = e.family_id AND f.revision < e.revision AND NOT f.revoked
  ), access AS (
    INSERT INTO access_tokens (jti, family_id, client_id, subject, scopes, audience, issued_at, expires_at, token_hash)
    SELECT e.jti, f.family_id, f.client_id, f.subject, e.scopes, f.audience, e.at, e.access_expires_at, e.access_token_hash
      FROM e JOIN token_families f ON f.family_id = e.family_id
    ON CONFLICT (jti) DO NOTHING
  ), rotated AS (
    UPDATE refresh_tokens r SET current = false, rotated_at = e.at FROM e WHERE r.family_id = e.family_id AND r.current
  )
  INSERT INTO refresh_tokens (token_hash, family_id, client_id, current, issued_at, expires_at)
  SELECT refresh_token_hash, family_id, client_id, true, at, refresh_expires_at FROM e
  ON CONFLICT (token_hash) DO NOTHING`;

function refreshedMany(events: readonly RecordedEvent[]): SqlStatement {
  const rows = events.map((event) => {
    const d = event.data as TokenRefreshed;
    return {
      family_id: d.familyId, client_id: d.clientId, jti: d.jti, scopes: d.scopes, access_expires_at: d.accessTokenExpiresAt,
      refresh_expires_at: d.refreshTokenExpiresAt, at: event.metadata.occurredAt, revision: event.revision,
      refresh_token_hash: d.refreshTokenHash, access_token_hash: d.accessTokenHash,
    };
  });
  return sql(REFRESHED_MANY, JSON.stringify(rows));
}

// A run of TokenRevoked of distinct families, as one statement (revoked is terminal either way).
const REVOKED_MANY = `
  UPDATE token_families f SET revoked = true, revoked_reason = e.reason, revoked_at = e.at, updated_at = e.at, revision = e.revision
    FROM jsonb_to_recordset($1::jsonb) AS e(family_id uuid, reason text, at timestamptz, revision bigint)
   WHERE f.family_id = e.family_id AND f.revision < e.revision AND NOT f.revoked`;

function revokedMany(events: readonly RecordedEvent[]): SqlStatement {
  const rows = events.map((event) => {
    const d = event.data as TokenRevoked;
    return { family_id: d.familyId, reason: d.reason, at: event.metadata.occurredAt, revision: event.revision };
  });
  return sql(REVOKED_MANY, JSON.stringify(rows));
}

// RFC 8693: a family exchanged from another dies with it, and with its parent's parent. Revoking a
// family marks every descendant revoked in the same transaction (their own streams keep no event
// of it: the audit shows the link through TokenIssued.parentFamilyId). The partial index on
// parent_family_id keeps this to one index probe for the usual family that has no children.
const DESCENDANTS_REVOKED = `
  WITH RECURSIVE d(family_id) AS (
    SELECT family_id FROM token_families WHERE parent_family_id = ANY($1::uuid[]) AND parent_family_id IS NOT NULL
    UNION SELECT c.family_id FROM token_families c JOIN d ON c.parent_family_id = d.family_id
  )
  UPDATE token_families f SET revoked = true, revoked_reason = 'parent_revoked', revoked_at = $2, updated_at = $2
    FROM d WHERE f.family_id = d.family_id AND NOT f.revoked`;

// An exchanged family issued after its parent was revoked (a race) is born revoked.
const BORN_REVOKED = `
  UPDATE token_families c SET revoked = true, revoked_reason = 'parent_revoked', revoked_at = $2, updated_at = $2
    FROM token_families p WHERE c.family_id = $1 AND p.family_id = c.parent_family_id AND p.revoked AND NOT c.revoked`;

/** Bulk statements by event type; the families of a TokenRefreshed or TokenRevoked run must be distinct. */
const BULK: Record<string, { many: (events: readonly RecordedEvent[]) => SqlStatement[]; distinctFamilies: boolean }> = {
  TokenIssued: { many: (events) => [issuedMany(events)], distinctFamilies: false },
  TokenRefreshed: { many: (events) => [refreshedMany(events)], distinctFamilies: true },
  TokenRevoked: {
    many: (events) => [revokedMany(events), sql(DESCENDANTS_REVOKED, events.map((e) => (e.data as TokenRevoked).familyId), events.at(-1)!.metadata.occurredAt)],
    distinctFamilies: true,
  },
};

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
                                           access_expires_at, refresh_expires_at, created_at, updated_at, revision, parent_family_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $16)
               ON CONFLICT (family_id) DO NOTHING
             ), access AS (
               INSERT INTO access_tokens (jti, family_id, client_id, subject, scopes, audience, issued_at, expires_at, token_hash)
               VALUES ($7, $1, $2, $3, $5, $6, $12, $10, $15) ON CONFLICT (jti) DO NOTHING
             )
             INSERT INTO refresh_tokens (token_hash, family_id, client_id, current, issued_at, expires_at)
             SELECT $14, $1, $2, true, $12, $11 WHERE $14::text IS NOT NULL AND $11::timestamptz IS NOT NULL
             ON CONFLICT (token_hash) DO NOTHING`,
            d.familyId, d.clientId, d.subject, d.grantType, d.scopes, d.audience, d.jti, d.grantId, d.name,
            d.accessTokenExpiresAt, d.refreshTokenExpiresAt, at, event.revision, d.refreshTokenHash, d.accessTokenHash, d.parentFamilyId ?? null,
          ),
          ...(d.parentFamilyId ? [sql(BORN_REVOKED, d.familyId, at)] : []),
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
          sql(DESCENDANTS_REVOKED, [d.familyId], at),
        ];
      }
      default:
        return [];
    }
  },
  handleMany(events: readonly RecordedEvent[]): SqlStatement[] {
    const statements: SqlStatement[] = [];
    let run: RecordedEvent[] = [];
    let families = new Set<string>();
    const flush = () => {
      if (run.length > 1) statements.push(...BULK[run[0]!.type]!.many(run));
      else if (run.length === 1) statements.push(...this.handle(run[0]!));
      run = [];
      families = new Set();
    };
    for (const event of events) {
      // An exchanged family (with a parent) is applied by itself: it may be born revoked.
      const bulk = event.type === 'TokenIssued' && (event.data as TokenIssued).parentFamilyId ? undefined : BULK[event.type];
      const familyId = (event.data as { familyId: string }).familyId;
      // A run continues with the same type, and (where required) a family not yet in it.
      if (run.length > 0 && (!bulk || run[0]!.type !== event.type || (bulk.distinctFamilies && families.has(familyId)))) flush();
      if (!bulk) {
        statements.push(...this.handle(event));
        continue;
      }
      run.push(event);
      families.add(familyId);
    }
    flush();
    return statements;
  },
};
