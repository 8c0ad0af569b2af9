import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoCredentialReader } from '../../lambdas/adapters/dynamo-credential-reader.js';
import { DynamoTokenRepository } from '../../lambdas/adapters/dynamo-token-repository.js';
import { tokenAuditEvent } from '../../lambdas/core/audit.js';
import { hashToken } from '../../lambdas/core/hashing.js';
import type { Caller, TokenChange, TokenRecord } from '../../lambdas/core/model.js';
import { generateToken } from '../../lambdas/core/token-format.js';
import { createTestTable, type TestTable } from '../support/dynamo.js';
import { tokenRecord } from '../unit/management/records.js';

// The strict mode of HTTP APIs reads a token's own limits from its credential (the authorizer's one
// read): they must be there from creation, follow an edit, and survive a rotation.

const key = { version: 'v1', material: randomBytes(32) };
const caller: Caller = {
  accountId: 'acct-l',
  userId: 'lia',
  role: 'admin',
  email: undefined,
  sourceIp: '198.51.100.7',
  userAgent: 'vitest',
};

function change(action: TokenChange['action']): TokenChange {
  return {
    action,
    at: new Date().toISOString(),
    actorUserId: 'lia',
    actorRole: 'admin',
    sourceIp: '198.51.100.7',
    userAgent: 'vitest',
  };
}

const secretHash = () => hashToken(key, generateToken('atk').secret);

describe('credential limits on DynamoDB Local', () => {
  let table: TestTable;
  let repository: DynamoTokenRepository;
  let reader: DynamoCredentialReader;

  beforeAll(async () => {
    table = await createTestTable();
    repository = new DynamoTokenRepository(table.documentClient, table.tableName, { auditRetentionDays: 30 });
    reader = new DynamoCredentialReader(table.documentClient, table.tableName);
  });
  afterAll(async () => {
    await table.drop();
  });

  it('created with the token, changed by an edit, kept by a rotation', async () => {
    const own = { rateLimit: { requestsPerSecond: 5, burst: 5 }, quota: null };
    const token = tokenRecord({
      accountId: 'acct-l',
      userId: 'lia',
      createdBy: 'lia',
      secretHash: secretHash(),
      limits: own,
    });
    await repository.create(
      token,
      { perUser: 10, perAccount: 100, usageKeys: 10_000 },
      tokenAuditEvent('token.created', caller, token, token.createdAt),
    );
    expect((await reader.findByHash(token.secretHash))?.limits).toEqual(own);

    const lower = { rateLimit: null, quota: { limit: 20, period: 'DAY' as const } };
    const edited: TokenRecord = { ...token, limits: lower, version: 2, lastChange: change('updated') };
    await repository.update(
      token,
      edited,
      tokenAuditEvent('token.updated', caller, edited, edited.lastChange.at),
    );
    expect((await reader.findByHash(token.secretHash))?.limits).toEqual(lower);

    const back: TokenRecord = { ...edited, limits: null, version: 3, lastChange: change('updated') };
    await repository.update(edited, back, tokenAuditEvent('token.updated', caller, back, back.lastChange.at));
    expect((await reader.findByHash(token.secretHash))?.limits).toBeNull();

    const rotated: TokenRecord = {
      ...back,
      limits: lower,
      secretHash: secretHash(),
      version: 4,
      rotatedAt: new Date().toISOString(),
      lastChange: change('rotated'),
    };
    await repository.rotate(
      back,
      rotated,
      tokenAuditEvent('token.rotated', caller, rotated, rotated.lastChange.at),
    );
    expect((await reader.findByHash(rotated.secretHash))?.limits).toEqual(lower);
  });
});
