// The device authorization decider (RFC 8628): pure decide/evolve.

import { expect } from 'chai';
import { deviceDecider, type DeviceCommand, type DeviceState } from '../../src/domain/device.js';
import type { DeviceAuthorizationRequested, DomainEvent } from '../../src/events/types.js';

const deviceId = '3f1c1d0e-3b1a-4c53-9a53-0d4a4f1f0c11';
const clientId = '5f1c1d0e-3b1a-4c53-9a53-0d4a4f1f0c11';
const familyId = '6f1c1d0e-3b1a-4c53-9a53-0d4a4f1f0c11';
const request: DeviceAuthorizationRequested = { deviceId, clientId, deviceCodeHash: 'D1', userCodeHash: 'U1', scopes: ['read'], expiresAt: '2026-01-01T00:10:00.000Z', interval: 5 };
const now = new Date('2026-01-01T00:01:00Z');
const decide = (command: DeviceCommand, state: DeviceState) => deviceDecider.decide(command, state);
const after = (...commands: DeviceCommand[]) =>
  commands.reduce((state, command) => decide(command, state).events.reduce((s, event: DomainEvent) => deviceDecider.evolve(s, { ...event, occurredAt: now.toISOString() }), state), deviceDecider.initialState);
const requested = { type: 'Request', request } as const;
const approve = { type: 'Decide', deviceId, subject: 'alice', approve: true, sessionId: null, now } as const;
const deny = { ...approve, approve: false } as const;
const redeem = (overrides: Partial<Extract<DeviceCommand, { type: 'Redeem' }>> = {}): DeviceCommand => ({ type: 'Redeem', deviceId, clientId, familyId, now, ...overrides });

describe('device authorization decider', () => {
  it('requested once; approved or denied once by a person, with the session it happened in', () => {
    expect(decide(requested, after(requested)).error?.code).to.equal('device_exists');
    expect(decide({ ...approve, sessionId: '7f1c1d0e-3b1a-4c53-9a53-0d4a4f1f0c11' }, after(requested)).events).to.deep.equal([
      { type: 'DeviceAuthorizationApproved', data: { deviceId, subject: 'alice', sessionId: '7f1c1d0e-3b1a-4c53-9a53-0d4a4f1f0c11' } },
    ]);
    expect(decide(deny, after(requested, approve)).error?.code).to.equal('device_decided');
    expect(decide(approve, after(requested)).error).to.equal(undefined);
    expect(decide({ ...approve, now: new Date('2026-01-01T00:10:00Z') }, after(requested)).error?.code).to.equal('device_decided');
  });

  it('a poll hears, in order: wrong client, already used, expired, denied, pending; approved, it is redeemed once', () => {
    expect(decide(redeem(), deviceDecider.initialState).error?.code).to.equal('device_unknown');
    expect(decide(redeem({ clientId: '00000000-0000-4000-8000-000000000000' }), after(requested)).error?.code).to.equal('device_wrong_client');
    expect(decide(redeem({ now: new Date('2026-01-01T00:10:00Z') }), after(requested, approve)).error?.code).to.equal('device_expired');
    expect(decide(redeem(), after(requested, deny)).error?.code).to.equal('device_denied');
    expect(decide(redeem(), after(requested)).error?.code).to.equal('device_pending');
    expect(decide(redeem(), after(requested, approve)).events).to.deep.equal([{ type: 'DeviceCodeRedeemed', data: { deviceId, clientId, familyId } }]);
    expect(decide(redeem(), after(requested, approve, redeem())).error?.code).to.equal('device_redeemed');
  });
});
