// DPoP (RFC 9449) end to end: oauth4webapi as the client that should get in (token endpoint,
// refresh, protected resources), hand-made proofs (jose) for each refusal, and two policy
// instances on two pools of one database for replay across processes. Each refusal is checked by
// its error_description, so a test cannot pass on another check.

import { createHmac, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import http from 'node:http';
import Router from '@koa/router';
import { expect } from 'chai';
import { calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import Koa from 'koa';
import * as oauth from 'oauth4webapi';
import pg from 'pg';
import { accessTokenHash, DPOP_ALGS, DpopNonces, normalizeHtu } from '../../src/oauth/dpop.js';
import { ProofJtis } from '../../src/policy/dpop.js';
import { createPolicy, type AuthState, type Policy, type PolicyOptions } from '../../src/policy/policy.js';
import { createUser } from '../../src/users/directory.js';
import { Browser, field } from '../support/browser-session.js';
import { insecure, postForm, useTestServer, type TestServer } from '../support/server.js';

interface Key {
  pair: oauth.CryptoKeyPair;
  privateKey: CryptoKey;
  jwk: JWK;
  jkt: string;
  alg: string;
}

async function newKey(alg = 'ES256'): Promise<Key> {
  const pair = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(pair.publicKey);
  return { pair: pair as oauth.CryptoKeyPair, privateKey: pair.privateKey, jwk, jkt: await calculateJwkThumbprint(jwk), alg };
}

const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A proof made by hand: good by default, any claim or header member overridden (undefined removes it). */
async function proof(key: Key, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const payload = Object.fromEntries(Object.entries({ iat: now(), jti: randomUUID(), ...claims }).filter(([, v]) => v !== undefined));
  const protectedHeader = Object.fromEntries(Object.entries({ alg: key.alg, typ: 'dpop+jwt', jwk: key.jwk, ...header }).filter(([, v]) => v !== undefined));
  return new SignJWT(payload).setProtectedHeader(protectedHeader as { alg: string }).sign(key.privateKey);
}

interface Answer {
  status: number;
  headers: Headers;
  body: { error?: string; error_description?: string; [field: string]: any };
}

async function call(url: string, headers: Record<string, string>, method = 'GET'): Promise<Answer> {
  const response = await fetch(url, { method, headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} };
}

interface Api {
  url: string;
  policy: Policy;
  close(): Promise<void>;
}

/** A protected API in a Koa app of its own, with its own pool on the server's database. */
async function protectedApi(server: TestServer, extra: Partial<PolicyOptions> = {}): Promise<Api> {
  const policy = createPolicy({ issuer: server.url, databaseUrl: server.db.url, ...extra });
  const app = new Koa();
  const router = new Router();
  const echo = (ctx: Koa.Context) => {
    const auth = ctx.state['auth'] as AuthState;
    ctx.body = { subject: auth.subject, jkt: auth.jkt ?? null };
  };
  router.get('/me', policy.requireToken(), echo);
  router.post('/me', policy.requireToken(), echo);
  app.use(router.routes());
  const listener = http.createServer(app.callback());
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(listener.address() as { port: number }).port}`,
    policy,
    async close() {
      listener.closeAllConnections();
      await new Promise((resolve) => listener.close(resolve));
      await policy.close();
    },
  };
}

/** The DPoP challenge's error, or undefined when the answer has none. */
const dpopError = (answer: Answer) => /^DPoP .*error="([^"]+)"/.exec(answer.headers.get('www-authenticate') ?? '')?.[1];

describe('DPoP (RFC 9449)', function () {
  this.timeout(60_000);
  const server = useTestServer({ config: { rateLimitFailures: 10_000, scopes: { read: 'Read' } } });
  const redirectUri = 'https://app.example/callback';
  let api: Api;
  let other: Api;
  let key: Key;
  let stranger: Key;
  before(async () => {
    api = await protectedApi(server);
    other = await protectedApi(server);
    key = await newKey();
    stranger = await newKey();
    await createUser(server.auth.pool, 'dora', 'correct horse battery');
  });
  after(async () => {
    await api.close();
    await other.close();
  });

  /** A client_credentials token through oauth4webapi, bound to `with` (or a bearer token). */
  async function clientToken(withKey: Key | undefined, input: Parameters<TestServer['client']>[0] = {}) {
    const c = await server.client({ scopes: ['read'], ...input });
    const DPoP = withKey ? oauth.DPoP(c.client, withKey.pair) : undefined;
    const response = await oauth.clientCredentialsGrantRequest(server.as, c.client, oauth.ClientSecretBasic(c.secret), { scope: 'read' }, { ...insecure, ...(DPoP ? { DPoP } : {}) });
    const result = await oauth.processClientCredentialsResponse(server.as, c.client, response);
    return { token: result.access_token, result, DPoP, client: c };
  }

  /** Signs in as dora and approves: an authorization code for `client` (HTTP only, no browser). */
  async function codeFor(clientId: string) {
    const verifier = oauth.generateRandomCodeVerifier();
    const browser = new Browser(server.url);
    const url = new URL(`${server.url}/oauth/authorize`);
    url.search = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope: 'read', state: 's', code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }).toString();
    const first = await browser.go(url.toString());
    expect(first.status, 'authorize').to.equal(302);
    const login = await browser.go(first.location!);
    const signedIn = await browser.post('/oauth/login', { username: 'dora', password: 'correct horse battery', csrf: field(login.html, 'csrf')!, return_to: field(login.html, 'return_to')! });
    let page = await browser.go(signedIn.location!);
    if (page.status === 200) {
      page = await browser.post('/oauth/authorize', { ...Object.fromEntries(['client_id', 'redirect_uri', 'response_type', 'scope', 'state', 'code_challenge', 'code_challenge_method', 'csrf'].map((k) => [k, field(page.html, k) ?? ''])), decision: 'approve' });
    }
    expect(page.status, 'consent').to.equal(302);
    return { verifier, callback: new URL(page.location!) };
  }

  /** authorization_code with DPoP for a public (or confidential) client: its tokens and how it refreshes. */
  async function codeTokens(confidential: boolean, withKey: Key) {
    const registered = await server.client({ confidential, grantTypes: ['authorization_code', 'refresh_token'], scopes: ['read'], redirectUris: [redirectUri] });
    const client: oauth.Client = { client_id: registered.id, ...(confidential ? {} : { token_endpoint_auth_method: 'none' }) };
    const auth = confidential ? oauth.ClientSecretBasic(registered.secret) : oauth.None();
    const { verifier, callback } = await codeFor(registered.id);
    const params = oauth.validateAuthResponse(server.as, client, callback, 's');
    const DPoP = oauth.DPoP(client, withKey.pair);
    const response = await oauth.authorizationCodeGrantRequest(server.as, client, auth, params, redirectUri, verifier, { ...insecure, DPoP });
    const tokens = await oauth.processAuthorizationCodeResponse(server.as, client, response);
    const refresh = async (refreshToken: string, by: Key | undefined) =>
      oauth.refreshTokenGrantRequest(server.as, client, auth, refreshToken, { ...insecure, ...(by ? { DPoP: oauth.DPoP(client, by.pair) } : {}) });
    return { tokens, refresh, DPoP, client };
  }

  const familyEvents = async (token: string) => {
    const row = await server.auth.context.read.tokens.accessToken(decodeJwt(token).jti!);
    return server.auth.store.readStream(`token-${row!.familyId}`);
  };

  describe('at the token endpoint', () => {
    it('binds a client_credentials token to the proof key: cnf.jkt is its RFC 7638 thumbprint, token_type DPoP, TokenIssued records it', async () => {
      const { token, result, DPoP } = await clientToken(key);
      expect(result.token_type).to.equal('dpop'); // oauth4webapi lower-cases it
      expect(decodeJwt(token)['cnf']).to.deep.equal({ jkt: key.jkt });
      expect(await DPoP!.calculateThumbprint()).to.equal(key.jkt);
      const issued = (await familyEvents(token)).find((e) => e.type === 'TokenIssued')!;
      expect((issued.data as { dpopJkt?: string }).dpopJkt).to.equal(key.jkt);
    });

    it('without a proof the token stays a bearer token (no cnf, token_type Bearer, no dpopJkt)', async () => {
      const { token, result } = await clientToken(undefined);
      expect(result.token_type).to.equal('bearer');
      expect(decodeJwt(token)['cnf']).to.equal(undefined);
      const issued = (await familyEvents(token)).find((e) => e.type === 'TokenIssued')!;
      expect(issued.data).to.not.have.property('dpopJkt');
    });

    it('introspection shows cnf.jkt and token_type DPoP for a bound token, Bearer without cnf for the others', async () => {
      const bound = await clientToken(key);
      const bearer = await clientToken(undefined);
      const caller = await server.client({ scopes: ['read'] });
      const introspect = async (token: string) => {
        const response = await oauth.introspectionRequest(server.as, caller.client, oauth.ClientSecretBasic(caller.secret), token, insecure);
        return oauth.processIntrospectionResponse(server.as, caller.client, response);
      };
      expect(await introspect(bound.token)).to.deep.include({ active: true, token_type: 'DPoP', cnf: { jkt: key.jkt } });
      const plain = await introspect(bearer.token);
      expect(plain).to.include({ active: true, token_type: 'Bearer' });
      expect(plain).to.not.have.property('cnf');
    });

    it('a client registered with dpop_bound_access_tokens gets 400 invalid_dpop_proof without a proof, and a bound token with one', async () => {
      const c = await server.client({ scopes: ['read'], dpopBoundAccessTokens: true });
      const refused = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: `Basic ${Buffer.from(`${c.id}:${c.secret}`).toString('base64')}` });
      expect(refused.status).to.equal(400);
      expect(refused.body).to.deep.equal({ error: 'invalid_dpop_proof', error_description: 'this client must send a DPoP proof with every token request' });
      const { token } = await clientToken(key, { dpopBoundAccessTokens: true });
      expect(decodeJwt(token)['cnf']).to.deep.equal({ jkt: key.jkt });
    });

    it('refuses a bad proof with 400 invalid_dpop_proof: replayed, wrong htu, wrong htm, old iat, alg none, HS256, a private jwk', async () => {
      const c = await server.client({ scopes: ['read'] });
      const endpoint = `${server.url}/oauth/token`;
      const basicAuth = `Basic ${Buffer.from(`${c.id}:${c.secret}`).toString('base64')}`;
      const send = (dpop: string) => postForm(endpoint, { grant_type: 'client_credentials' }, { authorization: basicAuth, dpop });
      const once = await proof(key, { htm: 'POST', htu: endpoint });
      expect((await send(once)).status).to.equal(200);
      const privateJwk = await exportJWK(key.privateKey);
      const hs256 = (() => {
        const input = `${b64({ alg: 'HS256', typ: 'dpop+jwt', jwk: key.jwk })}.${b64({ htm: 'POST', htu: endpoint, iat: now(), jti: randomUUID() })}`;
        return `${input}.${createHmac('sha256', 'secret').update(input).digest('base64url')}`;
      })();
      const cases: [string, string][] = [
        [once, 'the DPoP proof was used before (jti)'],
        [await proof(key, { htm: 'POST', htu: `${server.url}/oauth/introspect` }), 'the DPoP proof htu does not match the request URL'],
        [await proof(key, { htm: 'GET', htu: endpoint }), 'the DPoP proof htm does not match the request method'],
        [await proof(key, { htm: 'POST', htu: endpoint, iat: now() - 120 }), 'the DPoP proof iat is too far from the current time'],
        [`${b64({ alg: 'none', typ: 'dpop+jwt', jwk: key.jwk })}.${b64({ htm: 'POST', htu: endpoint, iat: now(), jti: randomUUID() })}.`, 'the DPoP proof is not a compact JWS'],
        [hs256, `the DPoP proof alg must be one of ${DPOP_ALGS.join(', ')}`],
        [await proof(key, { htm: 'POST', htu: endpoint }, { jwk: privateJwk }), 'the DPoP proof jwk must be a public key'],
      ];
      for (const [dpop, description] of cases) {
        const res = await send(dpop);
        expect(res.status, description).to.equal(400);
        expect(res.body, description).to.deep.equal({ error: 'invalid_dpop_proof', error_description: description });
      }
    });

    it('FAPI 2.0 clients: a proof is required, and access tokens live at most 600 s whatever the server default', async () => {
      const signing = await generateKeyPair('ES256', { extractable: true });
      const jwks = { keys: [{ ...(await exportJWK(signing.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] };
      const c = await server.client({ scopes: ['read'], tokenEndpointAuthMethod: 'private_key_jwt', jwks: jwks as never, profile: 'fapi2', accessTokenTtl: null });
      const auth = oauth.PrivateKeyJwt({ key: signing.privateKey, kid: 'k1' });
      const without = await oauth.clientCredentialsGrantRequest(server.as, c.client, auth, { scope: 'read' }, insecure);
      expect(without.status).to.equal(400);
      expect(((await without.json()) as { error: string }).error).to.equal('invalid_dpop_proof');
      const response = await oauth.clientCredentialsGrantRequest(server.as, c.client, auth, { scope: 'read' }, { ...insecure, DPoP: oauth.DPoP(c.client, key.pair) });
      const result = await oauth.processClientCredentialsResponse(server.as, c.client, response);
      expect(server.auth.context.config.accessTokenTtl).to.be.greaterThan(600);
      expect(result.expires_in).to.equal(600);
      const claims = decodeJwt(result.access_token);
      expect(claims.exp! - claims.iat!).to.equal(600);
      expect(claims['cnf']).to.deep.equal({ jkt: key.jkt });
    });

    it('device_code + DPoP: the device polls with a proof and its tokens are bound to its key', async () => {
      const registered = await server.client({ confidential: false, grantTypes: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'], scopes: ['read'] });
      const client: oauth.Client = { client_id: registered.id, token_endpoint_auth_method: 'none' };
      const started = await oauth.processDeviceAuthorizationResponse(server.as, client, await oauth.deviceAuthorizationRequest(server.as, client, oauth.None(), { scope: 'read' }, insecure));
      // dora approves on the verification page (HTTP only).
      const browser = new Browser(server.url);
      const first = await browser.go(`/oauth/device?user_code=${started.user_code}`);
      const login = await browser.go(first.location!);
      const signedIn = await browser.post('/oauth/login', { username: 'dora', password: 'correct horse battery', csrf: field(login.html, 'csrf')!, return_to: field(login.html, 'return_to')! });
      const form = await browser.go(signedIn.location!);
      const consent = await browser.post('/oauth/device', { user_code: started.user_code, csrf: field(form.html, 'csrf')! });
      await browser.post('/oauth/device', { user_code: started.user_code, csrf: field(consent.html, 'csrf')!, decision: 'approve' });
      const response = await oauth.deviceCodeGrantRequest(server.as, client, oauth.None(), started.device_code, { ...insecure, DPoP: oauth.DPoP(client, key.pair) });
      const tokens = await oauth.processDeviceCodeResponse(server.as, client, response);
      expect(tokens.token_type).to.equal('dpop');
      expect(decodeJwt(tokens.access_token)['cnf']).to.deep.equal({ jkt: key.jkt });
    });
  });

  describe('refresh', () => {
    it('authorization_code + DPoP (public client): bound tokens; the refresh token works only with the same key (another key or none: invalid_grant, nothing revoked)', async () => {
      const { tokens, refresh, client } = await codeTokens(false, key);
      expect(tokens.token_type).to.equal('dpop');
      expect(decodeJwt(tokens.access_token)['cnf']).to.deep.equal({ jkt: key.jkt });
      for (const by of [stranger, undefined]) {
        const refused = await refresh(tokens.refresh_token!, by);
        expect(refused.status, by ? 'another key' : 'no proof').to.equal(400);
        expect(((await refused.json()) as { error: string }).error).to.equal('invalid_grant');
      }
      // Refused before reuse detection: the family is intact and the holder of the key refreshes.
      const again = await oauth.processRefreshTokenResponse(server.as, client, await refresh(tokens.refresh_token!, key));
      expect(again.token_type).to.equal('dpop');
      expect(decodeJwt(again.access_token)['cnf']).to.deep.equal({ jkt: key.jkt });
      const refreshed = (await familyEvents(again.access_token)).find((e) => e.type === 'TokenRefreshed')!;
      expect((refreshed.data as { dpopJkt?: string }).dpopJkt).to.equal(key.jkt);
    });

    it('a bad proof on a refresh is invalid_dpop_proof, not invalid_grant', async () => {
      const { tokens, client } = await codeTokens(false, key);
      const res = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: client.client_id }, { dpop: await proof(key, { htm: 'POST', htu: `${server.url}/oauth/nope` }) });
      expect(res.status).to.equal(400);
      expect(res.body.error).to.equal('invalid_dpop_proof');
    });

    it('a confidential client may refresh with another key (the new access token is bound to it) or with none (a bearer token)', async () => {
      const { tokens, refresh, client } = await codeTokens(true, key);
      const rebound = await oauth.processRefreshTokenResponse(server.as, client, await refresh(tokens.refresh_token!, stranger));
      expect(decodeJwt(rebound.access_token)['cnf']).to.deep.equal({ jkt: stranger.jkt });
      const bearer = await oauth.processRefreshTokenResponse(server.as, client, await refresh(rebound.refresh_token!, undefined));
      expect(bearer.token_type).to.equal('bearer');
      expect(decodeJwt(bearer.access_token)['cnf']).to.equal(undefined);
    });
  });

  describe('at a protected API (createPolicy)', () => {
    it('accepts a bound token with its proof (oauth4webapi protectedResourceRequest) and puts the thumbprint in ctx.state.auth.jkt', async () => {
      const { token, DPoP, client } = await clientToken(key);
      const response = await oauth.protectedResourceRequest(token, 'GET', new URL(`${api.url}/me`), undefined, undefined, { ...insecure, DPoP: DPoP! });
      expect(response.status).to.equal(200);
      expect(await response.json()).to.deep.equal({ subject: client.id, jkt: key.jkt });
      const post = await oauth.protectedResourceRequest(token, 'POST', new URL(`${other.url}/me`), undefined, undefined, { ...insecure, DPoP: DPoP! });
      expect(post.status).to.equal(200);
    });

    it('a proof replayed at another policy instance (own pool, same database) or at the same one is refused', async () => {
      const { token } = await clientToken(key);
      const headers = async (url: string) => ({ authorization: `DPoP ${token}`, dpop: await proof(key, { htm: 'GET', htu: url, ath: accessTokenHash(token) }) });
      const first = await headers(`${api.url}/me`);
      expect((await call(`${api.url}/me`, first)).status).to.equal(200);
      for (const target of [api, api]) {
        const replay = await call(`${target.url}/me`, first);
        expect(replay.status).to.equal(401);
        expect(replay.body.error_description).to.equal('the DPoP proof was used before (jti)');
      }
      // Same path on the other API: its htu matches there, only the jti gives it away.
      const twoApis = await proof(key, { htm: 'GET', htu: `${other.url}/me`, ath: accessTokenHash(token), jti: 'shared-jti' });
      const sameJti = { authorization: `DPoP ${token}`, dpop: twoApis };
      expect((await call(`${other.url}/me`, sameJti)).status).to.equal(200);
      const otherPolicy = await call(`${other.url}/me`, sameJti);
      expect(otherPolicy.body.error_description).to.equal('the DPoP proof was used before (jti)');
      // And the table is shared: a jti first seen by `other` is refused by `api` (same key).
      const crossed = await call(`${api.url}/me`, { authorization: `DPoP ${token}`, dpop: await proof(key, { htm: 'GET', htu: `${api.url}/me`, ath: accessTokenHash(token), jti: 'shared-jti' }) });
      expect(crossed.status).to.equal(401);
      expect(crossed.body.error_description).to.equal('the DPoP proof was used before (jti)');
    });

    it('the same proof sent many times at once to two instances gets in exactly once', async () => {
      const { token } = await clientToken(key);
      // Both APIs listen on 127.0.0.1 with path /me; publicOrigin makes one htu fit both.
      const shared = await protectedApi(server, { publicOrigin: 'https://api.example' });
      const twin = await protectedApi(server, { publicOrigin: 'https://api.example' });
      try {
        const headers = { authorization: `DPoP ${token}`, dpop: await proof(key, { htm: 'GET', htu: 'https://api.example/me', ath: accessTokenHash(token) }) };
        const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => call(`${(i % 2 ? shared : twin).url}/me`, headers)));
        expect(answers.map((a) => a.status).sort()).to.deep.equal([200, 401, 401, 401, 401, 401, 401, 401]);
      } finally {
        await shared.close();
        await twin.close();
      }
    });

    it('the replay record: a jti twice in one batch is one use (the batch would answer both alike); the same statement gives the revocation state', async () => {
      const pool = new pg.Pool({ connectionString: server.db.url, max: 1 });
      const jtis = new ProofJtis(pool);
      try {
        // Two inserts in flight (a, b) make c and its replay wait for the same next batch.
        const run = randomUUID();
        const firstUse = async (jkt: string, jti: string) => (await jtis.lookup('no-such-token', jkt, jti)).firstUse;
        const answers = await Promise.all(['a', 'b', 'c', 'c'].map((jti) => firstUse(key.jkt, `${run}-${jti}`)));
        expect(answers).to.deep.equal([true, true, true, false]);
        expect(await firstUse(key.jkt, `${run}-a`)).to.equal(false);
        expect(await firstUse(stranger.jkt, `${run}-a`), 'per key').to.equal(true);
        // The same statement answers the token's revocation state, as the bearer path's lookup does.
        const { token } = await clientToken(key);
        expect((await jtis.lookup(decodeJwt(token).jti!, key.jkt, `${run}-d`)).state).to.deep.equal({ grantType: 'client_credentials', familyRevoked: false, clientRevoked: false });
        expect((await jtis.lookup('no-such-token', key.jkt, `${run}-e`)).state).to.equal(undefined);
      } finally {
        await jtis.close();
        await pool.end();
      }
    });

    it('refuses proofs that do not fit the request: wrong htu, htm, ath, an old or future iat (401 invalid_dpop_proof with algs)', async () => {
      const { token } = await clientToken(key);
      const htu = `${api.url}/me`;
      const ath = accessTokenHash(token);
      const cases: [Record<string, unknown>, string][] = [
        [{ htm: 'GET', htu: `${api.url}/other`, ath }, 'the DPoP proof htu does not match the request URL'],
        [{ htm: 'GET', htu: `https://127.0.0.1:${new URL(api.url).port}/me`, ath }, 'the DPoP proof htu does not match the request URL'],
        [{ htm: 'POST', htu, ath }, 'the DPoP proof htm does not match the request method'],
        [{ htm: 'GET', htu, ath: accessTokenHash(`${token}x`) }, 'the DPoP proof ath does not match the access token'],
        [{ htm: 'GET', htu, ath: undefined }, 'the DPoP proof ath does not match the access token'],
        [{ htm: 'GET', htu, ath, iat: now() - 70 }, 'the DPoP proof iat is too far from the current time'],
        [{ htm: 'GET', htu, ath, iat: now() + 70 }, 'the DPoP proof iat is too far from the current time'],
        [{ htm: 'GET', htu, ath, jti: undefined }, 'the DPoP proof needs a jti of 1 to 256 characters'],
      ];
      for (const [claims, description] of cases) {
        const res = await call(htu, { authorization: `DPoP ${token}`, dpop: await proof(key, claims) });
        expect(res.status, description).to.equal(401);
        expect(res.body, description).to.deep.equal({ error: 'invalid_dpop_proof', error_description: description });
        expect(res.headers.get('www-authenticate'), description).to.match(/^DPoP realm="[^"]+", error="invalid_dpop_proof", error_description="[^"]+", algs="ES256 ES384 PS256 RS256 EdDSA Ed25519"$/);
      }
      // The same request with a proof that fits: the cases above fail for their own reason.
      expect((await call(htu, { authorization: `DPoP ${token}`, dpop: await proof(key, { htm: 'GET', htu, ath }) })).status).to.equal(200);
    });

    it('compares htu after normalisation (case of scheme and host, default port, percent-encoding, query and fragment ignored)', async () => {
      const { token } = await clientToken(key);
      const port = new URL(api.url).port;
      expect(normalizeHtu('HTTPS://API.Example:443/a/%7e/%2f/./b?x=1#y')).to.equal('https://api.example/a/~/%2F/b');
      for (const htu of [`HTTP://127.0.0.1:${port}/me`, `http://127.0.0.1:${port}/%6De`, `http://127.0.0.1:${port}/me?page=2#top`, `http://127.0.0.1:${port}/x/../me`]) {
        const res = await call(`${api.url}/me`, { authorization: `DPoP ${token}`, dpop: await proof(key, { htm: 'GET', htu, ath: accessTokenHash(token) }) });
        expect(res.status, htu).to.equal(200);
      }
    });

    it('a bound token sent as Bearer is 401 invalid_token with a DPoP challenge; a bearer token sent as DPoP is refused too', async () => {
      const bound = await clientToken(key);
      const asBearer = await call(`${api.url}/me`, { authorization: `Bearer ${bound.token}` });
      expect(asBearer.status).to.equal(401);
      expect(dpopError(asBearer)).to.equal('invalid_token');
      expect(asBearer.body.error_description).to.equal('the access token is bound to a key; send it with the DPoP scheme and a proof');
      const plain = await clientToken(undefined);
      const asDpop = await call(`${api.url}/me`, { authorization: `DPoP ${plain.token}`, dpop: await proof(key, { htm: 'GET', htu: `${api.url}/me`, ath: accessTokenHash(plain.token) }) });
      expect(asDpop.status).to.equal(401);
      expect(asDpop.body.error_description).to.equal('the access token is not bound to a key; send it as a Bearer token');
      // …and as Bearer it is fine, as before.
      expect((await call(`${api.url}/me`, { authorization: `Bearer ${plain.token}` })).status).to.equal(200);
    });

    it('a proof signed by another key than the token is bound to is 401 invalid_token', async () => {
      const { token } = await clientToken(key);
      const res = await call(`${api.url}/me`, { authorization: `DPoP ${token}`, dpop: await proof(stranger, { htm: 'GET', htu: `${api.url}/me`, ath: accessTokenHash(token) }) });
      expect(res.status).to.equal(401);
      expect(dpopError(res)).to.equal('invalid_token');
      expect(res.body.error_description).to.equal('the DPoP proof is not signed by the key the access token is bound to');
    });

    it('refuses alg none, HS256, a private jwk, a wrong typ and a jwk that does not fit alg; other algorithms work (ES384, PS256, RS256, EdDSA)', async () => {
      const { token } = await clientToken(key);
      const htu = `${api.url}/me`;
      const claims = () => ({ htm: 'GET', htu, ath: accessTokenHash(token), iat: now(), jti: randomUUID() });
      const unsigned = `${b64({ alg: 'none', typ: 'dpop+jwt', jwk: key.jwk })}.${b64(claims())}.`;
      const hsInput = `${b64({ alg: 'HS256', typ: 'dpop+jwt', jwk: key.jwk })}.${b64(claims())}`;
      const hs256 = `${hsInput}.${createHmac('sha256', Buffer.from(JSON.stringify(key.jwk))).update(hsInput).digest('base64url')}`;
      const cases: [string, string][] = [
        [unsigned, 'the DPoP proof is not a compact JWS'],
        [hs256, `the DPoP proof alg must be one of ${DPOP_ALGS.join(', ')}`],
        [await proof(key, claims(), { jwk: await exportJWK(key.privateKey) }), 'the DPoP proof jwk must be a public key'],
        [await proof(key, claims(), { typ: 'JWT' }), 'the DPoP proof typ must be dpop+jwt'],
        [await proof(key, claims(), { jwk: (await newKey('EdDSA')).jwk }), 'the DPoP proof jwk does not fit alg ES256'],
        [await proof(key, claims(), { jwk: stranger.jwk }), 'the DPoP proof signature does not verify with its jwk'],
      ];
      for (const [dpop, description] of cases) {
        const res = await call(htu, { authorization: `DPoP ${token}`, dpop });
        expect(res.status, description).to.equal(401);
        expect(res.body, description).to.deep.equal({ error: 'invalid_dpop_proof', error_description: description });
      }
      for (const alg of ['ES384', 'PS256', 'RS256', 'EdDSA' /* oauth4webapi signs as Ed25519 */]) {
        const algKey = await newKey(alg);
        const bound = await clientToken(algKey);
        const response = await oauth.protectedResourceRequest(bound.token, 'GET', new URL(htu), undefined, undefined, { ...insecure, DPoP: bound.DPoP! });
        expect(response.status, alg).to.equal(200);
        expect(((await response.json()) as { jkt: string }).jkt, alg).to.equal(algKey.jkt);
      }
    });

    it('malformed DPoP headers are 401 invalid_dpop_proof at the API and 400 at the token endpoint, never 5xx', async () => {
      const { token } = await clientToken(key);
      const htu = `${api.url}/me`;
      const c = await server.client({ scopes: ['read'] });
      const basicAuth = `Basic ${Buffer.from(`${c.id}:${c.secret}`).toString('base64')}`;
      // An RSA key under 2048 bits (jose will not make one: node:crypto signs it).
      const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
      const weakInput = `${b64({ alg: 'RS256', typ: 'dpop+jwt', jwk: rsa1024.publicKey.export({ format: 'jwk' }) })}.${b64({ htm: 'GET', htu, ath: accessTokenHash(token), iat: now(), jti: randomUUID() })}`;
      const weak = `${weakInput}.${sign('sha256', Buffer.from(weakInput), rsa1024.privateKey).toString('base64url')}`;
      const malformed = [
        '', 'x', 'a.b.c', '..', 'a..b', `${'A'.repeat(9000)}.${'B'.repeat(10)}.C`,
        `${b64({ alg: 'ES256', typ: 'dpop+jwt' })}.${b64({})}.AAAA`,
        `${Buffer.from('not json').toString('base64url')}.${b64({})}.AAAA`,
        `${b64([1, 2])}.${b64({})}.AAAA`,
        `${b64({ alg: 'ES256', typ: 'dpop+jwt', jwk: 'string' })}.${b64({})}.AAAA`,
        `${b64({ alg: 'ES256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: 'c2VjcmV0' } })}.${b64({})}.AAAA`,
        `${b64({ alg: 'ES256', typ: 'dpop+jwt', jwk: { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' } })}.${b64({})}.AAAA`,
        `${b64({ alg: 'ES256', typ: 'dpop+jwt', jwk: { ...key.jwk, x: 123 } })}.${b64({})}.AAAA`,
        `${b64({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk, crit: ['exp'] })}.${b64({})}.AAAA`,
        `${b64({ alg: ['ES256'], typ: 'dpop+jwt', jwk: key.jwk })}.${b64({})}.AAAA`,
        await proof(key, { htm: 'GET', htu, ath: accessTokenHash(token), iat: 'now' }),
        await proof(key, { htm: 'GET', htu, ath: accessTokenHash(token), jti: 42 }),
        await proof(key, { htm: 'GET', htu: 42, ath: accessTokenHash(token) }),
        await proof(key, { htm: 'GET', htu: 'not a url', ath: accessTokenHash(token) }),
        await proof(key, { htm: 'GET', htu, ath: accessTokenHash(token), jti: 'j'.repeat(300) }),
        weak,
      ];
      for (const dpop of malformed) {
        const label = dpop.slice(0, 60);
        const atApi = await call(htu, { authorization: `DPoP ${token}`, dpop });
        expect(atApi.status, label).to.equal(401);
        expect(atApi.body.error, label).to.equal('invalid_dpop_proof');
        const atToken = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basicAuth, dpop });
        expect(atToken.status, label).to.equal(400);
        expect(atToken.body.error, label).to.equal('invalid_dpop_proof');
      }
      // DPoP scheme without any DPoP header; and two DPoP header lines.
      const none = await call(htu, { authorization: `DPoP ${token}` });
      expect(none.body).to.deep.equal({ error: 'invalid_dpop_proof', error_description: 'a DPoP proof is required' });
      const lines = [await proof(key, { htm: 'GET', htu, ath: accessTokenHash(token) }), await proof(key, { htm: 'GET', htu, ath: accessTokenHash(token) })];
      const twice = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        // Node's http client sends an array as one header line per value (fetch would join them).
        const req = http.request(htu, { headers: { authorization: `DPoP ${token}`, dpop: lines } }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        req.end();
      });
      expect(twice.status).to.equal(401);
      expect(JSON.parse(twice.body)).to.deep.equal({ error: 'invalid_dpop_proof', error_description: 'send exactly one DPoP header' });
    });

    it('publicOrigin sets the scheme and host htu must name; X-Forwarded-* count only with trustProxy', async () => {
      const { token } = await clientToken(key);
      const behind = await protectedApi(server, { publicOrigin: 'https://api.example.com' });
      const proxied = await protectedApi(server, { trustProxy: true });
      try {
        const send = async (target: Api, htu: string, headers: Record<string, string> = {}) =>
          call(`${target.url}/me`, { authorization: `DPoP ${token}`, dpop: await proof(key, { htm: 'GET', htu, ath: accessTokenHash(token) }), ...headers });
        expect((await send(behind, 'https://api.example.com/me')).status).to.equal(200);
        expect((await send(behind, `${behind.url}/me`)).body.error_description).to.equal('the DPoP proof htu does not match the request URL');
        const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'edge.example' };
        expect((await send(proxied, 'https://edge.example/me', forwarded)).status).to.equal(200);
        expect((await send(api, 'https://edge.example/me', forwarded)).body.error_description).to.equal('the DPoP proof htu does not match the request URL');
        expect((await send(api, `${api.url}/me`, forwarded)).status).to.equal(200);
        expect(() => createPolicy({ issuer: server.url, databaseUrl: server.db.url, publicOrigin: 'https://api.example.com/v1' })).to.throw(/publicOrigin/);
      } finally {
        await behind.close();
        await proxied.close();
      }
    });

    it('authenticate() without Koa takes the request; a revoked bound token is refused with a DPoP challenge', async () => {
      const { token, client } = await clientToken(key);
      const url = 'https://api.example/things';
      const request = async () => ({ method: 'DELETE', url, proof: await proof(key, { htm: 'DELETE', htu: url, ath: accessTokenHash(token) }) });
      const auth = await api.policy.authenticate(`DPoP ${token}`, await request());
      expect(auth).to.include({ subject: client.id, jkt: key.jkt });
      const revoke = await postForm(`${server.url}/oauth/revoke`, { token }, { authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}` });
      expect(revoke.status).to.equal(200);
      const refused = await call(`${api.url}/me`, { authorization: `DPoP ${token}`, dpop: await proof(key, { htm: 'GET', htu: `${api.url}/me`, ath: accessTokenHash(token) }) });
      expect(refused.status).to.equal(401);
      expect(dpopError(refused)).to.equal('invalid_token');
      expect(refused.body.error_description).to.equal('the access token was revoked');
    });
  });

  describe('server nonces (WARRANT_DPOP_NONCE=true)', () => {
    const nonceServer = useTestServer({ config: { dpopNonce: true, scopes: { read: 'Read' } } });

    it('a proof without the nonce gets use_dpop_nonce with a DPoP-Nonce header; oauth4webapi retries with it and gets a bound token', async () => {
      const c = await nonceServer.client({ scopes: ['read'] });
      const DPoP = oauth.DPoP(c.client, key.pair);
      const request = () => oauth.clientCredentialsGrantRequest(nonceServer.as, c.client, oauth.ClientSecretBasic(c.secret), { scope: 'read' }, { ...insecure, DPoP });
      const first = await request();
      expect(first.status).to.equal(400);
      const nonce = first.headers.get('dpop-nonce');
      expect(nonce).to.match(/^[A-Za-z0-9_-]{43}$/);
      let error: unknown;
      await oauth.processClientCredentialsResponse(nonceServer.as, c.client, first).catch((e: unknown) => (error = e));
      expect(oauth.isDPoPNonceError(error)).to.equal(true);
      const second = await request();
      expect(second.headers.get('dpop-nonce')).to.equal(nonce);
      const result = await oauth.processClientCredentialsResponse(nonceServer.as, c.client, second);
      expect(decodeJwt(result.access_token)['cnf']).to.deep.equal({ jkt: key.jkt });
    });

    it('a made-up nonce is refused with use_dpop_nonce too; without a proof at all nothing changes', async () => {
      const c = await nonceServer.client({ scopes: ['read'] });
      const basicAuth = `Basic ${Buffer.from(`${c.id}:${c.secret}`).toString('base64')}`;
      const endpoint = `${nonceServer.url}/oauth/token`;
      const forged = await postForm(endpoint, { grant_type: 'client_credentials' }, { authorization: basicAuth, dpop: await proof(key, { htm: 'POST', htu: endpoint, nonce: 'A'.repeat(43) }) });
      expect(forged.status).to.equal(400);
      expect(forged.body).to.deep.equal({ error: 'use_dpop_nonce', error_description: 'the DPoP nonce is stale; use the one in the DPoP-Nonce header' });
      const nonce = forged.headers.get('dpop-nonce')!;
      const good = await postForm(endpoint, { grant_type: 'client_credentials' }, { authorization: basicAuth, dpop: await proof(key, { htm: 'POST', htu: endpoint, nonce }) });
      expect(good.status).to.equal(200);
      expect(good.body.token_type).to.equal('DPoP');
      const bearer = await postForm(endpoint, { grant_type: 'client_credentials' }, { authorization: basicAuth });
      expect(bearer.status).to.equal(200);
      expect(bearer.body.token_type).to.equal('Bearer');
      expect(bearer.headers.get('dpop-nonce')).to.equal(null);
    });

    it('nonces are stateless: any process with the same key accepts them, for the current and the previous 5-minute window only', () => {
      let at = Date.UTC(2026, 0, 1, 0, 0, 0);
      const keyBytes = Buffer.alloc(32, 7);
      const issuing = new DpopNonces(keyBytes, () => new Date(at));
      const elsewhere = new DpopNonces(keyBytes, () => new Date(at));
      const stranger = new DpopNonces(Buffer.alloc(32, 8), () => new Date(at));
      const nonce = issuing.current();
      expect(elsewhere.accepts(nonce)).to.equal(true);
      expect(stranger.accepts(nonce)).to.equal(false);
      at += 300_000;
      expect(elsewhere.accepts(nonce)).to.equal(true);
      expect(elsewhere.current()).to.not.equal(nonce);
      at += 300_000;
      expect(elsewhere.accepts(nonce)).to.equal(false);
    });
  });
});
