// Bad input, property-based (issue 8): fast-check throws random forms, JSON, query strings, path
// segments, headers, methods, encodings and body sizes (up to just over the 64 KB limit) at every
// endpoint of a real server — 10,200 requests in all — mixed with real client ids, secrets, tokens,
// codes, sessions and CSRF tokens so that the deep code paths run, not only the first check.
//
// What it proves, for every answer:
//   - no 5xx, no hang (15 s), and an X-Request-Id (echoed when the client's was sane);
//   - a 4xx from a JSON/OAuth endpoint is exactly {"error": <known code>, "error_description"?: string}
//     as application/json, with the status that code implies (src/oauth/errors.ts), a Basic
//     challenge on invalid_client and a Bearer challenge on bearer-protected APIs; a 429 also
//     carries Retry-After;
//   - the HTML pages (authorize, device, login) answer HTML or such a JSON error;
//   - a form body over the limit is 413 request_too_large; redirects carry a parseable Location;
//     2xx JSON parses; the public documents have their content types;
// and afterwards the server still issues a client_credentials token.
//
// The server runs with the failed-authentication rate limit off (rateLimitFailures: 0): the run
// fails authentication on purpose thousands of times, and past the limit every later request
// would stop at the 429. Not generated, because Node's HTTP layer answers before Warrant sees the
// request (an empty 4xx without X-Request-Id): headers over 16 KB (431), an unknown Expect (417),
// CONNECT, and Content-Length or Transfer-Encoding that lie about the body.
//
// The bugs this file found (a bare 501/405, NUL and unpaired surrogates reaching PostgreSQL, a
// user code cut inside a surrogate pair, deep JSON, raw field names echoed) are fixed; their
// minimal cases stay at the end as regressions.

import { createHash } from 'node:crypto';
import http from 'node:http';
import { expect } from 'chai';
import fc from 'fast-check';
import { GRANT_TYPES } from '../../src/events/types.js';
import { DEVICE_GRANT } from '../../src/oauth/device.js';
import { createUser } from '../../src/users/directory.js';
import { basic, postForm, startTestServer, type TestServer } from '../support/server.js';

// Cases per property (each case is one request):
//   forms 3000 + raw bodies 1200 + JSON APIs 2000 + queries and paths 1600 + pages 1400
//   + methods and headers 1000 = 10,200
const RUNS = { forms: 3000, bodies: 1200, json: 2000, queries: 1600, pages: 1400, methods: 1000 } as const;

const BODY_LIMIT = 65_536; // WARRANT_BODY_LIMIT's default (src/config.ts)
const REDIRECT = 'https://app.example/callback';
const KIM_PASSWORD = 'kims password 123';
const VERIFIER = 'v'.repeat(43);
const CHALLENGE = createHash('sha256').update(VERIFIER).digest('base64url');
const STANDARD_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

// ---------------------------------------------------------------------------------------------
// Requests and answers

/** A body: UTF-8 text, raw bytes, or `fill` repeated after `prefix` up to exactly `bytes` bytes
 * (big bodies stay readable in a counterexample); `chunked` sends it without Content-Length. */
type Payload = string | Uint8Array | { prefix: string; fill: string; bytes: number; chunked: boolean };

interface Probe {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Payload;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

function materialize(payload: Payload): Buffer {
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  if (payload instanceof Uint8Array) return Buffer.from(payload);
  const buffer = Buffer.alloc(payload.bytes, payload.fill, 'utf8');
  Buffer.from(payload.prefix, 'utf8').copy(buffer);
  return buffer;
}

const isChunked = (payload: Payload | undefined) => typeof payload === 'object' && !(payload instanceof Uint8Array) && payload.chunked;

function send(base: URL, agent: http.Agent, probe: Probe): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = probe.body === undefined ? undefined : materialize(probe.body);
    const headers = { ...probe.headers };
    if (body && !isChunked(probe.body)) headers['content-length'] = String(body.length);
    let answered = false;
    const request = http.request({ host: base.hostname, port: base.port, method: probe.method, path: probe.path, headers, agent, timeout: 15_000 }, (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('no answer within 15 s')));
    // The server may answer (413) and stop reading before the whole body is sent: not a failure.
    request.on('error', (error) => (answered ? undefined : reject(error)));
    if (body && isChunked(probe.body)) {
      const piece = Math.ceil(body.length / 4) || 1;
      for (let at = 0; at < body.length; at += piece) request.write(body.subarray(at, at + piece));
    } else if (body) {
      request.write(body);
    }
    request.end();
  });
}

// ---------------------------------------------------------------------------------------------
// What a well-formed answer is

/** Every error code the server may send in a JSON body, and the statuses it goes with. */
const STATUS_OF: Record<string, readonly number[]> = {
  invalid_request: [400, 401, 409], // 409: a domain conflict (a revoked client, a write that lost a race)
  invalid_client: [401],
  invalid_grant: [400],
  unauthorized_client: [400],
  unsupported_grant_type: [400],
  invalid_scope: [400],
  invalid_target: [400],
  invalid_redirect_uri: [400], // RFC 7591 §3.2.2
  invalid_client_metadata: [400],
  authorization_pending: [400],
  slow_down: [400],
  expired_token: [400],
  invalid_token: [401],
  insufficient_scope: [403],
  access_denied: [401, 403],
  not_found: [404],
  method_not_allowed: [405],
  request_too_large: [413],
  temporarily_unavailable: [429], // the rate limiter's refusal (src/oauth/rate-limit.ts); as a 503 it fails the no-5xx rule
};

const PAGES = new Set(['/oauth/authorize', '/oauth/device', '/oauth/login']);
const DOCUMENTS: Record<string, RegExp> = {
  '/.well-known/oauth-authorization-server': /^application\/json; charset=utf-8$/,
  '/oauth/jwks': /^application\/jwk-set\+json/,
  '/healthz': /^application\/json; charset=utf-8$/,
  '/readyz': /^application\/json; charset=utf-8$/,
  '/metrics': /^text\/plain/,
  '/openapi.json': /^application\/json; charset=utf-8$/,
  '/oauth/assets/style.css': /^text\/css; charset=utf-8$/,
  '/audit/ui': /^text\/html; charset=utf-8$/,
};
const CLIENT_AUTH_ENDPOINTS = new Set(['/oauth/token', '/oauth/revoke', '/oauth/introspect', '/oauth/device/code']);
const FORM_ENDPOINTS = new Set([...CLIENT_AUTH_ENDPOINTS, ...PAGES]);

/** The route a path reaches (the router ignores case and one trailing slash). */
function routeOf(path: string): string {
  const pathname = path.split('?')[0]!.toLowerCase();
  return pathname.length > 1 ? pathname.replace(/\/$/, '') : pathname;
}

const bearerProtected = (route: string) => /^\/(oauth\/clients|oauth\/subjects|audit\/(tokens|clients|subjects|events|streams))(\/|$)/.test(route);

const RFC6749_ERROR = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/;
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function describeExchange(probe: Probe, answer: Answer): string {
  const body = probe.body === undefined ? '' : typeof probe.body === 'string' ? probe.body.slice(0, 300) : probe.body instanceof Uint8Array ? `<${probe.body.length} bytes>` : `<${probe.body.bytes} bytes of ${JSON.stringify(probe.body.fill)}>`;
  return `${probe.method} ${probe.path} ${JSON.stringify(probe.headers).slice(0, 400)} ${JSON.stringify(body)}\n  → ${answer.status} ${String(answer.headers['content-type'] ?? '')} ${answer.text.slice(0, 300)}`;
}

function expectOAuthError(probe: Probe, answer: Answer, where: string): void {
  expect(answer.headers['content-type'], where).to.equal('application/json; charset=utf-8');
  const body = JSON.parse(answer.text) as Record<string, unknown>;
  expect(body, where).to.be.an('object').that.is.not.an('array');
  expect(Object.keys(body).filter((key) => key !== 'error' && key !== 'error_description'), where).to.deep.equal([]);
  expect(body['error'], where).to.be.a('string').that.matches(RFC6749_ERROR);
  if ('error_description' in body) expect(body['error_description'], where).to.be.a('string').that.does.not.match(/[\u0000-\u001f]/);
  const error = body['error'] as string;
  expect(STATUS_OF, `${where}\n  unknown error code`).to.have.property(error);
  expect(STATUS_OF[error], `${where}\n  wrong status for ${error}`).to.include(answer.status);
  const route = routeOf(probe.path);
  const challenge = String(answer.headers['www-authenticate'] ?? '');
  if (error === 'invalid_client') expect(challenge, where).to.match(/^Basic realm="warrant"/);
  if (bearerProtected(route) && answer.status === 401) expect(challenge, where).to.match(/^Bearer realm="/);
  if (bearerProtected(route) && answer.status === 403) expect(challenge, where).to.match(/^Bearer realm=".*error="insufficient_scope"/);
}

/** The properties every answer must have. */
function check(probe: Probe, answer: Answer): void {
  const where = describeExchange(probe, answer);
  expect(answer.status, where).to.be.at.least(200).and.below(500);
  const requestId = answer.headers['x-request-id'];
  const given = (probe.headers['x-request-id'] ?? '').replace(/^[ \t]+|[ \t]+$/g, '');
  if (SANE_REQUEST_ID.test(given)) expect(requestId, where).to.equal(given);
  else expect(requestId, where).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  if (answer.status === 429) expect(answer.headers['retry-after'], where).to.match(/^\d+$/);

  const route = routeOf(probe.path);
  const type = String(answer.headers['content-type'] ?? '');
  const head = probe.method === 'HEAD';
  if (FORM_ENDPOINTS.has(route) && probe.method === 'POST' && probe.body !== undefined && materialize(probe.body).length > BODY_LIMIT && /^application\/x-www-form-urlencoded\s*(;|$)/i.test(probe.headers['content-type'] ?? '')) {
    // The body is read before anything else is looked at.
    expect(answer.status, where).to.equal(413);
  }
  if (answer.status >= 400) {
    if (head) return; // HEAD: status and headers only
    if (PAGES.has(route) && type.startsWith('text/html')) {
      expect(type, where).to.equal('text/html; charset=utf-8');
      expect(answer.text, where).to.match(/^<!doctype html>/);
      return;
    }
    expectOAuthError(probe, answer, where);
    return;
  }
  if (answer.status >= 300) {
    expect(answer.status, where).to.equal(302);
    expect(answer.headers['location'], where).to.be.a('string');
    expect(() => new URL(answer.headers['location']!, 'http://warrant.test'), where).not.to.throw();
    return;
  }
  if ((probe.method === 'GET' || head) && route in DOCUMENTS) expect(type, where).to.match(DOCUMENTS[route]!);
  if (PAGES.has(route) && (probe.method === 'GET' || probe.method === 'POST')) expect(type, where).to.equal('text/html; charset=utf-8');
  if (!head && /^application\/(json|jwk-set\+json)/.test(type)) expect(() => JSON.parse(answer.text), where).not.to.throw();
}

// ---------------------------------------------------------------------------------------------
// Generators

interface Fixtures {
  issuer: string;
  conf: { id: string; secret: string };
  pub: { id: string };
  spare: { id: string };
  adminToken: string;
  readToken: string;
  accessToken: string;
  refreshToken: string;
  code: string;
  jti: string;
  familyId: string;
  deviceCode: string;
  userCode: string;
  kimId: string;
  /** A user whose subject the fuzz revokes (revoking kim's would end the session the other cases use). */
  leeId: string;
  /** A fresh session cookie for kim. */
  signIn(): Promise<string>;
  session: string;
  sessionCsrf: string;
  pre: string;
  preCsrf: string;
}

const CHARS = ['\u0000', '\u0001', '\t', '\n', '\r', '\u001b', '\u007f', '\u0085', '\u00a0', '\u2028', '\ufeff', '\ufffd', '\ud800', '\udfff', 'é', 'ß', '中', '💥', '"', "'", '<', '>', '\\', '/', '&', '=', '+', '%', '#', '?', ';', ',', ' ', 'a', 'Z', '0', '.', '-', '_', '~'];
const BAD_PERCENT = ['%', '%2', '%ZZ', '%zz', '%E0%A4', '%C0%AF', '%FF', '%ED%A0%80', '%F0%9F', '%00', '%0A', '%25', '%%', '%u0041', '%2B', '%26', '%3D'];

/** Strings that break things: random, full Unicode, control characters, hostile mixes, long. */
const hostileText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.array(fc.constantFrom(...CHARS), { maxLength: 16 }).map((parts) => parts.join('')),
  fc.array(fc.constantFrom(...CHARS, ...BAD_PERCENT), { maxLength: 10 }).map((parts) => parts.join('')),
  fc.tuple(fc.constantFrom('a', 'é', '%', '0', '💥'), fc.integer({ min: 100, max: 5000 })).map(([unit, times]) => unit.repeat(times)),
);

/** The same, short enough for a request line or a header (Node answers 431 itself past 16 KB). */
const shortText: fc.Arbitrary<string> = hostileText.map((text) => text.slice(0, 200));

/** A value no type checker expects where a string should be. */
const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
);

/** What Node's HTTP client will put in a header value: UTF-8 bytes as latin1, no controls but
 * tab, at most 2,000 characters (all headers together stay under Node's 16 KB). */
function headerSafe(value: string): string {
  return Buffer.from(value, 'utf8').toString('latin1').replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, '').slice(0, 2000);
}

/** Percent-encodes every byte outside visible ASCII (what may go in a request line), keeping '%'. */
function pathSafe(value: string): string {
  return [...Buffer.from(value, 'utf8')].map((byte) => (byte > 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

/** encodeURIComponent that survives lone surrogates (they are sent as U+FFFD, as a browser would). */
function encode(value: string): string {
  return encodeURIComponent(Buffer.from(value, 'utf8').toString('utf8'));
}

type Style = 'encoded' | 'plus' | 'raw' | 'broken';
const style: fc.Arbitrary<Style> = fc.oneof({ weight: 12, arbitrary: fc.constant<Style>('encoded') }, fc.constant<Style>('plus'), fc.constant<Style>('raw'), fc.constant<Style>('broken'));

/** One `name=value` pair of a form body or query string, with how to encode it (well or badly). */
type Pair = [name: string, value: string, how: Style, bad: string, withEquals: boolean];

const pair = (name: fc.Arbitrary<string>, value: (name: string) => fc.Arbitrary<string>): fc.Arbitrary<Pair> =>
  name.chain((n) => fc.tuple(fc.constant(n), value(n), style, fc.constantFrom(...BAD_PERCENT), fc.boolean()));

/** A change to a valid request: set a parameter (once), append one (maybe repeating it), drop one. */
type Edit = { op: 'set' | 'append'; pair: Pair } | { op: 'delete'; name: string };

function applyEdits(template: Pair[], edits: Edit[]): Pair[] {
  let pairs = [...template];
  for (const edit of edits) {
    if (edit.op === 'delete') pairs = pairs.filter(([name]) => name !== edit.name);
    else if (edit.op === 'append' || !pairs.some(([name]) => name === edit.pair[0])) pairs.push(edit.pair);
    else pairs = pairs.map((p) => (p[0] === edit.pair[0] ? edit.pair : p));
  }
  return pairs;
}

/** A JSON object changed the same way: fields set to anything, dropped, or added. */
type FieldEdit = [field: string, value: unknown, drop: boolean];

function applyFieldEdits(value: Record<string, unknown>, edits: FieldEdit[]): Record<string, unknown> {
  const result = { ...value };
  for (const [field, replacement, drop] of edits) {
    if (drop) delete result[field];
    else Object.defineProperty(result, field, { value: replacement, enumerable: true, configurable: true, writable: true }); // even "__proto__"
  }
  return result;
}

function renderPair([name, value, how, bad, withEquals]: Pair): string {
  switch (how) {
    case 'encoded':
      return `${encode(name)}=${encode(value)}`;
    case 'plus':
      return `${encode(name)}=${encode(value).replace(/%20/g, '+')}`;
    case 'raw':
      return withEquals ? `${name}=${value}` : name;
    case 'broken':
      return `${encode(name)}=${encode(value)}${bad}`;
  }
}

const formText = (pairs: fc.Arbitrary<Pair[]>) =>
  fc.tuple(pairs, fc.oneof({ weight: 12, arbitrary: fc.constant('&') }, { weight: 1, arbitrary: fc.constantFrom('&&', ';', '&amp;') })).map(([items, separator]) => items.map(renderPair).join(separator));

const queryString = (pairs: fc.Arbitrary<Pair[]>) => formText(pairs).map((text) => (text === '' ? '' : `?${pathSafe(text)}`));

/** A path segment: real ids, random uuids, hostile text encoded or not, malformed encodings. */
const segment = (real: string[]) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...real) },
    { weight: 2, arbitrary: fc.uuid() },
    { weight: 3, arbitrary: shortText.map(encode) },
    { weight: 1, arbitrary: shortText.map(pathSafe) },
    { weight: 1, arbitrary: fc.constantFrom(...BAD_PERCENT, '..', '.', '%2F', '%2e%2e', 'a%2Fb', '%20', '+') },
  );

const FORM_TYPES = [
  'application/x-www-form-urlencoded; charset=utf-8',
  'application/x-www-form-urlencoded;charset=ISO-8859-1',
  'application/x-www-form-urlencoded; charset="utf-8"; foo=bar',
  'Application/X-WWW-Form-Urlencoded',
  'application/x-www-form-urlencoded;',
  'application/x-www-form-urlencoded; charset',
  'application/x-www-form-urlencoded, text/plain',
  'application/json',
  'text/plain',
  'multipart/form-data; boundary=x',
  '*/*',
  ';;',
  'application/',
  '',
];
const JSON_TYPES = ['application/json; charset=utf-8', 'application/json;charset=UTF-16', 'APPLICATION/JSON', 'application/merge-patch+json', 'application/problem+json', 'text/json', 'application/x-www-form-urlencoded', 'text/plain', ''];

const contentType = (usual: string, others: string[]) =>
  fc.oneof({ weight: 16, arbitrary: fc.constant(usual) }, { weight: 3, arbitrary: fc.constantFrom(...others) }, { weight: 1, arbitrary: shortText.map(headerSafe) });

/** Headers without the empty ones (an empty content-type means: none). */
function headersOf(entries: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(entries).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/** Authorization headers no client should send. */
function garbageAuthorization(f: Fixtures): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(
      'Basic',
      'Basic ',
      'Basic !!!',
      'Basic ====',
      `Basic ${b64(':')}`,
      `Basic ${b64(f.conf.id)}`,
      `basic ${b64(`${f.conf.id}:${f.conf.secret}`)}`,
      `BASIC    ${b64(`${f.conf.id}:${f.conf.secret}`)}   `,
      `Basic ${b64(`${f.conf.id}:${f.conf.secret}`)}x`,
      `Basic ${b64(`${f.conf.id}:${f.conf.secret}`).replace(/=+$/, '')}`,
      `Basic ${b64(`${f.conf.id}:%ZZ`)}`,
      `Basic ${b64(`${f.pub.id}:`)}`,
      `Basic ${b64(`${f.spare.id}:${f.conf.secret}`)}`,
      'Bearer',
      'Bearer ',
      `Bearer ${f.readToken}`,
      `Bearer ${f.adminToken} extra`,
      `Bearer  ${f.readToken.split('.').slice(0, 2).join('.')}.`,
      'Negotiate YII=',
      'Digest username="x", realm="warrant"',
    ),
    fc.tuple(shortText, shortText).map(([id, secret]) => `Basic ${b64(`${id}:${secret}`)}`),
    fc.tuple(fc.constantFrom('Basic', 'Bearer', 'bearer', 'MAC', 'Basic Basic', ''), shortText).map(([scheme, value]) => headerSafe(`${scheme} ${value}`)),
    fc.tuple(fc.json({ maxDepth: 2 }), fc.json({ maxDepth: 2 }), shortText).map(([header, claims, signature]) => `Bearer ${b64url(header)}.${b64url(claims)}.${b64url(signature)}`),
  );
}

const realBasic = (f: Fixtures) => basic(f.conf.id, f.conf.secret);

function arbitraries(f: Fixtures) {
  const values: Record<string, string[]> = {
    grant_type: ['client_credentials', 'refresh_token', 'authorization_code', DEVICE_GRANT, 'password', 'implicit', 'CLIENT_CREDENTIALS', 'urn:ietf:params:oauth:grant-type:jwt-bearer'],
    client_id: [f.conf.id, f.pub.id, f.pub.id, f.spare.id, f.conf.id.toUpperCase(), '00000000-0000-0000-0000-000000000000', 'not-a-uuid'],
    client_secret: [f.conf.secret, f.conf.secret.slice(1), 'x'.repeat(201)],
    scope: ['read', 'write', 'read write', 'read read', 'warrant:admin', 'repo:read', 'openid', ' read ', 'read\twrite', '"', 'a\\b', 'é'],
    resource: [f.issuer, 'https://api.example', 'https://api.example/#frag', 'urn:x', 'not a uri', '//relative', 'http://[::1', `${f.issuer}/${'a'.repeat(2000)}`],
    token: [f.accessToken, f.refreshToken, f.readToken, f.code, `${f.accessToken}x`, 'a.b.c', f.accessToken.split('.').reverse().join('.')],
    token_type_hint: ['access_token', 'refresh_token', 'id_token', 'ACCESS_TOKEN'],
    refresh_token: [f.refreshToken, f.accessToken, `${f.refreshToken}x`],
    code: [f.code, `${f.code}x`, f.refreshToken],
    redirect_uri: [REDIRECT, `${REDIRECT}/`, REDIRECT.toUpperCase(), 'https://evil.example/callback', `${REDIRECT}#x`, `${REDIRECT}?a=1`],
    code_verifier: [VERIFIER, 'a'.repeat(43), 'a'.repeat(128), 'short', 'é'.repeat(50)],
    device_code: [f.deviceCode, `${f.deviceCode}x`, f.userCode],
    username: ['kim', 'nobody', 'KIM'],
    password: [KIM_PASSWORD, 'wrong password'],
    response_type: ['code', 'token', 'code id_token', 'CODE'],
    state: ['xyz', 's'.repeat(2001), '<script>'],
    code_challenge: [CHALLENGE, 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', 'short', 'a'.repeat(129), '+/='.repeat(20)],
    code_challenge_method: ['S256', 'plain', 's256'],
    csrf: [f.sessionCsrf, f.preCsrf, `${f.sessionCsrf}x`],
    decision: ['approve', 'deny', 'maybe'],
    user_code: [f.userCode, f.userCode.toLowerCase(), f.userCode.replace('-', ''), 'AAAA-AAAA'],
    return_to: ['/oauth/authorize?client_id=x', '//evil.example', 'https://evil.example', '/oauth/../etc', '/oauth/login'],
    limit: ['1', '50', '200', '201', '0', '-1', '1.5', '1e2', '0x10', ' 1', 'NaN', 'Infinity', '9007199254740993'],
    after: ['0', '1', '-1', '1.5', '9007199254740993', f.conf.id, f.spare.id, 'z'],
    revoked: ['true', 'false', 'TRUE'],
    at: ['2026-11-28T14:02:00Z', '2026-11-28t14:02:00.123456789z', '2026-13-40T25:61:61Z', '2026-02-30T00:00:00Z', '+275760-09-13T00:00:00Z', '2026-11-28T14:02:00', '1970-01-01T00:00:00+99:99', 'yesterday'],
    type: ['ClientRegistered', 'TokenIssued', 'TokenRevoked', 'NoSuchEvent', 'tokenissued'],
    subject: [f.kimId, f.conf.id, 'kim'],
  };
  for (const name of ['since', 'until']) values[name] = values['at']!;

  /** Values for a parameter: mostly real ones, some dates, some hostile `text` (shorter in URLs). */
  const valueFor = (text: fc.Arbitrary<string>) => (name: string) =>
    fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...(Object.hasOwn(values, name) ? values[name]! : ['x'])) },
      { weight: 1, arbitrary: fc.date({ noInvalidDate: true }).map((date) => date.toISOString()) },
      { weight: 2, arbitrary: text },
    );
  const names = (known: string[]) => fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...known, ...(known.length === 0 ? ['x'] : [])) }, { weight: 1, arbitrary: shortText }, { weight: 1, arbitrary: fc.constantFrom('grant_type[]', 'GRANT_TYPE', 'access_token', '__proto__', 'constructor', '') });
  /** Up to `max` pairs of `known` parameters and junk. */
  const pairs = (known: string[], max: number, text = hostileText) => fc.array(pair(names(known), valueFor(text)), { maxLength: max });
  /** A few edits, mostly to the `known` parameters. */
  const edits = (known: string[], text = hostileText) =>
    fc.array(
      fc.oneof(
        { weight: 3, arbitrary: pair(fc.constantFrom(...known), valueFor(text)).map((p): Edit => ({ op: 'set', pair: p })) },
        { weight: 1, arbitrary: pair(names(known), valueFor(text)).map((p): Edit => ({ op: 'append', pair: p })) },
        { weight: 1, arbitrary: fc.constantFrom(...known).map((name): Edit => ({ op: 'delete', name })) },
      ),
      { maxLength: 3 },
    );
  const exact = (entries: [string, string][]): Pair[] => entries.map(([name, value]): Pair => [name, value, 'encoded', '', true]);
  /** Mostly a valid request (a template) with a few edits; sometimes edits alone. */
  const edited = (templates: [string, string][][], known: string[], text = hostileText) =>
    fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...templates).map(exact) }, { weight: 1, arbitrary: fc.constant<Pair[]>([]) }), edits(known, text)).map(([template, changes]) => applyEdits(template, changes));

  const authorization = fc.oneof(
    { weight: 5, arbitrary: fc.constant(realBasic(f)) },
    { weight: 1, arbitrary: fc.constant(basic(f.pub.id, '')) },
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: garbageAuthorization(f) },
  );
  const requestId = fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('abc-123', 'a'.repeat(128), 'a'.repeat(129), ' padded ', 'x y') }, { weight: 1, arbitrary: shortText.map(headerSafe) });

  // ---- forms at the client-authenticated endpoints, starting from a valid request most of the time
  const TOKEN_PARAMS = ['grant_type', 'client_id', 'client_secret', 'scope', 'resource', 'refresh_token', 'code', 'redirect_uri', 'code_verifier', 'device_code', 'username', 'password'];
  const TOKEN_OPERATION_PARAMS = ['token', 'token_type_hint', 'client_id', 'client_secret'];
  const DEVICE_PARAMS = ['scope', 'client_id', 'client_secret'];
  const formEndpoints: { path: string; params: string[]; templates: [string, string][][] }[] = [
    {
      path: '/oauth/token',
      params: TOKEN_PARAMS,
      templates: [
        [['grant_type', 'client_credentials']],
        [['grant_type', 'client_credentials'], ['scope', 'read'], ['resource', 'https://api.example']],
        [['grant_type', 'refresh_token'], ['refresh_token', f.refreshToken]],
        [['grant_type', 'authorization_code'], ['code', f.code], ['redirect_uri', REDIRECT], ['code_verifier', VERIFIER]],
        [['grant_type', DEVICE_GRANT], ['device_code', f.deviceCode], ['client_id', f.pub.id]],
        [['grant_type', 'password'], ['username', 'kim'], ['password', KIM_PASSWORD]],
      ],
    },
    { path: '/oauth/revoke', params: TOKEN_OPERATION_PARAMS, templates: [[['token', f.readToken]], [['token', f.refreshToken], ['token_type_hint', 'refresh_token']]] },
    { path: '/oauth/introspect', params: TOKEN_OPERATION_PARAMS, templates: [[['token', f.accessToken]], [['token', f.refreshToken], ['token_type_hint', 'access_token']]] },
    { path: '/oauth/device/code', params: DEVICE_PARAMS, templates: [[['client_id', f.pub.id], ['scope', 'read']], [['scope', 'write']]] },
  ];
  const forms: fc.Arbitrary<Probe> = fc.constantFrom(...formEndpoints).chain((endpoint) =>
    fc
      .record({
        body: formText(edited(endpoint.templates, endpoint.params)),
        query: fc.oneof({ weight: 8, arbitrary: fc.constant('') }, { weight: 1, arbitrary: queryString(pairs(endpoint.params, 2, shortText)) }),
        type: contentType('application/x-www-form-urlencoded', FORM_TYPES),
        authorization,
        requestId,
      })
      .map(({ body, query, type, authorization, requestId }) => ({
        method: 'POST',
        path: `${endpoint.path}${query}`,
        headers: headersOf({ 'content-type': type, authorization, 'x-request-id': requestId }),
        body,
      })),
  );

  // ---- raw bodies: bytes, broken encodings, sizes around the limit, chunked, at every body reader
  const bodyReaders: { method: string; path: string; type: string; headers: Record<string, string> }[] = [
    ...[...CLIENT_AUTH_ENDPOINTS].map((path) => ({ method: 'POST', path, type: 'application/x-www-form-urlencoded', headers: { authorization: realBasic(f) } })),
    ...[...PAGES].map((path) => ({ method: 'POST', path, type: 'application/x-www-form-urlencoded', headers: { cookie: f.session } })),
    { method: 'POST', path: '/oauth/clients', type: 'application/json', headers: { authorization: `Bearer ${f.adminToken}` } },
    { method: 'PATCH', path: `/oauth/clients/${f.spare.id}`, type: 'application/json', headers: { authorization: `Bearer ${f.adminToken}` } },
    { method: 'POST', path: '/oauth/personal-access-tokens', type: 'application/json', headers: { cookie: f.session, 'x-csrf-token': f.sessionCsrf } },
  ];
  const bigBody = fc.record({
    prefix: fc.constantFrom('', 'grant_type=client_credentials&scope=', 'token=', '{"client_name":"', '{"name":"', 'a='),
    fill: fc.constantFrom('a', '%41', 'é', '&x=1', ' ', '\u0000', '💥', '%ZZ'),
    bytes: fc.oneof(fc.integer({ min: BODY_LIMIT - 16, max: BODY_LIMIT + 16 }), fc.integer({ min: 1, max: Math.floor(BODY_LIMIT * 1.1) })),
    chunked: fc.boolean(),
  });
  const rawBody: fc.Arbitrary<Payload> = fc.oneof(
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    { weight: 2, arbitrary: fc.array(fc.constantFrom(...BAD_PERCENT, ...CHARS, 'grant_type=', 'client_credentials', '&', 'token=', '{', '}', '"', ':', '[', ']'), { maxLength: 40 }).map((parts) => parts.join('')) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('grant_type=client_credentials&scope=', 'token=', '{"name":"', ''), fc.uint8Array({ minLength: 1, maxLength: 40 })).map(([text, bytes]) => Uint8Array.from([...Buffer.from(text), ...bytes])) },
    { weight: 3, arbitrary: bigBody },
  );
  const bodies: fc.Arbitrary<Probe> = fc.record({ reader: fc.constantFrom(...bodyReaders), body: rawBody, otherType: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...FORM_TYPES, ...JSON_TYPES) }) }).map(({ reader, body, otherType }) => ({
    method: reader.method,
    path: reader.path,
    headers: headersOf({ ...reader.headers, 'content-type': otherType ?? reader.type }),
    body,
  }));

  // ---- JSON APIs: client admin, subject revocation, personal access tokens
  const CLIENT_FIELDS = ['client_name', 'grant_types', 'scope', 'redirect_uris', 'first_party', 'access_token_ttl', 'refresh_token_ttl', 'token_endpoint_auth_method'];
  const validClient = fc.record(
    {
      client_name: fc.constantFrom('Fuzzed app', 'n'.repeat(200), 'é💥 <b>'),
      grant_types: fc.subarray(['client_credentials', 'authorization_code', 'refresh_token', DEVICE_GRANT], { minLength: 1 }),
      scope: fc.constantFrom('read', 'read write', '', 'repo:read'),
      redirect_uris: fc.constantFrom([], [REDIRECT], ['https://a.example/cb', 'http://localhost:8080/cb']),
      first_party: fc.boolean(),
      access_token_ttl: fc.oneof(fc.integer({ min: 1, max: 604_800 }), fc.constant(null)),
      refresh_token_ttl: fc.oneof(fc.integer({ min: 60, max: 315_360_000 }), fc.constant(null)),
      token_endpoint_auth_method: fc.constantFrom('client_secret_basic', 'client_secret_post', 'none'),
    },
    { requiredKeys: ['client_name', 'grant_types'] },
  );
  const validChanges = validClient.chain((client) => fc.subarray(Object.keys(client).filter((key) => key !== 'token_endpoint_auth_method'), { minLength: 1 }).map((keys) => Object.fromEntries(keys.map((key) => [key, (client as Record<string, unknown>)[key]]))));
  /** What a field may be set to: the wrong type, hostile text, values just past a bound. */
  const badValue: fc.Arbitrary<unknown> = fc.oneof(
    wrongType,
    hostileText,
    fc.constantFrom('', 'n'.repeat(201), 'a'.repeat(4001), 0, -1, 604_801, 59, 315_360_001, 1.5, [], [''], ['client_credentials', 'client_credentials'], ['implicit'], [...GRANT_TYPES], ['personal_access'], ['password'], ['not a uri'], ['javascript:alert(1)'], [`${REDIRECT}#x`], Array.from({ length: 51 }, (_, i) => `https://a.example/${i}`), 'private_key_jwt', 'a "b"', 'x\ty'),
    fc.array(fc.oneof(fc.webUrl(), shortText), { maxLength: 3 }),
  );
  const fieldEdits = (fields: string[]) =>
    fc.array(fc.tuple(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...fields) }, { weight: 1, arbitrary: fc.constantFrom('client_id', 'client_secret', 'jwks', '__proto__', 'constructor') }, { weight: 1, arbitrary: shortText }), badValue, fc.boolean()), { maxLength: 2 });
  /** Mostly valid objects with up to two fields broken. */
  const editedObject = (valid: fc.Arbitrary<Record<string, unknown>>, fields: string[]) => fc.tuple(valid, fieldEdits(fields)).map(([value, changes]) => applyFieldEdits(value, changes));
  const patToken = editedObject(fc.record({ name: fc.constantFrom('laptop', 'n'.repeat(200), ' ci ', 'é💥'), scope: fc.constantFrom('repo:read', '', 'repo:read repo:read') }, { requiredKeys: ['name'] }), ['name', 'scope']);
  const deep = fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.constantFrom('[', '{"a":')).map(([depth, open]) => `${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}`);
  const jsonText = (shaped: fc.Arbitrary<unknown>) =>
    fc.oneof(
      { weight: 6, arbitrary: shaped.map((value) => JSON.stringify(value)) },
      { weight: 2, arbitrary: fc.json({ maxDepth: 4 }) },
      { weight: 1, arbitrary: fc.json({ maxDepth: 3, stringUnit: 'binary' }) },
      { weight: 2, arbitrary: fc.anything({ maxDepth: 3, withBoxedValues: true, withDate: true, withNullPrototype: true, withObjectString: true, withSparseArray: true, withTypedArray: true, withMap: true, withSet: true }).map((value) => JSON.stringify(value) ?? 'undefined') },
      { weight: 1, arbitrary: deep },
      { weight: 1, arbitrary: fc.constantFrom('', '{', '{"a":', 'nul', '[1,]', '{"a":1}{"b":2}', '\ufeff{}', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}', '1e400', '"\\u0000"', '{"client_name":"\\ud800","grant_types":["client_credentials"]}', '{"name":"\\u0000"}') },
      { weight: 1, arbitrary: hostileText },
    );
  const adminAuth = fc.oneof(
    { weight: 8, arbitrary: fc.constant(`Bearer ${f.adminToken}`) },
    { weight: 1, arbitrary: fc.constant(`Bearer ${f.readToken}`) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: garbageAuthorization(f) },
  );
  // Never the fixtures' own clients or the admin's subject: a revocation there would end the run early.
  const mutableClient = segment([f.spare.id]);
  const subjects = segment([f.leeId, 'kim', f.conf.id]);
  const json: fc.Arbitrary<Probe> = fc.oneof(
    fc.record({ body: jsonText(editedObject(validClient, CLIENT_FIELDS)), type: contentType('application/json', JSON_TYPES), authorization: adminAuth }).map(({ body, type, authorization }) => ({ method: 'POST', path: '/oauth/clients', headers: headersOf({ 'content-type': type, authorization }), body })),
    fc.record({ id: mutableClient, body: jsonText(editedObject(validChanges, CLIENT_FIELDS)), type: contentType('application/json', JSON_TYPES), authorization: adminAuth }).map(({ id, body, type, authorization }) => ({ method: 'PATCH', path: `/oauth/clients/${id}`, headers: headersOf({ 'content-type': type, authorization }), body })),
    fc.record({ id: mutableClient, method: fc.constantFrom('DELETE', 'POST'), authorization: adminAuth }).map(({ id, method, authorization }) => ({ method, path: method === 'POST' ? `/oauth/clients/${id}/secret` : `/oauth/clients/${id}`, headers: headersOf({ authorization }) })),
    fc.record({ sub: subjects, authorization: adminAuth }).map(({ sub, authorization }) => ({ method: 'POST', path: `/oauth/subjects/${sub}/revoke`, headers: headersOf({ authorization }) })),
    fc
      .record({
        body: jsonText(patToken),
        type: contentType('application/json', JSON_TYPES),
        cookie: fc.oneof({ weight: 6, arbitrary: fc.constant(f.session) }, { weight: 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: shortText.map(headerSafe) }),
        csrf: fc.oneof({ weight: 6, arbitrary: fc.constant(f.sessionCsrf) }, { weight: 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(f.preCsrf, `${f.sessionCsrf}x`) }),
      })
      .map(({ body, type, cookie, csrf }) => ({ method: 'POST', path: '/oauth/personal-access-tokens', headers: headersOf({ 'content-type': type, cookie, 'x-csrf-token': csrf }), body })),
    fc.record({ id: segment([f.familyId]), csrf: fc.constantFrom(f.sessionCsrf, '') }).map(({ id, csrf }) => ({ method: 'DELETE', path: `/oauth/personal-access-tokens/${id}`, headers: headersOf({ cookie: f.session, 'x-csrf-token': csrf }) })),
  );

  // ---- query strings and path segments of the GET APIs and documents
  const PAGE_PARAMS = ['after', 'limit'];
  const gets: { path: fc.Arbitrary<string>; params: string[] }[] = [
    { path: fc.constant('/oauth/clients'), params: ['after', 'limit', 'revoked'] },
    { path: segment([f.conf.id, f.spare.id]).map((id) => `/oauth/clients/${id}`), params: [] },
    { path: segment([f.jti, f.familyId]).map((id) => `/audit/tokens/${id}`), params: [] },
    { path: segment([f.jti, f.familyId]).map((id) => `/audit/tokens/${id}/state`), params: ['at'] },
    { path: segment([f.conf.id, f.pub.id]).map((id) => `/audit/clients/${id}`), params: PAGE_PARAMS },
    { path: segment([f.kimId, f.conf.id]).map((sub) => `/audit/subjects/${sub}/tokens`), params: PAGE_PARAMS },
    { path: fc.constant('/audit/events'), params: ['type', 'client_id', 'subject', 'since', 'until', ...PAGE_PARAMS] },
    { path: segment([`token-${f.familyId}`, `client-${f.conf.id}`]).map((stream) => `/audit/streams/${stream}/verify`), params: [] },
    { path: fc.constant('/oauth/personal-access-tokens'), params: [] },
    { path: fc.constantFrom(...Object.keys(DOCUMENTS)), params: ['format', 'callback'] },
  ];
  const accept = fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: fc.constantFrom('application/x-ndjson', 'application/json', '*/*', 'application/x-ndjson;q=0', 'application/json;q=0.1, application/x-ndjson', 'text/html', 'ndjson', ';q=', 'application/x-ndjson; q=x') }, { weight: 1, arbitrary: shortText.map(headerSafe) });
  const queries: fc.Arbitrary<Probe> = fc.constantFrom(...gets).chain((get) =>
    fc.record({ path: get.path, query: queryString(pairs(get.params, 4, shortText)), authorization: adminAuth, accept, cookie: fc.option(fc.constant(f.session), { nil: undefined }), requestId }).map(({ path, query, authorization, accept, cookie, requestId }) => ({
      method: 'GET',
      path: `${path}${query}`,
      headers: headersOf({ authorization, accept, cookie, 'x-request-id': requestId }),
    })),
  );

  // ---- the HTML pages: authorize, device verification, login (GET queries, POST forms, cookies, CSRF)
  const AUTHORIZE_PARAMS = ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method', 'resource', 'csrf', 'decision'];
  const authorizeTemplates: [string, string][][] = [
    [['response_type', 'code'], ['client_id', f.conf.id], ['redirect_uri', REDIRECT], ['scope', 'read'], ['state', 'xyz'], ['csrf', f.sessionCsrf]],
    [['response_type', 'code'], ['client_id', f.conf.id], ['scope', 'read'], ['code_challenge', CHALLENGE], ['code_challenge_method', 'S256'], ['csrf', f.sessionCsrf]],
    [['response_type', 'code'], ['client_id', f.pub.id], ['code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'], ['code_challenge_method', 'S256'], ['redirect_uri', REDIRECT], ['csrf', f.sessionCsrf]],
    [['response_type', 'code'], ['client_id', f.pub.id], ['redirect_uri', REDIRECT], ['scope', 'read'], ['code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'], ['code_challenge_method', 'S256'], ['csrf', f.sessionCsrf], ['decision', 'approve']],
  ];
  const pageEndpoints: { path: string; params: string[]; templates: [string, string][][] }[] = [
    { path: '/oauth/authorize', params: AUTHORIZE_PARAMS, templates: authorizeTemplates },
    { path: '/oauth/device', params: ['user_code', 'csrf', 'decision'], templates: [[['user_code', f.userCode], ['csrf', f.sessionCsrf]], [['user_code', f.userCode], ['csrf', f.sessionCsrf], ['decision', 'deny']]] },
    { path: '/oauth/login', params: ['username', 'password', 'csrf', 'return_to'], templates: [[['username', 'kim'], ['password', 'wrong password'], ['csrf', f.preCsrf], ['return_to', '/oauth/login']]] },
  ];
  const cookie = fc.oneof(
    { weight: 3, arbitrary: fc.constant(f.session) },
    { weight: 2, arbitrary: fc.constant(f.pre) },
    { weight: 5, arbitrary: fc.constant(`${f.session}; ${f.pre}`) }, // both CSRF tokens valid
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom('warrant_session=', 'warrant_session=a.b', `warrant_session=${b64url('{"sub":1,"exp":"x"}')}.x`, 'warrant_csrf=;;;=', `${f.session}x`, 'warrant_session=%ZZ; warrant_session=2') },
    { weight: 1, arbitrary: shortText.map((text) => headerSafe(`warrant_session=${text}`)) },
  );
  const pages: fc.Arbitrary<Probe> = fc.constantFrom(...pageEndpoints).chain((page) =>
    fc
      .record({
        method: fc.constantFrom('GET', 'POST'),
        text: formText(edited(page.templates, page.params, shortText)),
        type: contentType('application/x-www-form-urlencoded', FORM_TYPES),
        cookie,
      })
      .map(({ method, text, type, cookie }) =>
        method === 'GET'
          ? { method, path: `${page.path}${text === '' ? '' : `?${pathSafe(text)}`}`, headers: headersOf({ cookie }) }
          : { method, path: page.path, headers: headersOf({ 'content-type': type, cookie }), body: text },
      ),
  );

  // ---- any method on any path, with any headers
  const knownPaths = [
    ...Object.keys(DOCUMENTS),
    ...CLIENT_AUTH_ENDPOINTS,
    ...PAGES,
    '/oauth/clients',
    `/oauth/clients/${f.spare.id}`,
    `/oauth/clients/${f.spare.id}/secret`,
    '/oauth/subjects/nobody/revoke',
    '/oauth/personal-access-tokens',
    `/oauth/personal-access-tokens/${f.familyId}`,
    `/audit/tokens/${f.jti}`,
    `/audit/tokens/${f.jti}/state?at=2026-11-28T14:02:00Z`,
    `/audit/clients/${f.conf.id}`,
    `/audit/subjects/${f.kimId}/tokens`,
    '/audit/events',
    `/audit/streams/client-${f.conf.id}/verify`,
  ];
  const oddPaths = ['/', '/nope', '//oauth/token', '/OAUTH/TOKEN', '/oauth/token/', '/oauth/token;x', '/oauth/./token', '/oauth/%2e%2e/token', '/oauth/%74oken', '/..%2f..%2fetc/passwd', '/%', '/%00', '/oauth/clients/', '/audit', '/.well-known/', `/oauth/clients/${'a'.repeat(3000)}`];
  const HEADER_NAMES = ['authorization', 'content-type', 'accept', 'accept-encoding', 'accept-language', 'accept-charset', 'cookie', 'x-request-id', 'x-csrf-token', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'origin', 'referer', 'user-agent', 'if-none-match', 'if-modified-since', 'range', 'content-encoding', 'content-language', 'host', 'connection', 'upgrade', 'x-http-method-override', 'dpop', 'x-junk'];
  const headerValue = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(realBasic(f), `Bearer ${f.adminToken}`, 'application/json', 'application/x-www-form-urlencoded', 'text/html', '*/*', 'gzip', 'br;q=0', 'keep-alive', 'close', 'websocket', 'DELETE', 'bytes=0-1', 'null', f.session, f.sessionCsrf, '"etag"', 'Thu, 01 Jan 1970 00:00:00 GMT', 'example.com:99999', '[::1', 'é') },
    { weight: 2, arbitrary: shortText },
  );
  const methods: fc.Arbitrary<Probe> = fc
    .record({
      method: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...STANDARD_METHODS) }, { weight: 1, arbitrary: fc.constantFrom(...http.METHODS.filter((m) => m !== 'CONNECT')) }),
      path: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...knownPaths) }, { weight: 1, arbitrary: fc.constantFrom(...oddPaths) }, { weight: 1, arbitrary: shortText.map((text) => `/${pathSafe(text)}`) }),
      headers: fc.dictionary(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...HEADER_NAMES) }, { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/) }), headerValue, { maxKeys: 5 }),
      body: fc.option(fc.oneof(hostileText, fc.json({ maxDepth: 2 })), { nil: undefined }),
    })
    .map(({ method, path, headers, body }) => {
      const safe = Object.fromEntries(Object.entries(headers).filter(([name]) => !['content-length', 'transfer-encoding', 'expect'].includes(name.toLowerCase())).map(([name, value]) => [name, headerSafe(value)]));
      return { method, path, headers: headersOf(safe), ...(body !== undefined ? { body } : {}) };
    });

  return { forms, bodies, json, queries, pages, methods };
}

// ---------------------------------------------------------------------------------------------

describe('bad input, property-based: no 5xx, every answer well formed (fast-check)', function () {
  this.timeout(600_000);
  let server: TestServer;
  let base: URL;
  let agent: http.Agent;
  let fixtures: Fixtures;
  let fuzz: ReturnType<typeof arbitraries>;

  const run = async (arbitrary: fc.Arbitrary<Probe>, numRuns: number) => {
    let requests = 0;
    await fc.assert(
      fc.asyncProperty(arbitrary, async (probe) => {
        requests += 1;
        check(probe, await send(base, agent, probe));
      }),
      { numRuns },
    );
    expect(requests).to.be.at.least(numRuns);
  };

  before(async () => {
    // No failure limit: past it every client-authenticated request would be a 429 (which the
    // checks accept) and the deeper paths would go unreached for the rest of the run.
    server = await startTestServer({ config: { scopes: { 'repo:read': 'Read repositories' }, rateLimitFailures: 0 } });
    base = new URL(server.url);
    agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const conf = await server.client({ name: 'Fuzz confidential', grantTypes: ['authorization_code', 'client_credentials', 'refresh_token'], scopes: ['read', 'write'], redirectUris: [REDIRECT], firstParty: true });
    const pub = await server.client({ name: 'Fuzz public', confidential: false, grantTypes: ['authorization_code', 'refresh_token', DEVICE_GRANT], scopes: ['read'], redirectUris: [REDIRECT, `${REDIRECT}2`] });
    const spare = await server.client({ name: 'Fuzz spare' });
    const admin = await server.client({ name: 'Fuzz admin', grantTypes: ['client_credentials'], scopes: ['warrant:admin', 'warrant:audit'] });
    const token = async (id: string, secret: string, scope: string) => {
      const response = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', scope }, { authorization: basic(id, secret) });
      expect(response.status).to.equal(200);
      return response.body.access_token as string;
    };
    const adminToken = await token(admin.id, admin.secret, 'warrant:admin warrant:audit');
    const readToken = await token(conf.id, conf.secret, 'read');

    // A signed-in user, her CSRF tokens, and a pre-session cookie with its own.
    const kim = await createUser(server.auth.pool, 'kim', KIM_PASSWORD);
    const lee = await createUser(server.auth.pool, 'lee', KIM_PASSWORD);
    const cookiesOf = (response: Response) => response.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const loginPage = await fetch(`${server.url}/oauth/login`);
    const pre = cookiesOf(loginPage);
    const preCsrf = /name="csrf" value="([^"]+)"/.exec(await loginPage.text())![1]!;
    const signIn = async () => {
      const signedIn = await fetch(`${server.url}/oauth/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: pre }, body: new URLSearchParams({ username: 'kim', password: KIM_PASSWORD, csrf: preCsrf, return_to: '/oauth/login' }) });
      expect(signedIn.status).to.equal(302);
      return cookiesOf(signedIn);
    };
    const session = await signIn();
    const sessionCsrf = ((await (await fetch(`${server.url}/oauth/personal-access-tokens`, { headers: { cookie: session } })).json()) as { csrf_token: string }).csrf_token;

    // An authorization code (first-party client: no consent), redeemed
    // for an access and a refresh token.
    const authorized = await fetch(`${server.url}/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: conf.id, redirect_uri: REDIRECT, scope: 'read', state: 's', code_challenge: CHALLENGE, code_challenge_method: 'S256' })}`, { redirect: 'manual', headers: { cookie: session } });
    expect(authorized.status).to.equal(302);
    const code = new URL(authorized.headers.get('location')!).searchParams.get('code')!;
    const redeemed = await postForm(`${server.url}/oauth/token`, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: VERIFIER }, { authorization: basic(conf.id, conf.secret) });
    expect(redeemed.status).to.equal(200);
    const accessToken = redeemed.body.access_token as string;
    const claims = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string };
    const history = (await (await fetch(`${server.url}/audit/tokens/${claims.jti}`, { headers: { authorization: `Bearer ${adminToken}` } })).json()) as { family_id: string };

    // A pending device authorization.
    const device = await postForm(`${server.url}/oauth/device/code`, { client_id: pub.id, scope: 'read' });
    expect(device.status).to.equal(200);

    fixtures = {
      issuer: server.url,
      conf: { id: conf.id, secret: conf.secret },
      pub: { id: pub.id },
      spare: { id: spare.id },
      adminToken,
      readToken,
      accessToken,
      refreshToken: redeemed.body.refresh_token as string,
      code,
      jti: claims.jti,
      familyId: history.family_id,
      deviceCode: device.body.device_code as string,
      userCode: device.body.user_code as string,
      kimId: kim.userId,
      leeId: lee.userId,
      signIn,
      session,
      sessionCsrf,
      pre,
      preCsrf,
    };
    fuzz = arbitraries(fixtures);
  });

  after(async () => {
    agent?.destroy();
    await server?.stop();
  });

  it(`forms at /oauth/token, /oauth/revoke, /oauth/introspect, /oauth/device/code (${RUNS.forms} cases)`, async () => {
    await run(fuzz.forms, RUNS.forms);
  });

  it(`raw bodies: bytes, broken encodings, sizes around the 64 KB limit, chunked, at every body reader (${RUNS.bodies} cases)`, async () => {
    await run(fuzz.bodies, RUNS.bodies);
  });

  it(`JSON to the client admin API, subject revocation and personal access tokens (${RUNS.json} cases)`, async () => {
    await run(fuzz.json, RUNS.json);
  });

  it(`query strings and path segments of the audit and admin APIs and the public documents (${RUNS.queries} cases)`, async () => {
    await run(fuzz.queries, RUNS.queries);
  });

  it(`the HTML pages: authorize, device verification and login, with cookies and CSRF tokens (${RUNS.pages} cases)`, async () => {
    await run(fuzz.pages, RUNS.pages);
  });

  it(`any method on any path with any headers (${RUNS.methods} cases)`, async () => {
    await run(fuzz.methods, RUNS.methods);
  });

  // Found by the pages property (a 500: the AuthorizationCodeIssued schema refused
  // codeChallengeMethod null) and fixed meanwhile in src/events/types.ts; kept as a regression case.
  it('GET /oauth/authorize for a signed-in user and a confidential first-party client without PKCE redirects with a code', async () => {
    const query = new URLSearchParams({ response_type: 'code', client_id: fixtures.conf.id, redirect_uri: REDIRECT });
    // A session of its own: signing in again during the fuzz (it does) replaces the fixture's.
    const probe = { method: 'GET', path: `/oauth/authorize?${query}`, headers: { cookie: await fixtures.signIn() } };
    const answer = await send(base, agent, probe);
    check(probe, answer);
    expect(new URL(answer.headers['location']!).searchParams.get('code'), describeExchange(probe, answer)).to.be.a('string');
  });

  it('still issues a client_credentials token and reports healthy after all of it', async () => {
    const fresh = await server.client({ name: 'After the fuzz' });
    const issued = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', scope: 'read' }, { authorization: basic(fresh.id, fresh.secret) });
    expect(issued.status, JSON.stringify(issued.body)).to.equal(200);
    expect(issued.body).to.include({ token_type: 'Bearer', scope: 'read' });
    expect(issued.body.access_token).to.be.a('string');
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).to.equal(200);
  });

  describe('regressions: minimal cases the properties found (fixed)', () => {
    const exchange = async (probe: Probe) => check(probe, await send(base, agent, probe));

    it('PROPFIND /oauth/token (an extension method) gets a 4xx JSON error, not a bare 501', async () => {
      await exchange({ method: 'PROPFIND', path: '/oauth/token', headers: {} });
    });

    it('PUT /oauth/token (a wrong method) gets a JSON error, not a text/plain 405', async () => {
      await exchange({ method: 'PUT', path: '/oauth/token', headers: {} });
    });

    it('GET /audit/streams/%00/verify is a 4xx, not a 500', async () => {
      await exchange({ method: 'GET', path: '/audit/streams/%00/verify', headers: { authorization: `Bearer ${fixtures.adminToken}` } });
    });

    it('POST /oauth/clients with U+0000 in client_name is a 400, not a 500', async () => {
      await exchange({ method: 'POST', path: '/oauth/clients', headers: { authorization: `Bearer ${fixtures.adminToken}`, 'content-type': 'application/json' }, body: '{"client_name":"\\u0000","grant_types":["client_credentials"]}' });
    });

    it('GET /oauth/device?user_code= nineteen letters and an emoji (signed out) redirects to the login page, not a 500', async () => {
      await exchange({ method: 'GET', path: `/oauth/device?user_code=${'A'.repeat(19)}%F0%9F%92%A5`, headers: {} });
    });

    it('POST /oauth/clients with U+0000 in the name of an unknown field is a 400 whose error_description has no control characters', async () => {
      await exchange({ method: 'POST', path: '/oauth/clients', headers: { authorization: `Bearer ${fixtures.adminToken}`, 'content-type': 'application/json' }, body: '{"client_name":"x","grant_types":["client_credentials"],"a\\u0000\\r\\nb":1}' });
    });

    it('POST /oauth/personal-access-tokens with a lone surrogate in name is a 400, not a 500', async () => {
      await exchange({ method: 'POST', path: '/oauth/personal-access-tokens', headers: { cookie: fixtures.session, 'x-csrf-token': fixtures.sessionCsrf, 'content-type': 'application/json' }, body: '{"name":"\\ud800"}' });
    });
  });
});
