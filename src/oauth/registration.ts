// Dynamic client registration (RFC 7591) and its management (RFC 7592): initial access tokens,
// registration access tokens, and what a client may give itself. Tokens are `<id>.<secret>`: the
// id names the stream, the secret is shown once and kept only as a keyed hash.

import { randomUUID } from 'node:crypto';
import { registrationAccessDecider, registrationTokenDecider } from '../domain/registration.js';
import { isWrongExpectedRevision } from '../eventstore/port.js';
import { handle, load } from './aggregate.js';
import type { Actor, WarrantContext } from './context.js';
import { randomSecret } from './secrets.js';
import { isUuid } from './text.js';

const TOKEN = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;

function split(token: string): { id: string; secret: string } | undefined {
  const match = TOKEN.exec(token);
  return match ? { id: match[1]!, secret: match[2]! } : undefined;
}

/** `warrant registration-token create`: a new initial access token, shown once. */
export async function createInitialAccessToken(ctx: WarrantContext, options: { uses: number; ttlSeconds: number | null }, actor: Actor): Promise<{ token: string; tokenId: string; expiresAt: Date | null }> {
  const tokenId = randomUUID();
  const secret = randomSecret();
  const expiresAt = options.ttlSeconds === null ? null : new Date(ctx.clock().getTime() + options.ttlSeconds * 1000);
  const { decision } = await handle(ctx, `registration-token-${tokenId}`, registrationTokenDecider, {
    type: 'Issue',
    token: { tokenId, tokenHash: ctx.hasher.hash(secret), uses: options.uses, expiresAt: expiresAt?.toISOString() ?? null },
  }, { actor, fresh: true });
  if (decision.error) throw decision.error;
  return { token: `${tokenId}.${secret}`, tokenId, expiresAt };
}

/**
 * Spends one use of an initial access token for `clientId` (before the client is registered: a
 * token that fails registers nothing). False when it is unknown, wrong, expired or used up.
 */
export async function useInitialAccessToken(ctx: WarrantContext, token: string, clientId: string, actor: Actor): Promise<boolean> {
  const parts = split(token);
  if (!parts) return false;
  const stream = `registration-token-${parts.id}`;
  const loaded = await load(ctx, stream, registrationTokenDecider);
  if (!ctx.hasher.matches(parts.secret, loaded.state.issued?.tokenHash ?? null)) return false;
  try {
    const { decision } = await handle(ctx, stream, registrationTokenDecider, { type: 'Use', clientId, now: ctx.clock() }, { actor, loaded, retries: 3 });
    return !decision.error;
  } catch (error) {
    // Registrations kept racing for this token's uses: this one did not get one.
    if (isWrongExpectedRevision(error)) return false;
    throw error;
  }
}

/** A new registration access token for a client; the previous one stops working. */
export async function issueRegistrationAccessToken(ctx: WarrantContext, clientId: string, actor: Actor): Promise<string> {
  const secret = randomSecret();
  await handle(ctx, `client-registration-${clientId}`, registrationAccessDecider, { type: 'Issue', token: { clientId, tokenHash: ctx.hasher.hash(secret) } }, { actor });
  return `${clientId}.${secret}`;
}

/** The client a registration access token manages, if it is that client's latest one. */
export async function checkRegistrationAccessToken(ctx: WarrantContext, token: string, clientId: string): Promise<boolean> {
  const parts = split(token);
  if (!parts || parts.id !== clientId || !isUuid(clientId)) {
    ctx.hasher.matches('', null);
    return false;
  }
  const { state } = await load(ctx, `client-registration-${clientId}`, registrationAccessDecider);
  return ctx.hasher.matches(parts.secret, state.current?.tokenHash ?? null);
}
