// Server-rendered pages: plain HTML, one small stylesheet served by Warrant, labelled inputs,
// usable by keyboard and without JavaScript. Every value is escaped. Every page lives at
// …/oauth/<page>, so links and form actions are relative: they stay right when a host app mounts
// Warrant under a prefix.

import type { Context } from 'koa';
import { formActionSource } from '../oauth/redirect-uris.js';

export const STYLESHEET = `
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2433;background:#f4f6fa}
main{max-width:440px;margin:48px auto;padding:28px;background:#fff;border:1px solid #d5dae3;border-radius:10px}
h1{font-size:22px;margin:0 0 12px}p{margin:0 0 12px}.muted{color:#5b6475;font-size:14px}
label{display:block;font-weight:600;margin:14px 0 4px}input[type=text],input[type=password]{width:100%;font:inherit;padding:9px 11px;border:1px solid #b8c0cc;border-radius:6px}
button{font:inherit;font-weight:600;padding:10px 18px;border-radius:6px;border:1px solid #1d2433;background:#1d2433;color:#fff;cursor:pointer;margin-top:18px}
button.secondary{background:#fff;color:#1d2433}button+button{margin-left:8px}
:focus-visible{outline:3px solid #93c5fd;outline-offset:2px}ul.scopes{padding-left:20px}ul.scopes li{margin:6px 0}.error{color:#b42318;font-weight:600}
code{background:#eef1f6;padding:1px 5px;border-radius:4px}
form.inline{display:inline}button.link{background:none;border:0;color:#1d4ed8;padding:0;margin:0;font-weight:600;text-decoration:underline}.switch{margin-top:18px}
`;

/**
 * Where a page's forms may lead. CSP form-action also covers the redirects that follow a form's
 * POST (Chromium enforces it on each hop), so a form that ends at a client's redirect URI must
 * allow that URI's origin, or a native app's private-use scheme (RFC 8252 §7.1):
 * - 'self': the forms post here and stay here (the device pages);
 * - { redirectUri }: 'self' and that one redirect URI's origin or scheme (the consent page, and
 *   the sign-in page, whose POST resumes the authorization request it interrupted and may
 *   redirect to the client at once);
 * - left out: 'self' only.
 */
export type FormAction = 'self' | { redirectUri: string };

/** Sends a page with the headers every page gets: no caching, no framing, no sniffing, no Referer, only our stylesheet. */
export function showPage(koa: Context, status: number, html: string, formAction?: FormAction): void {
  // Forms post to this server; where a post may end in a redirect to a client (consent, or a
  // sign-in that resumes an authorization), exactly that redirect URI's origin or scheme is added.
  let sources = "'self'";
  if (formAction && formAction !== 'self') {
    const target = formActionSource(formAction.redirectUri);
    sources = target ? `'self' ${target}` : "'self'";
  }
  koa.status = status;
  koa.type = 'text/html; charset=utf-8';
  koa.set('Cache-Control', 'no-store');
  koa.set('Content-Security-Policy', `default-src 'none'; style-src 'self'; form-action ${sources}; frame-ancestors 'none'; base-uri 'none'`);
  koa.set('X-Frame-Options', 'DENY');
  koa.set('X-Content-Type-Options', 'nosniff');
  // The consent page's URL carries the state and the PKCE challenge: no other site needs them.
  koa.set('Referrer-Policy', 'no-referrer');
  koa.body = html;
}

export function escape(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} · Warrant</title><link rel="stylesheet" href="assets/style.css"></head>
<body><main>${body}</main></body></html>`;
}

export function hidden(fields: Record<string, string | undefined>): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<input type="hidden" name="${escape(k)}" value="${escape(v)}">`)
    .join('');
}

export function errorPage(title: string, message: string): string {
  return page(title, `<h1>${escape(title)}</h1><p class="error" role="alert">${escape(message)}</p><p class="muted">You can close this page.</p>`);
}

export function loginPage(options: { csrf: string; returnTo: string; error?: string; username?: string }): string {
  return page(
    'Sign in',
    `<h1>Sign in</h1>${options.error ? `<p class="error" role="alert">${escape(options.error)}</p>` : ''}
<form method="post" action="login">${hidden({ csrf: options.csrf, return_to: options.returnTo })}
<label for="username">Username</label><input type="text" id="username" name="username" autocomplete="username" required value="${escape(options.username ?? '')}" autofocus>
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>`,
  );
}

/** "Signed in as …" with a sign-out button (and the way on, when the sign-in was for something). */
export function signedInPage(options: { username: string; csrf: string; continueTo?: string }): string {
  return page(
    'Signed in',
    `<h1>Signed in</h1><p role="status">You are signed in as <strong>${escape(options.username)}</strong>.</p>
${options.continueTo ? `<p><a href="${escape(options.continueTo)}">Continue</a></p>` : ''}
${signOutForm(options.csrf, undefined, 'Sign out')}`,
  );
}

/** A sign-out button (POST …/oauth/logout, CSRF-protected), optionally coming back to `returnTo`. */
export function signOutForm(csrf: string, returnTo: string | undefined, label: string, className = 'secondary'): string {
  return `<form method="post" action="logout" class="inline">${hidden({ csrf, return_to: returnTo })}<button type="submit" class="${className}">${escape(label)}</button></form>`;
}

export function consentPage(options: {
  clientName: string;
  username: string;
  scopes: { scope: string; description: string }[];
  /** The API(s) the token will be for (RFC 8707): consent covers them too. */
  audience: { uri: string; isDefault: boolean }[];
  fields: Record<string, string | undefined>;
  signOut?: { csrf: string; returnTo: string };
}): string {
  const list = options.scopes.length
    ? `<ul class="scopes">${options.scopes.map((s) => `<li><code>${escape(s.scope)}</code>${s.description ? ` — ${escape(s.description)}` : ''}</li>`).join('')}</ul>`
    : '<p class="muted">No specific permissions: only to know who you are.</p>';
  const audience = `<p class="audience">At: ${options.audience.map((a) => `<code>${escape(a.uri)}</code>${a.isDefault ? ' (this server\'s default API)' : ''}`).join(', ')}</p>`;
  return page(
    'Authorize',
    `<h1>Authorize ${escape(options.clientName)}</h1>
<p><strong>${escape(options.clientName)}</strong> asks to act on your behalf, ${escape(options.username)}, with these permissions:</p>${list}${audience}
<form method="post" action="authorize">${hidden(options.fields)}
<button type="submit" name="decision" value="approve">Approve</button><button type="submit" name="decision" value="deny" class="secondary">Deny</button></form>
${options.signOut ? `<p class="muted switch">Not ${escape(options.username)}? ${signOutForm(options.signOut.csrf, options.signOut.returnTo, 'Sign out', 'link')}</p>` : ''}`,
  );
}

export function deviceCodePage(options: { csrf: string; userCode?: string; error?: string }): string {
  return page(
    'Connect a device',
    `<h1>Connect a device</h1>${options.error ? `<p class="error" role="alert">${escape(options.error)}</p>` : ''}
<p>Enter the code shown on your device.</p>
<form method="post" action="device">${hidden({ csrf: options.csrf })}
<label for="user_code">Code</label><input type="text" id="user_code" name="user_code" autocomplete="one-time-code" autocapitalize="characters" required value="${escape(options.userCode ?? '')}" autofocus>
<button type="submit">Continue</button></form>`,
  );
}

export function deviceConsentPage(options: { clientName: string; username: string; scopes: { scope: string; description: string }[]; csrf: string; userCode: string }): string {
  const list = options.scopes.length
    ? `<ul class="scopes">${options.scopes.map((s) => `<li><code>${escape(s.scope)}</code>${s.description ? ` — ${escape(s.description)}` : ''}</li>`).join('')}</ul>`
    : '<p class="muted">No specific permissions: only to know who you are.</p>';
  return page(
    'Connect a device',
    `<h1>Connect ${escape(options.clientName)}</h1>
<p>A device running <strong>${escape(options.clientName)}</strong> asks to act on your behalf, ${escape(options.username)}, with these permissions:</p>${list}
<form method="post" action="device">${hidden({ csrf: options.csrf, user_code: options.userCode })}
<button type="submit" name="decision" value="approve">Approve</button><button type="submit" name="decision" value="deny" class="secondary">Deny</button></form>`,
  );
}

export function messagePage(title: string, message: string): string {
  return page(title, `<h1>${escape(title)}</h1><p role="status">${escape(message)}</p>`);
}
