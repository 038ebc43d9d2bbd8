// RFC 8693 token exchange (issue 18), through oauth4webapi's generic token endpoint request against a real
// server: same sub, the exchanging client as client_id, a lifetime within the subject token's,
// `act` (nested), no refresh token, the family link in the audit, revocation of the parent's family
// reaching the exchanged token at once (introspection and policy), and the refusals.

import { expect } from 'chai';
import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import { basic, insecure, postForm, useTestServer } from '../support/server.js';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';

describe('token exchange (RFC 8693)', function () {
  this.timeout(60_000);
  const server = useTestServer({ config: { scopes: { read: 'Read', write: 'Write', orders: 'Orders' } } });
  const orders = 'https://orders.example/';
  let frontend: { id: string; secret: string };
  let gateway: { id: string; secret: string };
  let auditor: string;

  before(async () => {
    frontend = await server.client({ name: 'Frontend', grantTypes: ['client_credentials'], scopes: ['read', 'write'], accessTokenTtl: 600 });
    gateway = await server.client({ name: 'Gateway', grantTypes: [GRANT], scopes: ['read', 'orders'], resources: [orders] });
    const ops = await server.client({ grantTypes: ['client_credentials'], scopes: ['warrant:audit'] });
    auditor = (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(ops.id, ops.secret) })).body.access_token;
  });

  const subjectToken = async (scope = 'read write') => (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', scope }, { authorization: basic(frontend.id, frontend.secret) })).body.access_token as string;
  const exchange = async (params: Record<string, string>, as = gateway) => {
    const client: oauth.Client = { client_id: as.id };
    const response = await oauth.genericTokenEndpointRequest(server.as, client, oauth.ClientSecretBasic(as.secret), GRANT, new URLSearchParams(params), insecure);
    return response;
  };
  const introspect = async (token: string) => (await postForm(`${server.url}/oauth/introspect`, { token }, { authorization: basic(frontend.id, frontend.secret) })).body;

  it('exchanges a live access token for one scoped to the next API: same sub, the exchanging client, no refresh token, issued_token_type, lifetime within the subject token', async () => {
    const subject = await subjectToken();
    const response = await exchange({ subject_token: subject, subject_token_type: ACCESS, resource: orders, scope: 'read' });
    const result = await oauth.processGenericTokenEndpointResponse(server.as, { client_id: gateway.id }, response);
    expect(result).to.include({ token_type: 'bearer', scope: 'read' });
    expect(result).not.to.have.property('refresh_token');
    expect((result as unknown as { issued_token_type: string }).issued_token_type).to.equal(ACCESS);
    const claims = decodeJwt(result.access_token);
    const parent = decodeJwt(subject);
    expect(claims).to.include({ sub: parent.sub, client_id: gateway.id, aud: orders, scope: 'read' });
    expect(claims.exp!).to.be.at.most(parent.exp!);
    expect(claims).not.to.have.property('act');
    // By default: the scopes the subject token and the exchanging client share.
    const defaulted = await oauth.processGenericTokenEndpointResponse(server.as, { client_id: gateway.id }, await exchange({ subject_token: subject, subject_token_type: ACCESS }));
    expect(defaulted.scope).to.equal('read');
  });

  it('with an actor token: act = { sub: actor }, nested when the subject token already had an actor', async () => {
    const subject = await subjectToken();
    const actorClient = await server.client({ name: 'Actor', grantTypes: ['client_credentials'], scopes: ['read'] });
    const actor = (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', scope: 'read' }, { authorization: basic(actorClient.id, actorClient.secret) })).body.access_token as string;
    const first = await oauth.processGenericTokenEndpointResponse(server.as, { client_id: gateway.id }, await exchange({ subject_token: subject, subject_token_type: ACCESS, actor_token: actor, actor_token_type: ACCESS, scope: 'read' }));
    expect(decodeJwt(first.access_token)['act']).to.deep.equal({ sub: actorClient.id });
    // A chain: the gateway exchanges again, with itself as actor (it may exchange its own result).
    const gatewayActor = first.access_token;
    const second = await oauth.processGenericTokenEndpointResponse(server.as, { client_id: gateway.id }, await exchange({ subject_token: first.access_token, subject_token_type: ACCESS, actor_token: gatewayActor, actor_token_type: ACCESS, scope: 'read' }));
    expect(decodeJwt(second.access_token)['act']).to.deep.equal({ sub: decodeJwt(first.access_token).sub, act: { sub: actorClient.id } });
  });

  it('revoking the parent\'s family revokes the exchanged tokens at once, down the chain (introspection and the policy), and the audit of either shows the link', async () => {
    const subject = await subjectToken();
    const child = await oauth.processGenericTokenEndpointResponse(server.as, { client_id: gateway.id }, await exchange({ subject_token: subject, subject_token_type: ACCESS, scope: 'read' }));
    const grandchild = await oauth.processGenericTokenEndpointResponse(server.as, { client_id: gateway.id }, await exchange({ subject_token: child.access_token, subject_token_type: ACCESS, scope: 'read' }));
    expect((await introspect(grandchild.access_token)).active).to.equal(true);
    expect((await server.auth.policy.authenticate(`Bearer ${child.access_token}`)).clientId).to.equal(gateway.id);

    const audit = async (jti: string) => (await (await fetch(`${server.url}/audit/tokens/${jti}`, { headers: { authorization: `Bearer ${auditor}` } })).json()) as { family_id: string; exchanged_from: string | null; exchanged_into: string[]; events: { type: string; data: Record<string, unknown> }[] };
    const parentHistory = await audit(decodeJwt(subject).jti!);
    const childHistory = await audit(decodeJwt(child.access_token).jti!);
    expect(childHistory.exchanged_from).to.equal(parentHistory.family_id);
    expect(parentHistory.exchanged_into).to.deep.equal([childHistory.family_id]);
    expect(childHistory.events[0]!.data).to.include({ parentFamilyId: parentHistory.family_id, grantType: GRANT });

    expect((await postForm(`${server.url}/oauth/revoke`, { token: subject }, { authorization: basic(frontend.id, frontend.secret) })).status).to.equal(200);
    expect((await introspect(child.access_token)).active).to.equal(false);
    expect((await introspect(grandchild.access_token)).active).to.equal(false);
    const refused = await server.auth.policy.authenticate(`Bearer ${grandchild.access_token}`).then(() => 'accepted', () => 'refused');
    expect(refused).to.equal('refused');
  });

  it('refuses: revoked, expired or foreign subject token → invalid_grant; a client without the grant → unauthorized_client; a resource not allowed → invalid_target; more scope → invalid_scope; bad token types → invalid_request', async () => {
    const subject = await subjectToken();
    const error = async (params: Record<string, string>, as = gateway) => {
      const response = await exchange(params, as);
      expect(response.status, JSON.stringify(params)).to.equal(400);
      return ((await response.json()) as { error: string }).error;
    };
    const revoked = await subjectToken();
    await postForm(`${server.url}/oauth/revoke`, { token: revoked }, { authorization: basic(frontend.id, frontend.secret) });
    expect(await error({ subject_token: revoked, subject_token_type: ACCESS })).to.equal('invalid_grant');
    const [header, payload] = subject.split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...decodeJwt(subject), scope: 'read write orders' })).toString('base64url')}.${subject.split('.')[2]}`;
    expect(await error({ subject_token: forged, subject_token_type: ACCESS })).to.equal('invalid_grant');
    expect(await error({ subject_token: `${header}.${payload}.AAAA`, subject_token_type: ACCESS })).to.equal('invalid_grant');
    expect(await error({ subject_token: 'not-a-token', subject_token_type: ACCESS })).to.equal('invalid_grant');
    expect(await error({ subject_token: subject, subject_token_type: ACCESS }, frontend)).to.equal('unauthorized_client');
    expect(await error({ subject_token: subject, subject_token_type: ACCESS, resource: 'https://billing.example/' })).to.equal('invalid_target');
    expect(await error({ subject_token: subject, subject_token_type: ACCESS, audience: 'https://billing.example/' })).to.equal('invalid_target');
    expect(await error({ subject_token: subject, subject_token_type: ACCESS, scope: 'write' })).to.equal('invalid_scope');
    expect(await error({ subject_token: subject, subject_token_type: ACCESS, scope: 'orders' })).to.equal('invalid_scope');
    expect(await error({ subject_token: subject, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' })).to.equal('invalid_request');
    expect(await error({ subject_token: subject })).to.equal('invalid_request');
    expect(await error({ subject_token: subject, subject_token_type: ACCESS, actor_token: subject })).to.equal('invalid_request');
    expect(await error({ subject_token: subject, subject_token_type: ACCESS, requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' })).to.equal('invalid_request');
  });

  it('is listed in the metadata, and a client cannot combine it with warrant:* scopes', async () => {
    const metadata = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as { grant_types_supported: string[] };
    expect(metadata.grant_types_supported).to.include(GRANT);
    const refused = await server.client({ grantTypes: [GRANT], scopes: ['warrant:admin'] }).then(() => 'registered', (e: Error) => e.message);
    expect(refused).to.contain('warrant:admin');
  });
});
