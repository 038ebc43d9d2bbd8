// DPoP (RFC 9449): proofs of possession of a client's key, at the token endpoint and in the
// policy middleware. A proof is checked in the order of §4.3:
//   1. exactly one DPoP header;  2. a compact JWS;  3–5. typ dpop+jwt, an asymmetric alg from
//   DPOP_ALGS, the claims jti, htm, htu and iat;  6–7. a public `jwk` (no private members) whose
//   signature verifies;  8. htm = the method;  9. htu = the endpoint, without query and fragment,
//   after syntax- and scheme-based normalisation (RFC 3986 §6.2.2–6.2.3);  10. the server's nonce
//   when it asks for one (§8);  11. iat within DPOP_WINDOW_S (either way: a proof is good for about
//   a minute, and a client clock a little fast is no failure);  12. ath = the access token's hash.
// The jti is then recorded once per key (§11.1) by the caller: UsedJtis at the token endpoint,
// the policy's batched recorder at a resource server.
// Signatures are checked with node:crypto (the key, imported once, is kept per JWK).

import { constants, createHash, createHmac, createPublicKey, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { WarrantContext } from './context.js';
import { OAuthError } from './errors.js';
import { usedJtis } from './used-jtis.js';

/**
 * Algorithms accepted for DPoP proofs (asymmetric only; RFC 9449 §4.3 item 6). Ed25519 is the
 * fully-specified name of EdDSA over that curve (RFC 9864), which oauth4webapi signs with.
 */
export const DPOP_ALGS = ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA', 'Ed25519'] as const;
export type DpopAlg = (typeof DPOP_ALGS)[number];

/** A proof's iat may be this far from now, either way (plus DPOP_SKEW_S). */
export const DPOP_WINDOW_S = 60;
export const DPOP_SKEW_S = 5;
const MAX_PROOF_LENGTH = 8192;
const MAX_JTI_LENGTH = 256;

/** §4.3 / §7.1: the proof is missing, malformed or does not fit the request. 400 at the token endpoint. */
export class InvalidDpopProof extends OAuthError {
  constructor(description = 'the DPoP proof is invalid', detail?: string) {
    super(400, 'invalid_dpop_proof', description, detail);
  }
}

/** §8: the proof must carry this server's nonce; the fresh one goes out in DPoP-Nonce. */
export class UseDpopNonce extends OAuthError {
  constructor(nonce: string, description = 'the DPoP proof must carry the nonce in the DPoP-Nonce header') {
    super(400, 'use_dpop_nonce', description);
    this.headers['DPoP-Nonce'] = nonce;
  }
}

/**
 * §4.3 item 9: the URL a proof is for, without query and fragment, normalised as RFC 3986 §6.2.2
 * and §6.2.3 describe (WHATWG URL parsing: scheme and host lower-cased, default port and dot
 * segments removed, empty path "/"; then percent-encodings upper-cased, unreserved ones decoded).
 * Undefined when it is not an absolute http(s) URL.
 */
export function normalizeHtu(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password) return undefined;
  const path = url.pathname.replace(/%[0-9A-Fa-f]{2}/g, (escape) => {
    const char = String.fromCharCode(parseInt(escape.slice(1), 16));
    return /[A-Za-z0-9\-._~]/.test(char) ? char : escape.toUpperCase();
  });
  return `${url.protocol}//${url.host}${path}`;
}

/** The key an access token is bound to (§6.1 `cnf.jkt`), or undefined for a bearer token. */
export function boundKey(claims: Record<string, unknown>): string | undefined {
  const jkt = (claims['cnf'] as { jkt?: unknown } | null | undefined)?.jkt;
  return typeof jkt === 'string' ? jkt : undefined;
}

/** §4.2 `ath`: base64url(SHA-256(the access token's ASCII bytes)). */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

// Keys by what they are (the public members RFC 7638 hashes): imported and hashed once, then
// reused for every proof a client signs with them. Bounded; the oldest goes first.
interface ProofKey {
  key: KeyObject;
  jkt: string;
}
const MAX_KEYS = 1000;
const keys = new Map<string, ProofKey>();
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** Which key type and curve each algorithm needs, and how node:crypto verifies it. */
const SUITES: Record<DpopAlg, { kty: string; crv?: readonly string[]; hash: string | null; options?: { dsaEncoding?: 'ieee-p1363'; padding?: number; saltLength?: number } }> = {
  ES256: { kty: 'EC', crv: ['P-256'], hash: 'sha256', options: { dsaEncoding: 'ieee-p1363' } },
  ES384: { kty: 'EC', crv: ['P-384'], hash: 'sha384', options: { dsaEncoding: 'ieee-p1363' } },
  PS256: { kty: 'RSA', hash: 'sha256', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } },
  RS256: { kty: 'RSA', hash: 'sha256', options: { padding: constants.RSA_PKCS1_PADDING } },
  EdDSA: { kty: 'OKP', crv: ['Ed25519', 'Ed448'], hash: null },
  Ed25519: { kty: 'OKP', crv: ['Ed25519'], hash: null },
};

const refused = (description: string, detail?: string) => new InvalidDpopProof(description, detail);
const isText = (value: unknown, max = 8192): value is string => typeof value === 'string' && value.length > 0 && value.length <= max;

async function proofKey(alg: DpopAlg, jwk: unknown): Promise<ProofKey> {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw refused('the DPoP proof has no jwk header');
  const given = jwk as Record<string, unknown>;
  if (PRIVATE_MEMBERS.some((member) => member in given)) throw refused('the DPoP proof jwk must be a public key', 'private key members in jwk');
  const suite = SUITES[alg];
  if (given['kty'] !== suite.kty) throw refused(`the DPoP proof jwk does not fit alg ${alg}`);
  const members = suite.kty === 'RSA' ? ['e', 'kty', 'n'] : suite.kty === 'EC' ? ['crv', 'kty', 'x', 'y'] : ['crv', 'kty', 'x'];
  const publicJwk: Record<string, string> = {};
  for (const member of members) {
    const value = given[member];
    if (!isText(value, 2048)) throw refused('the DPoP proof jwk is malformed', `jwk member ${member}`);
    publicJwk[member] = value;
  }
  if (suite.crv && !suite.crv.includes(publicJwk['crv']!)) throw refused(`the DPoP proof jwk does not fit alg ${alg}`);
  const id = JSON.stringify(publicJwk); // members in RFC 7638 order
  const known = keys.get(id);
  if (known) return known;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: publicJwk, format: 'jwk' });
  } catch (error) {
    throw refused('the DPoP proof jwk is malformed', (error as Error).message);
  }
  if (suite.kty === 'RSA' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw refused('the DPoP proof RSA key is shorter than 2048 bits');
  const entry = { key, jkt: await calculateJwkThumbprint(publicJwk as JWK, 'sha256') };
  if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value!);
  keys.set(id, entry);
  return entry;
}

function decodePart(part: string): Record<string, unknown> {
  const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
  return value as Record<string, unknown>;
}

export interface ProofRequest {
  /** The DPoP header's values (Node's headersDistinct): exactly one is accepted. */
  proof: string | readonly string[] | undefined;
  method: string;
  /** The absolute URL the client called (its query and fragment are ignored). */
  url: string;
  /** With an access token (resource requests): `ath` must be its hash. */
  accessToken?: string;
  /** Server nonces (§8): refused with use_dpop_nonce when absent or not accepted. */
  nonces?: DpopNonces;
  now: Date;
}

export interface VerifiedProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's key: what `cnf.jkt` binds a token to. */
  jkt: string;
  jti: string;
  /** Until when the jti must be remembered: past it the proof is too old anyway. */
  replayUntil: Date;
}

/** RFC 9449 §4.3: checks one proof (everything but the jti's single use, which the caller records). */
export async function verifyDpopProof(request: ProofRequest): Promise<VerifiedProof> {
  const values = typeof request.proof === 'string' ? [request.proof] : request.proof ?? [];
  if (values.length === 0) throw refused('a DPoP proof is required');
  if (values.length > 1) throw refused('send exactly one DPoP header');
  const proof = values[0]!;
  if (proof.length > MAX_PROOF_LENGTH || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(proof)) throw refused('the DPoP proof is not a compact JWS');
  const [headerPart, payloadPart, signaturePart] = proof.split('.') as [string, string, string];
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = decodePart(headerPart);
    claims = decodePart(payloadPart);
  } catch {
    throw refused('the DPoP proof is not a compact JWS', 'header or payload is not a JSON object');
  }
  const typ = typeof header['typ'] === 'string' ? header['typ'].toLowerCase().replace(/^application\//, '') : undefined;
  if (typ !== 'dpop+jwt') throw refused('the DPoP proof typ must be dpop+jwt');
  const alg = header['alg'];
  if (!(DPOP_ALGS as readonly unknown[]).includes(alg)) throw refused(`the DPoP proof alg must be one of ${DPOP_ALGS.join(', ')}`, `alg ${String(alg)}`);
  if ('crit' in header) throw refused('the DPoP proof has critical header parameters this server does not understand');
  const { key, jkt } = await proofKey(alg as DpopAlg, header['jwk']);
  const suite = SUITES[alg as DpopAlg];
  let valid = false;
  try {
    valid = verify(suite.hash, Buffer.from(`${headerPart}.${payloadPart}`), { key, ...suite.options }, Buffer.from(signaturePart, 'base64url'));
  } catch {
    valid = false;
  }
  if (!valid) throw refused('the DPoP proof signature does not verify with its jwk');

  const { jti, htm, htu, iat } = claims;
  if (!isText(jti, MAX_JTI_LENGTH)) throw refused(`the DPoP proof needs a jti of 1 to ${MAX_JTI_LENGTH} characters`);
  if (htm !== request.method) throw refused('the DPoP proof htm does not match the request method');
  const target = isText(htu) ? normalizeHtu(htu) : undefined;
  if (target === undefined || target !== normalizeHtu(request.url)) throw refused('the DPoP proof htu does not match the request URL', `htu ${String(htu).slice(0, 200)}, request ${request.url}`);
  if (request.nonces) {
    const nonce = claims['nonce'];
    if (!isText(nonce, 256) || !request.nonces.accepts(nonce)) throw new UseDpopNonce(request.nonces.current(), nonce === undefined ? undefined : 'the DPoP nonce is stale; use the one in the DPoP-Nonce header');
  }
  const now = request.now.getTime() / 1000;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw refused('the DPoP proof needs an iat');
  if (Math.abs(now - iat) > DPOP_WINDOW_S + DPOP_SKEW_S) throw refused('the DPoP proof iat is too far from the current time', `iat ${iat}, now ${Math.floor(now)}`);
  if (request.accessToken !== undefined) {
    const expected = Buffer.from(accessTokenHash(request.accessToken));
    const given = Buffer.from(typeof claims['ath'] === 'string' ? claims['ath'] : '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw refused('the DPoP proof ath does not match the access token');
  }
  return { jkt, jti, replayUntil: new Date((iat + DPOP_WINDOW_S + DPOP_SKEW_S) * 1000) };
}

/** The scope a proof's jti is single-use in: per key (RFC 9449 §11.1). */
export const replayScope = (jkt: string) => `dpop:${jkt}`;

/**
 * §8 server nonces without server state, so that every process accepts every other's: the nonce
 * of a time window is an HMAC of the window's number, keyed from the pepper; the current and the
 * previous window's nonces are accepted (a nonce lives 5 to 10 minutes).
 */
export class DpopNonces {
  static readonly WINDOW_S = 300;
  readonly #key: Buffer;
  readonly #clock: () => Date;

  constructor(key: Buffer, clock: () => Date = () => new Date()) {
    this.#key = key;
    this.#clock = clock;
  }

  #window(offset = 0): string {
    const window = Math.floor(this.#clock().getTime() / 1000 / DpopNonces.WINDOW_S) - offset;
    return createHmac('sha256', this.#key).update(`dpop-nonce ${window}`).digest('base64url');
  }

  current(): string {
    return this.#window();
  }

  accepts(nonce: string): boolean {
    const given = Buffer.from(nonce);
    return [this.#window(), this.#window(1)].some((expected) => given.length === expected.length && timingSafeEqual(given, Buffer.from(expected)));
  }
}

// The server's nonces, one per context: the key is derived from the pepper as the session key is
// (HMAC(pepper, label); ctx.hasher is that HMAC), so every process of one server agrees on it.
const nonceSources = new WeakMap<WarrantContext, DpopNonces>();

export function dpopNonces(ctx: WarrantContext): DpopNonces | undefined {
  if (!ctx.config.dpopNonce) return undefined;
  let nonces = nonceSources.get(ctx);
  if (!nonces) {
    nonces = new DpopNonces(Buffer.from(ctx.hasher.hash('warrant dpop nonce key v1'), 'base64url'), ctx.clock);
    nonceSources.set(ctx, nonces);
  }
  return nonces;
}

/**
 * The proof of a token request (§5), if one came: checked against the token endpoint's URL, its
 * jti recorded once per key across every process. Resolves to the key's thumbprint.
 */
export async function tokenRequestProof(ctx: WarrantContext, proof: readonly string[]): Promise<string> {
  const nonces = dpopNonces(ctx);
  const verified = await verifyDpopProof({ proof, method: 'POST', url: `${ctx.config.issuer}/oauth/token`, now: ctx.clock(), ...(nonces ? { nonces } : {}) });
  if (!(await usedJtis(ctx).use(replayScope(verified.jkt), verified.jti, verified.replayUntil))) throw refused('the DPoP proof was used before (jti)');
  return verified.jkt;
}
