// Remembered consent, kept as events (stream `consent-<clientId>-<digest of subject>`): what a person
// allowed a client — scopes *and* audiences (RFC 8707 resources). A later request within both
// skips the consent page; a request for more scopes or another API asks again. Revoking a subject
// forgets every consent of theirs.

import { createHash } from 'node:crypto';
import { projectionsFor } from '../../projections/index.js';
import type { DomainEvent } from '../events/types.js';
import { isWrongExpectedRevision } from '../eventstore/port.js';
import { appendAndWait } from './aggregate.js';
import type { Actor, WarrantContext } from './context.js';

const CONSENTS = projectionsFor(['ConsentGranted', 'ConsentRevoked']);

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
  const { rows } = await ctx.pool.query<{ scopes: string[]; audience: string[] }>('SELECT scopes, audience FROM consents WHERE subject = $1 AND client_id = $2', [request.subject, request.clientId]);
  const row = rows[0];
  return !!row && request.scopes.every((scope) => row.scopes.includes(scope)) && request.audience.every((aud) => row.audience.includes(aud));
}

/** Appends one event at the stream's current revision, retrying a lost race (consents only add up). */
async function append(ctx: WarrantContext, stream: string, event: DomainEvent, actor: Actor): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    const revision = (await ctx.store.readStream(stream)).at(-1)?.revision ?? -1;
    try {
      await appendAndWait(ctx, stream, revision, [event], actor, CONSENTS);
      return;
    } catch (error) {
      if (!isWrongExpectedRevision(error) || attempt >= 5) throw error;
    }
  }
}

export async function grantConsent(ctx: WarrantContext, request: ConsentRequest & { sessionId: string | null }, actor: Actor): Promise<void> {
  const data = { subject: request.subject, clientId: request.clientId, scopes: [...request.scopes], audience: [...request.audience], sessionId: request.sessionId };
  await append(ctx, consentStream(request.clientId, request.subject), { type: 'ConsentGranted', data }, actor);
}

/** Forgets every consent a subject gave; answers how many. */
export async function revokeConsents(ctx: WarrantContext, subject: string, reason: 'subject_revoked' | 'user', actor: Actor): Promise<number> {
  const { rows } = await ctx.pool.query<{ client_id: string }>('SELECT client_id FROM consents WHERE subject = $1', [subject]);
  // A consent from before consents were events has no stream: its first event forgets it.
  for (const { client_id: clientId } of rows) await append(ctx, consentStream(clientId, subject), { type: 'ConsentRevoked', data: { subject, clientId, reason } }, actor);
  return rows.length;
}
