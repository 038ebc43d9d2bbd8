// The login session's cookie and CSRF tokens. The session itself is server-side
// (src/oauth/sessions.ts: events and a read model), so signing out or revoking a subject ends it
// everywhere at once; the cookie holds `<session id>.<secret>`, HttpOnly, SameSite=Lax, Secure on
// https issuers. CSRF tokens are bound to the session (or, before sign-in, to a random pre-session
// cookie) and checked in constant time.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import type { SessionEndReason } from '../events/types.js';
import type { Actor, WarrantContext } from '../oauth/context.js';
import { endSession, findSession, startSession } from '../oauth/sessions.js';

const SESSION = 'warrant_session';
const PRE = 'warrant_csrf';
const COOKIE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;
const LOADED = Symbol('warrant.session');

export interface Session {
  sub: string;
  sid: string;
  /** When the person signed in (OpenID Connect auth_time). */
  authTime: Date;
}

/** Who is signed in, for library use: the host app's own session (undefined: nobody). */
export type Authenticate = (ctx: Context) => string | undefined | Promise<string | undefined>;

/** The signed-in person: a subject, and Warrant's session when it is Warrant's login (not the host's). */
export interface SignedIn {
  subject: string;
  session: Session | undefined;
}

export class Sessions {
  readonly #ctx: WarrantContext;
  readonly #key: Buffer;
  readonly #secure: boolean;
  readonly #ttlSeconds: number;

  constructor(options: { ctx: WarrantContext; pepper: Buffer; secure: boolean; ttlSeconds?: number }) {
    this.#ctx = options.ctx;
    this.#key = createHmac('sha256', options.pepper).update('warrant session key v1').digest();
    this.#secure = options.secure;
    this.#ttlSeconds = options.ttlSeconds ?? 12 * 3600;
  }

  #sign(value: string): string {
    return createHmac('sha256', this.#key).update(value).digest('base64url');
  }

  #equal(a: string, b: string): boolean {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  }

  #cookie(ctx: Context, name: string, value: string, maxAge: number): void {
    const parts = [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${maxAge}`];
    if (this.#secure) parts.push('Secure');
    ctx.append('Set-Cookie', parts.join('; '));
  }

  #read(ctx: Context, name: string): string | undefined {
    const header = ctx.get('cookie');
    for (const part of header.split(';')) {
      const [k, ...v] = part.trim().split('=');
      if (k === name) return v.join('=');
    }
    return undefined;
  }

  /** Who is signed in on this request: a live, unexpired session whose secret matches. Looked up once per request. */
  async get(ctx: Context): Promise<Session | undefined> {
    const state = ctx.state as { [LOADED]?: Promise<Session | undefined> };
    state[LOADED] ??= (async () => {
      const match = COOKIE.exec(this.#read(ctx, SESSION) ?? '');
      if (!match) return undefined;
      const found = await findSession(this.#ctx, match[1]!, match[2]!);
      return found && { sub: found.subject, sid: found.sessionId, authTime: found.startedAt };
    })();
    return state[LOADED];
  }

  /** Who is signed in: the host app's user in library mode (`authenticate`), else this server's session. */
  async signedIn(ctx: Context, authenticate: Authenticate | undefined): Promise<SignedIn | undefined> {
    if (authenticate) {
      const subject = await authenticate(ctx);
      return subject ? { subject, session: undefined } : undefined;
    }
    const session = await this.get(ctx);
    return session && { subject: session.sub, session };
  }

  /** Records a new session (an event) and sets its cookie. */
  async start(ctx: Context, sub: string, actor: Actor): Promise<Session> {
    const started = await startSession(this.#ctx, sub, this.#ttlSeconds, actor);
    this.#cookie(ctx, SESSION, `${started.sessionId}.${started.secret}`, this.#ttlSeconds);
    const session = { sub, sid: started.sessionId, authTime: started.startedAt };
    (ctx.state as { [LOADED]?: Promise<Session | undefined> })[LOADED] = Promise.resolve(session);
    return session;
  }

  /** Ends the request's session (an event: refused everywhere from now on) and clears the cookie, unless a new one replaces it. */
  async end(ctx: Context, session: Session | undefined, actor: Actor, options: { replaced?: boolean; reason?: SessionEndReason } = {}): Promise<void> {
    if (session) await endSession(this.#ctx, session.sid, options.reason ?? 'logout', actor);
    if (!options.replaced) this.#cookie(ctx, SESSION, '', 0);
    (ctx.state as { [LOADED]?: Promise<Session | undefined> })[LOADED] = Promise.resolve(undefined);
  }

  /** A CSRF token for a form on this response (sets the pre-session cookie when nobody is signed in). */
  csrf(ctx: Context, session: Session | undefined): string {
    if (session) return this.#sign(`csrf:${session.sid}`);
    let pre = this.#read(ctx, PRE);
    if (!pre || !/^[A-Za-z0-9_-]{22}$/.test(pre)) {
      pre = randomBytes(16).toString('base64url');
      this.#cookie(ctx, PRE, pre, 3600);
    }
    return this.#sign(`csrf-pre:${pre}`);
  }

  /**
   * A forced sign-in (prompt=login, max_age) resumes the authorization request with this marker:
   * the sign-in it asked for is one that happened after `now`, within 10 minutes. Signed, so a
   * request cannot claim a fresh sign-in it did not get.
   */
  loginMarker(now: Date, binding: string): string {
    const at = String(now.getTime());
    return `${at}.${this.#sign(`login-after:${at}:${binding}`)}`;
  }

  /** Did the session sign in after the marker was made (and is the marker recent and ours)? */
  loginSatisfies(marker: string | undefined, session: Session | undefined, now: Date, binding: string): boolean {
    const match = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(marker ?? '');
    if (!match || !session || !this.#equal(match[2]!, this.#sign(`login-after:${match[1]}:${binding}`))) return false;
    const at = Number(match[1]);
    return session.authTime.getTime() >= at && now.getTime() - at <= 10 * 60_000;
  }

  checkCsrf(ctx: Context, token: string | undefined, session: Session | undefined): boolean {
    if (!token) return false;
    if (session) return this.#equal(token, this.#sign(`csrf:${session.sid}`));
    const pre = this.#read(ctx, PRE);
    return !!pre && this.#equal(token, this.#sign(`csrf-pre:${pre}`));
  }
}
