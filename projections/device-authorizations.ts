// device_authorizations: pending, approved, denied and redeemed device codes, by keyed hash.

import type { DeviceAuthorizationApproved, DeviceAuthorizationDenied, DeviceAuthorizationRequested, DeviceCodeRedeemed } from '../src/events/types.js';
import type { RecordedEvent } from '../src/eventstore/port.js';
import { sql, type Projection, type SqlStatement } from './types.js';

export const devicesProjection: Projection = {
  name: 'device_authorizations',
  tables: ['device_authorizations'],
  eventTypes: ['DeviceAuthorizationRequested', 'DeviceAuthorizationApproved', 'DeviceAuthorizationDenied', 'DeviceCodeRedeemed'],
  handle(event: RecordedEvent): SqlStatement[] {
    switch (event.type) {
      case 'DeviceAuthorizationRequested': {
        const d = event.data as DeviceAuthorizationRequested;
        return [
          sql(
            `INSERT INTO device_authorizations (device_id, device_code_hash, user_code_hash, client_id, scopes, expires_at, interval_seconds, status, revision)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) ON CONFLICT (device_id) DO NOTHING`,
            d.deviceId, d.deviceCodeHash, d.userCodeHash, d.clientId, d.scopes, d.expiresAt, d.interval, event.revision,
          ),
        ];
      }
      case 'DeviceAuthorizationApproved':
      case 'DeviceAuthorizationDenied': {
        const d = event.data as DeviceAuthorizationApproved | DeviceAuthorizationDenied;
        return [
          sql(
            `UPDATE device_authorizations SET status = $2, subject = $3, revision = $4 WHERE device_id = $1 AND revision < $4 AND status = 'pending'`,
            d.deviceId, event.type === 'DeviceAuthorizationApproved' ? 'approved' : 'denied', d.subject, event.revision,
          ),
        ];
      }
      case 'DeviceCodeRedeemed': {
        const d = event.data as DeviceCodeRedeemed;
        return [sql(`UPDATE device_authorizations SET status = 'redeemed', family_id = $2, revision = $3 WHERE device_id = $1 AND revision < $3`, d.deviceId, d.familyId, event.revision)];
      }
      default:
        return [];
    }
  },
};
