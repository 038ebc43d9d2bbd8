// Pushed authorization requests (RFC 9126), stream `par-<requestId>` (src/domain/par.ts):
//   §2.1 a client pushes its authorization parameters, checked as the authorization endpoint would
//   §2.2 it gets request_uri = urn:ietf:params:oauth:request_uri:<requestId>.<secret>, for 60 s
//   §4   the authorization endpoint finds the request by that URI (secret in constant time, the
//        same client, unexpired, unused) and uses it once, when the authorization request ends.
// Only the keyed hash of the secret is stored. A code issued for a pushed request takes the
// request's id as its grant id (one request, one code), so `grant-<id>` and `par-<id>` go together.

import { randomUUID } from 'node:crypto';
import { parDecider, unusable, type ParState } from '../domain/par.js';
import { isWrongExpectedRevision } from '../eventstore/port.js';
import type { ClientRecord } from '../readmodels/clients.js';
import { load, handle } from './aggregate.js';
import { PUSHED_PARAMETERS, UntrustedRequestError, validateAuthorizationRequest } from './authorization-request.js';
import type { Actor, WarrantContext } from './context.js';
import { InvalidRequest, OAuthError } from './errors.js';
import type { Params } from './params.js';
import { randomSecret } from './secrets.js';

/** Seconds a pushed request can be used (RFC 9126 §2.2: short; the authorization request follows at once). */
export const PAR_LIFETIME = 60;
const PREFIX = 'urn:ietf:params:oauth:request_uri:';
const REQUEST_URI = /^urn:ietf:params:oauth:request_uri:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;
/** The longest parameter value an AuthorizationRequestPushed event holds. */
const MAX_VALUE = 4000;

/** §2.1–2.2: validates and stores the request; the answer is the 201 body. */
export async function pushAuthorizationRequest(ctx: WarrantContext, input: { client: ClientRecord; params: Params; actor: Actor }): Promise<{ request_uri: string; expires_in: number }> {
  const { client, params } = input;
  if (params.has('request_uri')) throw new InvalidRequest('request_uri cannot be pushed (RFC 9126 §2.1)');
  let validated;
  try {
    validated = await validateAuthorizationRequest(ctx, Object.fromEntries(params), client);
  } catch (error) {
    // §2.3: what the authorization endpoint would only show on a page (a bad redirect URI) is invalid_request here.
    if (error instanceof UntrustedRequestError) throw new InvalidRequest(error.message.replace(/\.$/, ''));
    throw error;
  }
  if (validated.error) throw new OAuthError(400, validated.error.error, validated.error.description);
  const kept: Record<string, string> = {};
  for (const name of PUSHED_PARAMETERS) {
    const value = params.get(name);
    if (value === undefined) continue;
    if (value.length > MAX_VALUE) throw new InvalidRequest(`parameter ${name} is too long`);
    kept[name] = value;
  }
  const requestId = randomUUID();
  const secret = randomSecret();
  const handled = await handle(ctx, `par-${requestId}`, parDecider, {
    type: 'Push',
    request: {
      requestId,
      clientId: client.clientId,
      uriHash: ctx.hasher.hash(secret),
      params: kept,
      expiresAt: new Date(ctx.clock().getTime() + PAR_LIFETIME * 1000).toISOString(),
    },
  }, { actor: input.actor, fresh: true });
  if (handled.decision.error) throw handled.decision.error;
  return { request_uri: `${PREFIX}${requestId}.${secret}`, expires_in: PAR_LIFETIME };
}

export interface PushedRequest {
  requestId: string;
  clientId: string;
  /** The pushed authorization parameters (client_id is the client's). */
  params: Record<string, string>;
  /** The stream as found: using the request appends at this revision. */
  loaded: { state: ParState; revision: number };
}

/**
 * The pushed request `requestUri` names, if `clientId` may use it now; otherwise why not (for the
 * log: the caller answers invalid_request_uri whatever the reason).
 */
export async function findPushedRequest(ctx: WarrantContext, clientId: string, requestUri: string): Promise<{ pushed: PushedRequest } | { refused: string }> {
  const match = REQUEST_URI.exec(requestUri);
  if (!match) return { refused: 'malformed request_uri' };
  const [, requestId, secret] = match as unknown as [string, string, string];
  const loaded = await load(ctx, `par-${requestId}`, parDecider);
  // Compared whether or not the request exists, so probing learns nothing from the time taken.
  const genuine = ctx.hasher.matches(secret, loaded.state.pushed?.uriHash);
  if (!genuine) return { refused: 'unknown request_uri (or a wrong secret)' };
  const why = unusable(loaded.state, clientId, ctx.clock());
  if (why) return { refused: why.message };
  return { pushed: { requestId, clientId, params: loaded.state.pushed!.params, loaded: { state: loaded.state, revision: loaded.revision } } };
}

/** Uses the request (once, at the revision it was found at): false if it was used meanwhile, or has expired. */
export async function usePushedRequest(ctx: WarrantContext, pushed: PushedRequest, actor: Actor): Promise<boolean> {
  try {
    const { decision } = await handle(ctx, `par-${pushed.requestId}`, parDecider, { type: 'Use', clientId: pushed.clientId, now: ctx.clock() }, { actor, loaded: pushed.loaded });
    return !decision.error;
  } catch (error) {
    if (isWrongExpectedRevision(error)) return false;
    throw error;
  }
}
