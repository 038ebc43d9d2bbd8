// A browser at the HTTP level: a cookie jar over fetch, redirects left to the test, and the
// sign-in every page test starts with. (Real Chromium is test/support/browser.ts.)

import { expect } from 'chai';

export interface Page {
  status: number;
  location: string | null;
  html: string;
  headers: Headers;
}

export class Browser {
  readonly cookies = new Map<string, string>();
  constructor(private readonly base: string) {}

  /** The Cookie header this browser would send. */
  cookie(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async go(path: string, init: RequestInit = {}): Promise<Page> {
    const cookie = this.cookie();
    const response = await fetch(path.startsWith('http') ? path : `${this.base}${path}`, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) } });
    for (const set of response.headers.getSetCookie()) {
      const [pair] = set.split(';');
      const [name, ...value] = pair!.split('=');
      if (/Max-Age=0/i.test(set)) this.cookies.delete(name!);
      else this.cookies.set(name!, value.join('='));
    }
    return { status: response.status, location: response.headers.get('location'), html: await response.text(), headers: response.headers };
  }

  post(path: string, form: Record<string, string>): Promise<Page> {
    return this.go(path, { method: 'POST', body: new URLSearchParams(form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  }
}

/** The value of a form field in a page (HTML-unescaped). */
export const field = (html: string, name: string): string | undefined => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1]?.replace(/&amp;/g, '&');

/** Signs in on the built-in login page; answers the session's Cookie header. */
export async function signIn(base: string, username: string, password: string, browser = new Browser(base)): Promise<string> {
  const login = await browser.go('/oauth/login');
  const done = await browser.post('/oauth/login', { username, password, csrf: field(login.html, 'csrf')!, return_to: '/oauth/login' });
  expect(done.status, `sign-in as ${username}`).to.equal(302);
  return browser.cookie();
}

/** Signs in and fetches the personal-access-token list's CSRF token (for JSON changes). */
export async function signInForApi(base: string, username: string, password: string): Promise<{ cookie: string; csrf: string }> {
  const cookie = await signIn(base, username, password);
  const list = (await (await fetch(`${base}/oauth/personal-access-tokens`, { headers: { cookie } })).json()) as { csrf_token: string };
  return { cookie, csrf: list.csrf_token };
}
