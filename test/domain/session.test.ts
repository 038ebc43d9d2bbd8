// The session and consent deciders: pure decide/evolve.

import { expect } from 'chai';
import { consentDecider, sessionDecider } from '../../src/domain/session.js';
import type { DomainEvent } from '../../src/events/types.js';

const sessionId = '2f1c1d0e-3b1a-4c53-9a53-0d4a4f1f0c11';
const started = { sessionId, subject: 'alice', secretHash: 'H1', expiresAt: '2026-01-01T12:00:00.000Z' };
const foldSession = (events: DomainEvent[]) => events.reduce((s, e) => sessionDecider.evolve(s, { ...e, occurredAt: '2026-01-01T00:00:00Z' }), sessionDecider.initialState);

describe('session and consent deciders', () => {
  it('a session starts once and ends once, with its first reason', () => {
    const start = sessionDecider.decide({ type: 'Start', session: started }, sessionDecider.initialState);
    expect(start.events).to.deep.equal([{ type: 'SessionStarted', data: started }]);
    expect(sessionDecider.decide({ type: 'Start', session: started }, foldSession(start.events)).error?.code).to.equal('session_exists');
    const end = sessionDecider.decide({ type: 'End', reason: 'logout' }, foldSession(start.events));
    expect(end.events).to.deep.equal([{ type: 'SessionEnded', data: { sessionId, subject: 'alice', reason: 'logout' } }]);
    expect(sessionDecider.decide({ type: 'End', reason: 'subject_revoked' }, foldSession([...start.events, ...end.events]))).to.deep.equal({ events: [] });
    expect(sessionDecider.decide({ type: 'End', reason: 'logout' }, sessionDecider.initialState).error?.code).to.equal('session_unknown');
  });

  it('consents are granted and revoked as facts; a revoke is recorded even for a consent from before consents were events', () => {
    const consent = { subject: 'alice', clientId: '5f1c1d0e-3b1a-4c53-9a53-0d4a4f1f0c11', scopes: ['read'], audience: ['https://api.example/'], sessionId: null };
    const granted = consentDecider.decide({ type: 'Grant', consent }, consentDecider.initialState);
    expect(granted.events).to.deep.equal([{ type: 'ConsentGranted', data: consent }]);
    const state = granted.events.reduce((s, e) => consentDecider.evolve(s, { ...e, occurredAt: '2026-01-01T00:00:00Z' }), consentDecider.initialState);
    expect(state.granted).to.equal(true);
    const revoke = { type: 'Revoke', consent: { subject: 'alice', clientId: consent.clientId, reason: 'subject_revoked' } } as const;
    expect(consentDecider.decide(revoke, consentDecider.initialState).events).to.deep.equal([{ type: 'ConsentRevoked', data: revoke.consent }]);
  });
});
