// The login session of the standalone server: a signed cookie (HMAC-SHA-256 with a key derived
// from the pepper), HttpOnly, SameSite=Lax, Secure on https issuers. CSRF tokens are bound to the
// session (or, before login, to a random pre-session cookie) and checked in constant time.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';

const SESSION = 'warrant_session';
const PRE = 'warrant_csrf';

export interface Session {
  sub: string;
  sid: string;
  exp: number;
}

export class Sessions {
  readonly #key: Buffer;
  readonly #secure: boolean;
  readonly #ttlSeconds: number;

  constructor(options: { pepper: Buffer; secure: boolean; ttlSeconds?: number }) {
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

  get(ctx: Context): Session | undefined {
    const raw = this.#read(ctx, SESSION);
    if (!raw) return undefined;
    const [payload, signature] = raw.split('.');
    if (!payload || !signature || !this.#equal(signature, this.#sign(payload))) return undefined;
    try {
      const session = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Session;
      return typeof session.sub === 'string' && session.exp * 1000 > Date.now() ? session : undefined;
    } catch {
      return undefined;
    }
  }

  start(ctx: Context, sub: string): Session {
    const session: Session = { sub, sid: randomBytes(16).toString('base64url'), exp: Math.floor(Date.now() / 1000) + this.#ttlSeconds };
    const payload = Buffer.from(JSON.stringify(session)).toString('base64url');
    this.#cookie(ctx, SESSION, `${payload}.${this.#sign(payload)}`, this.#ttlSeconds);
    return session;
  }

  end(ctx: Context): void {
    this.#cookie(ctx, SESSION, '', 0);
  }

  /** A CSRF token for a form on this response (sets the pre-session cookie when needed). */
  csrf(ctx: Context, session = this.get(ctx)): string {
    if (session) return this.#sign(`csrf:${session.sid}`);
    let pre = this.#read(ctx, PRE);
    if (!pre || !/^[A-Za-z0-9_-]{22}$/.test(pre)) {
      pre = randomBytes(16).toString('base64url');
      this.#cookie(ctx, PRE, pre, 3600);
    }
    return this.#sign(`csrf-pre:${pre}`);
  }

  checkCsrf(ctx: Context, token: string | undefined, session = this.get(ctx)): boolean {
    if (!token) return false;
    if (session) return this.#equal(token, this.#sign(`csrf:${session.sid}`));
    const pre = this.#read(ctx, PRE);
    return !!pre && this.#equal(token, this.#sign(`csrf-pre:${pre}`));
  }
}
