// Reads of the `clients` read model (written by projections/clients.ts): one indexed query each.

import type pg from 'pg';
import type { ClientAuthMethod, ClientProfile, ClientRegistered, GrantType, PublicJwks } from '../events/types.js';

/** A client as the read model holds it: its registration as amended, plus status and times. */
export interface ClientRecord extends ClientRegistered {
  resources: string[];
  /** As registered, or derived for clients from before it was recorded. */
  tokenEndpointAuthMethod: ClientAuthMethod;
  jwks: PublicJwks | null;
  jwksUri: string | null;
  postLogoutRedirectUris: string[];
  dpopBoundAccessTokens: boolean;
  requirePushedAuthorizationRequests: boolean;
  profile: ClientProfile | null;
  revoked: boolean;
  createdAt: string;
  updatedAt: string;
}

interface ClientRow {
  client_id: string;
  name: string;
  confidential: boolean;
  secret_hash: string | null;
  grant_types: GrantType[];
  scopes: string[];
  redirect_uris: string[];
  resources: string[];
  first_party: boolean;
  access_token_ttl: number | null;
  refresh_token_ttl: number | null;
  token_endpoint_auth_method: ClientAuthMethod | null;
  jwks: PublicJwks | null;
  jwks_uri: string | null;
  post_logout_redirect_uris: string[];
  dpop_bound_access_tokens: boolean;
  require_pushed_authorization_requests: boolean;
  profile: ClientProfile | null;
  revoked: boolean;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `client_id, name, confidential, secret_hash, grant_types, scopes, redirect_uris, resources, first_party,
  access_token_ttl, refresh_token_ttl, token_endpoint_auth_method, jwks, jwks_uri, post_logout_redirect_uris,
  dpop_bound_access_tokens, require_pushed_authorization_requests, profile, revoked, created_at, updated_at`;

import { isUuid } from '../oauth/text.js';

function toRecord(row: ClientRow): ClientRecord {
  return {
    clientId: row.client_id,
    name: row.name,
    confidential: row.confidential,
    secretHash: row.secret_hash,
    grantTypes: row.grant_types,
    scopes: row.scopes,
    redirectUris: row.redirect_uris,
    resources: row.resources,
    firstParty: row.first_party,
    accessTokenTtl: row.access_token_ttl,
    refreshTokenTtl: row.refresh_token_ttl,
    tokenEndpointAuthMethod: row.token_endpoint_auth_method ?? (row.confidential ? 'client_secret_basic' : 'none'),
    jwks: row.jwks,
    jwksUri: row.jwks_uri,
    postLogoutRedirectUris: row.post_logout_redirect_uris,
    dpopBoundAccessTokens: row.dpop_bound_access_tokens,
    requirePushedAuthorizationRequests: row.require_pushed_authorization_requests,
    profile: row.profile,
    revoked: row.revoked,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export class ClientQueries {
  constructor(private readonly pool: pg.Pool) {}

  async find(clientId: string): Promise<ClientRecord | undefined> {
    if (!isUuid(clientId)) return undefined;
    const { rows } = await this.pool.query<ClientRow>(`SELECT ${COLUMNS} FROM clients WHERE client_id = $1`, [clientId]);
    return rows[0] && toRecord(rows[0]);
  }

  /** Keyset pagination by client id: `after` is the last id of the previous page. */
  async list(options: { after?: string; limit: number; includeRevoked?: boolean }): Promise<ClientRecord[]> {
    const { rows } = await this.pool.query<ClientRow>(
      `SELECT ${COLUMNS} FROM clients
        WHERE ($1::uuid IS NULL OR client_id > $1::uuid) AND ($2 OR NOT revoked)
        ORDER BY client_id LIMIT $3`,
      [options.after ?? null, options.includeRevoked ?? false, options.limit],
    );
    return rows.map(toRecord);
  }

  /** The personal access client (first party, grant personal_access), the oldest if several. */
  async personalAccessClientId(): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ client_id: string }>(
      "SELECT client_id FROM clients WHERE name = 'Personal Access Client' AND first_party AND NOT revoked AND 'personal_access' = ANY(grant_types) ORDER BY created_at LIMIT 1",
    );
    return rows[0]?.client_id;
  }

  /** The longest access-token lifetime any client has (keys retire after it). */
  async longestAccessTokenTtl(): Promise<number | null> {
    const { rows } = await this.pool.query<{ ttl: number | null }>('SELECT max(access_token_ttl) AS ttl FROM clients');
    return rows[0]?.ttl ?? null;
  }
}

/** The public view of a client: never its secret hash. */
export function clientView(client: ClientRecord): Record<string, unknown> {
  return {
    client_id: client.clientId,
    client_name: client.name,
    confidential: client.confidential,
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    grant_types: client.grantTypes,
    response_types: client.grantTypes.includes('authorization_code') ? ['code'] : [],
    scope: client.scopes.join(' '),
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    ...(client.jwks ? { jwks: client.jwks } : {}),
    ...(client.jwksUri ? { jwks_uri: client.jwksUri } : {}),
    dpop_bound_access_tokens: client.dpopBoundAccessTokens,
    require_pushed_authorization_requests: client.requirePushedAuthorizationRequests,
    warrant_profile: client.profile,
    resources: client.resources,
    first_party: client.firstParty,
    access_token_ttl: client.accessTokenTtl,
    refresh_token_ttl: client.refreshTokenTtl,
    revoked: client.revoked,
    created_at: client.createdAt,
    updated_at: client.updatedAt,
  };
}
