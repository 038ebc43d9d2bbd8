// Client lookups in the `clients` read model (one indexed query each).

import type pg from 'pg';
import type { ClientRegistered, GrantType } from '../events/types.js';

/** A client as the read model holds it: its registration as amended, plus status and times. */
export interface ClientRecord extends ClientRegistered {
  resources: string[];
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
  revoked: boolean;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `client_id, name, confidential, secret_hash, grant_types, scopes, redirect_uris, resources, first_party,
  access_token_ttl, refresh_token_ttl, revoked, created_at, updated_at`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

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
    revoked: row.revoked,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export async function findClient(pool: pg.Pool, clientId: string): Promise<ClientRecord | undefined> {
  if (!isUuid(clientId)) return undefined;
  const { rows } = await pool.query<ClientRow>(`SELECT ${COLUMNS} FROM clients WHERE client_id = $1`, [clientId]);
  return rows[0] && toRecord(rows[0]);
}

/** Keyset pagination by client id: `after` is the last id of the previous page. */
export async function listClients(pool: pg.Pool, options: { after?: string; limit: number; includeRevoked?: boolean }): Promise<ClientRecord[]> {
  const { rows } = await pool.query<ClientRow>(
    `SELECT ${COLUMNS} FROM clients
      WHERE ($1::uuid IS NULL OR client_id > $1::uuid) AND ($2 OR NOT revoked)
      ORDER BY client_id LIMIT $3`,
    [options.after ?? null, options.includeRevoked ?? false, options.limit],
  );
  return rows.map(toRecord);
}

/** The public view of a client: never its secret hash. */
export function clientView(client: ClientRecord): Record<string, unknown> {
  return {
    client_id: client.clientId,
    client_name: client.name,
    confidential: client.confidential,
    token_endpoint_auth_method: client.confidential ? 'client_secret_basic' : 'none',
    grant_types: client.grantTypes,
    scope: client.scopes.join(' '),
    redirect_uris: client.redirectUris,
    resources: client.resources,
    first_party: client.firstParty,
    access_token_ttl: client.accessTokenTtl,
    refresh_token_ttl: client.refreshTokenTtl,
    revoked: client.revoked,
    created_at: client.createdAt,
    updated_at: client.updatedAt,
  };
}
