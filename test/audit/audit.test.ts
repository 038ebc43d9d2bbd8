// The audit API (/audit, scope warrant:audit) against a real server: history, as-of state,
// client and subject views with names beside ids, the user lookup, the event feed (paged and
// NDJSON), and tamper detection.

import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import { updateClient } from '../../src/oauth/clients.js';
import { issueTokens } from '../../src/oauth/issue.js';
import { createUser } from '../../src/users/directory.js';
import { delay, revokedEvent } from '../support/events.js';
import { basic, postForm, startTestServer, type TestServer } from '../support/server.js';

describe('audit API', function () {
  this.timeout(120_000);
  let server: TestServer;
  let auditor: string;
  let admin: string;
  let app: { id: string; secret: string };
  let family: { familyId: string; jtis: string[]; refreshTokens: string[]; accessTokens: string[] };

  const call = async (path: string, token = auditor, headers: Record<string, string> = {}) => {
    const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
    const text = await response.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      // NDJSON or empty
    }
    return { status: response.status, headers: response.headers, body, text };
  };

  const tokenFor = async (scope: string) => {
    const c = await server.client({ grantTypes: ['client_credentials'], scopes: [scope] });
    return (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', scope }, { authorization: basic(c.id, c.secret) })).body.access_token as string;
  };

  before(async () => {
    server = await startTestServer();
    auditor = await tokenFor('warrant:audit');
    admin = await tokenFor('warrant:admin');
    // A family: issued → refreshed ×3 → revoked, with time between steps.
    app = await server.client({ grantTypes: ['refresh_token', 'authorization_code'], scopes: ['read', 'write'] });
    const record = (await server.auth.context.read.clients.find(app.id))!;
    const issued = await issueTokens(server.auth.context, {
      client: record, subject: 'frank', grantType: 'authorization_code', scopes: ['read', 'write'], audience: [server.url], withRefresh: true, actor: { actor: 'frank' },
    });
    family = { familyId: issued.familyId, jtis: [decodeJwt(issued.access_token).jti!], refreshTokens: [issued.refresh_token!], accessTokens: [issued.access_token] };
    for (let i = 0; i < 3; i += 1) {
      await delay(30);
      const res = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: family.refreshTokens.at(-1)!, ...(i === 2 ? { scope: 'read' } : {}) }, { authorization: basic(app.id, app.secret) });
      expect(res.status).to.equal(200);
      family.refreshTokens.push(res.body.refresh_token);
      family.accessTokens.push(res.body.access_token);
      family.jtis.push(decodeJwt(res.body.access_token).jti!);
    }
    await delay(30);
    expect((await postForm(`${server.url}/oauth/revoke`, { token: family.accessTokens.at(-1)! }, { authorization: basic(app.id, app.secret) })).status).to.equal(200);
  });
  after(async () => {
    await server.stop();
  });

  it('GET /audit/tokens/{jti} replays the family: every event in order with revision, position, time, actor, request id, data and the state after it', async () => {
    const res = await call(`/audit/tokens/${family.jtis[1]}`);
    expect(res.status).to.equal(200);
    expect(res.body.family_id).to.equal(family.familyId);
    expect(res.body).to.include({ client_id: app.id, client_name: 'Test client', subject: 'frank', username: null, grant_type: 'authorization_code' });
    const events = res.body.events as any[];
    expect(events.map((e) => e.type)).to.deep.equal(['TokenIssued', 'TokenRefreshed', 'TokenRefreshed', 'TokenRefreshed', 'TokenRevoked']);
    expect(events.map((e) => e.revision)).to.deep.equal([0, 1, 2, 3, 4]);
    expect(events.map((e) => e.state.status)).to.deep.equal(['active', 'refreshed', 'refreshed', 'refreshed', 'revoked']);
    expect(events.map((e) => e.state.current_jti)).to.deep.equal([...family.jtis, family.jtis[3]]);
    expect(events[3].state.scopes).to.deep.equal(['read']);
    for (let i = 1; i < events.length; i += 1) {
      expect(events[i].position).to.be.greaterThan(events[i - 1].position);
      expect(events[i].occurred_at > events[i - 1].occurred_at).to.equal(true);
    }
    expect(events[0].actor).to.equal('frank');
    expect(events[1].actor).to.equal(app.id);
    expect(events[1].request_id).to.be.a('string');
    expect(events[4].data).to.deep.include({ reason: 'revoked_by_client' });
    // Never secrets, not even their keyed hashes.
    expect(JSON.stringify(res.body)).not.to.match(/Hash"/);
    for (const secret of [...family.refreshTokens, ...family.accessTokens]) expect(res.text).not.to.contain(secret);
    expect(res.body.state.status).to.equal('revoked');
    const byFamily = await call(`/audit/tokens/${family.familyId}`);
    expect(byFamily.body).to.deep.equal(res.body);
  });

  it('GET /audit/tokens/{id}/state?at= answers before, between and after the events ("was this token valid at 14:02?")', async () => {
    const events = (await call(`/audit/tokens/${family.familyId}`)).body.events as { occurred_at: string }[];
    const t = events.map((e) => new Date(e.occurred_at).getTime());
    const at = (ms: number) => new Date(ms).toISOString();
    const before = await call(`/audit/tokens/${family.jtis[0]}/state?at=${at(t[0]! - 1000)}`);
    expect(before.body).to.include({ status: 'not_issued', events_applied: 0 });
    expect(before.body.token.valid).to.equal(false);
    const between = await call(`/audit/tokens/${family.jtis[0]}/state?at=${at(Math.floor((t[0]! + t[1]!) / 2))}`);
    expect(between.body).to.include({ status: 'active', current_jti: family.jtis[0], events_applied: 1 });
    expect(between.body.token).to.include({ jti: family.jtis[0], valid: true });
    const laterRefresh = await call(`/audit/tokens/${family.familyId}/state?at=${at(Math.floor((t[3]! + t[4]!) / 2))}`);
    expect(laterRefresh.body).to.include({ status: 'refreshed', current_jti: family.jtis[3], events_applied: 4 });
    expect(laterRefresh.body.scopes).to.deep.equal(['read']);
    expect(laterRefresh.body).not.to.have.property('token');
    const after = await call(`/audit/tokens/${family.jtis[0]}/state?at=${at(t[4]! + 1000)}`);
    expect(after.body).to.include({ status: 'revoked', events_applied: 5 });
    expect(after.body.token.valid).to.equal(false);
    // An offset other than Z is an RFC 3339 instant too.
    const offset = await call(`/audit/tokens/${family.familyId}/state?at=${encodeURIComponent(new Date(t[4]! + 1000).toISOString().replace('Z', '+00:00'))}`);
    expect(offset.body.status).to.equal('revoked');
  });

  it('reads events, not read models: corrupting the read models changes neither history nor as-of answers', async () => {
    const history = (await call(`/audit/tokens/${family.jtis[2]}`)).body;
    const t = new Date(history.events[1].occurred_at).getTime() + 1;
    const asOf = (await call(`/audit/tokens/${family.jtis[1]}/state?at=${new Date(t).toISOString()}`)).body;
    await server.auth.pool.query(`UPDATE token_families SET revoked = false, scopes = '{everything}', current_jti = 'forged', subject = 'mallory' WHERE family_id = $1`, [family.familyId]);
    await server.auth.pool.query('DELETE FROM access_tokens WHERE family_id = $1', [family.familyId]);
    await server.auth.pool.query('DELETE FROM refresh_tokens WHERE family_id = $1', [family.familyId]);
    expect((await call(`/audit/tokens/${family.jtis[2]}`)).body).to.deep.equal(history);
    expect((await call(`/audit/tokens/${family.jtis[1]}/state?at=${new Date(t).toISOString()}`)).body).to.deep.equal(asOf);
  });

  it('GET /audit/clients/{id}: the client history and its token families, paged by a cursor that neither skips nor repeats', async () => {
    const c = await server.client({ grantTypes: ['client_credentials'], scopes: ['read'] });
    for (let i = 0; i < 5; i += 1) await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.id, c.secret) });
    const all = await call(`/audit/clients/${c.id}?limit=500`);
    expect(all.status).to.equal(200);
    expect(all.body.events.map((e: { type: string }) => e.type)).to.deep.equal(['ClientRegistered']);
    expect(all.body.families).to.have.length(5);
    expect(all.body.client_name).to.equal('Test client');
    // client_credentials: the subject is the client itself, not a user.
    expect(all.body.families[0]).to.include({ client_id: c.id, client_name: 'Test client', subject: c.id, username: null, grant_type: 'client_credentials', status: 'active' });
    const paged: string[] = [];
    let next: number | null = 0;
    while (next !== null) {
      const page: { body: { families: { family_id: string }[]; next: number | null } } = await call(`/audit/clients/${c.id}?limit=2&after=${next}`);
      paged.push(...page.body.families.map((f) => f.family_id));
      next = page.body.next;
    }
    expect(paged).to.deep.equal(all.body.families.map((f: { family_id: string }) => f.family_id));
  });

  it('GET /audit/subjects/{sub}/tokens lists a user\'s families; POST /oauth/subjects/{sub}/revoke (warrant:admin) revokes them all at once', async () => {
    const grace = await Promise.all([0, 1, 2].map(() => server.auth.actingAs({ subject: 'gina', scopes: ['read'] })));
    const list = await call('/audit/subjects/gina/tokens');
    expect(list.body.families).to.have.length(3);
    expect(list.body.families.every((f: { status: string }) => f.status === 'active')).to.equal(true);
    for (const t of grace) expect((await server.auth.policy.authenticate(t.authorization)).subject).to.equal('gina');

    const forbidden = await fetch(`${server.url}/oauth/subjects/gina/revoke`, { method: 'POST', headers: { authorization: `Bearer ${auditor}` } });
    expect(forbidden.status).to.equal(403);
    const revoked = await fetch(`${server.url}/oauth/subjects/gina/revoke`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } });
    expect(await revoked.json()).to.deep.equal({ subject: 'gina', revoked: 3, sessions_ended: 0, consents_forgotten: 0 });
    for (const t of grace) {
      const refused = await server.auth.policy.authenticate(t.authorization).then(() => undefined, (error: { error: string; description: string }) => error);
      expect(refused).to.include({ error: 'invalid_token', description: 'the access token was revoked' });
    }
    const after = await call('/audit/subjects/gina/tokens');
    expect(after.body.families.map((f: { status: string }) => f.status)).to.deep.equal(['revoked', 'revoked', 'revoked']);
    const events = await server.auth.store.readStream(`token-${grace[0]!.familyId}`);
    expect(events.at(-1)!.data).to.include({ reason: 'subject_revoked' });
  });

  it('names beside ids: client_name replayed from the client stream (renames included, read model ignored), username from the user directory, each client stream replayed once per request', async () => {
    const lena = await createUser(server.auth.pool, 'lena', 'correct horse battery');
    const crm = await server.client({ name: 'CRM', grantTypes: ['authorization_code', 'refresh_token'], scopes: ['read'] });
    const record = (await server.auth.context.read.clients.find(crm.id))!;
    const issued = [];
    for (let i = 0; i < 3; i += 1) {
      issued.push(await issueTokens(server.auth.context, { client: record, subject: lena.userId, grantType: 'authorization_code', scopes: ['read'], audience: [server.url], withRefresh: true, actor: { actor: lena.userId } }));
    }
    await updateClient(server.auth.context, crm.id, { name: 'CRM (EU)' }, { actor: 'admin:test' });
    // The clients read model is not where the audit reads names from.
    await server.auth.pool.query(`UPDATE clients SET name = 'Forged' WHERE client_id = $1`, [crm.id]);

    const history = await call(`/audit/tokens/${issued[0]!.familyId}`);
    expect(history.body).to.include({ client_id: crm.id, client_name: 'CRM (EU)', subject: lena.userId, username: 'lena' });

    // Count the replays of the client's stream: a list of its three families replays it once.
    const store = server.auth.store;
    const readStream = store.readStream;
    const reads: string[] = [];
    store.readStream = (stream, options) => {
      reads.push(stream);
      return readStream.call(store, stream, options);
    };
    const counted = async (path: string) => {
      reads.length = 0;
      const res = await call(path);
      expect(reads.filter((stream) => stream === `client-${crm.id}`), path).to.have.length(1);
      return res;
    };
    let client: Awaited<ReturnType<typeof call>>;
    let subject: Awaited<ReturnType<typeof call>>;
    try {
      client = await counted(`/audit/clients/${crm.id}`);
      subject = await counted(`/audit/subjects/${lena.userId}/tokens`);
    } finally {
      store.readStream = readStream;
    }
    expect(client.body.client_name).to.equal('CRM (EU)');
    expect(client.body.events.map((e: { type: string }) => e.type)).to.deep.equal(['ClientRegistered', 'ClientUpdated']);
    expect(client.body.families.map((f: { family_id: string }) => f.family_id)).to.deep.equal(issued.map((i) => i.familyId));
    for (const family of client.body.families) expect(family).to.include({ client_name: 'CRM (EU)', subject: lena.userId, username: 'lena' });
    expect(subject.body).to.include({ subject: lena.userId, username: 'lena' });
    expect(subject.body.families.map((f: { family_id: string }) => f.family_id)).to.deep.equal(issued.map((i) => i.familyId));
    for (const family of subject.body.families) expect(family).to.include({ client_id: crm.id, client_name: 'CRM (EU)', username: 'lena' });
    // A subject that is not a built-in user has no username, with or without families.
    expect((await call('/audit/subjects/frank/tokens')).body).to.include({ subject: 'frank', username: null });
    expect((await call(`/audit/subjects/${randomUUID()}/tokens`)).body).to.deep.include({ username: null, families: [] });
  });

  it('GET /audit/users?username= finds a built-in user (usernames are not in events), so their tokens can be searched by subject', async () => {
    const omar = await createUser(server.auth.pool, 'omar', 'correct horse battery');
    const found = await call('/audit/users?username=omar');
    expect(found.status).to.equal(200);
    expect(found.body).to.deep.equal({ user_id: omar.userId, username: 'omar' });
    const unknown = await call('/audit/users?username=omar2');
    expect(unknown.status).to.equal(404);
    expect(unknown.body.error).to.equal('not_found');
    for (const bad of ['', '?username=', '?username=a&username=b', '?username=om%00ar']) {
      const res = await call(`/audit/users${bad}`);
      expect(res.status, bad).to.equal(400);
      expect(res.body.error).to.equal('invalid_request');
    }
    expect((await fetch(`${server.url}/audit/users?username=omar`)).status).to.equal(401);
    const forbidden = await call('/audit/users?username=omar', await tokenFor('read'));
    expect(forbidden.status).to.equal(403);
    expect(forbidden.body.error).to.equal('insufficient_scope');
  });

  it('GET /audit/events: a filtered feed in log order, with a cursor that neither skips nor repeats', async () => {
    const everything = await call('/audit/events?limit=1000');
    expect(everything.status).to.equal(200);
    const positions = everything.body.events.map((e: { position: number }) => e.position);
    expect(positions).to.deep.equal([...positions].sort((a: number, b: number) => a - b));
    const paged: number[] = [];
    let next: number | null = 0;
    while (next !== null) {
      const page: { body: { events: { position: number }[]; next: number | null } } = await call(`/audit/events?limit=7&after=${next}`);
      paged.push(...page.body.events.map((e) => e.position));
      next = page.body.next;
    }
    expect(paged).to.deep.equal(positions);

    const refreshed = await call(`/audit/events?type=TokenRefreshed&client_id=${app.id}`);
    expect(refreshed.body.events).to.have.length(3);
    const franks = await call('/audit/events?subject=frank');
    expect(franks.body.events.map((e: { type: string }) => e.type)).to.deep.equal(['TokenIssued']);
    const history = (await call(`/audit/tokens/${family.familyId}`)).body.events as { occurred_at: string; position: number }[];
    const window = await call(`/audit/events?client_id=${app.id}&since=${history[1]!.occurred_at}&until=${history[4]!.occurred_at}`);
    expect(window.body.events.map((e: { position: number }) => e.position)).to.deep.equal(history.slice(1, 4).map((e) => e.position));
  });

  it('streams the feed as NDJSON: an export of more than 10,000 events, every line an event, in order', async () => {
    const before = (await server.auth.store.headPosition());
    await Promise.all(Array.from({ length: 100 }, () => server.auth.store.append(`token-${randomUUID()}`, Array.from({ length: 100 }, revokedEvent), { expectedRevision: 'no_stream' })));
    const head = await server.auth.store.headPosition();
    expect(head - before).to.equal(10_000);
    const response = await fetch(`${server.url}/audit/events`, { headers: { authorization: `Bearer ${auditor}`, accept: 'application/x-ndjson' } });
    expect(response.status).to.equal(200);
    expect(response.headers.get('content-type')).to.match(/^application\/x-ndjson/);
    expect(response.headers.get('content-length')).to.equal(null); // streamed, not buffered
    const lines = (await response.text()).trimEnd().split('\n');
    expect(lines).to.have.length(head);
    const parsed = lines.map((line) => JSON.parse(line) as { position: number; type: string });
    expect(parsed.map((e) => e.position)).to.deep.equal(Array.from({ length: head }, (_, i) => i + 1));
    const onlyRevocations = await fetch(`${server.url}/audit/events?type=TokenRevoked&after=${before}`, { headers: { authorization: `Bearer ${auditor}`, accept: 'application/x-ndjson' } });
    expect((await onlyRevocations.text()).trimEnd().split('\n')).to.have.length(10_000);
  });

  it('GET /audit/streams/{stream}/verify reports the first broken revision after an event is edited in the store', async () => {
    const stream = `token-${family.familyId}`;
    expect((await call(`/audit/streams/${stream}/verify`)).body).to.deep.equal({ stream, ok: true, checked: 5 });
    await server.auth.pool.query(`UPDATE es_events SET data = jsonb_set(data, '{scopes}', '["read","write","admin"]') WHERE stream_id = $1 AND revision = 2`, [stream]);
    expect((await call(`/audit/streams/${stream}/verify`)).body).to.deep.equal({ stream, ok: false, checked: 2, broken_at_revision: 2, reason: 'hash_mismatch' });
    expect((await call(`/audit/streams/client-${app.id}/verify`)).body.ok).to.equal(true);
  });

  it('refuses without a token (401), without warrant:audit (403), unknown ids (404) and bad dates and limits (400)', async () => {
    expect((await fetch(`${server.url}/audit/events`)).status).to.equal(401);
    const reader = await tokenFor('read');
    const forbidden = await call('/audit/events', reader);
    expect(forbidden.status).to.equal(403);
    expect(forbidden.body.error).to.equal('insufficient_scope');
    expect((await call('/audit/users?username=frank')).status).to.equal(404);
    expect((await call('/audit/tokens/unknownunknownunknown')).status).to.equal(404);
    expect((await call(`/audit/tokens/${randomUUID()}`)).status).to.equal(404);
    expect((await call(`/audit/tokens/${randomUUID()}/state?at=2026-01-01T00:00:00Z`)).status).to.equal(404);
    expect((await call(`/audit/clients/${randomUUID()}`)).status).to.equal(404);
    expect((await call('/audit/streams/token-nope/verify')).status).to.equal(404);
    for (const bad of ['at=yesterday', 'at=2026-13-01T00:00:00Z', 'at=2026-01-01', '']) {
      const res = await call(`/audit/tokens/${family.familyId}/state?${bad}`);
      expect(res.status, bad).to.equal(400);
      expect(res.body.error).to.equal('invalid_request');
    }
    for (const bad of ['limit=0', 'limit=1001', 'limit=abc', 'after=-1', 'since=tomorrow', 'type=Nope', 'limit=1&limit=2']) {
      expect((await call(`/audit/events?${bad}`)).status, bad).to.equal(400);
    }
  });
});
