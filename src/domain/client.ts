// The client aggregate (stream `client-<clientId>`): decide(command, state) → events and
// evolve(state, event) → state (STYLE §6). No I/O, no clock, no randomness.

import type { ClientChanges, ClientRegistered, DomainEvent } from '../events/types.js';
import { DomainError } from './errors.js';

export interface ClientState {
  revision: number;
  client: ClientRegistered | null;
  revoked: boolean;
}

export const initialClientState: ClientState = { revision: -1, client: null, revoked: false };

export function evolveClient(state: ClientState, event: { type: string; data: unknown }): ClientState {
  const revision = state.revision + 1;
  switch (event.type) {
    case 'ClientRegistered':
      return { revision, client: event.data as ClientRegistered, revoked: false };
    case 'ClientUpdated': {
      const { changes } = event.data as { changes: ClientChanges };
      return { ...state, revision, client: state.client && { ...state.client, ...changes } };
    }
    case 'ClientSecretRotated': {
      const { secretHash } = event.data as { secretHash: string };
      return { ...state, revision, client: state.client && { ...state.client, secretHash } };
    }
    case 'ClientRevoked':
      return { ...state, revision, revoked: true };
    default:
      return { ...state, revision };
  }
}

export type ClientCommand =
  | { type: 'Register'; client: ClientRegistered }
  | { type: 'Update'; clientId: string; changes: ClientChanges }
  | { type: 'RotateSecret'; clientId: string; secretHash: string }
  | { type: 'Revoke'; clientId: string };

function live(state: ClientState, clientId: string): ClientRegistered {
  if (!state.client) throw new DomainError('client_not_found', `client ${clientId} does not exist`);
  if (state.revoked) throw new DomainError('client_revoked', `client ${clientId} is revoked`);
  return state.client;
}

// warrant:* scopes are for a client acting for itself; a client people sign in through must not
// be able to pass them on (src/oauth/scopes.ts enforces the same at every grant).
const USER_GRANTS = new Set(['authorization_code', 'password', 'urn:ietf:params:oauth:grant-type:device_code', 'personal_access']);

function refusePrivilegedUserGrant(client: Pick<ClientRegistered, 'scopes' | 'grantTypes'>): void {
  const privileged = client.scopes.filter((scope) => scope.startsWith('warrant:'));
  const userGrants = client.grantTypes.filter((grant) => USER_GRANTS.has(grant));
  if (privileged.length > 0 && userGrants.length > 0) {
    throw new DomainError(
      'client_privileged_user_grant',
      `${privileged.join(' ')} cannot be combined with ${userGrants.join(', ')}: privileged scopes are only for a client acting for itself (client_credentials); register a separate client for them`,
    );
  }
}

export function decideClient(command: ClientCommand, state: ClientState): DomainEvent[] {
  switch (command.type) {
    case 'Register':
      if (state.client) throw new DomainError('client_exists', `client ${command.client.clientId} already exists`);
      refusePrivilegedUserGrant(command.client);
      return [{ type: 'ClientRegistered', data: command.client }];
    case 'Update': {
      const client = live(state, command.clientId);
      // Only real changes become an event.
      const changes = Object.fromEntries(
        Object.entries(command.changes).filter(([key, value]) => value !== undefined && JSON.stringify(value) !== JSON.stringify(client[key as keyof ClientRegistered])),
      ) as ClientChanges;
      refusePrivilegedUserGrant({ ...client, ...changes });
      return Object.keys(changes).length === 0 ? [] : [{ type: 'ClientUpdated', data: { clientId: command.clientId, changes } }];
    }
    case 'RotateSecret': {
      const client = live(state, command.clientId);
      if (!client.confidential) throw new DomainError('client_not_confidential', 'a public client has no secret');
      return [{ type: 'ClientSecretRotated', data: { clientId: command.clientId, secretHash: command.secretHash } }];
    }
    case 'Revoke':
      if (!state.client) throw new DomainError('client_not_found', `client ${command.clientId} does not exist`);
      return state.revoked ? [] : [{ type: 'ClientRevoked', data: { clientId: command.clientId } }];
  }
}
