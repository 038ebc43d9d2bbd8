// RFC 8628 §3.4–3.5: the device polls the token endpoint — authorization_pending, slow_down,
// access_denied, expired_token — or, once, gets its tokens (the redemption appends at the
// request's revision, so two polls cannot both get tokens).

import { randomUUID } from 'node:crypto';
import { deviceDecider } from '../../domain/device.js';
import { isWrongExpectedRevision } from '../../eventstore/port.js';
import type { ClientRecord } from '../../readmodels/clients.js';
import { appendAndWait, load } from '../aggregate.js';
import type { Actor, WarrantContext } from '../context.js';
import { DEVICE_GRANT } from '../device.js';
import { InvalidGrant, OAuthError } from '../errors.js';
import { issueTokens, type TokenResponse } from '../issue.js';
import { requireGrant } from '../scopes.js';

class DevicePollError extends OAuthError {
  constructor(error: 'authorization_pending' | 'slow_down' | 'access_denied' | 'expired_token', description: string) {
    super(400, error, description);
  }
}

export async function pollDeviceCode(ctx: WarrantContext, input: { client: ClientRecord; deviceCode: string; actor: Actor; dpopJkt?: string | undefined }): Promise<TokenResponse> {
  const { client } = input;
  requireGrant(client, DEVICE_GRANT);
  const deviceId = await ctx.read.devices.byDeviceCode(ctx.hasher.hash(input.deviceCode.slice(0, 512)));
  if (!deviceId) throw new InvalidGrant('the device code is invalid');
  const stream = `device-${deviceId}`;
  const loaded = await load(ctx, stream, deviceDecider);
  const now = ctx.clock();
  const familyId = randomUUID();
  const decision = deviceDecider.decide({ type: 'Redeem', deviceId, clientId: client.clientId, familyId, now }, loaded.state);
  switch (decision.error?.code) {
    case 'device_unknown':
    case 'device_wrong_client':
    case 'device_redeemed':
      throw new InvalidGrant(decision.error.message);
    case 'device_expired':
      throw new DevicePollError('expired_token', decision.error.message);
    case 'device_denied':
      throw new DevicePollError('access_denied', decision.error.message);
    default:
  }
  // §3.5 slow_down: a poll sooner than the interval is refused and the interval grows by 5 s.
  const previous = await ctx.read.devices.recordPoll(deviceId, now, loaded.state.requested!.interval);
  if (previous?.last && previous.interval && now.getTime() - previous.last.getTime() < previous.interval * 1000) {
    throw new DevicePollError('slow_down', 'polling too fast; wait longer between requests');
  }
  if (decision.error) throw new DevicePollError('authorization_pending', decision.error.message);

  try {
    // Appended at the revision decided on; the tokens' family is the next write, and nothing
    // reads the device read model in between.
    await appendAndWait(ctx, stream, loaded.revision, decision.events, input.actor, { wait: false });
  } catch (error) {
    if (isWrongExpectedRevision(error)) throw new InvalidGrant('the device code was already used');
    throw error;
  }
  const { state } = loaded;
  const { familyId: _f, ...response } = await issueTokens(ctx, {
    client, subject: state.subject!, grantType: DEVICE_GRANT, scopes: state.requested!.scopes, audience: [ctx.config.audience],
    withRefresh: client.grantTypes.includes('refresh_token'), familyId, actor: input.actor, dpopJkt: input.dpopJkt,
  });
  return response;
}
