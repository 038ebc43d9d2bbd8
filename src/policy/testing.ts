// Passport's actingAs for Warrant: mint real tokens for a host app's own tests. They go through
// the event store and read models like any other token, so the policy accepts them — and
// revoking them works too. A dedicated first-party "testing" client owns user tokens.

import { randomUUID } from 'node:crypto';
import type { ClientRecord } from '../readmodels/clients.js';
import { registerClient } from '../oauth/clients.js';
import type { WarrantContext } from '../oauth/context.js';
import { issueTokens } from '../oauth/issue.js';

export interface ActingAsOptions {
  subject: string;
  scopes?: string[];
  /** The client the token is issued to (default: a first-party client created for testing). */
  clientId?: string;
  audience?: string;
}

export interface ActingAsClientOptions {
  /** An existing client; default: a new confidential client with these scopes. */
  clientId?: string;
  scopes?: string[];
  audience?: string;
}

export interface TestToken {
  accessToken: string;
  /** Ready for an Authorization header. */
  authorization: string;
  clientId: string;
  familyId: string;
}

const testingClients = new WeakMap<WarrantContext, Promise<ClientRecord>>();

async function clientFor(ctx: WarrantContext, clientId: string | undefined, scopes: string[], grant: 'personal_access' | 'client_credentials'): Promise<ClientRecord> {
  if (clientId) {
    const found = await ctx.read.clients.find(clientId);
    if (!found) throw new Error(`actingAs: no client ${clientId}`);
    return found;
  }
  if (grant === 'client_credentials') {
    return (await registerClient(ctx, { name: `Testing client ${randomUUID().slice(0, 8)}`, grantTypes: ['client_credentials'], scopes }, { actor: 'system:testing' })).client;
  }
  let shared = testingClients.get(ctx);
  if (!shared) {
    shared = registerClient(ctx, { name: 'Testing (actingAs)', grantTypes: ['personal_access'], scopes: [], firstParty: true }, { actor: 'system:testing' }).then((r) => r.client);
    testingClients.set(ctx, shared);
  }
  return shared;
}

/** A real token through the real issuance path: an event, read models, a signed JWT. */
async function mint(ctx: WarrantContext, client: ClientRecord, grant: { subject: string; grantType: 'personal_access' | 'client_credentials'; name?: string }, scopes: string[], audience: string | undefined): Promise<TestToken> {
  const issued = await issueTokens(ctx, {
    client,
    ...grant,
    scopes,
    audience: [audience ?? ctx.config.audience],
    withRefresh: false,
    actor: { actor: 'system:testing' },
  });
  return { accessToken: issued.access_token, authorization: `Bearer ${issued.access_token}`, clientId: client.clientId, familyId: issued.familyId };
}

export async function actingAs(ctx: WarrantContext, options: ActingAsOptions): Promise<TestToken> {
  const scopes = options.scopes ?? [];
  const client = await clientFor(ctx, options.clientId, scopes, 'personal_access');
  return mint(ctx, client, { subject: options.subject, grantType: 'personal_access', name: 'actingAs' }, scopes, options.audience);
}

export async function actingAsClient(ctx: WarrantContext, options: ActingAsClientOptions = {}): Promise<TestToken> {
  const scopes = options.scopes ?? [];
  const client = await clientFor(ctx, options.clientId, scopes, 'client_credentials');
  return mint(ctx, client, { subject: client.clientId, grantType: 'client_credentials' }, scopes, options.audience);
}
