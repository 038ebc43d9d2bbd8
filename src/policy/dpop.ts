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
 * Single use of proof jtis, per key, across every process on the database (the jti hashed with
 * plain SHA-256: a resource server has no pepper). The expiry comes from the database's clock.
 * The inserts commit asynchronously (synchronous_commit off for their own transaction only): a
 * committed row is at once visible to every other insert — the conflict that refuses a replay —
 * and a request does not wait for its WAL flush. What a database crash can lose is the last
 * fraction of a second of records, i.e. proofs that could then be replayed within their minute.
 */
export class ProofJtis {
  readonly #pool: pg.Pool;
  readonly #insert: BatchedLookup<{ key: string }>;
  /** Keys being recorded by this process now: the same proof twice at once loses here. */
  readonly #pending = new Set<string>();
  #lastSweep = Date.now();

  constructor(pool: pg.Pool) {
    this.#pool = pool;
    this.#insert = new BatchedLookup<{ key: string }>({
      pool,
      name: 'warrant_policy_dpop_jtis',
      text: `INSERT INTO used_jtis (scope, jti_hash, expires_at)
             SELECT split_part(k, ' ', 1), split_part(k, ' ', 2), now() + interval '${RETENTION_S} seconds'
               FROM unnest($1::text[]) AS k, (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
             ON CONFLICT (scope, jti_hash) DO NOTHING
             RETURNING scope || ' ' || jti_hash AS key`,
      keyOf: (row) => row.key,
      applicationName: 'warrant-policy-dpop',
    });
  }

  /** True the first time this key's proof carries this jti; false for a replay. */
  async firstUse(jkt: string, jti: string): Promise<boolean> {
    const key = `${replayScope(jkt)} ${createHash('sha256').update(jti).digest('base64url')}`;
    if (this.#pending.has(key)) return false;
    this.#pending.add(key);
    try {
      return (await this.#insert.lookup(key)) !== undefined;
    } finally {
      this.#pending.delete(key);
      this.#sweep();
    }
  }

  #sweep(): void {
    if (Date.now() - this.#lastSweep < SWEEP_EVERY_MS) return;
    this.#lastSweep = Date.now();
    this.#pool.query("DELETE FROM used_jtis WHERE expires_at < now() - interval '60 seconds'").catch(() => undefined);
  }

  close(): Promise<void> {
    return this.#insert.close();
  }
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
  /** Checks the request's proof for `token` (whose `claims` are verified); resolves to the key's thumbprint. */
  verify(request: DpopRequest, token: string, claims: Record<string, unknown>): Promise<string>;
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
      if (!(await jtis.firstUse(proof.jkt, proof.jti))) throw challenge('invalid_dpop_proof', 'the DPoP proof was used before (jti)');
      return proof.jkt;
    },
    async close() {
      await jtis?.close();
    },
  };
}
