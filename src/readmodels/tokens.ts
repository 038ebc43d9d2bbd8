// Reads of the token read models (`token_families`, `access_tokens`, `refresh_tokens`, written by
// projections/tokens.ts). Validating a token is one indexed lookup joined to its family and client,
// so a revoked family or client is refused at once.

import type pg from 'pg';
import { BatchedLookup } from '../db/batched-lookup.js';

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
  /** Access tokens: keyed hash of the whole JWT (null for tokens issued before issue 15). */
  tokenHash: string | null;
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
  key: string;
  token_hash: string | null;
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
  tokenHash: row.token_hash,
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

// One lookup each, joined to the family and the client, so a revoked one shows at once. `$1` is an
// array: under load, lookups that arrive together share one round trip (db/batched-lookup.ts).
const lookup = (from: string, columns: string, key: string) => `
  SELECT ${key} AS key, t.family_id, t.client_id, ${columns}, t.issued_at, t.expires_at, f.revoked AS family_revoked, c.revoked AS client_revoked
    FROM ${from} t
    JOIN token_families f ON f.family_id = t.family_id
    JOIN clients c ON c.client_id = t.client_id
   WHERE ${key} = ANY($1::text[])`;
const ACCESS_TOKEN = lookup('access_tokens', 't.subject, t.scopes, t.audience, true AS current, t.token_hash', 't.jti');
const REFRESH_TOKEN = lookup('refresh_tokens', 'f.subject, f.scopes, f.audience, t.current, null AS token_hash', 't.token_hash');

type Lookup = (key: string) => Promise<Row | undefined>;

export class TokenQueries {
  readonly #accessToken: Lookup;
  readonly #refreshToken: Lookup;
  readonly #batches: BatchedLookup<Row>[] = [];

  /** `batched`: the server's lookups share round trips over connections of their own (close() ends them). */
  constructor(private readonly pool: pg.Pool, options: { batched?: boolean } = {}) {
    const make = (name: string, text: string): Lookup => {
      if (!options.batched) return async (key) => (await pool.query<Row>(text, [[key]])).rows[0];
      const batch = new BatchedLookup<Row>({ pool, name, text, keyOf: (row) => row.key, applicationName: 'warrant-lookup' });
      this.#batches.push(batch);
      return (key) => batch.lookup(key);
    };
    this.#accessToken = make('warrant_access_token', ACCESS_TOKEN);
    this.#refreshToken = make('warrant_refresh_token', REFRESH_TOKEN);
  }

  /** An access token by its jti: its own scopes and audience (a refresh may have narrowed them since). */
  async accessToken(jti: string): Promise<TokenRow | undefined> {
    const row = await this.#accessToken(jti);
    return row && toToken(row);
  }

  /** A refresh token by its keyed hash, with its family's scopes and audience. */
  async refreshToken(tokenHash: string): Promise<TokenRow | undefined> {
    const row = await this.#refreshToken(tokenHash);
    return row && toToken(row);
  }

  async close(): Promise<void> {
    await Promise.all(this.#batches.map((batch) => batch.close()));
  }

  /** The family a refresh token (current or rotated away) belongs to. */
  async familyOfRefreshToken(tokenHash: string): Promise<string | undefined> {
    return (await this.#refreshToken(tokenHash))?.family_id;
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
