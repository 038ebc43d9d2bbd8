// Token and client history, replayed from the event store — never from the read models, so the
// answers stay true even if a read model is wrong (DESIGN §1).

import type { TokenIssued, TokenRefreshed } from '../events/types.js';
import { clientDecider } from '../domain/client.js';
import { fold as foldStream, happened } from '../domain/decider.js';
import { familyDecider, type FamilyState } from '../domain/token-family.js';
import type { EventStore, RecordedEvent } from '../eventstore/port.js';
import { isUuid } from '../oauth/text.js';

export type FamilyStatus = 'not_issued' | 'active' | 'refreshed' | 'revoked' | 'expired';

export interface FamilySnapshot {
  status: FamilyStatus;
  current_jti: string | null;
  scopes: string[];
  access_token_expires_at: string | null;
  refresh_token_expires_at: string | null;
}

export interface AuditEvent {
  type: string;
  revision: number;
  position: number;
  occurred_at: string;
  actor: string;
  request_id: string | null;
  correlation_id: string;
  event_id: string;
  data: Record<string, unknown>;
}

/** Event data as the audit shows it: keyed hashes are not secrets, but they are nobody's business. */
export function publicData(data: unknown): Record<string, unknown> {
  return Object.fromEntries(Object.entries((data ?? {}) as Record<string, unknown>).filter(([key]) => !/hash$/i.test(key)));
}

export function auditEvent(event: RecordedEvent): AuditEvent {
  return {
    type: event.type,
    revision: event.revision,
    position: event.position,
    occurred_at: event.metadata.occurredAt,
    actor: event.metadata.actor,
    request_id: event.metadata.requestId,
    correlation_id: event.metadata.correlationId,
    event_id: event.metadata.eventId,
    data: publicData(event.data),
  };
}

interface Timed {
  state: FamilyState;
  last: RecordedEvent | undefined;
  accessExpiresAt: string | null;
}

function snapshot(timed: Timed, at: Date): FamilySnapshot {
  const { state, last } = timed;
  if (!state.issued) return { status: 'not_issued', current_jti: null, scopes: [], access_token_expires_at: null, refresh_token_expires_at: null };
  // A family ends when nothing in it can be used any more: its refresh token (or, without one,
  // its access token) has expired.
  const end = state.refreshExpiresAt ?? timed.accessExpiresAt;
  let status: FamilyStatus = last?.type === 'TokenRefreshed' ? 'refreshed' : 'active';
  if (state.revoked) status = 'revoked';
  else if (end && new Date(end) <= at) status = 'expired';
  return {
    status,
    current_jti: state.currentJti,
    scopes: state.scopes,
    access_token_expires_at: timed.accessExpiresAt,
    refresh_token_expires_at: state.refreshExpiresAt,
  };
}

function fold(timed: Timed, event: RecordedEvent): Timed {
  let accessExpiresAt = timed.accessExpiresAt;
  if (event.type === 'TokenIssued') accessExpiresAt = (event.data as TokenIssued).accessTokenExpiresAt;
  if (event.type === 'TokenRefreshed') accessExpiresAt = (event.data as TokenRefreshed).accessTokenExpiresAt;
  return { state: familyDecider.evolve(timed.state, happened(event)), last: event, accessExpiresAt };
}

const empty: Timed = { state: familyDecider.initialState, last: undefined, accessExpiresAt: null };

/** The family of a token: `id` is a family id, or the jti of any access token of the family. */
export async function findFamily(store: EventStore, id: string): Promise<string | undefined> {
  if (isUuid(id) && (await store.readStream(`token-${id}`, { maxCount: 1 })).length > 0) return id;
  if (!/^[A-Za-z0-9_-]{16,64}$/.test(id)) return undefined;
  const [hit] = await store.readAll({ filter: { types: ['TokenIssued', 'TokenRefreshed'], data: { jti: id } }, maxCount: 1 });
  return hit ? (hit.data as { familyId: string }).familyId : undefined;
}

export interface FamilyHistory {
  family_id: string;
  client_id: string | null;
  subject: string | null;
  grant_type: string | null;
  /**
   * The pushed authorization request (RFC 9126) the family's code answered, if it came that way:
   * its AuthorizationRequestPushed (the parameters, never the request_uri) and
   * PushedAuthorizationRequestUsed. Such a code's grant id is the request's id (src/oauth/par.ts).
   */
  pushed_request: { request_id: string; events: AuditEvent[] } | null;
  /** Now (expiry is judged against the current time). */
  state: FamilySnapshot;
  events: (AuditEvent & { state: FamilySnapshot })[];
  /**
   * The sign-in the family came from (SessionStarted, from the authorization code's session), and
   * how that session ended, if it has: null for grants without Warrant's login (client
   * credentials, library mode). The id tokens are IdTokenIssued events in `events`.
   */
  sign_in: { session_id: string; events: AuditEvent[] } | null;
  /** RFC 8693: the family this one was exchanged from (null if none), and those exchanged from it. */
  exchanged_from: string | null;
  exchanged_into: string[];
}

export async function familyHistory(store: EventStore, familyId: string, now: Date): Promise<FamilyHistory> {
  const events = await store.readStream(`token-${familyId}`);
  let timed = empty;
  const out: FamilyHistory['events'] = [];
  for (const event of events) {
    timed = fold(timed, event);
    out.push({ ...auditEvent(event), state: snapshot(timed, new Date(event.metadata.occurredAt)) });
  }
  const issued = timed.state.issued;
  return {
    family_id: familyId,
    client_id: issued?.clientId ?? null,
    subject: issued?.subject ?? null,
    grant_type: issued?.grantType ?? null,
    pushed_request: await pushedRequestOf(store, issued?.grantId ?? null),
    state: snapshot(timed, now),
    events: out,
    sign_in: await signInOf(store, issued?.grantId ?? null, timed.state.identity?.sessionId ?? null),
    exchanged_from: issued?.parentFamilyId ?? null,
    exchanged_into: (await store.readAll({ filter: { types: ['TokenIssued'], data: { parentFamilyId: familyId } } })).map((event) => (event.data as TokenIssued).familyId),
  };
}

/** The session a family's grant was made in, from the grant's own events (never a read model). */
async function signInOf(store: EventStore, grantId: string | null, sessionFromIdToken: string | null): Promise<FamilyHistory['sign_in']> {
  let sessionId = sessionFromIdToken;
  if (!sessionId && grantId) {
    const [codeIssued] = await store.readStream(`grant-${grantId}`, { maxCount: 1 });
    sessionId = (codeIssued?.data as { sessionId?: string | null } | undefined)?.sessionId ?? null;
  }
  if (!sessionId) return null;
  const events = await store.readStream(`session-${sessionId}`);
  return events.length === 0 ? null : { session_id: sessionId, events: events.map(auditEvent) };
}

async function pushedRequestOf(store: EventStore, grantId: string | null): Promise<FamilyHistory['pushed_request']> {
  if (!grantId) return null;
  const events = await store.readStream(`par-${grantId}`);
  return events.length === 0 ? null : { request_id: grantId, events: events.map(auditEvent) };
}

export interface StateAt extends FamilySnapshot {
  family_id: string;
  at: string;
  /** Events up to and including `at`. */
  events_applied: number;
  /** When asked about one access token (by jti): was that token valid at `at`? */
  token?: { jti: string; valid: boolean; issued_at: string | null; expires_at: string | null };
}

/** "Was this token valid at 14:02?": replay the family's events up to the instant. */
export async function familyStateAt(store: EventStore, familyId: string, at: Date, jti?: string): Promise<StateAt> {
  const events = await store.readStream(`token-${familyId}`);
  let timed = empty;
  let applied = 0;
  let token: StateAt['token'];
  const iso = at.toISOString();
  for (const event of events) {
    if (event.metadata.occurredAt > iso) break;
    timed = fold(timed, event);
    applied += 1;
  }
  if (jti) {
    const minted = events.find((e) => (e.type === 'TokenIssued' || e.type === 'TokenRefreshed') && (e.data as { jti: string }).jti === jti);
    const issuedAt = minted?.metadata.occurredAt ?? null;
    const expiresAt = minted ? (minted.data as { accessTokenExpiresAt: string }).accessTokenExpiresAt : null;
    const valid = !!issuedAt && issuedAt <= iso && !!expiresAt && iso < expiresAt && !timed.state.revoked;
    token = { jti, valid, issued_at: issuedAt, expires_at: expiresAt };
  }
  return { family_id: familyId, at: iso, events_applied: applied, ...snapshot(timed, at), ...(token ? { token } : {}) };
}

export interface FamilySummary {
  family_id: string;
  client_id: string;
  subject: string;
  grant_type: string;
  issued_at: string;
  status: FamilyStatus;
  position: number;
}

async function summarize(store: EventStore, issued: RecordedEvent, now: Date): Promise<FamilySummary> {
  const data = issued.data as TokenIssued;
  const events = await store.readStream(`token-${data.familyId}`);
  const timed = events.reduce(fold, empty);
  return {
    family_id: data.familyId,
    client_id: data.clientId,
    subject: data.subject,
    grant_type: data.grantType,
    issued_at: issued.metadata.occurredAt,
    status: snapshot(timed, now).status,
    position: issued.position,
  };
}

/** Families started for a client or a subject, in log order, from a position cursor. */
export async function families(
  store: EventStore,
  match: { clientId?: string; subject?: string },
  page: { after: number; limit: number },
  now: Date,
): Promise<{ families: FamilySummary[]; next: number | null }> {
  const data: Record<string, string> = {};
  if (match.clientId) data['clientId'] = match.clientId;
  if (match.subject) data['subject'] = match.subject;
  const issued = await store.readAll({ after: page.after, maxCount: page.limit, filter: { types: ['TokenIssued'], data } });
  const summaries = await Promise.all(issued.map((event) => summarize(store, event, now)));
  return { families: summaries, next: issued.length === page.limit ? issued.at(-1)!.position : null };
}

export interface ClientHistory {
  events: AuditEvent[];
  /** As registered, or as last renamed by ClientUpdated. */
  name: string | null;
  revoked: boolean;
  exists: boolean;
}

export async function clientHistory(store: EventStore, clientId: string): Promise<ClientHistory> {
  const events = await store.readStream(`client-${clientId}`);
  const state = foldStream(clientDecider, events.map(happened));
  return { events: events.map(auditEvent), name: state.client?.name ?? null, revoked: state.revoked, exists: state.client !== null };
}

