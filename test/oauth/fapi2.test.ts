// The FAPI 2.0 profile switch (issue 17 item 4): a client registered with warrant_profile "fapi2"
// must push its requests (PAR) with PKCE S256, authenticate with private_key_jwt, and get
// DPoP-bound access tokens of at most 10 minutes; the authorization response carries `iss`.
// Driven by oauth4webapi (PAR, PrivateKeyJwt, DPoP) against a real server.

import { expect } from 'chai';
import { calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import * as oauth from 'oauth4webapi';
import { createUser } from '../../src/users/directory.js';
import { Browser, signIn } from '../support/browser-session.js';
import { insecure, postForm, useTestServer } from '../support/server.js';

const PASSWORD = 'a long enough password';
const REDIRECT = 'https://bank-app.example/cb';

describe('FAPI 2.0 profile (warrant_profile: fapi2)', function () {
  this.timeout(60_000);
  const server = useTestServer();
  let client: oauth.Client;
  let clientAuth: oauth.ClientAuth;
  let dpopKeys: { publicKey: CryptoKey; privateKey: CryptoKey };

  before(async () => {
    await createUser(server.auth.pool, 'fay', PASSWORD);
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'fapi-1', alg: 'ES256' };
    // A long default lifetime: the profile caps it at 10 minutes.
    const registered = await server.client({
      name: 'Bank App', grantTypes: ['authorization_code', 'refresh_token'], scopes: ['read'], redirectUris: [REDIRECT], firstParty: true,
      tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [jwk] }, profile: 'fapi2', accessTokenTtl: null,
    });
    client = { client_id: registered.id };
    clientAuth = oauth.PrivateKeyJwt({ key: privateKey, kid: 'fapi-1' });
    dpopKeys = await generateKeyPair("ES256");
  });

  /** Pushes an authorization request, signs in and follows it: the authorization response URL. */
  async function authorize(browser: Browser, extra: Record<string, string> = {}) {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const params: Record<string, string> = { response_type: 'code', redirect_uri: REDIRECT, scope: 'read', state, code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra };
    const pushed = await oauth.processPushedAuthorizationResponse(server.as, client, await oauth.pushedAuthorizationRequest(server.as, client, clientAuth, new URLSearchParams(params), insecure));
    const page = await browser.go(`/oauth/authorize?${new URLSearchParams({ client_id: client.client_id, request_uri: pushed.request_uri })}`);
    expect(page.status, page.html).to.equal(302);
    return { url: new URL(page.location!), verifier, state };
  }

  it('the whole profile: PAR + PKCE + private_key_jwt + DPoP → a DPoP-bound token of at most 10 minutes, with iss in the authorization response', async () => {
    const browser = new Browser(server.url);
    await signIn(server.url, 'fay', PASSWORD, browser);
    const { url, verifier, state } = await authorize(browser);
    expect(url.searchParams.get('iss')).to.equal(server.url);
    const params = oauth.validateAuthResponse(server.as, client, url, state);
    const dpop = oauth.DPoP(client, dpopKeys);
    let response = await oauth.authorizationCodeGrantRequest(server.as, client, clientAuth, params, REDIRECT, verifier, { DPoP: dpop, ...insecure });
    const tokens = await oauth.processAuthorizationCodeResponse(server.as, client, response);
    expect(tokens.token_type).to.equal('dpop');
    expect(tokens.expires_in).to.be.at.most(600);
    const claims = decodeJwt(tokens.access_token) as { cnf?: { jkt: string }; exp: number; iat: number };
    expect(claims.cnf?.jkt).to.equal(await calculateJwkThumbprint(await exportJWK(dpopKeys.publicKey)));
    expect(claims.exp - claims.iat).to.be.at.most(600);
    // A refresh with the same key works; without a proof it is refused.
    response = await oauth.refreshTokenGrantRequest(server.as, client, clientAuth, tokens.refresh_token!, { DPoP: dpop, ...insecure });
    expect((await oauth.processRefreshTokenResponse(server.as, client, response)).token_type).to.equal('dpop');
  });

  it('refuses a plain authorization request (PAR required): invalid_request at the redirect URI', async () => {
    const browser = new Browser(server.url);
    await signIn(server.url, 'fay', PASSWORD, browser);
    const query = new URLSearchParams({ response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT, scope: 'read', state: 's', code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()), code_challenge_method: 'S256' });
    const page = await browser.go(`/oauth/authorize?${query}`);
    const error = page.status === 302 ? new URL(page.location!).searchParams.get('error') : /invalid_request/.test(page.html) ? 'invalid_request' : page.html;
    expect(error).to.equal('invalid_request');
  });

  it('refuses a pushed request without PKCE, and a token request without a DPoP proof (invalid_dpop_proof)', async () => {
    const withoutPkce = await oauth.pushedAuthorizationRequest(server.as, client, clientAuth, new URLSearchParams({ response_type: 'code', redirect_uri: REDIRECT, scope: 'read', state: 's' }), insecure);
    expect(withoutPkce.status).to.equal(400);
    expect(((await withoutPkce.json()) as { error: string }).error).to.equal('invalid_request');

    const browser = new Browser(server.url);
    await signIn(server.url, 'fay', PASSWORD, browser);
    const { url, verifier, state } = await authorize(browser);
    const params = oauth.validateAuthResponse(server.as, client, url, state);
    const bearer = await oauth.authorizationCodeGrantRequest(server.as, client, clientAuth, params, REDIRECT, verifier, insecure);
    expect(bearer.status).to.equal(400);
    expect(((await bearer.json()) as { error: string }).error).to.equal('invalid_dpop_proof');
  });

  it('refuses to register a fapi2 client without private_key_jwt, or with access tokens longer than 10 minutes, with a clear message', async () => {
    const secret = await server.client({ name: 'Weak', grantTypes: ['authorization_code'], scopes: [], redirectUris: [REDIRECT], profile: 'fapi2' }).then(() => 'registered', (e: Error) => e.message);
    expect(secret).to.match(/fapi2 needs token_endpoint_auth_method private_key_jwt/);
    const { publicKey } = await generateKeyPair('ES256', { extractable: true });
    const long = await server.client({ name: 'Long', grantTypes: ['authorization_code'], scopes: [], redirectUris: [REDIRECT], profile: 'fapi2', tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [await exportJWK(publicKey)] }, accessTokenTtl: 3600 }).then(() => 'registered', (e: Error) => e.message);
    expect(long).to.match(/at most 600 seconds/);
    // The admin API says the same as RFC 7591 JSON.
    const ops = await server.client({ grantTypes: ['client_credentials'], scopes: ['warrant:admin'] });
    const admin = (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: `Basic ${Buffer.from(`${ops.id}:${ops.secret}`).toString('base64')}` })).body.access_token as string;
    const answer = await fetch(`${server.url}/oauth/clients`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ client_name: 'Weak', grant_types: ['authorization_code'], redirect_uris: [REDIRECT], warrant_profile: 'fapi2' }) });
    expect(answer.status).to.equal(400);
    expect(await answer.json()).to.deep.include({ error: 'invalid_client_metadata' });
  });
});
