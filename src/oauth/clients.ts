// Registering and managing clients, shared by the CLI and the admin API (/oauth/clients).

import { createPublicKey, randomUUID, type JsonWebKey } from 'node:crypto';
import { clientDecider, type ClientCommand, type ClientState } from '../domain/client.js';
import type { Decider } from '../domain/decider.js';
import { DomainError } from '../domain/errors.js';
import type { ClientAuthMethod, ClientChanges, ClientProfile, GrantType, PublicJwks } from '../events/types.js';
import { profileProblem } from './profiles.js';
import { EventSchemaError, warrantEvents } from '../events/catalogue.js';
import type { ClientRecord } from '../readmodels/clients.js';
import { handle } from './aggregate.js';
import type { Actor, WarrantContext } from './context.js';
import { InvalidClientMetadata, InvalidRedirectUri, NotFound, OAuthError } from './errors.js';
import { checkRedirectUris } from './redirect-uris.js';
import { randomSecret } from './secrets.js';
import { hasDisplayControls } from './text.js';

export interface NewClient {
  name: string;
  grantTypes: GrantType[];
  scopes: string[];
  redirectUris?: string[];
  /** Resources (RFC 8707) the client may ask tokens for besides the default audience. */
  resources?: string[];
  confidential?: boolean;
  firstParty?: boolean;
  accessTokenTtl?: number | null;
  refreshTokenTtl?: number | null;
  /**
   * Defaults to client_secret_basic (confidential) or none (public). `private_key_jwt` needs
   * `jwks` or `jwksUri` and gets no secret (RFC 7523 §2.2, OIDC Core §9).
   */
  tokenEndpointAuthMethod?: ClientAuthMethod;
  jwks?: PublicJwks | null;
  jwksUri?: string | null;
  /** Where RP-initiated logout may send people back to (same rules as redirect URIs). */
  postLogoutRedirectUris?: string[];
  /** RFC 9449 §5.2: token requests must carry a DPoP proof. */
  dpopBoundAccessTokens?: boolean;
  /** RFC 9126 §6: authorization requests only through PAR. */
  requirePushedAuthorizationRequests?: boolean;
  /** `fapi2`: held to the FAPI 2.0 Security Profile (src/oauth/profiles.ts). */
  profile?: ClientProfile | null;
}

export interface RegisteredClient {
  client: ClientRecord;
  /** Shown once; only its keyed hash is stored. Undefined for public clients. */
  clientSecret: string | undefined;
}

/** Client metadata the server will not register: RFC 7591 §3.2.2 invalid_client_metadata. */
export class ClientInputError extends InvalidClientMetadata {}

function mapDomainError(error: unknown): never {
  if (error instanceof DomainError) {
    if (error.code === 'client_not_found') throw new NotFound('no such client');
    if (error.code === 'client_privileged_user_grant') throw new ClientInputError(error.message);
    throw new OAuthError(409, 'invalid_request', error.message);
  }
  if (error instanceof EventSchemaError) {
    // The event schema is the client-metadata schema: say which field is wrong.
    const field = error.field.replace(/^\/(changes\/)?/, '') || 'client';
    if (field.startsWith('redirectUris') || field.startsWith('postLogoutRedirectUris')) throw new InvalidRedirectUri(`invalid redirect URIs: ${field} ${error.detail}`);
    throw new ClientInputError(`invalid client metadata: ${field} ${error.detail}`);
  }
  throw error;
}

/**
 * What the event schema cannot say about new metadata: the redirect URI rules (which depend on
 * the client being public, src/oauth/redirect-uris.ts) and a name with no terminal or bidi
 * controls, since people read it on the consent page and in `warrant client list`.
 */
function checkMetadata(command: ClientCommand, state: ClientState): void {
  const metadata = command.type === 'Register' ? command.client : command.type === 'Update' ? command.changes : undefined;
  const confidential = command.type === 'Register' ? command.client.confidential : state.client?.confidential;
  if (!metadata || confidential === undefined) return;
  if (metadata.name !== undefined && hasDisplayControls(metadata.name)) {
    throw new ClientInputError('client_name must not contain control characters or bidirectional text controls');
  }
  if (metadata.redirectUris !== undefined) checkRedirectUris(metadata.redirectUris, { confidential });
  if (metadata.postLogoutRedirectUris !== undefined) checkRedirectUris(metadata.postLogoutRedirectUris, { confidential });
  // private_key_jwt: exactly one source of keys, and keys only for that method.
  const method = command.type === 'Register' ? command.client.tokenEndpointAuthMethod : state.client?.tokenEndpointAuthMethod;
  const after = { jwks: state.client?.jwks ?? null, jwksUri: state.client?.jwksUri ?? null, ...metadata };
  const keyed = [after.jwks, after.jwksUri].filter((value) => value !== null && value !== undefined).length;
  if (method === 'private_key_jwt' && keyed !== 1) throw new ClientInputError('private_key_jwt needs the client\'s public keys: jwks or jwks_uri (one of them)');
  if (method !== 'private_key_jwt' && keyed > 0) throw new ClientInputError('jwks and jwks_uri are for token_endpoint_auth_method private_key_jwt');
  for (const [index, key] of (metadata.jwks?.keys ?? []).entries()) {
    try {
      createPublicKey({ key: key as JsonWebKey, format: 'jwk' });
    } catch (error) {
      throw new ClientInputError(`jwks.keys[${index}] is not a usable public key: ${(error as Error).message.slice(0, 100)}`);
    }
  }
  const problem = profileProblem({
    profile: metadata.profile !== undefined ? metadata.profile : state.client?.profile,
    tokenEndpointAuthMethod: method,
    accessTokenTtl: metadata.accessTokenTtl !== undefined ? metadata.accessTokenTtl : state.client?.accessTokenTtl,
  });
  if (problem) throw new ClientInputError(problem);
  if (typeof after.jwksUri === 'string') {
    const problem = jwksUriProblem(after.jwksUri);
    if (problem) throw new ClientInputError(`jwks_uri ${problem}`);
  }
}

/** Where keys may be fetched from: https, or http on the loopback interface (development). */
function jwksUriProblem(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'is not an absolute URL';
  }
  if (url.username || url.password || url.hash) return 'must not have userinfo or a fragment';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)) return undefined;
  return 'must be an https: URL (http: only on localhost)';
}

// The client decider, with the checks of ./redirect-uris.ts and display-safe names first.
const checkedClients: Decider<ClientState, ClientCommand> = {
  ...clientDecider,
  decide(command, state) {
    checkMetadata(command, state);
    return clientDecider.decide(command, state);
  },
};

async function execute(ctx: WarrantContext, clientId: string, command: ClientCommand, actor: Actor): Promise<void> {
  let handled;
  try {
    // A registration decides on a new stream: a lost race there is a real conflict, not a retry.
    handled = await handle(ctx, `client-${clientId}`, checkedClients, command, { actor, retries: command.type === 'Register' ? 0 : 5 });
  } catch (error) {
    mapDomainError(error);
  }
  if (handled.decision.error) mapDomainError(handled.decision.error);
}

async function reload(ctx: WarrantContext, clientId: string): Promise<ClientRecord> {
  const client = await ctx.read.clients.find(clientId);
  if (!client) throw new NotFound('no such client');
  return client;
}

/** The Register command for new metadata, with the secret it will get (shown once). */
function registration(ctx: WarrantContext, input: NewClient, clientId: string): { command: ClientCommand; clientSecret: string | undefined } {
  const method = input.tokenEndpointAuthMethod ?? ((input.confidential ?? true) ? 'client_secret_basic' : 'none');
  const confidential = method !== 'none';
  if (input.confidential !== undefined && input.confidential !== confidential) throw new ClientInputError(`token_endpoint_auth_method ${method} is for ${confidential ? 'confidential' : 'public'} clients`);
  // A client that signs its assertions has no shared secret at all.
  const clientSecret = confidential && method !== 'private_key_jwt' ? randomSecret() : undefined;
  const command: ClientCommand = {
    type: 'Register',
    client: {
      clientId,
      name: input.name,
      confidential,
      secretHash: clientSecret ? ctx.hasher.hash(clientSecret) : null,
      grantTypes: input.grantTypes,
      scopes: input.scopes,
      redirectUris: input.redirectUris ?? [],
      resources: input.resources ?? [],
      firstParty: input.firstParty ?? false,
      accessTokenTtl: input.accessTokenTtl ?? null,
      refreshTokenTtl: input.refreshTokenTtl ?? null,
      tokenEndpointAuthMethod: method,
      ...(input.jwks ? { jwks: input.jwks } : {}),
      ...(input.jwksUri ? { jwksUri: input.jwksUri } : {}),
      postLogoutRedirectUris: input.postLogoutRedirectUris ?? [],
      dpopBoundAccessTokens: input.dpopBoundAccessTokens ?? false,
      requirePushedAuthorizationRequests: input.requirePushedAuthorizationRequests ?? false,
      profile: input.profile ?? null,
    },
  };
  return { command, clientSecret };
}

/**
 * Checks new metadata as registration would, without registering (the registration endpoint
 * spends an initial access token only on metadata that will be accepted).
 */
export function checkNewClient(ctx: WarrantContext, input: NewClient): void {
  const { command } = registration(ctx, input, randomUUID());
  try {
    const decision = checkedClients.decide(command, clientDecider.initialState);
    if (decision.error) mapDomainError(decision.error);
    for (const event of decision.events) warrantEvents.validate(event.type, event.data);
  } catch (error) {
    mapDomainError(error);
  }
}

export async function registerClient(ctx: WarrantContext, input: NewClient, actor: Actor, options: { clientId?: string } = {}): Promise<RegisteredClient> {
  const clientId = options.clientId ?? randomUUID();
  const { command, clientSecret } = registration(ctx, input, clientId);
  await execute(ctx, clientId, command, actor);
  return { client: await reload(ctx, clientId), clientSecret };
}

export async function updateClient(ctx: WarrantContext, clientId: string, changes: ClientChanges, actor: Actor): Promise<ClientRecord> {
  await execute(ctx, clientId, { type: 'Update', clientId, changes }, actor);
  return reload(ctx, clientId);
}

export async function rotateClientSecret(ctx: WarrantContext, clientId: string, actor: Actor): Promise<RegisteredClient> {
  const clientSecret = randomSecret();
  await execute(ctx, clientId, { type: 'RotateSecret', clientId, secretHash: ctx.hasher.hash(clientSecret) }, actor);
  return { client: await reload(ctx, clientId), clientSecret };
}

/** Revoking a client invalidates all its tokens at once: validation joins the client's row. */
export async function revokeClient(ctx: WarrantContext, clientId: string, actor: Actor): Promise<ClientRecord> {
  await execute(ctx, clientId, { type: 'Revoke', clientId }, actor);
  return reload(ctx, clientId);
}
