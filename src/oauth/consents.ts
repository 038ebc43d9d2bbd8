// Remembered consent, kept as events (stream `consent-<clientId>-<digest of subject>`,
// src/domain/session.ts): what a person allowed a client — scopes *and* audiences (RFC 8707
// resources). A later request within both skips the consent page; a request for more scopes or
// another API asks again. Revoking a subject forgets every consent of theirs.

import { createHash } from 'node:crypto';
import { consentDecider, type ConsentCommand } from '../domain/session.js';
import { handle } from './aggregate.js';
import type { Actor, WarrantContext } from './context.js';

/** The stream of one (client, subject) consent; the subject only as a digest (it may be any text). */
function consentStream(clientId: string, subject: string): string {
  return `consent-${clientId}-${createHash('sha256').update(subject).digest('hex').slice(0, 32)}`;
}

export interface ConsentRequest {
  subject: string;
  clientId: string;
  scopes: readonly string[];
  audience: readonly string[];
}

export async function hasConsent(ctx: WarrantContext, request: ConsentRequest): Promise<boolean> {
  const given = await ctx.read.consents.of(request.subject, request.clientId);
  return !!given && request.scopes.every((scope) => given.scopes.includes(scope)) && request.audience.every((aud) => given.audience.includes(aud));
}

/** Consents only add up, so a lost race is simply decided again. */
function record(ctx: WarrantContext, clientId: string, subject: string, command: ConsentCommand, actor: Actor) {
  return handle(ctx, consentStream(clientId, subject), consentDecider, command, { actor, retries: 5 });
}

export async function grantConsent(ctx: WarrantContext, request: ConsentRequest & { sessionId: string | null }, actor: Actor): Promise<void> {
  const consent = { subject: request.subject, clientId: request.clientId, scopes: [...request.scopes], audience: [...request.audience], sessionId: request.sessionId };
  await record(ctx, request.clientId, request.subject, { type: 'Grant', consent }, actor);
}

/** Forgets every consent a subject gave; answers how many. */
export async function revokeConsents(ctx: WarrantContext, subject: string, reason: 'subject_revoked' | 'user', actor: Actor): Promise<number> {
  const clients = await ctx.read.consents.clientsOf(subject);
  for (const clientId of clients) await record(ctx, clientId, subject, { type: 'Revoke', consent: { subject, clientId, reason } }, actor);
  return clients.length;
}
