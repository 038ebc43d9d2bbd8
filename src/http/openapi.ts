// GET /openapi.json: an OpenAPI 3.1 description of every HTTP API, built from the same ajv schemas
// that validate the requests (src/http/schemas.ts, src/http/clients.ts), so the two cannot drift.

import type Router from '@koa/router';
import { PUSHED_PARAMETERS } from '../oauth/authorization-request.js';
import { createClientSchema, updateClientSchema } from './clients.js';
import type { RequestState } from './request-id.js';
import { deviceRequestSchema, tokenOperationSchema, tokenRequestSchema } from './schemas.js';

type Json = Record<string, unknown>;

const oauthError: Json = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'string' }, error_description: { type: 'string' } },
};

const errors = (...statuses: number[]): Json =>
  Object.fromEntries(statuses.map((status) => [String(status), { description: 'RFC 6749 §5.2 error', content: { 'application/json': { schema: { $ref: '#/components/schemas/OAuthError' } } } }]));

const json = (description: string, schema: Json = { type: 'object' }): Json => ({ description, content: { 'application/json': { schema } } });
const html = (description: string): Json => ({ description, content: { 'text/html': { schema: { type: 'string' } } } });
const form = (schema: object): Json => ({ required: true, content: { 'application/x-www-form-urlencoded': { schema } } });
const jsonBody = (schema: object): Json => ({ required: true, content: { 'application/json': { schema } } });
const path = (name: string, description: string): Json => ({ name, in: 'path', required: true, schema: { type: 'string' }, description });
const query = (name: string, description: string, schema: Json = { type: 'string' }): Json => ({ name, in: 'query', required: false, schema, description });
// client_secret_post (client_id + client_secret in the form) has no OpenAPI scheme: see the schemas.
const clientAuth = [{ clientSecretBasic: [] }, {}];
const admin = [{ bearer: ['warrant:admin'] }];
const auditor = [{ bearer: ['warrant:audit'] }];
const cursor = [query('after', 'position cursor from the previous page', { type: 'integer', minimum: 0 }), query('limit', 'page size', { type: 'integer', minimum: 1 })];

export function openApiDocument(issuer: string): Json {
  const paths: Record<string, Record<string, Json>> = {
    '/healthz': { get: { summary: 'Liveness, with database, event store and projection lag', responses: { 200: json('alive'), 503: json('database or event store unreachable') } } },
    '/readyz': { get: { summary: 'Readiness: reachable and projections caught up', responses: { 200: json('ready'), 503: json('not ready') } } },
    '/metrics': { get: { summary: 'Prometheus metrics (bearer token only when WARRANT_METRICS_TOKEN is set)', security: [{ metricsToken: [] }, {}], responses: { 200: { description: 'text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errors(401) } } },
    '/openapi.json': { get: { summary: 'This document', responses: { 200: json('OpenAPI 3.1') } } },
    '/.well-known/oauth-authorization-server': { get: { summary: 'RFC 8414 metadata', responses: { 200: json('metadata') } } },
    '/.well-known/openid-configuration': { get: { summary: 'OpenID Connect Discovery 1.0 metadata (the same document as RFC 8414)', responses: { 200: json('metadata') } } },
    '/oauth/userinfo': {
      get: { summary: 'OpenID Connect userinfo (OIDC Core §5.3): sub and the claims the token\'s scopes release', security: [{ bearer: ['openid'] }], responses: { 200: json('claims'), ...errors(401, 403, 503) } },
      post: { summary: 'OpenID Connect userinfo, by POST', security: [{ bearer: ['openid'] }], responses: { 200: json('claims'), ...errors(401, 403, 503) } },
    },
    '/oauth/end_session': {
      get: {
        summary: 'OpenID Connect RP-initiated logout',
        parameters: ['id_token_hint', 'client_id', 'post_logout_redirect_uri', 'state', 'ui_locales'].map((name) => query(name, name)),
        responses: { 200: html('confirmation, or signed out'), 302: { description: 'to the registered post_logout_redirect_uri, with state' }, 400: html('invalid hint or unregistered post_logout_redirect_uri') },
      },
      post: {
        summary: 'RP-initiated logout by POST, or the confirmation form',
        requestBody: form({ type: 'object', properties: { id_token_hint: { type: 'string' }, client_id: { type: 'string' }, post_logout_redirect_uri: { type: 'string' }, state: { type: 'string' }, csrf: { type: 'string' }, decision: { enum: ['logout', 'stay'] } } }),
        responses: { 200: html('signed out, or still signed in'), 302: { description: 'to the registered post_logout_redirect_uri' }, 400: html('invalid request'), 403: html('CSRF') },
      },
    },
    '/oauth/jwks': { get: { summary: 'Active and retiring public keys', responses: { 200: { description: 'JWK set', content: { 'application/jwk-set+json': { schema: { type: 'object' } } } } } } },
    '/oauth/token': {
      post: { summary: 'Token endpoint (RFC 6749 §3.2)', security: clientAuth, requestBody: form(tokenRequestSchema), responses: { 200: json('tokens'), ...errors(400, 401, 413, 429, 503) } },
    },
    '/oauth/revoke': { post: { summary: 'Revocation (RFC 7009)', security: clientAuth, requestBody: form(tokenOperationSchema), responses: { 200: { description: 'revoked, or unknown' }, ...errors(400, 401, 409, 413, 429, 503) } } },
    '/oauth/introspect': { post: { summary: 'Introspection (RFC 7662)', security: clientAuth, requestBody: form(tokenOperationSchema), responses: { 200: json('active or {"active": false}'), ...errors(400, 401, 413, 429, 503) } } },
    '/oauth/device/code': { post: { summary: 'Device authorization (RFC 8628 §3.1)', security: clientAuth, requestBody: form(deviceRequestSchema), responses: { 200: json('device and user codes'), ...errors(400, 401, 429, 503) } } },
    '/oauth/device': {
      get: { summary: 'Device verification page', parameters: [query('user_code', 'code shown on the device')], responses: { 200: html('enter the code'), 302: { description: 'to the login page' } } },
      post: { summary: 'Device verification: code, then approve or deny', requestBody: form({ type: 'object', properties: { user_code: { type: 'string' }, csrf: { type: 'string' }, decision: { enum: ['approve', 'deny'] } } }), responses: { 200: html('consent or result'), 400: html('unknown or expired code'), 403: html('CSRF') } },
    },
    '/oauth/authorize': {
      get: {
        summary: 'Authorization endpoint (RFC 6749 §4.1, RFC 7636)',
        parameters: [...['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method', 'resource', 'nonce', 'prompt', 'max_age', 'login_hint', 'ui_locales'].map((name) => query(name, name)), query('request_uri', 'a pushed request (RFC 9126 §4): with client_id, the whole request; other parameters are ignored')],
        responses: { 200: html('consent page'), 302: { description: 'to the login page, or back to the client with code or error' }, 400: html('error shown before the redirect URI is trusted, or invalid_request_uri') },
      },
      post: { summary: 'Consent decision', requestBody: form({ type: 'object', properties: { decision: { enum: ['approve', 'deny'] }, csrf: { type: 'string' } } }), responses: { 302: { description: 'back to the client' }, 403: html('CSRF') } },
    },
    '/oauth/par': {
      post: {
        summary: 'Pushed authorization request (RFC 9126): the authorization parameters, checked as /oauth/authorize would; client authentication as at the token endpoint',
        security: clientAuth,
        requestBody: form({ type: 'object', properties: Object.fromEntries([...PUSHED_PARAMETERS, 'login_hint', 'client_id', 'client_secret', 'client_assertion_type', 'client_assertion'].map((name) => [name, { type: 'string' }])) }),
        responses: { 201: json('request_uri (single use, for this client) and expires_in', { type: 'object', required: ['request_uri', 'expires_in'], properties: { request_uri: { type: 'string' }, expires_in: { type: 'integer' } } }), ...errors(400, 401, 413, 429, 503) },
      },
    },
    '/oauth/login': {
      get: { summary: 'Login page (or, when signed in, who is signed in and a sign-out button)', parameters: [query('return_to', 'where to go after signing in')], responses: { 200: html('login form, or the signed-in state') } },
      post: { summary: 'Sign in', requestBody: form({ type: 'object', properties: { username: { type: 'string' }, password: { type: 'string' }, csrf: { type: 'string' }, return_to: { type: 'string' } } }), responses: { 302: { description: 'signed in' }, 401: html('wrong username or password'), 403: html('CSRF') } },
    },
    '/oauth/logout': {
      post: { summary: 'Sign out (ends the session)', requestBody: form({ type: 'object', properties: { csrf: { type: 'string' }, return_to: { type: 'string' } } }), responses: { 302: { description: 'signed out; to return_to or the login page' }, 403: html('CSRF') } },
    },
    '/oauth/assets/style.css': { get: { summary: 'The pages’ stylesheet', responses: { 200: { description: 'CSS', content: { 'text/css': { schema: { type: 'string' } } } } } } },
    '/oauth/clients': {
      post: { summary: 'Register a client', security: admin, requestBody: jsonBody(createClientSchema), responses: { 201: json('the client, with its secret (once)'), ...errors(400, 401, 403) } },
      get: { summary: 'List clients', security: admin, parameters: [query('after', 'last client id of the previous page'), query('limit', 'page size', { type: 'integer' }), query('revoked', 'include revoked', { type: 'string', enum: ['true', 'false'] })], responses: { 200: json('clients'), ...errors(400, 401, 403) } },
    },
    '/oauth/clients/{id}': {
      get: { summary: 'Show a client', security: admin, parameters: [path('id', 'client id')], responses: { 200: json('client'), ...errors(401, 403, 404) } },
      patch: { summary: 'Update a client', security: admin, parameters: [path('id', 'client id')], requestBody: jsonBody(updateClientSchema), responses: { 200: json('client'), ...errors(400, 401, 403, 404) } },
      delete: { summary: 'Revoke a client (all its tokens stop working)', security: admin, parameters: [path('id', 'client id')], responses: { 200: json('client'), ...errors(401, 403, 404) } },
    },
    '/oauth/clients/{id}/secret': { post: { summary: 'Rotate a client secret', security: admin, parameters: [path('id', 'client id')], responses: { 200: json('the new secret (once)'), ...errors(401, 403, 404) } } },
    '/oauth/subjects/{sub}/revoke': { post: { summary: 'Revoke every token family of a user', security: admin, parameters: [path('sub', 'subject')], responses: { 200: json('count revoked'), ...errors(401, 403) } } },
    '/oauth/personal-access-tokens': {
      get: { summary: "The signed-in user's personal access tokens", responses: { 200: json('tokens and a CSRF token'), ...errors(401) } },
      post: { summary: 'Create a personal access token', requestBody: jsonBody({ type: 'object', required: ['name'], properties: { name: { type: 'string' }, scope: { type: 'string' } } }), responses: { 201: json('the token (once)'), ...errors(400, 401, 403) } },
    },
    '/oauth/personal-access-tokens/{id}': { delete: { summary: 'Revoke a personal access token', parameters: [path('id', 'token id')], responses: { 204: { description: 'revoked' }, ...errors(401, 403, 404) } } },
    '/audit/tokens/{id}': { get: { summary: "A token family's history (id: jti or family id)", security: auditor, parameters: [path('id', 'jti or family id')], responses: { 200: json('history, with client_name and username beside the ids'), ...errors(401, 403, 404) } } },
    '/audit/tokens/{id}/state': { get: { summary: 'State at an instant', security: auditor, parameters: [path('id', 'jti or family id'), { ...query('at', 'RFC 3339 instant', { type: 'string', format: 'date-time' }), required: true }], responses: { 200: json('state'), ...errors(400, 401, 403, 404) } } },
    '/audit/clients/{clientId}': { get: { summary: "A client's history and token families", security: auditor, parameters: [path('clientId', 'client id'), ...cursor], responses: { 200: json('history and families, with client_name and username beside the ids'), ...errors(400, 401, 403, 404) } } },
    '/audit/subjects/{sub}/tokens': { get: { summary: "A user's token families", security: auditor, parameters: [path('sub', 'subject'), ...cursor], responses: { 200: json('families, with client_name and username beside the ids'), ...errors(400, 401, 403) } } },
    '/audit/users': {
      get: {
        summary: 'A built-in user by username (usernames are kept out of events; search their tokens by user_id as subject)',
        security: auditor,
        parameters: [{ ...query('username', 'username'), required: true }],
        responses: { 200: json('the user', { type: 'object', required: ['user_id', 'username'], properties: { user_id: { type: 'string', format: 'uuid' }, username: { type: 'string' } } }), ...errors(400, 401, 403, 404) },
      },
    },
    '/oauth/register': {
      post: { summary: 'Dynamic client registration (RFC 7591), with an initial access token unless WARRANT_OPEN_REGISTRATION=true', security: [{ bearer: [] }, {}], requestBody: jsonBody(createClientSchema), responses: { 201: json('the client, its secret, registration_access_token and registration_client_uri'), ...errors(400, 401, 413, 503) } },
    },
    '/oauth/register/{id}': {
      get: { summary: 'Read a self-registered client (RFC 7592), with its registration access token', security: [{ bearer: [] }], parameters: [path('id', 'client id')], responses: { 200: json('client metadata'), ...errors(401, 503) } },
      put: { summary: 'Replace its metadata (RFC 7592); rotates the registration access token', security: [{ bearer: [] }], parameters: [path('id', 'client id')], requestBody: jsonBody(updateClientSchema), responses: { 200: json('client metadata and a new registration_access_token'), ...errors(400, 401, 413, 503) } },
      delete: { summary: 'Revoke it (RFC 7592): its tokens stop working at once', security: [{ bearer: [] }], parameters: [path('id', 'client id')], responses: { 204: { description: 'revoked' }, ...errors(401, 503) } },
    },
    '/audit/stream': {
      get: {
        summary: 'The event log, live, as server-sent events (id = position, event = type, data = the /audit/events JSON); resumes after Last-Event-ID or ?after',
        security: auditor,
        parameters: [
          query('after', 'position to resume after (0: the whole log; default: the head)', { type: 'integer', minimum: 0 }),
          query('type', 'event types, comma-separated'),
          query('client_id', 'only events of this client'),
          query('subject', 'only events of this subject'),
          { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string' }, description: 'what a reconnecting EventSource sends' },
        ],
        responses: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errors(400, 401, 403, 429, 503) },
      },
    },
    '/audit/events': {
      get: {
        summary: 'The event feed (NDJSON with Accept: application/x-ndjson)',
        security: auditor,
        parameters: [query('type', 'event type'), query('client_id', 'client id'), query('subject', 'subject'), query('since', 'RFC 3339', { type: 'string', format: 'date-time' }), query('until', 'RFC 3339', { type: 'string', format: 'date-time' }), ...cursor],
        responses: { 200: { description: 'a page, or an NDJSON stream', content: { 'application/json': { schema: { type: 'object' } }, 'application/x-ndjson': { schema: { type: 'string' } } } }, ...errors(400, 401, 403) },
      },
    },
    '/audit/streams/{stream}/verify': { get: { summary: 'Verify a stream’s hash chain', security: auditor, parameters: [path('stream', 'stream id')], responses: { 200: json('verdict'), ...errors(401, 403, 404) } } },
    '/audit/ui': { get: { summary: 'Timeline page', responses: { 200: html('self-contained page') } } },
  };
  return {
    openapi: '3.1.0',
    info: { title: 'Warrant', version: '0.1.0', description: 'Event-sourced OAuth 2 authorization server' },
    servers: [{ url: issuer }],
    paths,
    components: {
      schemas: { OAuthError: oauthError },
      securitySchemes: {
        clientSecretBasic: { type: 'http', scheme: 'basic', description: 'client_secret_basic (RFC 6749 §2.3.1)' },
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (RFC 9068)' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'the value of WARRANT_METRICS_TOKEN' },
      },
    },
  };
}

export function openApiEndpoint(router: Router<RequestState>, issuer: string): void {
  const document = openApiDocument(issuer);
  router.get('/openapi.json', (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = document;
  });
}
