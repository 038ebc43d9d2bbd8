// The client aggregate (stream `client-<clientId>`): registered, updated, its secret rotated,
// revoked (terminal). Decider shape (./decider.ts); no I/O.

import type { ClientChanges, ClientRegistered } from '../events/types.js';
import { accept, refuse, type Decider, type Decision, type Happened } from './decider.js';
import { DomainError } from './errors.js';

export interface ClientState {
  client: ClientRegistered | null;
  revoked: boolean;
}

export type ClientCommand =
  | { type: 'Register'; client: ClientRegistered }
  | { type: 'Update'; clientId: string; changes: ClientChanges }
  | { type: 'RotateSecret'; clientId: string; secretHash: string }
  | { type: 'Revoke'; clientId: string };

// warrant:* scopes are for a client acting for itself; a client people sign in through must not
// be able to pass them on (src/oauth/scopes.ts enforces the same at every grant).
const USER_GRANTS = new Set(['authorization_code', 'password', 'urn:ietf:params:oauth:grant-type:device_code', 'personal_access', 'urn:ietf:params:oauth:grant-type:token-exchange']);

function privilegedWithUserGrant(client: Pick<ClientRegistered, 'scopes' | 'grantTypes'>): DomainError | undefined {
  const privileged = client.scopes.filter((scope) => scope.startsWith('warrant:'));
  const userGrants = client.grantTypes.filter((grant) => USER_GRANTS.has(grant));
  if (privileged.length === 0 || userGrants.length === 0) return undefined;
  return new DomainError(
    'client_privileged_user_grant',
    `${privileged.join(' ')} cannot be combined with ${userGrants.join(', ')}: privileged scopes are only for a client acting for itself (client_credentials); register a separate client for them`,
  );
}

function evolve(state: ClientState, event: Happened): ClientState {
  switch (event.type) {
    case 'ClientRegistered':
      return { client: event.data, revoked: false };
    case 'ClientUpdated':
      return { ...state, client: state.client && { ...state.client, ...event.data.changes } };
    case 'ClientSecretRotated':
      return { ...state, client: state.client && { ...state.client, secretHash: event.data.secretHash } };
    case 'ClientRevoked':
      return { ...state, revoked: true };
    default:
      return state;
  }
}

function decide(command: ClientCommand, state: ClientState): Decision {
  if (command.type === 'Register') {
    if (state.client) return refuse(new DomainError('client_exists', `client ${command.client.clientId} already exists`));
    const invalid = privilegedWithUserGrant(command.client);
    return invalid ? refuse(invalid) : accept({ type: 'ClientRegistered', data: command.client });
  }
  const client = state.client;
  if (!client) return refuse(new DomainError('client_not_found', `client ${command.clientId} does not exist`));
  if (command.type === 'Revoke') return state.revoked ? accept() : accept({ type: 'ClientRevoked', data: { clientId: command.clientId } });
  if (state.revoked) return refuse(new DomainError('client_revoked', `client ${command.clientId} is revoked`));
  if (command.type === 'RotateSecret') {
    if (!client.confidential) return refuse(new DomainError('client_not_confidential', 'a public client has no secret'));
    if (client.tokenEndpointAuthMethod === 'private_key_jwt') return refuse(new DomainError('client_not_confidential', 'a private_key_jwt client authenticates with its keys, not a secret'));
    return accept({ type: 'ClientSecretRotated', data: { clientId: command.clientId, secretHash: command.secretHash } });
  }
  // Only real changes become an event.
  const changes = Object.fromEntries(
    Object.entries(command.changes).filter(([key, value]) => value !== undefined && JSON.stringify(value) !== JSON.stringify(client[key as keyof ClientRegistered])),
  ) as ClientChanges;
  const invalid = privilegedWithUserGrant({ ...client, ...changes });
  if (invalid) return refuse(invalid);
  return Object.keys(changes).length === 0 ? accept() : accept({ type: 'ClientUpdated', data: { clientId: command.clientId, changes } });
}

export const clientDecider: Decider<ClientState, ClientCommand> = { initialState: { client: null, revoked: false }, decide, evolve };
