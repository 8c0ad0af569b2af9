import { DeleteCommand, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoTokenRepository } from '../../lambdas/adapters/dynamo-token-repository.js';
import { itemToToken } from '../../lambdas/adapters/items.js';
import { KEYS, PARTITIONS } from '../../lambdas/adapters/table-definition.js';
import { auditEvent } from '../../lambdas/core/audit.js';
import type { TokenChange, TokenRecord } from '../../lambdas/core/model.js';
import { captureStdout, lambdaContext, type StdoutCapture } from '../support/authorizer-events.js';
import { createTestTable, dynamoEndpoint, type TestTable } from '../support/dynamo.js';
import { stubHandlerEnv } from '../support/env.js';
import { batch, issueToken, ttlDeletion } from '../unit/notifications/support.js';

// The expiry ledger handler module on DynamoDB Local: tokens created through the repository (token,
// credential, slot, counters, audit event), the token item deleted as TTL would, then the stream's
// TTL-deletion record (built from the AWS sample) handed to the handler, once, twice, and twice at
// the same moment: the counters go down by one, the slot goes, one token.expired event is written.

type Handler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>;

const LIMITS = { perUser: 10, perAccount: 100, usageKeys: 10_000 };

describe('expiry ledger on DynamoDB Local', () => {
  let table: TestTable;
  let repository: DynamoTokenRepository;
  let handler: Handler;
  let logs: StdoutCapture;
  const deliver = (...records: DynamoDBRecord[]) => handler(batch(...records), lambdaContext('expiryLedger'));

  beforeAll(async () => {
    table = await createTestTable();
    stubHandlerEnv({ tableName: table.tableName, dynamoEndpoint: dynamoEndpoint() });
    repository = new DynamoTokenRepository(table.documentClient, table.tableName, {
      auditRetentionDays: 365,
    });
    ({ handler } = (await import('../../lambdas/expiry-ledger/handler.js')) as unknown as {
      handler: Handler;
    });
    logs = captureStdout();
  });

  afterAll(async () => {
    logs.restore();
    vi.unstubAllEnvs();
    await table.drop();
  });

  /** A token of its own user and account, created through the repository. */
  async function created(): Promise<TokenRecord> {
    const suffix = Math.random().toString(36).slice(2);
    const { token } = issueToken({ userId: `user-${suffix}`, accountId: `acct-${suffix}` });
    await repository.create(
      token,
      LIMITS,
      auditEvent({
        action: 'token.created',
        at: token.createdAt,
        actor: { userId: token.userId, role: 'member', sourceIp: null, userAgent: null },
        accountId: token.accountId,
        subjectUserId: token.userId,
        token,
      }),
    );
    return token;
  }

  /**
   * What DynamoDB's TTL process does: deletes the stored token item, and the stream's REMOVE record
   * carries that item as its old image.
   */
  async function expireByTtl(token: TokenRecord): Promise<DynamoDBRecord> {
    const { Attributes } = await table.documentClient.send(
      new DeleteCommand({ TableName: table.tableName, Key: KEYS.token(token.id), ReturnValues: 'ALL_OLD' }),
    );
    if (Attributes === undefined) throw new Error(`token ${token.id} was not stored`);
    return ttlDeletion(itemToToken(Attributes));
  }

  async function counters(token: TokenRecord): Promise<{ user: unknown; account: unknown }> {
    const read = async (key: Record<string, string>) =>
      (
        await table.documentClient.send(
          new GetCommand({ TableName: table.tableName, Key: key, ConsistentRead: true }),
        )
      ).Item?.active;
    return {
      user: await read(KEYS.userLimit(token.accountId, token.userId)),
      account: await read(KEYS.accountLimit(token.accountId)),
    };
  }

  async function slotExists(token: TokenRecord): Promise<boolean> {
    const { Item } = await table.documentClient.send(
      new GetCommand({
        TableName: table.tableName,
        Key: KEYS.slot(token.accountId, token.userId, token.id),
        ConsistentRead: true,
      }),
    );
    return Item !== undefined;
  }

  async function auditActions(token: TokenRecord): Promise<string[]> {
    const { Items = [] } = await table.documentClient.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': PARTITIONS.auditOfToken(token.id) },
        ConsistentRead: true,
      }),
    );
    return Items.map((item) => String(item.action)).sort();
  }

  it('a TTL deletion of an active token: counters down once, slot gone, one token.expired event', async () => {
    const token = await created();
    expect(await counters(token)).toEqual({ user: 1, account: 1 });
    expect(await slotExists(token)).toBe(true);
    const record = await expireByTtl(token);

    await expect(deliver(record)).resolves.toEqual({ batchItemFailures: [] });

    expect(await counters(token)).toEqual({ user: 0, account: 0 });
    expect(await slotExists(token)).toBe(false);
    expect(await auditActions(token)).toEqual(['token.created', 'token.expired']);

    // The same record again (Lambda's redelivery), alone and twice in one batch: nothing more.
    await expect(deliver(record)).resolves.toEqual({ batchItemFailures: [] });
    await expect(deliver(record, record)).resolves.toEqual({ batchItemFailures: [] });
    expect(await counters(token)).toEqual({ user: 0, account: 0 });
    expect(await auditActions(token)).toEqual(['token.created', 'token.expired']);
    // One log line per delivered record; only the first delivery released.
    const released = logs
      .records()
      .filter((line) => line.tokenId === token.id)
      .map((line) => line.released);
    expect(released).toEqual([true, false, false, false]);
  });

  it("releases only the expired token's slot; the owner's other tokens still count", async () => {
    const expiring = await created();
    const { token: other } = issueToken({ userId: expiring.userId, accountId: expiring.accountId });
    await repository.create(
      other,
      LIMITS,
      auditEvent({
        action: 'token.created',
        at: other.createdAt,
        actor: { userId: other.userId, role: 'member', sourceIp: null, userAgent: null },
        accountId: other.accountId,
        subjectUserId: other.userId,
        token: other,
      }),
    );
    expect(await counters(expiring)).toEqual({ user: 2, account: 2 });

    await expect(deliver(await expireByTtl(expiring))).resolves.toEqual({ batchItemFailures: [] });

    expect(await counters(expiring)).toEqual({ user: 1, account: 1 });
    expect(await slotExists(other)).toBe(true);
    expect(await auditActions(other)).toEqual(['token.created']);
  });

  it('two deliveries at the same moment still release once', async () => {
    const token = await created();
    const record = await expireByTtl(token);

    const results = await Promise.all([deliver(record), deliver(record), deliver(record)]);

    expect(results).toEqual([
      { batchItemFailures: [] },
      { batchItemFailures: [] },
      { batchItemFailures: [] },
    ]);
    expect(await counters(token)).toEqual({ user: 0, account: 0 });
    expect(await auditActions(token)).toEqual(['token.created', 'token.expired']);
  });

  it('a revoked token expiring changes nothing: its slot went back when it was revoked', async () => {
    const token = await created();
    const change: TokenChange = {
      action: 'revoked',
      at: new Date().toISOString(),
      actorUserId: token.userId,
      actorRole: 'member',
      sourceIp: undefined,
      userAgent: undefined,
    };
    const revoked = await repository.revoke(token.id, change, (record) =>
      auditEvent({
        action: 'token.revoked',
        at: change.at,
        actor: { userId: token.userId, role: 'member', sourceIp: null, userAgent: null },
        accountId: record.accountId,
        subjectUserId: record.userId,
        token: record,
      }),
    );
    expect(revoked?.state).toBe('revoked');
    expect(await counters(token)).toEqual({ user: 0, account: 0 });
    if (revoked === undefined) throw new Error('not revoked');
    await table.documentClient.send(
      new DeleteCommand({ TableName: table.tableName, Key: KEYS.token(token.id) }),
    );

    await expect(deliver(ttlDeletion(revoked))).resolves.toEqual({ batchItemFailures: [] });

    expect(await counters(token)).toEqual({ user: 0, account: 0 });
    expect(await auditActions(token)).toEqual(['token.created', 'token.revoked']);
  });
});
