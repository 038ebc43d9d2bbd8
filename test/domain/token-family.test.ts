// The token-family decider: pure decide/evolve, no I/O (STYLE §6).

import { expect } from 'chai';
import type { DomainEvent } from '../../src/events/types.js';
import { familyDecider, type FamilyCommand, type FamilyState, type RefreshCommand } from '../../src/domain/token-family.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
const familyId = '6f1c1d0e-3b1a-4c53-9a53-0d4a4f1f0c11';
const clientId = '7f1c1d0e-3b1a-4c53-9a53-0d4a4f1f0c11';

const decideFamily = (command: FamilyCommand, state: FamilyState) => familyDecider.decide(command, state);

function fold(events: DomainEvent[], times: number[]): FamilyState {
  return events.reduce((state, event, i) => familyDecider.evolve(state, { ...event, occurredAt: at(times[i] ?? 0).toISOString() }), familyDecider.initialState);
}

function issued(scopes = ['read', 'write']): DomainEvent[] {
  return decideFamily(
    {
      type: 'Issue',
      token: {
        familyId, clientId, subject: 'alice', grantType: 'authorization_code', scopes, audience: ['https://api'], jti: 'jti-000000000000001', accessTokenHash: 'A1',
        accessTokenExpiresAt: at(3600).toISOString(), refreshTokenHash: 'R1', refreshTokenExpiresAt: at(86400).toISOString(), grantId: null, name: null,
      },
    },
    familyDecider.initialState,
  ).events;
}

const refresh = (overrides: Partial<RefreshCommand>): RefreshCommand => ({
  type: 'Refresh', familyId, clientId, presentedHash: 'R1', scopes: undefined, clientScopes: ['read', 'write'], jti: 'jti-000000000000002',
  accessTokenHash: 'A2', refreshTokenHash: 'R2', accessTokenExpiresAt: at(7200), refreshTokenExpiresAt: at(90000), graceSeconds: 0, now: at(10), ...overrides,
});

describe('token family decider', () => {
  it('rotates: the presented current token becomes a TokenRefreshed with the new hash', () => {
    const decision = decideFamily(refresh({}), fold(issued(), [0]));
    expect(decision.error).to.equal(undefined);
    expect(decision.events).to.have.length(1);
    expect(decision.events[0]).to.deep.include({ type: 'TokenRefreshed' });
    expect(decision.events[0]!.data).to.include({ previousRefreshTokenHash: 'R1', refreshTokenHash: 'R2' });
  });

  it('reuse of a rotated token outside the grace window revokes the family and fails', () => {
    const history = [...issued(), ...decideFamily(refresh({}), fold(issued(), [0])).events];
    const decision = decideFamily(refresh({ presentedHash: 'R1', refreshTokenHash: 'R3', now: at(20) }), fold(history, [0, 10]));
    expect(decision.error?.code).to.equal('refresh_token_reused');
    expect(decision.events).to.deep.equal([{ type: 'TokenRevoked', data: { familyId, clientId, reason: 'refresh_token_reuse' } }]);
  });

  it('reuse within the grace window rotates again instead of revoking', () => {
    const history = [...issued(), ...decideFamily(refresh({}), fold(issued(), [0])).events];
    const within = decideFamily(refresh({ presentedHash: 'R1', refreshTokenHash: 'R3', graceSeconds: 30, now: at(25) }), fold(history, [0, 10]));
    expect(within.error).to.equal(undefined);
    expect(within.events[0]!.type).to.equal('TokenRefreshed');
    const after = decideFamily(refresh({ presentedHash: 'R1', refreshTokenHash: 'R3', graceSeconds: 30, now: at(41) }), fold(history, [0, 10]));
    expect(after.error?.code).to.equal('refresh_token_reused');
  });

  it('another client presenting the token is refused without revoking', () => {
    const decision = decideFamily(refresh({ clientId: '00000000-0000-4000-8000-000000000000' }), fold(issued(), [0]));
    expect(decision.error?.code).to.equal('refresh_token_wrong_client');
    expect(decision.events).to.deep.equal([]);
  });

  it('narrows scope, and refuses expired tokens', () => {
    expect((decideFamily(refresh({ scopes: ['read'] }), fold(issued(), [0])).events[0]!.data as { scopes: string[] }).scopes).to.deep.equal(['read']);
    expect(decideFamily(refresh({ now: at(86401) }), fold(issued(), [0])).error?.code).to.equal('refresh_token_expired');
  });

  it('refuses widening beyond the original grant even when the client may have the scope today (RFC 6749 §6)', () => {
    // Granted `read` only; the client's registration has `write` as well (e.g. added later).
    const decision = decideFamily(refresh({ scopes: ['read', 'write'], clientScopes: ['read', 'write'] }), fold(issued(['read']), [0]));
    expect(decision.error?.code).to.equal('scope_widened');
    expect(decision.events).to.deep.equal([]);
    // Without a scope parameter the grant's scopes stay: write does not creep in.
    const kept = decideFamily(refresh({ clientScopes: ['read', 'write'] }), fold(issued(['read']), [0]));
    expect((kept.events[0]!.data as { scopes: string[] }).scopes).to.deep.equal(['read']);
  });

  it('refuses a scope the original grant had but the client may no longer have (its registration narrowed)', () => {
    const decision = decideFamily(refresh({ scopes: ['write'], clientScopes: ['read'] }), fold(issued(['read', 'write']), [0]));
    expect(decision.error?.code).to.equal('scope_widened');
    // Asked for nothing: what the client may still have of the grant.
    const narrowed = decideFamily(refresh({ clientScopes: ['read'] }), fold(issued(['read', 'write']), [0]));
    expect((narrowed.events[0]!.data as { scopes: string[] }).scopes).to.deep.equal(['read']);
  });

  it('revocation is terminal and idempotent', () => {
    const revoked = [...issued(), ...decideFamily({ type: 'Revoke', familyId, reason: 'admin' }, fold(issued(), [0])).events];
    const state = fold(revoked, [0, 5]);
    expect(state.revoked).to.equal(true);
    expect(decideFamily({ type: 'Revoke', familyId, reason: 'admin' }, state).events).to.deep.equal([]);
    expect(decideFamily(refresh({}), state).error?.code).to.equal('family_revoked');
  });
});
