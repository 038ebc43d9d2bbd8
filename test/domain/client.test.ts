// The client decider: pure decide/evolve, no I/O (STYLE §6).

import { expect } from 'chai';
import { clientDecider, type ClientCommand, type ClientState } from '../../src/domain/client.js';
import type { ClientRegistered, DomainEvent } from '../../src/events/types.js';

const clientId = '5f1c1d0e-3b1a-4c53-9a53-0d4a4f1f0c11';
const registration: ClientRegistered = {
  clientId, name: 'Billing', confidential: true, secretHash: 'S1', grantTypes: ['client_credentials'], scopes: ['read'],
  redirectUris: [], resources: [], firstParty: false, accessTokenTtl: null, refreshTokenTtl: null,
};
const decide = (command: ClientCommand, state: ClientState = clientDecider.initialState) => clientDecider.decide(command, state);
const fold = (events: DomainEvent[]) => events.reduce((state, event) => clientDecider.evolve(state, { ...event, occurredAt: '2026-01-01T00:00:00Z' }), clientDecider.initialState);
const registered = () => fold(decide({ type: 'Register', client: registration }).events);

describe('client decider', () => {
  it('registers once; a second registration of the same id is refused', () => {
    const first = decide({ type: 'Register', client: registration });
    expect(first).to.deep.equal({ events: [{ type: 'ClientRegistered', data: registration }] });
    expect(decide({ type: 'Register', client: registration }, registered()).error?.code).to.equal('client_exists');
  });

  it('an update appends only what really changes; nothing changed, nothing appended', () => {
    const update = decide({ type: 'Update', clientId, changes: { name: 'Billing', scopes: ['read', 'write'] } }, registered());
    expect(update.events).to.deep.equal([{ type: 'ClientUpdated', data: { clientId, changes: { scopes: ['read', 'write'] } } }]);
    expect(decide({ type: 'Update', clientId, changes: { name: 'Billing' } }, registered())).to.deep.equal({ events: [] });
    const state = fold([...decide({ type: 'Register', client: registration }).events, ...update.events]);
    expect(state.client?.scopes).to.deep.equal(['read', 'write']);
  });

  it('refuses warrant:* scopes together with a user grant, on registration and on an update that combines them', () => {
    const portal = decide({ type: 'Register', client: { ...registration, grantTypes: ['authorization_code'], scopes: ['warrant:audit'] } });
    expect(portal.error?.code).to.equal('client_privileged_user_grant');
    expect(portal.events).to.deep.equal([]);
    const admin = fold(decide({ type: 'Register', client: { ...registration, scopes: ['warrant:admin'] } }).events);
    expect(decide({ type: 'Update', clientId, changes: { grantTypes: ['client_credentials', 'password'] } }, admin).error?.code).to.equal('client_privileged_user_grant');
    expect(decide({ type: 'Update', clientId, changes: { grantTypes: ['client_credentials', 'refresh_token'] } }, admin).error).to.equal(undefined);
  });

  it('rotates a confidential client\'s secret, not a public client\'s; an unknown client is not found', () => {
    expect(decide({ type: 'RotateSecret', clientId, secretHash: 'S2' }, registered()).events).to.deep.equal([{ type: 'ClientSecretRotated', data: { clientId, secretHash: 'S2' } }]);
    const spa = fold(decide({ type: 'Register', client: { ...registration, confidential: false, secretHash: null } }).events);
    expect(decide({ type: 'RotateSecret', clientId, secretHash: 'S2' }, spa).error?.code).to.equal('client_not_confidential');
    expect(decide({ type: 'RotateSecret', clientId, secretHash: 'S2' }).error?.code).to.equal('client_not_found');
  });

  it('revocation is terminal and idempotent: nothing but a repeated revoke is accepted after it', () => {
    const revoke = decide({ type: 'Revoke', clientId }, registered());
    expect(revoke.events).to.deep.equal([{ type: 'ClientRevoked', data: { clientId } }]);
    const revoked = fold([...decide({ type: 'Register', client: registration }).events, ...revoke.events]);
    expect(revoked.revoked).to.equal(true);
    expect(decide({ type: 'Revoke', clientId }, revoked)).to.deep.equal({ events: [] });
    expect(decide({ type: 'Update', clientId, changes: { name: 'Back' } }, revoked).error?.code).to.equal('client_revoked');
    expect(decide({ type: 'RotateSecret', clientId, secretHash: 'S3' }, revoked).error?.code).to.equal('client_revoked');
  });
});
