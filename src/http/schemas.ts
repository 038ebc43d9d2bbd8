// Request schemas (ajv), checked before any logic runs. Unknown parameters are allowed and
// ignored (RFC 6749 §3.1); known ones must have the right shape.

import { Ajv, type ValidateFunction } from 'ajv';
import type { Params } from '../oauth/params.js';
import { InvalidRequest } from '../oauth/errors.js';

const ajv = new Ajv({ allErrors: false, strict: true });

const short = { type: 'string', maxLength: 512 } as const;
const clientAuth = {
  client_id: { type: 'string', maxLength: 100 },
  client_secret: { type: 'string', maxLength: 200 },
} as const;

export const tokenRequestSchema = {
  type: 'object',
  required: ['grant_type'],
  properties: {
    grant_type: { type: 'string', maxLength: 100 },
    scope: { type: 'string', maxLength: 2000 },
    resource: { type: 'string', maxLength: 2000 },
    refresh_token: short,
    code: short,
    redirect_uri: { type: 'string', maxLength: 2000 },
    code_verifier: { type: 'string', maxLength: 200 },
    username: { type: 'string', maxLength: 200 },
    device_code: short,
    password: { type: 'string', maxLength: 1024 },
    // RFC 8693 token exchange.
    subject_token: { type: 'string', maxLength: 8192 },
    subject_token_type: { type: 'string', maxLength: 200 },
    actor_token: { type: 'string', maxLength: 8192 },
    actor_token_type: { type: 'string', maxLength: 200 },
    requested_token_type: { type: 'string', maxLength: 200 },
    audience: { type: 'string', maxLength: 2000 },
    ...clientAuth,
  },
  allOf: [
    { if: { properties: { grant_type: { const: 'urn:ietf:params:oauth:grant-type:device_code' } }, required: ['grant_type'] }, then: { properties: { device_code: short }, required: ['device_code'] } },
    { if: { properties: { grant_type: { const: 'password' } }, required: ['grant_type'] }, then: { properties: { username: short, password: short }, required: ['username', 'password'] } },
    { if: { properties: { grant_type: { const: 'authorization_code' } }, required: ['grant_type'] }, then: { properties: { code: short }, required: ['code'] } },
    { if: { properties: { grant_type: { const: 'refresh_token' } }, required: ['grant_type'] }, then: { properties: { refresh_token: short }, required: ['refresh_token'] } },
    { if: { properties: { grant_type: { const: 'urn:ietf:params:oauth:grant-type:token-exchange' } }, required: ['grant_type'] }, then: { properties: { subject_token: { type: 'string' }, subject_token_type: { type: 'string' } }, required: ['subject_token', 'subject_token_type'] } },
  ],
} as const;

export const tokenOperationSchema = {
  type: 'object',
  required: ['token'],
  properties: {
    token: { type: 'string', maxLength: 8192 },
    token_type_hint: { type: 'string', maxLength: 100 },
    ...clientAuth,
  },
} as const;

export const deviceRequestSchema = {
  type: 'object',
  properties: { scope: { type: 'string', maxLength: 2000 }, ...clientAuth },
} as const;

const scopeToken = { type: 'string', pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$', maxLength: 128 } as const; // RFC 6749 §3.3

/** POST /oauth/personal-access-tokens (JSON): unknown fields are refused, not ignored. */
export const personalTokenSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    scope: { type: 'string', maxLength: 2000, pattern: '^[\\x20\\x21\\x23-\\x5B\\x5D-\\x7E]*$' },
    scopes: { type: 'array', items: scopeToken, uniqueItems: true, maxItems: 200 },
  },
  not: { required: ['scope', 'scopes'], properties: { scope: true, scopes: true } },
} as const;

export interface PersonalTokenRequest {
  name: string;
  scope?: string;
  scopes?: string[];
}

// Compiled once, when the module loads (never on a request).
const compiled = new Map<object, ValidateFunction>([tokenRequestSchema, tokenOperationSchema, deviceRequestSchema, personalTokenSchema].map((schema) => [schema, ajv.compile(schema)]));

/** Validates a JSON body against one of the schemas above; the error names the field, then says what to send. */
export function checkJson<T>(schema: object, value: unknown, shape: string): T {
  const validate = compiled.get(schema);
  if (!validate) throw new Error('checkJson() needs a schema compiled in src/http/schemas.ts');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidRequest(`the body must be a JSON object; ${shape}`);
  if (validate(value)) return value as T;
  const [error] = validate.errors ?? [];
  const field = (error?.instancePath ?? '').slice(1).replace(/\//g, '.');
  const problem =
    error?.keyword === 'additionalProperties' ? `unknown field ${JSON.stringify(String(error.params['additionalProperty']))}`
    : error?.keyword === 'required' ? `missing field ${JSON.stringify(String(error.params['missingProperty']))}`
    : error?.keyword === 'not' ? 'scope and scopes together'
    : error?.keyword === 'pattern' ? `${field} is not a valid scope (RFC 6749 §3.3)`
    : `${field || 'the body'} ${error?.message ?? 'is invalid'}`;
  throw new InvalidRequest(`${problem}; ${shape}`);
}

/** Validates form parameters against one of the schemas above; the error names the parameter. */
export function check(schema: object, params: Params): Record<string, string> {
  const validate = compiled.get(schema);
  if (!validate) throw new Error('check() needs a schema compiled in src/http/schemas.ts');
  const value = Object.fromEntries(params);
  if (validate(value)) return value;
  const [error] = validate.errors ?? [];
  const name = error?.keyword === 'required' ? String(error.params['missingProperty']) : (error?.instancePath ?? '').slice(1);
  if (error?.keyword === 'required') throw new InvalidRequest(`missing required parameter ${name}`);
  throw new InvalidRequest(`parameter ${name} ${error?.message ?? 'is invalid'}`);
}
