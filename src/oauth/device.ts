// The device authorization grant (RFC 8628), stream `device-<id>` (src/domain/device.ts):
//   §3.1–3.2 POST /oauth/device/code → device_code (secret), user_code (typed by a person), interval
//   §3.3     the person enters the user code on /oauth/device, signs in and approves or denies
//   The device's polls of /oauth/token are ./grants/device-code.ts.

import { randomInt, randomUUID } from 'node:crypto';
import { deviceDecider } from '../domain/device.js';
import { isWrongExpectedRevision } from '../eventstore/port.js';
import type { ClientRecord } from '../readmodels/clients.js';
import type { PendingDevice } from '../readmodels/device-authorizations.js';
import { handle } from './aggregate.js';
import type { Actor, WarrantContext } from './context.js';
import { parseScope, refusePrivileged, requireGrant, requireScopes } from './scopes.js';
import { randomSecret } from './secrets.js';

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
// RFC 8628 §6.1: no vowels or look-alikes, 8 characters ≈ 34 bits; shown as XXXX-XXXX.
const ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

export function normalizeUserCode(input: string): string {
  return input.toUpperCase().replace(/[^A-Z]/g, '');
}

export async function requestDeviceCode(ctx: WarrantContext, input: { client: ClientRecord; scope: string | undefined; actor: Actor }) {
  const { client } = input;
  requireGrant(client, DEVICE_GRANT);
  const scopes = parseScope(input.scope) ?? [];
  requireScopes(client, scopes);
  refusePrivileged(ctx.config, scopes, { grantType: DEVICE_GRANT, subject: '' });
  const deviceId = randomUUID();
  const deviceCode = randomSecret();
  const userCode = Array.from({ length: 8 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  const handled = await handle(ctx, `device-${deviceId}`, deviceDecider, {
    type: 'Request',
    request: {
      deviceId,
      clientId: client.clientId,
      deviceCodeHash: ctx.hasher.hash(deviceCode),
      userCodeHash: ctx.hasher.hash(userCode),
      scopes,
      expiresAt: new Date(ctx.clock().getTime() + ctx.config.deviceCodeTtl * 1000).toISOString(),
      interval: ctx.config.deviceInterval,
    },
  }, { actor: input.actor, fresh: true });
  if (handled.decision.error) throw handled.decision.error;
  const formatted = `${userCode.slice(0, 4)}-${userCode.slice(4)}`;
  const verificationUri = `${ctx.config.issuer}/oauth/device`;
  return {
    device_code: deviceCode,
    user_code: formatted,
    verification_uri: verificationUri,
    verification_uri_complete: `${verificationUri}?user_code=${formatted}`,
    expires_in: ctx.config.deviceCodeTtl,
    interval: ctx.config.deviceInterval,
  };
}

/** The pending request a typed user code names, if any (normalized: case and dashes do not matter). */
export async function findPending(ctx: WarrantContext, userCode: string): Promise<PendingDevice | undefined> {
  const normalized = normalizeUserCode(userCode);
  if (normalized.length !== 8) return undefined;
  return ctx.read.devices.pending(ctx.hasher.hash(normalized), ctx.clock());
}

/** The signed-in person approves or denies; false if it was already decided or has expired. */
export async function decideDevice(ctx: WarrantContext, deviceId: string, subject: string, approve: boolean, sessionId: string | null, actor: Actor): Promise<boolean> {
  try {
    const { decision } = await handle(ctx, `device-${deviceId}`, deviceDecider, { type: 'Decide', deviceId, subject, approve, sessionId, now: ctx.clock() }, { actor });
    return !decision.error;
  } catch (error) {
    if (isWrongExpectedRevision(error)) return false;
    throw error;
  }
}
