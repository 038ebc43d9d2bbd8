// The device authorization aggregate (stream `device-<deviceId>`, RFC 8628): requested by a
// device, approved or denied once by a signed-in person, redeemed once by the device's poll.
// Decider shape (./decider.ts); no I/O. How fast a device polls (slow_down) is not history and
// lives in a table of the application layer.

import type { DeviceAuthorizationRequested } from '../events/types.js';
import { accept, refuse, type Decider, type Decision, type Happened } from './decider.js';
import { DomainError } from './errors.js';

export interface DeviceState {
  requested: DeviceAuthorizationRequested | null;
  status: 'none' | 'pending' | 'approved' | 'denied' | 'redeemed';
  subject: string | null;
}

export type DeviceCommand =
  | { type: 'Request'; request: DeviceAuthorizationRequested }
  | { type: 'Decide'; deviceId: string; subject: string; approve: boolean; sessionId: string | null; now: Date }
  | { type: 'Redeem'; deviceId: string; clientId: string; familyId: string; now: Date };

function evolve(state: DeviceState, event: Happened): DeviceState {
  switch (event.type) {
    case 'DeviceAuthorizationRequested':
      return { requested: event.data, status: 'pending', subject: null };
    case 'DeviceAuthorizationApproved':
      return { ...state, status: 'approved', subject: event.data.subject };
    case 'DeviceAuthorizationDenied':
      return { ...state, status: 'denied', subject: event.data.subject };
    case 'DeviceCodeRedeemed':
      return { ...state, status: 'redeemed' };
    default:
      return state;
  }
}

const no = (code: ConstructorParameters<typeof DomainError>[0], message: string): Decision => refuse(new DomainError(code, message));

function decide(command: DeviceCommand, state: DeviceState): Decision {
  if (command.type === 'Request') {
    if (state.requested) return no('device_exists', `device authorization ${command.request.deviceId} exists`);
    return accept({ type: 'DeviceAuthorizationRequested', data: command.request });
  }
  const requested = state.requested;
  if (!requested) return no('device_unknown', 'unknown device code');
  const expired = new Date(requested.expiresAt) <= command.now;
  if (command.type === 'Decide') {
    if (state.status !== 'pending' || expired) return no('device_decided', 'the code was already approved or denied, or has expired');
    const data = { deviceId: command.deviceId, subject: command.subject, sessionId: command.sessionId };
    return accept(command.approve ? { type: 'DeviceAuthorizationApproved', data } : { type: 'DeviceAuthorizationDenied', data });
  }
  // §3.5, in the order a device needs to hear it.
  if (requested.clientId !== command.clientId) return no('device_wrong_client', 'the device code was issued to another client');
  if (state.status === 'redeemed') return no('device_redeemed', 'the device code was already used');
  if (expired) return no('device_expired', 'the device code has expired; start again');
  if (state.status === 'denied') return no('device_denied', 'the user denied the request');
  if (state.status === 'pending') return no('device_pending', 'the user has not approved yet');
  return accept({ type: 'DeviceCodeRedeemed', data: { deviceId: command.deviceId, clientId: command.clientId, familyId: command.familyId } });
}

export const deviceDecider: Decider<DeviceState, DeviceCommand> = { initialState: { requested: null, status: 'none', subject: null }, decide, evolve };
