import { newTokenId } from '../../../lambdas/core/ids.js';
import type { TokenRecord } from '../../../lambdas/core/model.js';

// Token records for mocked repository reads.

export function tokenRecord(overrides: Partial<TokenRecord> = {}): TokenRecord {
  const createdAt = overrides.createdAt ?? new Date(Date.now() - 60_000).toISOString();
  return {
    id: newTokenId(),
    userId: 'user-1',
    accountId: 'acct-1',
    ownerEmail: 'user-1@example.com',
    name: 'CI deploys',
    description: '',
    scopes: ['content:read'],
    type: 'standard',
    allowedIps: [],
    hint: 'atk_…abcd',
    secretHash: 'hash-of-secret',
    keyVersion: 'v1',
    state: 'active',
    createdAt,
    expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    lastUsedAt: null,
    rotatedAt: null,
    revokedAt: null,
    createdBy: 'user-1',
    lastChange: {
      action: 'created',
      at: createdAt,
      actorUserId: 'user-1',
      actorRole: 'member',
      sourceIp: '198.51.100.7',
      userAgent: 'vitest',
    },
    version: 1,
    previousSecretHash: null,
    previousSecretNotAfter: null,
    limits: null,
    ...overrides,
  };
}
