// consents: what each person allowed each client — scopes and audiences, merged over decisions;
// forgotten when revoked (a later request asks again).

import type { ConsentGranted, ConsentRevoked } from '../src/events/types.js';
import type { RecordedEvent } from '../src/eventstore/port.js';
import { sql, type Projection, type SqlStatement } from './types.js';

export const consentsProjection: Projection = {
  name: 'consents',
  tables: ['consents'],
  eventTypes: ['ConsentGranted', 'ConsentRevoked'],
  handle(event: RecordedEvent): SqlStatement[] {
    const at = event.metadata.occurredAt;
    switch (event.type) {
      case 'ConsentGranted': {
        const d = event.data as ConsentGranted;
        return [
          sql(
            `INSERT INTO consents (subject, client_id, scopes, audience, granted_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (subject, client_id) DO UPDATE SET
               scopes = ARRAY(SELECT DISTINCT unnest(consents.scopes || EXCLUDED.scopes) ORDER BY 1),
               audience = ARRAY(SELECT DISTINCT unnest(consents.audience || EXCLUDED.audience) ORDER BY 1),
               granted_at = EXCLUDED.granted_at`,
            d.subject, d.clientId, [...d.scopes].sort(), [...d.audience].sort(), at,
          ),
        ];
      }
      case 'ConsentRevoked': {
        const d = event.data as ConsentRevoked;
        return [sql('DELETE FROM consents WHERE subject = $1 AND client_id = $2', d.subject, d.clientId)];
      }
      default:
        return [];
    }
  },
};
