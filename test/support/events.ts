// Valid sample events for store and projection tests.

import { randomUUID } from 'node:crypto';
import type { NewEvent } from '../../src/eventstore/port.js';

export function revokedEvent(): NewEvent {
  return { type: 'TokenRevoked', data: { familyId: randomUUID(), clientId: randomUUID(), reason: 'admin' } };
}

export function clientRegistered(clientId = randomUUID(), overrides: Record<string, unknown> = {}): NewEvent {
  return {
    type: 'ClientRegistered',
    data: {
      clientId,
      name: 'Test client',
      confidential: true,
      secretHash: 'A'.repeat(43),
      grantTypes: ['client_credentials', 'refresh_token'],
      scopes: ['read', 'write'],
      redirectUris: ['https://app.example/callback'],
      firstParty: false,
      accessTokenTtl: null,
      refreshTokenTtl: null,
      ...overrides,
    },
  };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
