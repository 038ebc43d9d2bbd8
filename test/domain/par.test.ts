// The pushed authorization request decider (RFC 9126): pure decide/evolve.

import { expect } from 'chai';
import { parDecider, type ParCommand, type ParState } from '../../src/domain/par.js';
import type { AuthorizationRequestPushed, DomainEvent } from '../../src/events/types.js';

const requestId = '3f1c1d0e-3b1a-4c53-9a53-0d4a4f1f0c11';
const clientId = '5f1c1d0e-3b1a-4c53-9a53-0d4a4f1f0c11';
const request: AuthorizationRequestPushed = { requestId, clientId, uriHash: 'H1', params: { response_type: 'code', state: 'xyz' }, expiresAt: '2026-01-01T00:01:00.000Z' };
const now = new Date('2026-01-01T00:00:30Z');
const decide = (command: ParCommand, state: ParState) => parDecider.decide(command, state);
const after = (...commands: ParCommand[]) =>
  commands.reduce((state, command) => decide(command, state).events.reduce((s, event: DomainEvent) => parDecider.evolve(s, { ...event, occurredAt: now.toISOString() }), state), parDecider.initialState);
const push = { type: 'Push', request } as const;
const use = (overrides: Partial<Extract<ParCommand, { type: 'Use' }>> = {}): ParCommand => ({ type: 'Use', clientId, now, ...overrides });

describe('pushed authorization request decider', () => {
  it('pushed once; used once by its own client within its lifetime', () => {
    expect(decide(push, parDecider.initialState).events).to.deep.equal([{ type: 'AuthorizationRequestPushed', data: request }]);
    expect(decide(push, after(push)).error?.code).to.equal('par_exists');
    expect(decide(use(), after(push)).events).to.deep.equal([{ type: 'PushedAuthorizationRequestUsed', data: { requestId, clientId } }]);
  });

  it('refuses an unknown request, another client, a second use and an expired request', () => {
    expect(decide(use(), parDecider.initialState).error?.code).to.equal('par_unknown');
    expect(decide(use({ clientId: '00000000-0000-4000-8000-000000000000' }), after(push)).error?.code).to.equal('par_wrong_client');
    expect(decide(use(), after(push, use())).error?.code).to.equal('par_used');
    expect(decide(use({ now: new Date('2026-01-01T00:01:00Z') }), after(push)).error?.code).to.equal('par_expired');
    expect(decide(use({ now: new Date('2026-01-01T00:01:00Z') }), after(push)).events).to.deep.equal([]);
  });
});
