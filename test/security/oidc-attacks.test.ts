// Outsider attacks on OpenID Connect (issue 16): RP-initiated logout (open redirect, CSRF, forged
// hints), the login_after marker and max_age, prompt=none probing, reflection into pages,
// userinfo with the wrong tokens, private_key_jwt confusion and jwks_uri SSRF, claims injection
// through findAccount, and malformed input at every new endpoint (never a 5xx).

import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { s256 } from '../../src/oauth/grants/authorization-code.js';
import { CLIENT_ASSERTION_TYPE } from '../../src/oauth/client-assertion.js';
import { createUser } from '../../src/users/directory.js';
import { Browser, field, signIn, type Page } from '../support/browser-session.js';
import { basic, postForm, startTestServer, type TestServer } from '../support/server.js';

const PASSWORD = 'a long enough password';
const REDIRECT = 'https://rp.example/cb';
const AFTER = 'https://rp.example/signed-out';
const OTHER_AFTER = 'https://other.example/bye';
const API = 'https://api.example';
const VERIFIER = 'v'.repeat(43);
const XSS = '"><script>alert(1)</script><img src=x onerror=alert(2)>';
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const seconds = () => Math.floor(Date.now() / 1000);

describe('OpenID Connect attacks', function () {
  this.timeout(60_000);
  let server: TestServer;
  let skew = 0;
  let rp: { id: string; secret: string };
  let other: { id: string; secret: string };
  let ada: string;

  before(async () => {
    server = await startTestServer({ clock: () => new Date(Date.now() + skew), config: { scopes: { 'notes:read': 'Read your notes' }, rateLimitFailures: 10_000 } });
    ada = (await createUser(server.auth.pool, 'ada', PASSWORD)).userId;
    await createUser(server.auth.pool, 'eve', PASSWORD);
    rp = await server.client({ name: 'Relying Party', grantTypes: ['authorization_code', 'refresh_token'], scopes: ['notes:read'], redirectUris: [REDIRECT], postLogoutRedirectUris: [AFTER], resources: [API], firstParty: true });
    other = await server.client({ name: XSS, grantTypes: ['authorization_code'], scopes: [], redirectUris: ['https://other.example/cb', 'https://other.example/cb2'], postLogoutRedirectUris: [OTHER_AFTER] });
  });
  after(async () => {
    await server?.stop();
  });

  const authorizeUrl = (extra: Record<string, string> = {}, clientId = rp.id) =>
    `/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: 'openid', state: 'st', nonce: 'nn', code_challenge: s256(VERIFIER), code_challenge_method: 'S256', ...extra })}`;
  const user = async (name = 'ada') => {
    const browser = new Browser(server.url);
    await signIn(server.url, name, PASSWORD, browser);
    return browser;
  };
  const signedIn = async (browser: Browser) => (await browser.go('/oauth/login')).html.includes('You are signed in as');
  /** The authorization code flow for a signed-in browser: the token response. */
  async function tokens(browser: Browser, extra: Record<string, string> = {}) {
    const page = await browser.go(authorizeUrl(extra));
    const code = new URL(page.location!).searchParams.get('code');
    expect(code, page.location ?? page.html).to.be.a('string');
    const res = await postForm(`${server.url}/oauth/token`, { grant_type: 'authorization_code', code: code!, redirect_uri: REDIRECT, code_verifier: VERIFIER }, { authorization: basic(rp.id, rp.secret) });
    expect(res.status).to.equal(200);
    return res.body as { access_token: string; id_token: string; refresh_token: string };
  }
  const endSession = (browser: Browser, params: Record<string, string>, method: 'GET' | 'POST' = 'GET') =>
    method === 'GET' ? browser.go(`/oauth/end_session?${new URLSearchParams(params)}`) : browser.post('/oauth/end_session', params);
  const refusedPage = (page: Page, what: string) => {
    expect(page.status, `${what}: ${page.html.slice(0, 300)}`).to.equal(400);
    expect(page.location, what).to.equal(null);
  };

  describe('RP-initiated logout', () => {
    it('post_logout_redirect_uri tricks (case, slash, encoding, port, userinfo, scheme, another client\'s URI): a 400 page, never a redirect, the session kept', async () => {
      const browser = await user();
      const hint = (await tokens(browser)).id_token;
      const tricks = [
        'https://RP.example/signed-out', 'https://rp.example/Signed-out', 'https://rp.example/signed-out/', 'https://rp.example/signed-out?x=1',
        'https://rp.example/signed-out#x', 'https://rp.example/%73igned-out', 'https://rp.example:443/signed-out', 'https://user@rp.example/signed-out',
        'http://rp.example/signed-out', 'https://rp.example/signed-out/../../evil', 'https://rp.example.evil.example/signed-out', '//evil.example/',
        'https:\\\\evil.example', ` ${AFTER}`, `${AFTER}%00`, 'javascript:alert(1)', OTHER_AFTER, 'https://rp.example/cb',
      ];
      for (const uri of tricks) {
        for (const who of [{ id_token_hint: hint }, { client_id: rp.id }] as Record<string, string>[]) {
          for (const method of ['GET', 'POST'] as const) refusedPage(await endSession(browser, { ...who, post_logout_redirect_uri: uri }, method), `${method} ${uri}`);
        }
      }
      // Another client's registered URI through a client_id that contradicts the hint, or no RP named at all.
      refusedPage(await endSession(browser, { id_token_hint: hint, client_id: other.id, post_logout_redirect_uri: OTHER_AFTER }), 'hint/client_id mismatch');
      refusedPage(await endSession(browser, { post_logout_redirect_uri: AFTER }), 'unidentified RP');
      refusedPage(await endSession(browser, { client_id: randomUUID(), post_logout_redirect_uri: AFTER }), 'unknown client');
      expect(await signedIn(browser)).to.equal(true);
      // The exact URI works, and the state cannot smuggle parameters into it.
      const out = await endSession(browser, { id_token_hint: hint, post_logout_redirect_uri: AFTER, state: 'a&code=evil#frag' });
      const landed = new URL(out.location!);
      expect(landed.origin + landed.pathname).to.equal(AFTER);
      expect([...landed.searchParams]).to.deep.equal([['state', 'a&code=evil#frag']]);
      expect(landed.hash).to.equal('');
    });

    it('logout CSRF: a bare GET, a client_id, someone else\'s id token as hint, or a POST without the session\'s CSRF token never ends the session', async () => {
      const victim = await user();
      const eve = await user('eve');
      const evesHint = (await tokens(eve)).id_token;
      const asks: [Record<string, string>, 'GET' | 'POST'][] = [
        [{}, 'GET'], [{}, 'POST'], [{ client_id: rp.id, post_logout_redirect_uri: AFTER }, 'GET'], [{ client_id: rp.id, post_logout_redirect_uri: AFTER }, 'POST'],
        [{ id_token_hint: evesHint }, 'GET'], [{ id_token_hint: evesHint, post_logout_redirect_uri: AFTER }, 'POST'],
      ];
      for (const [params, method] of asks) {
        const page = await endSession(victim, params, method);
        expect(page.status, `${method} ${Object.keys(params)}`).to.equal(200);
        expect(page.html).to.contain('Sign out?');
        expect(page.location).to.equal(null);
      }
      const anonymousCsrf = field((await new Browser(server.url).go('/oauth/login')).html, 'csrf')!;
      const evesCsrf = field((await endSession(eve, {})).html, 'csrf')!;
      for (const csrf of [undefined, '', 'x'.repeat(43), anonymousCsrf, evesCsrf]) {
        const forged = await victim.post('/oauth/end_session', { decision: 'logout', id_token_hint: evesHint, ...(csrf === undefined ? {} : { csrf }) });
        expect(forged.status, String(csrf)).to.be.oneOf([403, 400]);
      }
      expect(await signedIn(victim)).to.equal(true);
      // A cross-site POST carries no session cookie (SameSite=Lax): nothing to end there.
      const fresh = new Browser(server.url);
      const form = await fresh.go('/oauth/login');
      const set = (await fresh.post('/oauth/login', { username: 'ada', password: PASSWORD, csrf: field(form.html, 'csrf')!, return_to: '/oauth/login' })).headers.getSetCookie().find((c) => c.startsWith('warrant_session='));
      expect(set).to.match(/HttpOnly/).and.match(/SameSite=Lax/);
    });

    it('forged id_token_hints: another key under the server\'s kid, alg none, HS256 keyed with the public key, an access token, garbage: 400, still signed in', async () => {
      const browser = await user();
      const genuine = await tokens(browser);
      const header = JSON.parse(Buffer.from(genuine.id_token.split('.')[0]!, 'base64url').toString()) as { kid: string };
      const claims = decodeJwt(genuine.id_token);
      expect(claims.sub).to.equal(ada);
      const attacker = await generateKeyPair('ES256');
      const jwks = (await (await fetch(`${server.url}/oauth/jwks`)).json()) as { keys: JWK[] };
      const forged = [
        await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: header.kid, typ: 'JWT' }).sign(attacker.privateKey),
        await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'attacker', typ: 'JWT' }).sign(attacker.privateKey),
        `${b64({ alg: 'none', kid: header.kid, typ: 'JWT' })}.${b64(claims)}.`,
        await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: header.kid }).sign(new TextEncoder().encode(JSON.stringify(jwks.keys[0]))),
        genuine.access_token,
        `${b64({ alg: 'ES256', kid: { $ne: 1 } })}.${b64(claims)}.sig`,
        `${b64({ alg: 'ES256', kid: header.kid })}.${b64([1, 2])}.${genuine.id_token.split('.')[2]}`,
        'a.b.c', '...', 'e30', 'x'.repeat(9000), '\u00ff\u00fe',
      ];
      for (const hint of forged) {
        for (const method of ['GET', 'POST'] as const) refusedPage(await endSession(browser, { id_token_hint: hint, post_logout_redirect_uri: AFTER }, method), `${method} ${hint.slice(0, 60)}`);
      }
      // Non-UTF-8 percent-encoding in the query.
      refusedPage(await browser.go('/oauth/end_session?id_token_hint=%FF%FE.%C0%AF.x'), 'non-UTF-8');
      expect(await signedIn(browser)).to.equal(true);
    });
  });

  describe('forced sign-in and prompt=none', () => {
    const loginAfterOf = async (browser: Browser, extra: Record<string, string>) => {
      const page = await browser.go(authorizeUrl(extra));
      expect(page.location).to.match(/^\/oauth\/login\?/);
      const returnTo = new URL(page.location!, server.url).searchParams.get('return_to')!;
      return { returnTo, marker: new URL(returnTo, server.url).searchParams.get('login_after')! };
    };

    it('login_after markers: tampered time, another signature, malformed or repeated, or older than 10 minutes do not count as a fresh sign-in', async () => {
      const browser = await user();
      const { marker } = await loginAfterOf(browser, { prompt: 'login' });
      const [at, sig] = marker.split('.') as [string, string];
      const bad = [`${Number(at) + 1}.${sig}`, `${Number(at) - 60_000}.${sig}`, `${at}.${sig.slice(0, -1)}A`, `${at}.${sig}x`, `-${at}.${sig}`, `${at}`, '9'.repeat(16) + `.${sig}`, `${at}.${sig}.${sig}`];
      for (const loginAfter of bad) {
        const page = await browser.go(authorizeUrl({ prompt: 'login', login_after: loginAfter }));
        expect(page.location, loginAfter).to.match(/^\/oauth\/login\?/);
      }
      const repeated = await browser.go(`${authorizeUrl({ prompt: 'login' })}&login_after=${marker}&login_after=${marker}`);
      expect(repeated.status).to.be.below(500);
      expect(repeated.location ?? '').not.to.contain('code=');
      // A genuine marker eleven minutes old: the sign-in it asked for is too late to count.
      const old = await loginAfterOf(browser, { max_age: '0' });
      skew = 11 * 60_000;
      try {
        const form = await browser.go(`/oauth/login?${new URLSearchParams({ return_to: old.returnTo, prompt: 'login' })}`);
        const done = await browser.post('/oauth/login', { username: 'ada', password: PASSWORD, csrf: field(form.html, 'csrf')!, return_to: old.returnTo });
        const resumed = await browser.go(done.location!);
        expect(resumed.location).to.match(/^\/oauth\/login\?/);
      } finally {
        skew = 0;
      }
    });

    it('max_age edge cases: 0 and 00 force a sign-in, prompt=none with a stale sign-in is login_required, malformed values are invalid_request', async () => {
      const browser = await user();
      for (const maxAge of ['0', '00', '000000000']) expect((await browser.go(authorizeUrl({ max_age: maxAge }))).location, maxAge).to.match(/^\/oauth\/login\?.*prompt=login/);
      for (const extra of [{ prompt: 'none', max_age: '0' }, { prompt: 'none', max_age: '00' }]) {
        const page = await browser.go(authorizeUrl(extra));
        expect(Object.fromEntries(new URL(page.location!).searchParams)).to.include({ error: 'login_required', state: 'st' });
      }
      for (const maxAge of ['-1', '-0', '+5', ' 5', '5 ', '1e3', '0x10', '1.5', '9999999999', 'NaN', 'Infinity', '１']) {
        const page = await browser.go(authorizeUrl({ max_age: maxAge }));
        expect(new URL(page.location!).searchParams.get('error'), maxAge).to.equal('invalid_request');
      }
      expect(new URL((await browser.go(authorizeUrl({ max_age: '999999999' }))).location!).searchParams.has('code')).to.equal(true);
      skew = 3_000;
      try {
        expect((await browser.go(authorizeUrl({ max_age: '1' }))).location).to.match(/^\/oauth\/login\?/);
      } finally {
        skew = 0;
      }
    });

    it('prompt=none never redirects to an unregistered or missing redirect_uri, and the page does not tell whether anyone is signed in', async () => {
      const browser = await user();
      const anonymous = new Browser(server.url);
      const probes: [Record<string, string>, string][] = [
        [{ redirect_uri: 'https://evil.example/cb' }, rp.id], [{ redirect_uri: `${REDIRECT}/` }, rp.id],
        [{ redirect_uri: 'https://other.example/cb' }, rp.id], [{ redirect_uri: '' }, other.id], [{}, randomUUID()], [{}, 'not-a-client'],
      ];
      for (const [extra, clientId] of probes) {
        const url = authorizeUrl({ prompt: 'none', ...extra }, clientId);
        const signed = await browser.go(url);
        const nobody = await anonymous.go(url);
        refusedPage(signed, url);
        refusedPage(nobody, url);
        expect(signed.html).to.equal(nobody.html);
      }
    });
  });

  describe('found by this review, fixed', () => {
    it('scope names that are properties of every JavaScript object (constructor, toString, __proto__) are not OpenID scopes: invalid_scope', async () => {
      const browser = await user();
      for (const scope of ['openid constructor', 'openid toString', 'openid __proto__', 'openid hasOwnProperty']) {
        const page = await browser.go(authorizeUrl({ scope }));
        expect(new URL(page.location!).searchParams.get('error'), scope).to.equal('invalid_scope');
      }
    });

    it('a fresh-sign-in marker covers only the request it was made for: reused for another state, it sends the person to sign in again', async () => {
      const browser = await user();
      const first = await browser.go(authorizeUrl({ prompt: 'login', state: 'one' }));
      const marker = new URL(new URL(first.location!, server.url).searchParams.get('return_to')!, server.url).searchParams.get('login_after')!;
      expect(marker).to.match(/^\d+\./);
      const form = await browser.go(first.location!);
      const resumed = await browser.post('/oauth/login', { username: 'ada', password: PASSWORD, csrf: field(form.html, 'csrf')!, return_to: field(form.html, 'return_to')! });
      expect(new URL((await browser.go(resumed.location!)).location!).searchParams.has('code')).to.equal(true);
      // The same marker on a different request (another state, or max_age=0): sign in again.
      for (const extra of [{ prompt: 'login', state: 'two' }, { max_age: '0', state: 'three' }] as Record<string, string>[]) {
        const reused = await browser.go(authorizeUrl({ ...extra, login_after: marker }));
        expect(reused.location, JSON.stringify(extra)).to.match(/^\/oauth\/login\?/);
      }
    });
  });

  describe('reflection into pages', () => {
    it('login_hint, state, nonce and client names are escaped on the login, consent and logout pages, under a CSP without scripts', async () => {
      const anonymous = new Browser(server.url);
      const toLogin = await anonymous.go(authorizeUrl({ login_hint: XSS, state: XSS, nonce: XSS }));
      const login = await anonymous.go(toLogin.location!);
      const direct = await anonymous.go(`/oauth/login?${new URLSearchParams({ login_hint: XSS, return_to: 'javascript:alert(1)' })}`);
      const browser = await user();
      const consent = await browser.go(authorizeUrl({ state: XSS, nonce: XSS, redirect_uri: 'https://other.example/cb' }, other.id));
      expect(consent.status).to.equal(200);
      const logout = await endSession(browser, { client_id: other.id, post_logout_redirect_uri: OTHER_AFTER, state: XSS });
      expect(logout.html).to.contain('&lt;script&gt;alert(1)&lt;/script&gt;');
      for (const page of [login, direct, consent, logout]) {
        expect(page.status).to.equal(200);
        expect(page.html).not.to.contain('<script').and.not.to.contain('<img').and.not.to.contain('"><script');
        expect(page.headers.get('content-security-policy')).to.match(/^default-src 'none';/).and.not.to.contain('script-src');
        expect(page.headers.get('x-frame-options')).to.equal('DENY');
      }
      expect(field(direct.html, 'return_to')).to.equal('/oauth/login');
      expect(logout.headers.get('content-security-policy')).to.contain("form-action 'self' https://other.example;");
    });
  });

  describe('userinfo', () => {
    it('refuses an id token, a token for another audience, a client_credentials token, tokens outside the Authorization header, and odd headers', async () => {
      const browser = await user();
      const own = await tokens(browser);
      const foreign = await tokens(browser, { resource: API });
      expect(decodeJwt(foreign.access_token).aud).to.equal(API);
      const machine = await server.client({ grantTypes: ['client_credentials'], scopes: ['openid', 'profile'] });
      const cc = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', scope: 'openid profile' }, { authorization: basic(machine.id, machine.secret) });
      const info = (headers: Record<string, string>, query = '', init: RequestInit = {}) => fetch(`${server.url}/oauth/userinfo${query}`, { ...init, headers });
      const refused: [string, Response][] = [
        ['id token', await info({ authorization: `Bearer ${own.id_token}` })],
        ['other audience', await info({ authorization: `Bearer ${foreign.access_token}` })],
        ['query', await info({}, `?access_token=${own.access_token}`)],
        ['body', await info({ 'content-type': 'application/x-www-form-urlencoded' }, '', { method: 'POST', body: `access_token=${own.access_token}` })],
        ['refresh token', await info({ authorization: `Bearer ${own.refresh_token}` })],
        ['basic', await info({ authorization: basic(rp.id, rp.secret) })],
        ['two tokens', await info({ authorization: `Bearer ${own.access_token} ${own.access_token}` })],
        ['10 KB', await info({ authorization: `Bearer ${'a'.repeat(10_000)}` })],
      ];
      expect(cc.status).to.equal(200);
      // A client acting for itself has no account: its token's sub (the client id) names nobody.
      refused.push(['client_credentials', await info({ authorization: `Bearer ${cc.body.access_token}` })]);
      for (const [what, res] of refused) {
        expect(res.status, what).to.be.oneOf([401, 403]);
        expect(res.headers.get('www-authenticate'), what).to.match(/^Bearer/);
      }
      const huge = await info({ authorization: `Bearer ${'a'.repeat(20_000)}` });
      expect(huge.status).to.be.within(400, 499);
      expect((await info({ authorization: `Bearer ${own.access_token}` })).status).to.equal(200);
    });
  });
  describe('private_key_jwt', () => {
    const token = () => `${server.url}/oauth/token`;
    const pair = async () => {
      const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
      const kid = randomUUID();
      return { privateKey, kid, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256' } };
    };
    const signer = async (keys: { jwk: JWK }) => (await server.client({ name: 'Signer', grantTypes: ['client_credentials'], scopes: ['read'], tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [keys.jwk] } })).id;
    const assertion = (keys: { privateKey: CryptoKey; kid: string }, id: string, claims: Record<string, unknown> = {}) =>
      new SignJWT({ iss: id, sub: id, aud: server.url, exp: seconds() + 60, jti: randomUUID(), ...claims }).setProtectedHeader({ alg: 'ES256', kid: keys.kid }).sign(keys.privateKey);
    const form = (jwt: string, extra: Record<string, string> = {}) => ({ grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: jwt, ...extra });
    const expectRefused = (res: { status: number; body: any }, what: string) => {
      expect(res.status, `${what}: ${JSON.stringify(res.body)}`).to.equal(401);
      expect(res.body.error, what).to.equal('invalid_client');
    };

    it('client confusion: A\'s assertion sent as B, an assertion naming B signed with A\'s key, aud naming another endpoint or server, this server\'s own tokens as assertions', async () => {
      const [keysA, keysB] = [await pair(), await pair()];
      const [a, b] = [await signer(keysA), await signer(keysB)];
      expectRefused(await postForm(token(), form(await assertion(keysA, a), { client_id: b })), 'client_id B');
      expectRefused(await postForm(token(), form(await assertion(keysA, b))), 'sub B, key A');
      expectRefused(await postForm(token(), form(await assertion(keysA, b, { iss: a }))), 'iss A sub B');
      for (const aud of [`${server.url}/oauth/revoke`, `${server.url}/`, `${server.url}/oauth/token/`, server.url.toUpperCase(), 'https://other-as.example', [], [`${server.url}/oauth/introspect`]]) {
        expectRefused(await postForm(token(), form(await assertion(keysA, a, { aud }))), `aud ${JSON.stringify(aud)}`);
      }
      const browser = await user();
      const own = await tokens(browser);
      for (const jwt of [own.access_token, own.id_token]) expectRefused(await postForm(token(), form(jwt)), 'server token');
      expect((await postForm(token(), form(await assertion(keysA, a)))).status).to.equal(200);
    });

    it('replay across endpoints: an assertion used at introspection, revocation or the token endpoint is refused at every other', async () => {
      const keys = await pair();
      const id = await signer(keys);
      const issued = (await postForm(token(), form(await assertion(keys, id)))).body.access_token as string;
      const endpoints = [['introspect', { token: issued }], ['revoke', { token: 'nothing-to-revoke' }], ['token', { grant_type: 'client_credentials' }]] as const;
      for (const [first, firstForm] of endpoints) {
        const jwt = await assertion(keys, id);
        const used = await postForm(`${server.url}/oauth/${first}`, { ...firstForm, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: jwt });
        expect(used.status, first).to.equal(200);
        for (const [then, thenForm] of endpoints) {
          expectRefused(await postForm(`${server.url}/oauth/${then}`, { ...thenForm, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: jwt }), `${first} then ${then}`);
        }
      }
    });

    it('key sources: no symmetric keys, no jwks_uri off https (but loopback http), no userinfo or fragment; a jwks_uri redirect is not followed', async () => {
      const keys = await pair();
      const register = (input: Record<string, unknown>) => server.client({ name: 'Signer', grantTypes: ['client_credentials'], scopes: ['read'], tokenEndpointAuthMethod: 'private_key_jwt', ...input });
      const refusedKeys = [
        { jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA', alg: 'HS256' }] } },
        { jwks: { keys: [{ ...keys.jwk, kty: 'oct', k: 'c2VjcmV0' }] } },
        ...['http://169.254.169.254/latest/meta-data/', 'http://keys.example/jwks', 'file:///etc/passwd', 'ftp://keys.example/jwks', 'gopher://127.0.0.1:5432/', 'data:application/json,{"keys":[]}',
          'http://localhost.evil.example/jwks', 'http://127.0.0.1.nip.io/jwks', 'http://0.0.0.0/jwks', 'http://[::ffff:169.254.169.254]/', 'http://10.0.0.1/jwks', 'https://user:pw@keys.example/jwks', 'https://keys.example/jwks#k', 'not a url', '/relative/jwks',
        ].map((jwksUri) => ({ jwksUri })),
      ];
      for (const input of refusedKeys) {
        let error: unknown;
        try {
          await register(input);
        } catch (caught) {
          error = caught;
        }
        expect(error, JSON.stringify(input)).to.have.property('error', 'invalid_client_metadata');
      }
      // A key server that redirects elsewhere: the target is never fetched; the client is refused (401, not 5xx).
      let targetHits = 0;
      const target = http.createServer((_req, res) => void (targetHits += 1, res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [keys.jwk] }))));
      await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
      const hop = http.createServer((_req, res) => void res.writeHead(302, { location: `http://127.0.0.1:${(target.address() as { port: number }).port}/jwks` }).end());
      await new Promise<void>((resolve) => hop.listen(0, '127.0.0.1', resolve));
      try {
        const id = (await register({ jwksUri: `http://127.0.0.1:${(hop.address() as { port: number }).port}/jwks` })).id;
        expectRefused(await postForm(token(), form(await assertion(keys, id))), 'redirected jwks_uri');
        expect(targetHits).to.equal(0);
      } finally {
        for (const s of [target, hop]) {
          s.closeAllConnections();
          await new Promise((resolve) => s.close(resolve));
        }
      }
    });
  });

  it('claims injection: a findAccount answering iss, sub, aud, scope or client_id changes neither the id token nor userinfo\'s sub', async () => {
    const host = await startTestServer({
      authenticate: (koa) => koa.get('x-host-user') || undefined,
      findAccount: () => ({ sub: 'admin', iss: 'https://evil.example', aud: 'victim', exp: 9_999_999_999, nonce: 'forged', scope: 'warrant:admin', client_id: 'x', email: 'u@example.com', email_verified: true, name: 'U', preferred_username: 'admin' }),
    });
    try {
      const app = await host.client({ grantTypes: ['authorization_code'], scopes: [], redirectUris: [REDIRECT], firstParty: true });
      const query = new URLSearchParams({ response_type: 'code', client_id: app.id, redirect_uri: REDIRECT, scope: 'openid email', nonce: 'real', code_challenge: s256(VERIFIER), code_challenge_method: 'S256' });
      const landed = await fetch(`${host.url}/oauth/authorize?${query}`, { redirect: 'manual', headers: { 'x-host-user': 'user-1' } });
      const code = new URL(landed.headers.get('location')!).searchParams.get('code')!;
      const issued = (await postForm(`${host.url}/oauth/token`, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: VERIFIER }, { authorization: basic(app.id, app.secret) })).body;
      const claims = decodeJwt(issued.id_token);
      expect(claims).to.include({ iss: host.url, sub: 'user-1', aud: app.id, nonce: 'real' });
      expect(claims).not.to.have.any.keys('scope', 'client_id', 'email', 'preferred_username');
      expect(claims.exp! - claims.iat!).to.be.at.most(3600);
      const info = await (await fetch(`${host.url}/oauth/userinfo`, { headers: { authorization: `Bearer ${issued.access_token}` } })).json();
      expect(info).to.deep.equal({ sub: 'user-1', email: 'u@example.com', email_verified: true });
      // Another issuer's id token is no hint here.
      const browser = await user();
      refusedPage(await endSession(browser, { id_token_hint: issued.id_token }), 'foreign issuer');
      expect(await signedIn(browser)).to.equal(true);
    } finally {
      await host.stop();
    }
  });

  it('fuzz: repeated, bracketed, control-character, non-UTF-8, 10 KB and prototype-named parameters at the new endpoints are never a 5xx', async () => {
    const browser = await user();
    const values = ['x'.repeat(10_240), '%00', '%0D%0A', '%FF', '%', '%E0%A4', '%ED%A0%80', '%C0%AF', '%F0%9F%98%80', '%u0041', '%2525', '%22%3E%3Cscript%3E', '+', '%20', ''];
    const names = ['id_token_hint', 'client_id', 'post_logout_redirect_uri', 'state', 'decision', 'csrf', 'nonce', 'prompt', 'max_age', 'login_hint', 'ui_locales', 'login_after', 'scope', 'resource', 'claims', 'access_token', '__proto__', 'constructor'];
    const base = `response_type=code&client_id=${rp.id}&redirect_uri=${encodeURIComponent(REDIRECT)}&code_challenge=${s256(VERIFIER)}&code_challenge_method=S256`;
    const requests: [string, RequestInit][] = [];
    for (const name of names) {
      const odd = [...values.map((v) => `${name}=${v}`), `${name}=a&${name}=b`, `${name}[]=a`, `${name}[a]=b`, name];
      for (const query of odd) {
        requests.push([`/oauth/end_session?${query}`, {}], [`/oauth/authorize?${base}&${query}`, {}], [`/oauth/login?${query}&return_to=/oauth/authorize?${query}`, {}], [`/oauth/userinfo?${query}`, {}]);
        for (const path of ['/oauth/end_session', '/oauth/userinfo', '/oauth/token', '/oauth/authorize']) {
          requests.push([path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `client_assertion_type=${encodeURIComponent(CLIENT_ASSERTION_TYPE)}&${query}` }]);
        }
      }
    }
    const failures: string[] = [];
    for (let i = 0; i < requests.length; i += 25) {
      await Promise.all(requests.slice(i, i + 25).map(async ([path, init]) => {
        const page = await browser.go(path, init);
        if (page.status >= 500) failures.push(`${init.method ?? 'GET'} ${path.slice(0, 120)} ${String(init.body ?? '').slice(0, 120)} → ${page.status}`);
      }));
    }
    expect(failures).to.deep.equal([]);
  });
});
