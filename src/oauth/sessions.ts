// Sign-in sessions of the built-in login page, kept as events (stream `session-<id>`,
// src/domain/session.ts): started at sign-in, ended by POST /oauth/logout or when an admin revokes
// the subject. The cookie carries the session id and a 256-bit secret; only the secret's keyed
// hash is stored. Validating a cookie is one indexed lookup of the sessions read model, so an
// ended session is refused everywhere at once.

import { randomUUID } from 'node:crypto';
import { sessionDecider } from '../domain/session.js';
import type { SessionEndReason } from '../events/types.js';
import { isWrongExpectedRevision } from '../eventstore/port.js';
import { handle } from './aggregate.js';
import type { Actor, WarrantContext } from './context.js';
import { randomSecret } from './secrets.js';

export interface SessionRecord {
  sessionId: string;
  subject: string;
  expiresAt: Date;
  /** When the person signed in (OpenID Connect auth_time). */
  startedAt: Date;
}

export async function startSession(ctx: WarrantContext, subject: string, ttlSeconds: number, actor: Actor): Promise<SessionRecord & { secret: string }> {
  const sessionId = randomUUID();
  const secret = randomSecret();
  const startedAt = ctx.clock();
  const expiresAt = new Date(startedAt.getTime() + ttlSeconds * 1000);
  const session = { sessionId, subject, secretHash: ctx.hasher.hash(secret), expiresAt: expiresAt.toISOString() };
  const { decision } = await handle(ctx, `session-${sessionId}`, sessionDecider, { type: 'Start', session }, { actor, fresh: true });
  if (decision.error) throw decision.error;
  return { sessionId, subject, expiresAt, startedAt, secret };
}

/** The live session a cookie names, if its secret matches (constant time) and it has neither ended nor expired. */
export async function findSession(ctx: WarrantContext, sessionId: string, secret: string): Promise<SessionRecord | undefined> {
  const row = await ctx.read.sessions.live(sessionId);
  const matches = ctx.hasher.matches(secret, row?.secretHash);
  if (!row || !matches || row.expiresAt <= ctx.clock()) return undefined;
  return { sessionId, subject: row.subject, expiresAt: row.expiresAt, startedAt: row.startedAt };
}

/** Ends a session (idempotent: an ended session stays ended, with its first reason). */
export async function endSession(ctx: WarrantContext, sessionId: string, reason: SessionEndReason, actor: Actor): Promise<void> {
  try {
    await handle(ctx, `session-${sessionId}`, sessionDecider, { type: 'End', reason }, { actor });
  } catch (error) {
    // Ended concurrently (a logout racing a revocation): ended is ended.
    if (!isWrongExpectedRevision(error)) throw error;
  }
}

/** Ends every live session of a subject; answers how many. */
export async function endSubjectSessions(ctx: WarrantContext, subject: string, reason: SessionEndReason, actor: Actor): Promise<number> {
  const sessions = await ctx.read.sessions.liveOf(subject);
  for (const sessionId of sessions) await endSession(ctx, sessionId, reason, actor);
  return sessions.length;
}
