// The authorization-code decider (RFC 6749 §4.1.3, RFC 7636 §4.6): pure decide/evolve.

import { expect } from 'chai';
import { grantDecider, type GrantCommand, type GrantState } from '../../src/domain/grant.js';
import type { AuthorizationCodeIssued, DomainEvent } from '../../src/events/types.js';

const grantId = '4f1c1d0e-3b1a-4c53-9a53-0d4a4f1f0c11';
const clientId = '5f1c1d0e-3b1a-4c53-9a53-0d4a4f1f0c11';
const familyId = '6f1c1d0e-3b1a-4c53-9a53-0d4a4f1f0c11';
const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const code: AuthorizationCodeIssued = {
  grantId, clientId, subject: 'alice', codeHash: 'C1', redirectUri: 'https://app.example/cb', scopes: ['read'],
  codeChallenge: challenge, codeChallengeMethod: 'S256', resource: null, expiresAt: '2026-01-01T00:01:00.000Z', sessionId: null,
  nonce: null,
  authTime: null,
};
const fold = (events: DomainEvent[]) => events.reduce((state, event) => grantDecider.evolve(state, { ...event, occurredAt: '2026-01-01T00:00:00Z' }), grantDecider.initialState);
const issued = (overrides: Partial<AuthorizationCodeIssued> = {}) => fold(grantDecider.decide({ type: 'IssueCode', code: { ...code, ...overrides } }, grantDecider.initialState).events);
const redeem = (state: GrantState, overrides: Partial<Extract<GrantCommand, { type: 'Redeem' }>> = {}) =>
  grantDecider.decide({ type: 'Redeem', clientId, redirectUri: code.redirectUri, verifier: 'v'.repeat(43), verifierChallenge: challenge, familyId, now: new Date('2026-01-01T00:00:30Z'), ...overrides }, state);

describe('authorization-code decider', () => {
  it('issues once and redeems once, into the family it names', () => {
    expect(grantDecider.decide({ type: 'IssueCode', code }, issued()).error?.code).to.equal('code_exists');
    const redeemed = redeem(issued());
    expect(redeemed).to.deep.equal({ events: [{ type: 'AuthorizationCodeRedeemed', data: { grantId, clientId, familyId } }] });
    expect(redeem(fold([...grantDecider.decide({ type: 'IssueCode', code }, grantDecider.initialState).events, ...redeemed.events])).error?.code).to.equal('code_replayed');
  });

  it('checks in order: unknown, replay, client, expiry, redirect URI, then PKCE', () => {
    expect(redeem(grantDecider.initialState).error?.code).to.equal('code_unknown');
    expect(redeem(issued(), { clientId: '00000000-0000-4000-8000-000000000000' }).error?.code).to.equal('code_wrong_client');
    expect(redeem(issued(), { now: new Date('2026-01-01T00:01:00Z') }).error?.code).to.equal('code_expired');
    expect(redeem(issued(), { redirectUri: 'https://app.example/cb/' }).error?.code).to.equal('code_wrong_redirect_uri');
    expect(redeem(issued(), { redirectUri: undefined }).error?.code).to.equal('code_wrong_redirect_uri');
  });

  it('PKCE: a missing or wrong verifier is refused, and a verifier for a code issued without a challenge too (downgrade)', () => {
    expect(redeem(issued(), { verifier: undefined, verifierChallenge: undefined }).error?.code).to.equal('pkce_missing');
    expect(redeem(issued(), { verifierChallenge: 'x'.repeat(43) }).error?.code).to.equal('pkce_mismatch');
    const plain = issued({ codeChallenge: null, codeChallengeMethod: null });
    expect(redeem(plain).error?.code).to.equal('pkce_unexpected');
    expect(redeem(plain, { verifier: undefined, verifierChallenge: undefined }).error).to.equal(undefined);
  });
});
