// Personal access tokens (Passport parity): named, long-lived access tokens a signed-in user
// creates for themselves. They belong to a first-party "Personal Access Client" created on first
// use, are `personal_access` token families (so they appear in the audit history and can be
// revoked like any other), and have no refresh token.

import type { ClientRecord } from '../../readmodels/clients.js';
import type { PersonalTokenRow } from '../../readmodels/tokens.js';
import { registerClient } from '../clients.js';
import type { Actor, WarrantContext } from '../context.js';
import { InvalidRequest, InvalidScope, NotFound } from '../errors.js';
import { issueTokens } from '../issue.js';
import { revokeFamily } from '../revocation.js';
import { BUILT_IN_SCOPES, parseScope, refusePrivileged } from '../scopes.js';

const clients = new WeakMap<WarrantContext, Promise<ClientRecord>>();

/** The first-party client that owns personal access tokens (one per database). */
export async function personalAccessClient(ctx: WarrantContext): Promise<ClientRecord> {
  let client = clients.get(ctx);
  if (!client) {
    client = (async () => {
      const id = await ctx.read.clients.personalAccessClientId();
      const existing = id && (await ctx.read.clients.find(id));
      if (existing) return existing;
      return (await registerClient(ctx, { name: 'Personal Access Client', grantTypes: ['personal_access'], scopes: [], firstParty: true }, { actor: 'system' })).client;
    })();
    client.catch(() => clients.delete(ctx));
    clients.set(ctx, client);
  }
  return client;
}

export interface PersonalToken {
  id: string;
  name: string;
  scopes: string[];
  created_at: string;
  expires_at: string;
  revoked: boolean;
}

const view = (row: PersonalTokenRow): PersonalToken => ({ id: row.id, name: row.name, scopes: row.scopes, created_at: row.createdAt.toISOString(), expires_at: row.expiresAt.toISOString(), revoked: row.revoked });

export async function createPersonalToken(ctx: WarrantContext, input: { subject: string; name: string; scopes: readonly string[]; actor: Actor }): Promise<PersonalToken & { access_token: string }> {
  const name = input.name.trim();
  if (name.length === 0 || name.length > 200) throw new InvalidRequest('name: 1 to 200 characters');
  // The same rules as everywhere a scope is named (RFC 6749 §3.3 tokens), then: configured ones only.
  if (input.scopes.some((scope) => scope.includes(' '))) throw new InvalidScope('a scope cannot contain a space');
  const scopes = parseScope(input.scopes.join(' ')) ?? [];
  const known = new Set([...Object.keys(ctx.config.scopes), ...(ctx.config.adminSubjects.includes(input.subject) ? Object.keys(BUILT_IN_SCOPES) : [])]);
  const unknown = scopes.filter((scope) => !known.has(scope));
  if (unknown.length > 0) throw new InvalidScope(`unknown scope: ${unknown.join(' ')} (configure it in WARRANT_SCOPES)`);
  // Listing warrant:admin in WARRANT_SCOPES (for a description) does not open it to users.
  refusePrivileged(ctx.config, scopes, { grantType: 'personal_access', subject: input.subject });
  const client = await personalAccessClient(ctx);
  const issued = await issueTokens(ctx, {
    client,
    subject: input.subject,
    grantType: 'personal_access',
    scopes,
    audience: [ctx.config.audience],
    withRefresh: false,
    name,
    accessTokenTtl: ctx.config.personalAccessTokenTtl,
    actor: input.actor,
  });
  const now = ctx.clock();
  return {
    id: issued.familyId,
    name,
    scopes,
    created_at: now.toISOString(),
    expires_at: new Date(now.getTime() + ctx.config.personalAccessTokenTtl * 1000).toISOString(),
    revoked: false,
    access_token: issued.access_token,
  };
}

export async function listPersonalTokens(ctx: Pick<WarrantContext, 'read'>, subject: string): Promise<PersonalToken[]> {
  return (await ctx.read.tokens.personal({ subject })).map(view);
}

/** Every user's personal access tokens, or one user's (the CLI's `token list`), with usernames. */
export async function listAllPersonalTokens(ctx: Pick<WarrantContext, 'read'>, options: { subject?: string } = {}): Promise<(PersonalToken & { subject: string; username: string | null })[]> {
  return (await ctx.read.tokens.personal(options)).map((row) => ({ ...view(row), subject: row.subject, username: row.username }));
}

export async function revokePersonalToken(ctx: WarrantContext, subject: string, id: string, actor: Actor): Promise<void> {
  const mine = (await listPersonalTokens(ctx, subject)).find((t) => t.id === id);
  if (!mine) throw new NotFound('no such personal access token');
  await revokeFamily(ctx, id, 'revoked_by_client', actor);
}
