// DPoP at a protected API (RFC 9449 §7): `Authorization: DPoP <token>` with a proof, made for
// this very request, by the key the token is bound to (cnf.jkt): its method, its URL as the
// client sees it, the token's hash (ath), a recent iat, and a jti that no process of this API
// has seen. The replay record is the shared database's used_jtis table, so a proof replayed at
// another process (or node) of the same API is refused too; inserts that arrive together share
// one statement (src/db/batched-lookup.ts), which keeps a write per request affordable.

import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import type pg from 'pg';
import { BatchedLookup } from '../db/batched-lookup.js';
import type { RevocationState } from '../readmodels/revocation-lookup.js';
import { boundKey, DPOP_ALGS, DPOP_SKEW_S, DPOP_WINDOW_S, InvalidDpopProof, replayScope, verifyDpopProof } from '../oauth/dpop.js';
import { OAuthError } from '../oauth/errors.js';

/** What a DPoP request is judged on (the policy's `authenticate` takes it without Koa). */
export interface DpopRequest {
  method: string;
  /** The absolute URL the client called. */
  url: string;
  /** The DPoP header's values. */
  proof: string | readonly string[] | undefined;
}

/** RFC 9449 §7.1: a DPoP challenge, naming the algorithms accepted for proofs. */
export class DpopChallenge extends OAuthError {
  constructor(error: 'invalid_dpop_proof' | 'invalid_token', description: string, options: { realm: string; detail?: string | undefined }) {
    super(401, error, description, options.detail);
    const text = description.replace(/["\\]/g, '').replace(/[^\x20-\x7e]/g, '');
    this.headers['WWW-Authenticate'] = `DPoP realm="${options.realm}", error="${error}", error_description="${text}", algs="${DPOP_ALGS.join(' ')}"`;
  }
}

/** A row outlives the proof whose jti it records: iat can be DPOP_WINDOW_S + skew either side of now. */
const RETENTION_S = 2 * (DPOP_WINDOW_S + DPOP_SKEW_S);
const SWEEP_EVERY_MS = 60_000;

/**
 * For a DPoP request, one statement per batch of requests answers what the bearer path asks
 * (src/readmodels/revocation-lookup.ts: is the token's grant or client revoked?) and records the
 * proof's jti, single-use per key across every process on the database (hashed with plain
 * SHA-256: a resource server has no pepper; the expiry from the database's clock). One round trip
 * instead of two keeps DPoP close to the bearer path's speed.
 * The insert commits asynchronously (synchronous_commit off for its own transaction only): a
 * committed row is at once visible to every other insert — the conflict that refuses a replay —
 * and a request does not wait for its WAL flush. What a database crash can lose is the last
 * fraction of a second of records, i.e. proofs that could then be replayed within their minute.
 */
export class ProofJtis {
  readonly #pool: pg.Pool;
  readonly #lookup: BatchedLookup<RecordedRow>;
  /** Proofs (key and jti) being recorded by this process now: the same proof twice at once loses here. */
  readonly #pending = new Set<string>();
  #lastSweep = Date.now();

  constructor(pool: pg.Pool) {
    this.#pool = pool;
    this.#lookup = new BatchedLookup<RecordedRow>({
      pool,
      name: 'warrant_policy_dpop_lookup',
      // A key is "<token jti> <scope> <jti hash>" (none of them holds a space).
      text: `WITH k AS (
               SELECT key, split_part(key, ' ', 1) AS jti, split_part(key, ' ', 2) AS scope, split_part(key, ' ', 3) AS jti_hash
                 FROM unnest($1::text[]) AS key
             ), fresh AS (
               INSERT INTO used_jtis (scope, jti_hash, expires_at)
               SELECT scope, jti_hash, now() + interval '${RETENTION_S} seconds'
                 FROM k, (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
               ON CONFLICT (scope, jti_hash) DO NOTHING
               RETURNING scope, jti_hash
             )
             SELECT k.key, f.grant_type, f.revoked AS family_revoked, c.revoked AS client_revoked, fresh.scope IS NOT NULL AS first_use
               FROM k
               LEFT JOIN access_tokens a ON a.jti = k.jti
               LEFT JOIN token_families f ON f.family_id = a.family_id
               LEFT JOIN clients c ON c.client_id = a.client_id
               LEFT JOIN fresh ON fresh.scope = k.scope AND fresh.jti_hash = k.jti_hash`,
      keyOf: (row) => row.key,
      applicationName: 'warrant-policy-dpop',
    });
  }

  /**
   * The state of the token `tokenJti` (undefined when unknown), and whether this is the first use
   * of `proofJti` by the key `jkt` (false: a replay).
   */
  async lookup(tokenJti: string, jkt: string, proofJti: string): Promise<{ state: RevocationState | undefined; firstUse: boolean }> {
    const proof = `${replayScope(jkt)} ${createHash('sha256').update(proofJti).digest('base64url')}`;
    if (this.#pending.has(proof)) return { state: undefined, firstUse: false };
    this.#pending.add(proof);
    try {
      const row = await this.#lookup.lookup(`${tokenJti} ${proof}`);
      const state = row?.grant_type ? { grantType: row.grant_type, familyRevoked: row.family_revoked!, clientRevoked: row.client_revoked! } : undefined;
      return { state, firstUse: row?.first_use === true };
    } finally {
      this.#pending.delete(proof);
      this.#sweep();
    }
  }

  #sweep(): void {
    if (Date.now() - this.#lastSweep < SWEEP_EVERY_MS) return;
    this.#lastSweep = Date.now();
    this.#pool.query("DELETE FROM used_jtis WHERE expires_at < now() - interval '60 seconds'").catch(() => undefined);
  }

  close(): Promise<void> {
    return this.#lookup.close();
  }
}

interface RecordedRow {
  key: string;
  grant_type: string | null;
  family_revoked: boolean | null;
  client_revoked: boolean | null;
  first_use: boolean;
}

export interface ProofOrigin {
  /** Scheme and host the clients call, e.g. https://api.example.com (proxies and TLS in front). */
  publicOrigin?: string | undefined;
  /** Take scheme and host from X-Forwarded-Proto and X-Forwarded-Host (only behind a proxy that sets them). */
  trustProxy?: boolean | undefined;
}

/** publicOrigin as an origin (scheme, host, port), refusing anything more. */
export function checkedOrigin(publicOrigin: string): string {
  const url = new URL(publicOrigin);
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.pathname !== '/' || url.search || url.hash || url.username) {
    throw new Error(`publicOrigin must be a scheme and host such as https://api.example.com, got ${publicOrigin}`);
  }
  return url.origin;
}

/** The URL of this request as the client sees it (§4.3 item 9: what htu must name). */
export function requestUrl(ctx: Context, origin: ProofOrigin): string {
  const path = ctx.originalUrl.split('?')[0]!;
  if (origin.publicOrigin) return `${origin.publicOrigin}${path}`;
  const forwarded = (name: string) => (origin.trustProxy ? ctx.get(name).split(',')[0]!.trim() : '');
  const scheme = forwarded('x-forwarded-proto') || ((ctx.req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http');
  return `${scheme}://${forwarded('x-forwarded-host') || ctx.get('host')}${path}`;
}

export interface ProofChecker {
  /**
   * Checks the request's proof for `token` (whose `claims` are verified and include `jti`); resolves
   * to the key's thumbprint and the token's revocation state (undefined: unknown token).
   */
  verify(request: DpopRequest, token: string, claims: { jti: string } & Record<string, unknown>): Promise<{ jkt: string; state: RevocationState | undefined }>;
  /** The refusal of a bound token sent as a Bearer token. */
  unbound(): DpopChallenge;
  /** A Bearer refusal, said as a DPoP challenge to a client that used DPoP. */
  challenge(error: OAuthError): OAuthError;
  close(): Promise<void>;
}

export function proofChecker(pool: pg.Pool, realm: string): ProofChecker {
  let jtis: ProofJtis | undefined;
  const challenge = (error: 'invalid_dpop_proof' | 'invalid_token', description: string, detail?: string) => new DpopChallenge(error, description, { realm, detail });
  return {
    unbound: () => challenge('invalid_token', 'the access token is bound to a key; send it with the DPoP scheme and a proof'),
    challenge: (error) => (error.error === 'invalid_token' ? challenge('invalid_token', error.description, error.detail) : error),
    async verify(request, token, claims) {
      const bound = boundKey(claims);
      if (!bound) throw challenge('invalid_token', 'the access token is not bound to a key; send it as a Bearer token');
      let proof;
      try {
        proof = await verifyDpopProof({ proof: request.proof, method: request.method, url: request.url, accessToken: token, now: new Date() });
      } catch (error) {
        if (error instanceof InvalidDpopProof) throw challenge('invalid_dpop_proof', error.description, error.detail);
        throw error;
      }
      // §7.1: the proof's key must be the one the token was issued to.
      if (proof.jkt !== bound) throw challenge('invalid_token', 'the DPoP proof is not signed by the key the access token is bound to');
      jtis ??= new ProofJtis(pool);
      const { state, firstUse } = await jtis.lookup(claims.jti, proof.jkt, proof.jti);
      if (!firstUse) throw challenge('invalid_dpop_proof', 'the DPoP proof was used before (jti)');
      return { jkt: proof.jkt, state };
    },
    async close() {
      await jtis?.close();
    },
  };
}
