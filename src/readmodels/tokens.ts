// Reads of the token read models (`token_families`, `access_tokens`, `refresh_tokens`, written by
// projections/tokens.ts). Validating a token is one indexed lookup joined to its family and client,
// so a revoked family or client is refused at once.

import type pg from 'pg';

/** A token as introspection and revocation see it. */
export interface TokenRow {
  familyId: string;
  clientId: string;
  subject: string;
  scopes: string[];
  audience: string[];
  issuedAt: Date;
  expiresAt: Date;
  familyRevoked: boolean;
  clientRevoked: boolean;
  /** Refresh tokens: is this the family's current one (not rotated away)? Access tokens: true. */
  current: boolean;
}

interface Row {
  family_id: string;
  client_id: string;
  subject: string;
  scopes: string[];
  audience: string[];
  issued_at: Date;
  expires_at: Date;
  family_revoked: boolean;
  client_revoked: boolean;
  current: boolean;
}

const toToken = (row: Row): TokenRow => ({
  familyId: row.family_id,
  clientId: row.client_id,
  subject: row.subject,
  scopes: row.scopes,
  audience: row.audience,
  issuedAt: row.issued_at,
  expiresAt: row.expires_at,
  familyRevoked: row.family_revoked,
  clientRevoked: row.client_revoked,
  current: row.current,
});

export interface PersonalTokenRow {
  id: string;
  subject: string;
  username: string | null;
  name: string;
  scopes: string[];
  createdAt: Date;
  expiresAt: Date;
  revoked: boolean;
}

// One lookup each, joined to the family and the client, so a revoked one shows at once.
const lookup = (from: string, columns: string, where: string) => `
  SELECT t.family_id, t.client_id, ${columns}, t.issued_at, t.expires_at, f.revoked AS family_revoked, c.revoked AS client_revoked
    FROM ${from} t
    JOIN token_families f ON f.family_id = t.family_id
    JOIN clients c ON c.client_id = t.client_id
   WHERE ${where} = $1`;
const ACCESS_TOKEN = lookup('access_tokens', 't.subject, t.scopes, t.audience, true AS current', 't.jti');
const REFRESH_TOKEN = lookup('refresh_tokens', 'f.subject, f.scopes, f.audience, t.current', 't.token_hash');

export class TokenQueries {
  constructor(private readonly pool: pg.Pool) {}

  /** An access token by its jti: its own scopes and audience (a refresh may have narrowed them since). */
  accessToken(jti: string): Promise<TokenRow | undefined> {
    return this.#token(ACCESS_TOKEN, jti);
  }

  /** A refresh token by its keyed hash, with its family's scopes and audience. */
  refreshToken(tokenHash: string): Promise<TokenRow | undefined> {
    return this.#token(REFRESH_TOKEN, tokenHash);
  }

  async #token(text: string, key: string): Promise<TokenRow | undefined> {
    const { rows } = await this.pool.query<Row>(text, [key]);
    return rows[0] && toToken(rows[0]);
  }

  /** The family a refresh token (current or rotated away) belongs to. */
  async familyOfRefreshToken(tokenHash: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ family_id: string }>('SELECT family_id FROM refresh_tokens WHERE token_hash = $1', [tokenHash]);
    return rows[0]?.family_id;
  }

  /** Personal access tokens (never the tokens themselves), of one subject or of everyone, with usernames. */
  async personal(options: { subject?: string } = {}): Promise<PersonalTokenRow[]> {
    const { rows } = await this.pool.query<{ family_id: string; subject: string; username: string | null; name: string; scopes: string[]; created_at: Date; access_expires_at: Date; revoked: boolean }>(
      `SELECT f.family_id, f.subject, u.username, f.name, f.scopes, f.created_at, f.access_expires_at, f.revoked
         FROM token_families f LEFT JOIN users u ON u.user_id::text = f.subject
        WHERE f.grant_type = 'personal_access' AND f.name IS NOT NULL AND f.name <> 'actingAs' AND ($1::text IS NULL OR f.subject = $1)
        ORDER BY f.created_at, f.family_id`,
      [options.subject ?? null],
    );
    return rows.map((r) => ({ id: r.family_id, subject: r.subject, username: r.username, name: r.name, scopes: r.scopes, createdAt: r.created_at, expiresAt: r.access_expires_at, revoked: r.revoked }));
  }
}
