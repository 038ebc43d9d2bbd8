// The device authorization grant (RFC 8628) on stream `device-<id>`:
//   §3.1–3.2 POST /oauth/device/code → device_code (secret), user_code (typed by a person), interval
//   §3.3     the person enters the user code on /oauth/device, signs in and approves or denies
//   §3.4–3.5 the device polls /oauth/token: authorization_pending, slow_down, access_denied,
//            expired_token — or, once, its tokens (redemption appends at an expected revision).

import { randomInt, randomUUID } from 'node:crypto';
import { projectionsFor } from '../../projections/index.js';
import type { DeviceAuthorizationRequested } from '../events/types.js';
import { isWrongExpectedRevision, type RecordedEvent } from '../eventstore/port.js';
import { appendAndWait, load } from './aggregate.js';
import type { ClientRecord } from './clients-read.js';
import type { Actor, WarrantContext } from './context.js';
import { InvalidGrant, InvalidScope, OAuthError, UnauthorizedClient } from './errors.js';
import { refusePrivileged } from './scopes.js';
import { randomSecret } from './secrets.js';
import { issueTokens, parseScope, type TokenResponse } from './tokens.js';

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const DEVICES = projectionsFor(['DeviceAuthorizationRequested']);
// RFC 8628 §6.1: no vowels or look-alikes, 8 characters ≈ 34 bits; shown as XXXX-XXXX.
const ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

export interface DeviceState {
  revision: number;
  requested: DeviceAuthorizationRequested | null;
  status: 'none' | 'pending' | 'approved' | 'denied' | 'redeemed';
  subject: string | null;
}

const initial: DeviceState = { revision: -1, requested: null, status: 'none', subject: null };

function evolve(state: DeviceState, event: RecordedEvent): DeviceState {
  const revision = state.revision + 1;
  switch (event.type) {
    case 'DeviceAuthorizationRequested':
      return { revision, requested: event.data as DeviceAuthorizationRequested, status: 'pending', subject: null };
    case 'DeviceAuthorizationApproved':
      return { ...state, revision, status: 'approved', subject: (event.data as { subject: string }).subject };
    case 'DeviceAuthorizationDenied':
      return { ...state, revision, status: 'denied', subject: (event.data as { subject: string }).subject };
    case 'DeviceCodeRedeemed':
      return { ...state, revision, status: 'redeemed' };
    default:
      return { ...state, revision };
  }
}

export function normalizeUserCode(input: string): string {
  return input.toUpperCase().replace(/[^A-Z]/g, '');
}

export async function requestDeviceCode(ctx: WarrantContext, input: { client: ClientRecord; scope: string | undefined; actor: Actor }) {
  const { client } = input;
  if (!client.grantTypes.includes(DEVICE_GRANT)) throw new UnauthorizedClient('the client is not allowed the device_code grant');
  const scopes = parseScope(input.scope) ?? [];
  if (scopes.some((scope) => !client.scopes.includes(scope))) throw new InvalidScope('the client is not allowed the requested scope');
  refusePrivileged(ctx.config, scopes, { grantType: DEVICE_GRANT, subject: '' });
  const deviceId = randomUUID();
  const deviceCode = randomSecret();
  const userCode = Array.from({ length: 8 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  await appendAndWait(
    ctx,
    `device-${deviceId}`,
    -1,
    [{
      type: 'DeviceAuthorizationRequested',
      data: {
        deviceId, clientId: client.clientId, deviceCodeHash: ctx.hasher.hash(deviceCode), userCodeHash: ctx.hasher.hash(userCode), scopes,
        expiresAt: new Date(ctx.clock().getTime() + ctx.config.deviceCodeTtl * 1000).toISOString(), interval: ctx.config.deviceInterval,
      },
    }],
    input.actor,
    DEVICES,
  );
  const display = `${userCode.slice(0, 4)}-${userCode.slice(4)}`;
  return {
    device_code: deviceCode,
    user_code: display,
    verification_uri: `${ctx.config.issuer}/oauth/device`,
    verification_uri_complete: `${ctx.config.issuer}/oauth/device?user_code=${display}`,
    expires_in: ctx.config.deviceCodeTtl,
    interval: ctx.config.deviceInterval,
  };
}

/** The pending request behind a user code (for the verification page), or undefined. */
export async function findPending(ctx: WarrantContext, userCode: string): Promise<{ deviceId: string; clientId: string; scopes: string[] } | undefined> {
  const normalized = normalizeUserCode(userCode);
  if (normalized.length !== 8) return undefined;
  const { rows } = await ctx.pool.query<{ device_id: string; client_id: string; scopes: string[] }>(
    "SELECT device_id, client_id, scopes FROM device_authorizations WHERE user_code_hash = $1 AND status = 'pending' AND expires_at > $2",
    [ctx.hasher.hash(normalized), ctx.clock()],
  );
  return rows[0] && { deviceId: rows[0].device_id, clientId: rows[0].client_id, scopes: rows[0].scopes };
}

export async function decideDevice(ctx: WarrantContext, deviceId: string, subject: string, approve: boolean, sessionId: string | null, actor: Actor): Promise<boolean> {
  const { state } = await load(ctx, `device-${deviceId}`, initial, evolve);
  if (state.status !== 'pending' || !state.requested || new Date(state.requested.expiresAt) <= ctx.clock()) return false;
  try {
    await appendAndWait(
      ctx,
      `device-${deviceId}`,
      state.revision,
      [approve ? { type: 'DeviceAuthorizationApproved', data: { deviceId, subject, sessionId } } : { type: 'DeviceAuthorizationDenied', data: { deviceId, subject, sessionId } }],
      actor,
      DEVICES,
    );
    return true;
  } catch (error) {
    if (isWrongExpectedRevision(error)) return false;
    throw error;
  }
}

class DevicePollError extends OAuthError {
  constructor(error: 'authorization_pending' | 'slow_down' | 'access_denied' | 'expired_token', description: string) {
    super(400, error, description);
  }
}

/** RFC 8628 §3.4–3.5: one poll of the token endpoint. */
export async function pollDeviceCode(ctx: WarrantContext, input: { client: ClientRecord; deviceCode: string; actor: Actor }): Promise<TokenResponse> {
  const { client } = input;
  if (!client.grantTypes.includes(DEVICE_GRANT)) throw new UnauthorizedClient('the client is not allowed the device_code grant');
  const { rows } = await ctx.pool.query<{ device_id: string }>('SELECT device_id FROM device_authorizations WHERE device_code_hash = $1', [ctx.hasher.hash(input.deviceCode.slice(0, 512))]);
  const deviceId = rows[0]?.device_id;
  if (!deviceId) throw new InvalidGrant('the device code is invalid');
  const stream = `device-${deviceId}`;
  const { state } = await load(ctx, stream, initial, evolve);
  const requested = state.requested!;
  if (requested.clientId !== client.clientId) throw new InvalidGrant('the device code was issued to another client');
  if (state.status === 'redeemed') throw new InvalidGrant('the device code was already used');
  if (new Date(requested.expiresAt) <= ctx.clock()) throw new DevicePollError('expired_token', 'the device code has expired; start again');
  if (state.status === 'denied') throw new DevicePollError('access_denied', 'the user denied the request');

  // §3.5 slow_down: a poll sooner than the interval is refused and the interval grows by 5 s.
  // The old values come from the same statement's snapshot as the update.
  const now = ctx.clock();
  const { rows: polls } = await ctx.pool.query<{ last: Date | null; interval: number | null }>(
    `WITH old AS (SELECT last_poll_at, interval_seconds FROM device_polls WHERE device_id = $1),
          up AS (
            INSERT INTO device_polls AS p (device_id, last_poll_at, interval_seconds) VALUES ($1, $2, $3)
            ON CONFLICT (device_id) DO UPDATE
              SET interval_seconds = CASE WHEN EXCLUDED.last_poll_at < p.last_poll_at + make_interval(secs => p.interval_seconds)
                                          THEN p.interval_seconds + 5 ELSE p.interval_seconds END,
                  last_poll_at = EXCLUDED.last_poll_at
            RETURNING 1)
     SELECT (SELECT last_poll_at FROM old) AS last, (SELECT interval_seconds FROM old) AS interval, (SELECT count(*) FROM up) AS n`,
    [deviceId, now, requested.interval],
  );
  const previous = polls[0];
  if (previous?.last && previous.interval && now.getTime() - previous.last.getTime() < previous.interval * 1000) {
    throw new DevicePollError('slow_down', 'polling too fast; wait longer between requests');
  }
  if (state.status === 'pending') throw new DevicePollError('authorization_pending', 'the user has not approved yet');

  const familyId = randomUUID();
  try {
    await ctx.store.append(stream, [{ type: 'DeviceCodeRedeemed', data: { deviceId, clientId: client.clientId, familyId } }], { expectedRevision: state.revision, metadata: input.actor });
  } catch (error) {
    if (isWrongExpectedRevision(error)) throw new InvalidGrant('the device code was already used');
    throw error;
  }
  const { familyId: _f, ...response } = await issueTokens(ctx, {
    client, subject: state.subject!, grantType: DEVICE_GRANT, scopes: requested.scopes, audience: [ctx.config.audience],
    withRefresh: client.grantTypes.includes('refresh_token'), familyId, actor: input.actor,
  });
  return response;
}
