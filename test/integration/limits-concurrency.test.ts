import { randomBytes } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoTokenRepository } from '../../lambdas/adapters/dynamo-token-repository.js';
import { INDEXES, KEYS, PARTITIONS } from '../../lambdas/adapters/table-definition.js';
import { expiredAuditEvent, SYSTEM_ACTOR, tokenAuditEvent } from '../../lambdas/core/audit.js';
import { LimitExceededError } from '../../lambdas/core/errors.js';
import { hashToken } from '../../lambdas/core/hashing.js';
import type { Caller, TokenChange, TokenRecord } from '../../lambdas/core/model.js';
import { generateToken } from '../../lambdas/core/token-format.js';
import { createTestTable, localDynamoClient, type TestTable } from '../support/dynamo.js';
import { transactionCanceled } from '../support/dynamo-errors.js';
import { tokenRecord } from '../unit/management/records.js';

// The active-token limits under contention on DynamoDB Local: many creates, revokes and releases
// of one account at once. Whatever wins, each limit counter must equal the number of slot items
// (and of tokens that still hold one), and no more tokens than the limit may ever be live.

const key = { version: 'v1', material: randomBytes(32) };
const UNLIMITED = 1_000;

let table: TestTable;
let repository: DynamoTokenRepository;

beforeAll(async () => {
  table = await createTestTable();
  repository = new DynamoTokenRepository(table.documentClient, table.tableName, { auditRetentionDays: 30 });
});
afterAll(async () => {
  await table.drop();
});

function caller(accountId: string, userId: string): Caller {
  return {
    accountId,
    userId,
    role: 'member',
    email: undefined,
    sourceIp: '198.51.100.7',
    userAgent: 'vitest',
  };
}

function newToken(accountId: string, userId: string, overrides: Partial<TokenRecord> = {}): TokenRecord {
  const { secret, hint } = generateToken('atk');
  return tokenRecord({ accountId, userId, secretHash: hashToken(key, secret), hint, ...overrides });
}

function createdEvent(token: TokenRecord) {
  return tokenAuditEvent('token.created', caller(token.accountId, token.userId), token, token.createdAt);
}

async function counter(limitKey: Record<string, string>): Promise<number> {
  const { Item } = await table.documentClient.send(
    new GetCommand({ TableName: table.tableName, Key: limitKey, ConsistentRead: true }),
  );
  return typeof Item?.active === 'number' ? Item.active : 0;
}

async function slotsOfAccount(accountId: string): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await table.documentClient.send(
    new ScanCommand({
      TableName: table.tableName,
      ConsistentRead: true,
      FilterExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': INDEXES.byAccount.partitionKey },
      ExpressionAttributeValues: { ':pk': PARTITIONS.slotsOfAccount(accountId) },
    }),
  );
  return Items;
}

async function activeTokensOfAccount(accountId: string): Promise<number> {
  const { Items = [] } = await table.documentClient.send(
    new QueryCommand({
      TableName: table.tableName,
      IndexName: INDEXES.byAccount.indexName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': INDEXES.byAccount.partitionKey },
      ExpressionAttributeValues: { ':pk': `ACCOUNT#${accountId}` },
    }),
  );
  return Items.filter((item) => item.state === 'active').length;
}

/** Counter of the account == its slot items; each user's counter == that user's slot items. */
async function expectCountersMatchSlots(accountId: string, userIds: readonly string[]): Promise<number> {
  const slots = await slotsOfAccount(accountId);
  expect(await counter(KEYS.accountLimit(accountId))).toBe(slots.length);
  for (const userId of userIds) {
    const own = slots.filter((slot) => slot.userId === userId).length;
    expect(await counter(KEYS.userLimit(accountId, userId))).toBe(own);
  }
  return slots.length;
}

async function settle<T>(promises: Promise<T>[]) {
  const results = await Promise.allSettled(promises);
  const fulfilled = results.filter((result) => result.status === 'fulfilled');
  const rejected = results.flatMap((result) =>
    result.status === 'rejected' ? [result.reason as unknown] : [],
  );
  return { fulfilled, rejected };
}

/**
 * DynamoDB Local runs transactions one at a time, so it never answers `TransactionConflict`.
 * DynamoDB does, whenever two transactions touch one item at the same moment: this client makes
 * that happen, cancelling a transaction that touches an item another one took less than HOLD_MS
 * ago. Not the whole round trip: DynamoDB Local's own latency (slow, and serialised) is not what
 * DynamoDB holds an item for; 40 ms is a few times a real transaction's server time.
 */
const HOLD_MS = 40;

function conflictingClient(): { client: DynamoDBDocumentClient; conflicts: () => number } {
  const client = DynamoDBDocumentClient.from(localDynamoClient(), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const held = new Set<string>();
  let conflicts = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'TransactWriteItemsCommand') return next(args);
      const input = args.input as { TransactItems?: Record<string, { Key?: unknown; Item?: unknown }>[] };
      const keys = (input.TransactItems ?? []).map((part) => {
        const operation = Object.values(part)[0];
        const item = (operation?.Key ?? operation?.Item ?? {}) as Record<string, unknown>;
        return JSON.stringify([item.pk, item.sk]);
      });
      if (keys.some((itemKey) => held.has(itemKey))) {
        conflicts++;
        throw transactionCanceled(
          keys.map((itemKey) => (held.has(itemKey) ? 'TransactionConflict' : 'None')),
        );
      }
      for (const itemKey of keys) held.add(itemKey);
      setTimeout(() => {
        for (const itemKey of keys) held.delete(itemKey);
      }, HOLD_MS);
      return next(args);
    },
    { step: 'initialize', name: 'emulateTransactionConflicts' },
  );
  return { client, conflicts: () => conflicts };
}

describe('active-token limits under contention (DynamoDB Local)', () => {
  it('30 users of one account create at once with room for 5: exactly 5 succeed, 25 hit the limit', async () => {
    const accountId = 'acct-race-users';
    const users = Array.from({ length: 30 }, (_, index) => `user-${index}`);
    const { fulfilled, rejected } = await settle(
      users.map((userId) => {
        const token = newToken(accountId, userId);
        return repository.create(
          token,
          { perUser: UNLIMITED, perAccount: 5, usageKeys: 10_000 },
          createdEvent(token),
        );
      }),
    );
    expect(fulfilled).toHaveLength(5);
    expect(rejected).toHaveLength(25);
    for (const reason of rejected) expect(reason).toBeInstanceOf(LimitExceededError);
    expect(await expectCountersMatchSlots(accountId, users)).toBe(5);
    expect(await activeTokensOfAccount(accountId)).toBe(5);
  });

  it('one user creates 30 at once with a per-user limit of 1: exactly one succeeds', async () => {
    const accountId = 'acct-race-one-user';
    const { fulfilled, rejected } = await settle(
      Array.from({ length: 30 }, () => {
        const token = newToken(accountId, 'solo');
        return repository.create(
          token,
          { perUser: 1, perAccount: UNLIMITED, usageKeys: 10_000 },
          createdEvent(token),
        );
      }),
    );
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(29);
    for (const reason of rejected) expect(reason).toBeInstanceOf(LimitExceededError);
    expect(await expectCountersMatchSlots(accountId, ['solo'])).toBe(1);
    expect(await activeTokensOfAccount(accountId)).toBe(1);
  });

  it('creates, revokes and expiry releases all at once keep every counter equal to its slots', async () => {
    const accountId = 'acct-churn';
    const users = ['ann', 'ben', 'cat'];
    const limits = { perUser: 6, perAccount: 12, usageKeys: 10_000 };
    const past = new Date(Date.now() - 3_600_000).toISOString();
    // Seed: per user, 2 live tokens and 2 expired ones that still hold slots.
    const live: TokenRecord[] = [];
    const expired: TokenRecord[] = [];
    for (const userId of users) {
      for (let index = 0; index < 4; index++) {
        const token = newToken(accountId, userId, index < 2 ? {} : { expiresAt: past });
        await repository.create(token, limits, createdEvent(token));
        (index < 2 ? live : expired).push(token);
      }
    }
    expect(await expectCountersMatchSlots(accountId, users)).toBe(12);

    const revokeChange = (userId: string): TokenChange => ({
      action: 'revoked',
      at: new Date().toISOString(),
      actorUserId: userId,
      actorRole: 'member',
      sourceIp: undefined,
      userAgent: undefined,
    });
    const work: Promise<unknown>[] = [];
    // Every live token revoked twice, concurrently.
    for (const token of [...live, ...live]) {
      work.push(
        repository.revoke(token.id, revokeChange(token.userId), (revoked) =>
          tokenAuditEvent('token.revoked', caller(accountId, token.userId), revoked, revoked.lastChange.at),
        ),
      );
    }
    // Expired slots released by the account sweep, each user's sweep and the stream, all at once.
    work.push(repository.releaseExpiredSlots(accountId, undefined, new Date()));
    for (const userId of users) work.push(repository.releaseExpiredSlots(accountId, userId, new Date()));
    for (const token of expired)
      work.push(repository.releaseSlotOfDeletedToken(token, expiredAuditEvent(token)));
    // New tokens competing for the room being freed.
    for (let index = 0; index < 12; index++) {
      const userId = users[index % users.length] ?? 'ann';
      const token = newToken(accountId, userId);
      work.push(repository.create(token, limits, createdEvent(token)));
    }
    const { rejected } = await settle(work);
    for (const reason of rejected) expect(reason).toBeInstanceOf(LimitExceededError);

    const holders = await expectCountersMatchSlots(accountId, users);
    expect(holders).toBeLessThanOrEqual(limits.perAccount);
    expect(holders).toBe(12 - rejected.length);
    expect(await activeTokensOfAccount(accountId)).toBe(holders + expired.length);

    // Each revoked and each expired token is audited exactly once.
    const { Items: audits = [] } = await table.documentClient.send(
      new ScanCommand({
        TableName: table.tableName,
        ConsistentRead: true,
        FilterExpression: 'entity = :audit AND accountId = :accountId',
        ExpressionAttributeValues: { ':audit': 'audit', ':accountId': accountId },
      }),
    );
    const count = (action: string, tokenId: string) =>
      audits.filter((item) => item.action === action && item.tokenId === tokenId).length;
    for (const token of live) expect(count('token.revoked', token.id)).toBe(1);
    for (const token of expired) {
      expect(count('token.expired', token.id)).toBe(1);
      expect(
        audits.find((item) => item.action === 'token.expired' && item.tokenId === token.id)?.actor,
      ).toEqual(SYSTEM_ACTOR);
    }
  });

  it('with real DynamoDB transaction conflicts, 30 racing creates still all end in success or LIMIT_EXCEEDED', async () => {
    const emulated = conflictingClient();
    const racing = new DynamoTokenRepository(emulated.client, table.tableName, { auditRetentionDays: 30 });
    const accountId = 'acct-race-conflicts';
    const users = Array.from({ length: 30 }, (_, index) => `user-${index}`);
    const { fulfilled, rejected } = await settle(
      users.map((userId) => {
        const token = newToken(accountId, userId);
        return racing.create(
          token,
          { perUser: UNLIMITED, perAccount: 20, usageKeys: 10_000 },
          createdEvent(token),
        );
      }),
    );
    expect(emulated.conflicts()).toBeGreaterThan(0);
    expect(fulfilled).toHaveLength(20);
    expect(rejected).toHaveLength(10);
    for (const reason of rejected) expect(reason).toBeInstanceOf(LimitExceededError);
    expect(await expectCountersMatchSlots(accountId, users)).toBe(20);

    // And the way back: 20 concurrent revokes, each counted down exactly once.
    const holders = await racing.listSlotHolders(accountId, undefined);
    const revoked = await Promise.all(
      holders.map((tokenId) =>
        racing.revoke(
          tokenId,
          {
            action: 'revoked',
            at: new Date().toISOString(),
            actorUserId: 'root',
            actorRole: 'admin',
            sourceIp: undefined,
            userAgent: undefined,
            bulk: true,
          },
          (record) =>
            tokenAuditEvent('token.revoked', caller(accountId, 'root'), record, record.lastChange.at),
        ),
      ),
    );
    expect(revoked.filter((record) => record !== undefined)).toHaveLength(20);
    expect(await expectCountersMatchSlots(accountId, users)).toBe(0);
    emulated.client.destroy();
  });
});
