// authorization_codes: issued codes by keyed hash, and whether (and into which family) they were redeemed.

import type { AuthorizationCodeIssued, AuthorizationCodeRedeemed } from '../src/events/types.js';
import type { RecordedEvent } from '../src/eventstore/port.js';
import { sql, type Projection, type SqlStatement } from './types.js';

export const codesProjection: Projection = {
  name: 'authorization_codes',
  tables: ['authorization_codes'],
  eventTypes: ['AuthorizationCodeIssued', 'AuthorizationCodeRedeemed'],
  handle(event: RecordedEvent): SqlStatement[] {
    const at = event.metadata.occurredAt;
    switch (event.type) {
      case 'AuthorizationCodeIssued': {
        const d = event.data as AuthorizationCodeIssued;
        return [
          sql(
            `INSERT INTO authorization_codes (grant_id, code_hash, client_id, subject, redirect_uri, scopes, code_challenge,
                                              code_challenge_method, resource, issued_at, expires_at, revision)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (grant_id) DO NOTHING`,
            d.grantId, d.codeHash, d.clientId, d.subject, d.redirectUri, d.scopes, d.codeChallenge,
            d.codeChallengeMethod, d.resource, at, d.expiresAt, event.revision,
          ),
        ];
      }
      case 'AuthorizationCodeRedeemed': {
        const d = event.data as AuthorizationCodeRedeemed;
        return [
          sql(
            `UPDATE authorization_codes SET redeemed = true, redeemed_at = $2, family_id = $3, revision = $4
              WHERE grant_id = $1 AND revision < $4`,
            d.grantId, at, d.familyId, event.revision,
          ),
        ];
      }
      default:
        return [];
    }
  },
};
