// Which redirect URIs a client may register: the one place the rules live, for the admin API and
// the CLI alike (src/oauth/clients.ts). A redirect URI is where a browser is sent with a code, so
// only what RFC 6749 §3.1.2 and RFC 8252 §7 allow gets in, kept simple enough that no parser
// reads it differently (RFC 9700 §4.1):
//   https: anywhere; http: only on the loopback interface (RFC 8252 §7.3);
//   a private-use scheme named after a reversed domain (com.example.app:/cb) only for public
//   clients, that is native apps (RFC 8252 §7.1);
// and never a fragment (RFC 6749 §3.1.2), userinfo, which disguises the host (RFC 3986 §7.6),
// whitespace, control or non-ASCII characters (RFC 3986 §2), nor anything a browser runs or
// reads locally (javascript:, data:, file:, blob: …: no dot in the name, so no rule lets them in).

import { InvalidRedirectUri } from './errors.js';

export const MAX_REDIRECT_URI_LENGTH = 2000;

/** RFC 3986 §2: unreserved, reserved and '%'; nothing else is a URI character. */
const URI_CHARACTERS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
/** RFC 8252 §7.1: a domain name the developer controls, reversed (at least one dot). */
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+-]*(\.[a-z0-9][a-z0-9+-]*)+$/;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
/** A DNS name (letters, digits, hyphens, dots: also what a CSP host source can name) or an IPv6 literal. */
const HOST = /^([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])$/;

/** Why `uri` may not be a redirect URI of a client (public or confidential), or undefined. */
export function redirectUriProblem(uri: string, options: { confidential: boolean }): string | undefined {
  if (uri.length > MAX_REDIRECT_URI_LENGTH) return `is longer than ${MAX_REDIRECT_URI_LENGTH} characters`;
  if (!URI_CHARACTERS.test(uri)) return 'contains whitespace, control, non-ASCII or other characters a URI cannot have (RFC 3986 §2)';
  if (/%(?![0-9A-Fa-f]{2})/.test(uri)) return 'has a malformed percent-encoding';
  if (uri.includes('#')) return 'has a fragment, which a redirect URI must not have (RFC 6749 §3.1.2)';
  const scheme = SCHEME.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined) return 'is not an absolute URI (RFC 6749 §3.1.2)';
  // Authority as written: parsers disagree on odd forms, so they are refused rather than interpreted.
  const authority = /^[^:]+:\/\/([^/?#]*)/.exec(uri)?.[1];
  if (authority?.includes('@')) return 'has userinfo (user@), which a redirect URI must not have (RFC 3986 §7.6)';

  if (scheme === 'https' || scheme === 'http') {
    if (authority === undefined || authority === '') return `must be ${scheme}://host/…`;
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return 'is not a valid URL';
    }
    const host = authority.replace(/:\d*$/, '').toLowerCase();
    if (host !== url.hostname || !HOST.test(host)) return 'has a host that is not a plain DNS name or IP address in canonical form';
    if (scheme === 'http' && !LOOPBACK_HOSTS.has(url.hostname)) return 'uses http: off the loopback interface; use https: (http: only for localhost, 127.0.0.1 or [::1], RFC 8252 §7.3)';
    return undefined;
  }
  if (!PRIVATE_USE_SCHEME.test(scheme)) return `uses the scheme ${scheme}:, which is not allowed (https:, loopback http:, or for native apps a reverse-domain scheme such as com.example.app:)`;
  if (options.confidential) return `uses the private-use scheme ${scheme}:, which only a public client (a native app, RFC 8252 §7.1) may register`;
  if (uri.length === scheme.length + 1) return 'has nothing after its scheme';
  return undefined;
}

/** Refuses the list unless every URI passes, naming the first that does not (RFC 7591 §3.2.2). */
export function checkRedirectUris(uris: readonly string[], options: { confidential: boolean }): void {
  uris.forEach((uri, index) => {
    const problem = redirectUriProblem(uri, options);
    if (problem === undefined) return;
    // Echoed only when it is printable ASCII without the characters RFC 6749 §5.2 keeps out of error_description.
    const shown = /^[\x21\x23-\x5b\x5d-\x7e]{1,200}$/.test(uri) ? ` <${uri}>` : '';
    throw new InvalidRedirectUri(`redirect_uris[${index}]${shown} ${problem}`);
  });
}

/**
 * The CSP source (for form-action) that lets a form's POST be redirected to `uri`: its origin, or
 * for a private-use scheme the scheme (CSP3 §2.3.1). A CSP host source cannot name an IPv6
 * literal, so http://[::1]:8080 becomes http://*:8080 (same scheme and port, any host). Undefined
 * for a URI these rules refuse (one stored before them): the page then posts only to itself.
 */
export function formActionSource(uri: string): string | undefined {
  const scheme = SCHEME.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined || redirectUriProblem(uri, { confidential: false }) !== undefined) return undefined;
  if (scheme !== 'https' && scheme !== 'http') return `${scheme}:`;
  const url = new URL(uri);
  if (url.hostname.startsWith('[')) return `${scheme}://*${url.port ? `:${url.port}` : ''}`;
  return `${scheme}://${url.host}`;
}
