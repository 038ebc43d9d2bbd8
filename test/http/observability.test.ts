// GET /metrics (Prometheus) and GET /readyz.

import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { PostgresEventStore } from '../../src/eventstore/postgres/index.js';
import { issueTokens } from '../../src/oauth/issue.js';
import { revokedEvent } from '../support/events.js';
import { basic, postForm, startTestServer, useTestServer } from '../support/server.js';

describe('metrics and readiness', function () {
  this.timeout(60_000);
  const server = useTestServer();

  const metric = (text: string, line: string) => {
    const found = text.split('\n').find((l) => l.startsWith(line));
    return found ? Number(found.slice(line.length).trim()) : undefined;
  };

  it('counts tokens by grant, refreshes, revocations by reason, OAuth errors by code; times requests by route and appends; shows projection position and lag', async () => {
    const c = await server.client({ grantTypes: ['client_credentials', 'refresh_token', 'authorization_code'], scopes: ['read'] });
    const cc = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.id, c.secret) });
    await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(c.id, 'wrong') });
    const issued = await issueTokens(server.auth.context, { client: (await server.auth.context.read.clients.find(c.id))!, subject: 'm', grantType: 'authorization_code', scopes: ['read'], audience: [server.url], withRefresh: true, actor: { actor: 'm' } });
    await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: issued.refresh_token! }, { authorization: basic(c.id, c.secret) });
    await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: issued.refresh_token! }, { authorization: basic(c.id, c.secret) }); // reuse
    await postForm(`${server.url}/oauth/revoke`, { token: cc.body.access_token }, { authorization: basic(c.id, c.secret) });

    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).to.equal(200);
    expect(response.headers.get('content-type')).to.contain('text/plain');
    const text = await response.text();
    expect(metric(text, 'warrant_tokens_issued_total{grant_type="client_credentials"}')).to.equal(1);
    expect(metric(text, 'warrant_tokens_issued_total{grant_type="authorization_code"}')).to.equal(1);
    expect(metric(text, 'warrant_token_refreshes_total')).to.equal(1);
    expect(metric(text, 'warrant_token_revocations_total{reason="refresh_token_reuse"}')).to.equal(1);
    expect(metric(text, 'warrant_token_revocations_total{reason="revoked_by_client"}')).to.equal(1);
    expect(metric(text, 'warrant_oauth_errors_total{error="invalid_client"}')).to.equal(1);
    expect(metric(text, 'warrant_oauth_errors_total{error="invalid_grant"}')).to.equal(1);
    expect(metric(text, 'warrant_http_request_duration_seconds_count{method="POST",route="/oauth/token",status="2xx"}')).to.be.at.least(2);
    expect(metric(text, 'warrant_eventstore_append_duration_seconds_count')).to.be.at.least(5);
    // Every write above had its read models written in its own append transaction (inline):
    // issuances, refresh, reuse revocation, revoke; none waited for a projection runner.
    expect(metric(text, 'warrant_projection_inline_appends_total')).to.be.at.least(5);
    expect(metric(text, 'warrant_projection_wait_seconds_count')).to.equal(0);
    expect(metric(text, 'warrant_projection_position{projection="tokens"}')).to.be.greaterThan(0);
    expect(metric(text, 'warrant_projection_lag_events{projection="tokens"}')).to.be.a('number');
    expect(metric(text, 'warrant_eventstore_head_position')).to.be.greaterThan(0);
    expect(text).to.contain('warrant_process_cpu_user_seconds_total');
    expect(text).not.to.contain(c.secret);
  });

  it('/metrics is open when WARRANT_METRICS_TOKEN is unset', async () => {
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).to.equal(200);
    expect(await response.text()).to.contain('warrant_eventstore_head_position');
  });

  it('with WARRANT_METRICS_TOKEN set, /metrics needs that bearer token: missing or wrong is 401 with a Bearer challenge and no metrics', async () => {
    const token = 'metrics-token-0123456789abcdefghij';
    const guarded = await startTestServer({ config: { metricsToken: token } });
    try {
      const attempts: Record<string, Record<string, string>> = {
        missing: {},
        wrong: { authorization: 'Bearer metrics-token-0123456789abcdefghiX' },
        prefix: { authorization: `Bearer ${token.slice(0, -1)}` },
        longer: { authorization: `Bearer ${token}x` },
        basic: { authorization: basic('prometheus', token) },
        'query instead of header': {},
      };
      for (const [name, headers] of Object.entries(attempts)) {
        const url = name === 'query instead of header' ? `${guarded.url}/metrics?access_token=${token}` : `${guarded.url}/metrics`;
        const response = await fetch(url, { headers });
        expect(response.status, name).to.equal(401);
        expect(response.headers.get('www-authenticate'), name).to.match(new RegExp(`^Bearer realm="${guarded.url}"`));
        expect(response.headers.get('content-type'), name).to.contain('application/json');
        const text = await response.text();
        expect(text, name).not.to.contain('warrant_');
        expect((JSON.parse(text) as { error: string }).error, name).to.be.oneOf(['invalid_request', 'invalid_token']);
      }
      const ok = await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).to.equal(200);
      expect(await ok.text()).to.contain('warrant_eventstore_head_position');
    } finally {
      await guarded.stop();
    }
  });

  it('/readyz is 200 when caught up, 503 with the lagging projections when the read models fall behind', async () => {
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).to.equal(200);
    expect(((await ready.json()) as { status: string }).status).to.equal('ready');
    await Promise.all(server.auth.runners.map((r) => r.stop()));
    try {
      // Appended without inline projections (as by a process that could not apply them): only
      // the stopped runners could catch up.
      const plain = new PostgresEventStore({ pool: server.db.pool });
      await Promise.all(Array.from({ length: 11 }, () => plain.append(`token-${randomUUID()}`, Array.from({ length: 100 }, revokedEvent), { expectedRevision: 'no_stream' })));
      await plain.close();
      const behind = await fetch(`${server.url}/readyz`);
      expect(behind.status).to.equal(503);
      expect(behind.headers.get('retry-after')).to.equal('1');
      const body = (await behind.json()) as { status: string; lagging: string[] };
      expect(body.status).to.equal('not_ready');
      expect(body.lagging).to.include('tokens');
      expect((await fetch(`${server.url}/healthz`)).status).to.equal(200); // alive all the same
    } finally {
      server.auth.runners.forEach((r) => r.start());
    }
    await server.auth.waiter.waitFor(await server.auth.store.headPosition(), { timeoutMs: 15_000 });
    expect((await fetch(`${server.url}/readyz`)).status).to.equal(200);
  });
});
