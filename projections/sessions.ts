// sessions: the built-in login page's sign-in sessions, by id; the cookie's secret only as a keyed hash.

import type { SessionEnded, SessionStarted } from '../src/events/types.js';
import type { RecordedEvent } from '../src/eventstore/port.js';
import { sql, type Projection, type SqlStatement } from './types.js';

export const sessionsProjection: Projection = {
  name: 'sessions',
  tables: ['sessions'],
  eventTypes: ['SessionStarted', 'SessionEnded'],
  handle(event: RecordedEvent): SqlStatement[] {
    const at = event.metadata.occurredAt;
    switch (event.type) {
      case 'SessionStarted': {
        const d = event.data as SessionStarted;
        return [
          sql(
            `INSERT INTO sessions (session_id, subject, secret_hash, started_at, expires_at, revision)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (session_id) DO NOTHING`,
            d.sessionId, d.subject, d.secretHash, at, d.expiresAt, event.revision,
          ),
        ];
      }
      case 'SessionEnded': {
        const d = event.data as SessionEnded;
        // Ended is terminal; the revision guard makes a replayed event a no-op.
        return [sql('UPDATE sessions SET ended_at = $2, ended_reason = $3, revision = $4 WHERE session_id = $1 AND revision < $4', d.sessionId, at, d.reason, event.revision)];
      }
      default:
        return [];
    }
  },
};
