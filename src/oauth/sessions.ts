// Sign-in sessions of the built-in login page, kept as events (stream `session-<id>`): started at
// sign-in, ended by POST /oauth/logout or when an admin revokes the subject. The cookie carries the
// session id and a 256-bit secret; only the secret's keyed hash is stored. Validating a cookie is
// one indexed lookup of the sessions read model, so an ended session is refused everywhere at once.

import { randomUUID } from 'node:crypto';
import { projectionsFor } from '../../projections/index.js';
import type { SessionEndReason } from '../events/types.js';
import { isWrongExpectedRevision } from '../eventstore/port.js';
import { appendAndWait } from './aggregate.js';
import type { Actor, WarrantContext } from './context.js';
import { randomSecret } from './secrets.js';

const SESSIONS = projectionsFor(['SessionStarted', 'SessionEnded']);

export interface SessionRecord {
  sessionId: string;
  subject: string;
  expiresAt: Date;
}

export async function startSession(ctx: WarrantContext, subject: string, ttlSeconds: number, actor: Actor): Promise<SessionRecord & { secret: string }> {
  const sessionId = randomUUID();
  const secret = randomSecret();
  const expiresAt = new Date(ctx.clock().getTime() + ttlSeconds * 1000);
  await appendAndWait(
    ctx,
    `session-${sessionId}`,
    -1,
    [{ type: 'SessionStarted', data: { sessionId, subject, secretHash: ctx.hasher.hash(secret), expiresAt: expiresAt.toISOString() } }],
    actor,
    SESSIONS,
  );
  return { sessionId, subject, expiresAt, secret };
}

/** The live session a cookie names, if its secret matches (constant time) and it has neither ended nor expired. */
export async function findSession(ctx: WarrantContext, sessionId: string, secret: string): Promise<SessionRecord | undefined> {
  const { rows } = await ctx.pool.query<{ subject: string; secret_hash: string; expires_at: Date }>(
    'SELECT subject, secret_hash, expires_at FROM sessions WHERE session_id = $1 AND ended_at IS NULL',
    [sessionId],
  );
  const row = rows[0];
  const matches = ctx.hasher.matches(secret, row?.secret_hash);
  if (!row || !matches || row.expires_at <= ctx.clock()) return undefined;
  return { sessionId, subject: row.subject, expiresAt: row.expires_at };
}

/** Ends a session (idempotent: an ended session stays ended, with its first reason). */
export async function endSession(ctx: WarrantContext, sessionId: string, reason: SessionEndReason, actor: Actor): Promise<void> {
  const stream = `session-${sessionId}`;
  const events = await ctx.store.readStream(stream);
  const started = events.find((e) => e.type === 'SessionStarted');
  if (!started || events.some((e) => e.type === 'SessionEnded')) return;
  const { subject } = started.data as { subject: string };
  try {
    await appendAndWait(ctx, stream, events.at(-1)!.revision, [{ type: 'SessionEnded', data: { sessionId, subject, reason } }], actor, SESSIONS);
  } catch (error) {
    // Ended concurrently (a logout racing a revocation): ended is ended.
    if (!isWrongExpectedRevision(error)) throw error;
  }
}

/** Ends every live session of a subject; answers how many. */
export async function endSubjectSessions(ctx: WarrantContext, subject: string, reason: SessionEndReason, actor: Actor): Promise<number> {
  const { rows } = await ctx.pool.query<{ session_id: string }>('SELECT session_id FROM sessions WHERE subject = $1 AND ended_at IS NULL', [subject]);
  for (const row of rows) await endSession(ctx, row.session_id, reason, actor);
  return rows.length;
}
