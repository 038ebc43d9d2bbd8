// Issuing an authorization code (RFC 6749 §4.1.2) once the person consented: a new grant stream
// `grant-<grantId>`, the code itself shown once and stored only as a keyed hash. Redeeming it is
// the token endpoint's (./grants/authorization-code.ts). A pushed request's code takes the
// request's id as its grant id (./par.ts).

import { randomUUID } from 'node:crypto';
import { grantDecider } from '../domain/grant.js';
import type { ClientRecord } from '../readmodels/clients.js';
import { handle } from './aggregate.js';
import type { Actor, WarrantContext } from './context.js';
import { randomSecret } from './secrets.js';

export async function issueCode(
  ctx: WarrantContext,
  input: { client: ClientRecord; subject: string; redirectUri: string; scopes: string[]; codeChallenge: string | null; codeChallengeMethod: 'S256' | null; resource: string | null; sessionId: string | null; nonce?: string | null; authTime?: Date | null; grantId?: string; actor: Actor },
): Promise<string> {
  const code = randomSecret();
  const grantId = input.grantId ?? randomUUID();
  const handled = await handle(ctx, `grant-${grantId}`, grantDecider, {
    type: 'IssueCode',
    code: {
      grantId,
      clientId: input.client.clientId,
      subject: input.subject,
      codeHash: ctx.hasher.hash(code),
      redirectUri: input.redirectUri,
      scopes: input.scopes,
      codeChallenge: input.codeChallenge,
      codeChallengeMethod: input.codeChallengeMethod,
      resource: input.resource,
      expiresAt: new Date(ctx.clock().getTime() + ctx.config.authorizationCodeTtl * 1000).toISOString(),
      sessionId: input.sessionId,
      nonce: input.nonce ?? null,
      authTime: input.authTime ? input.authTime.toISOString() : null,
    },
  }, { actor: input.actor, fresh: true });
  if (handled.decision.error) throw handled.decision.error;
  return code;
}
