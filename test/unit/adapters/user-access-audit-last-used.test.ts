import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  InternalServerError,
  ThrottlingException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { auditEventToItem } from '../../../lambdas/adapters/audit-items.js';
import { DynamoAuditLog, encodeAuditCursor } from '../../../lambdas/adapters/dynamo-audit-log.js';
import { DynamoLastUsedRecorder } from '../../../lambdas/adapters/dynamo-last-used-recorder.js';
import { DynamoUserAccessRepository } from '../../../lambdas/adapters/dynamo-user-access.js';
import { tokenToItem } from '../../../lambdas/adapters/items.js';
import { INDEXES, KEYS, PARTITIONS } from '../../../lambdas/adapters/table-definition.js';
import { auditEvent } from '../../../lambdas/core/audit.js';
import { ConflictError, ValidationError } from '../../../lambdas/core/errors.js';
import type { AuditEvent, UserAccess } from '../../../lambdas/core/model.js';
import { transactionCanceled } from '../../support/dynamo-errors.js';
import { tokenRecord } from '../management/records.js';

// The three adapters against a mocked DynamoDB: the exact requests they send, and what each
// failure of each call means (an answer, a retry, or an error passed on).

const TABLE = 'tokens';
const NOW = new Date('2026-05-01T12:00:00.000Z');
const metadata = { $metadata: {} };

const throttled = () => new ThrottlingException({ message: 'Rate exceeded', ...metadata });
const serverError = () => new InternalServerError({ message: 'Internal server error', ...metadata });
const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', ...metadata });

const documentClient = () => DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));

function accessEvent(enabled: boolean): AuditEvent {
  return auditEvent({
    action: enabled ? 'user.token-access-enabled' : 'user.token-access-disabled',
    at: NOW,
    actor: { userId: 'root', role: 'admin', sourceIp: null, userAgent: null },
    accountId: 'acct-1',
    subjectUserId: 'ann',
  });
}

function accessItem(enabled: boolean, generation: number): Record<string, unknown> {
  return {
    ...KEYS.userAccess('acct-1', 'ann'),
    entity: 'userAccess',
    accountId: 'acct-1',
    userId: 'ann',
    enabled,
    generation,
    updatedAt: '2026-04-01T00:00:00.000Z',
    updatedBy: 'root',
  };
}

const BY = { at: NOW.toISOString(), actorUserId: 'root' };

// One mock for the file: the mock patches the client class, so a second one would replace the first.
const ddb = mockClient(DynamoDBDocumentClient);
afterEach(() => {
  ddb.reset();
});

describe('DynamoUserAccessRepository (DynamoDB mocked)', () => {
  const repository = new DynamoUserAccessRepository(documentClient(), TABLE, {
    auditRetentionDays: 30,
    clock: { now: () => NOW },
  });

  describe('get', () => {
    it('one consistent GetItem; absent is enabled at generation 0', async () => {
      ddb.on(GetCommand).resolves({});
      await expect(repository.get('acct-1', 'ann')).resolves.toEqual({
        accountId: 'acct-1',
        userId: 'ann',
        enabled: true,
        generation: 0,
        updatedAt: null,
        updatedBy: null,
      });
      expect(ddb.calls()).toHaveLength(1);
      expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Key: KEYS.userAccess('acct-1', 'ann'),
        ConsistentRead: true,
      });
    });

    it('maps a stored item', async () => {
      ddb.on(GetCommand).resolves({ Item: accessItem(false, 3) });
      await expect(repository.get('acct-1', 'ann')).resolves.toEqual({
        accountId: 'acct-1',
        userId: 'ann',
        enabled: false,
        generation: 3,
        updatedAt: '2026-04-01T00:00:00.000Z',
        updatedBy: 'root',
      });
    });

    it.each([
      ['throttling', throttled],
      ['a 5xx', serverError],
    ])('passes %s on', async (_name, error) => {
      ddb.on(GetCommand).rejects(error());
      await expect(repository.get('acct-1', 'ann')).rejects.toThrow(error().message);
    });
  });

  describe('set', () => {
    it('already in the requested state: reads, writes nothing', async () => {
      ddb.on(GetCommand).resolves({ Item: accessItem(false, 1) });
      const result = await repository.set('acct-1', 'ann', false, BY, accessEvent(false));
      expect(result).toEqual({
        access: expect.objectContaining({ enabled: false, generation: 1 }),
        changed: false,
      });
      expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
      ddb.on(GetCommand).resolves({});
      await expect(repository.set('acct-1', 'ann', true, BY, accessEvent(true))).resolves.toMatchObject({
        changed: false,
        access: { enabled: true, generation: 0 },
      });
      expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
    });

    it('first switch: access item created only if absent, plus the audit event, in one transaction', async () => {
      ddb.on(GetCommand).resolves({});
      ddb.on(TransactWriteCommand).resolves({});
      const event = accessEvent(false);
      const result = await repository.set('acct-1', 'ann', false, BY, event);
      const expected: UserAccess = {
        accountId: 'acct-1',
        userId: 'ann',
        enabled: false,
        generation: 1,
        updatedAt: BY.at,
        updatedBy: 'root',
      };
      expect(result).toEqual({ access: expected, changed: true });
      const input = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input;
      expect(input?.ClientRequestToken).toEqual(expect.any(String));
      const [update, put, ...rest] = input?.TransactItems ?? [];
      expect(rest).toEqual([]);
      expect(update?.Update).toMatchObject({
        TableName: TABLE,
        Key: KEYS.userAccess('acct-1', 'ann'),
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      expect(update?.Update?.ExpressionAttributeValues).toMatchObject({
        ':entity': 'userAccess',
        ':enabled': false,
        ':generation': 1,
        ':updatedAt': BY.at,
        ':updatedBy': 'root',
      });
      expect(update?.Update?.ExpressionAttributeValues).not.toHaveProperty(':expectedGeneration');
      expect(put?.Put).toEqual({
        TableName: TABLE,
        Item: auditEventToItem(event, 30),
        ConditionExpression: 'attribute_not_exists(pk)',
      });
    });

    it('later switches are conditional on the generation read', async () => {
      ddb.on(GetCommand).resolves({ Item: accessItem(false, 4) });
      ddb.on(TransactWriteCommand).resolves({});
      await expect(repository.set('acct-1', 'ann', true, BY, accessEvent(true))).resolves.toMatchObject({
        changed: true,
        access: { enabled: true, generation: 5 },
      });
      const update = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.[0]?.Update;
      expect(update?.ConditionExpression).toBe('#generation = :expectedGeneration');
      expect(update?.ExpressionAttributeValues).toMatchObject({ ':expectedGeneration': 4, ':generation': 5 });
    });

    it('a lost race re-reads and decides again: the other admin already made the switch', async () => {
      ddb
        .on(GetCommand)
        .resolvesOnce({ Item: accessItem(true, 2) })
        .resolves({ Item: accessItem(false, 3) });
      ddb.on(TransactWriteCommand).rejects(transactionCanceled(['ConditionalCheckFailed', 'None']));
      await expect(repository.set('acct-1', 'ann', false, BY, accessEvent(false))).resolves.toMatchObject({
        changed: false,
        access: { enabled: false, generation: 3 },
      });
      expect(ddb.commandCalls(GetCommand)).toHaveLength(2);
      expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
    });

    it('a lost race re-reads and switches on top of the newer generation', async () => {
      ddb
        .on(GetCommand)
        .resolvesOnce({ Item: accessItem(true, 2) })
        .resolves({ Item: accessItem(true, 4) });
      ddb
        .on(TransactWriteCommand)
        .rejectsOnce(transactionCanceled(['ConditionalCheckFailed', 'None']))
        .resolves({});
      await expect(repository.set('acct-1', 'ann', false, BY, accessEvent(false))).resolves.toMatchObject({
        changed: true,
        access: { enabled: false, generation: 5 },
      });
      const second = ddb.commandCalls(TransactWriteCommand)[1]?.args[0].input.TransactItems?.[0]?.Update;
      expect(second?.ExpressionAttributeValues).toMatchObject({ ':expectedGeneration': 4 });
    });

    it('a transaction conflict is retried', async () => {
      ddb.on(GetCommand).resolves({ Item: accessItem(true, 1) });
      ddb
        .on(TransactWriteCommand)
        .rejectsOnce(transactionCanceled(['TransactionConflict', 'None']))
        .resolves({});
      await expect(repository.set('acct-1', 'ann', false, BY, accessEvent(false))).resolves.toMatchObject({
        changed: true,
      });
      expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(2);
    });

    it('losing every race ends in a ConflictError after a bounded number of attempts', async () => {
      ddb.on(GetCommand).resolves({ Item: accessItem(true, 1) });
      ddb.on(TransactWriteCommand).rejects(transactionCanceled(['ConditionalCheckFailed', 'None']));
      await expect(repository.set('acct-1', 'ann', false, BY, accessEvent(false))).rejects.toBeInstanceOf(
        ConflictError,
      );
      expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(5);
    });

    it('an audit event id that already exists is not a lost race: the cancellation is passed on', async () => {
      ddb.on(GetCommand).resolves({ Item: accessItem(true, 1) });
      ddb.on(TransactWriteCommand).rejects(transactionCanceled(['None', 'ConditionalCheckFailed']));
      await expect(repository.set('acct-1', 'ann', false, BY, accessEvent(false))).rejects.toBeInstanceOf(
        TransactionCanceledException,
      );
      expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
    });

    it.each([
      ['throttling', throttled],
      ['a 5xx', serverError],
      ['a validation cancellation', () => transactionCanceled(['ValidationError', 'None'])],
    ])('passes %s of the transaction on without retrying', async (_name, error) => {
      ddb.on(GetCommand).resolves({ Item: accessItem(true, 1) });
      ddb.on(TransactWriteCommand).rejects(error());
      await expect(repository.set('acct-1', 'ann', false, BY, accessEvent(false))).rejects.toThrow(
        error().message,
      );
      expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
    });

    it('passes a failed read on, writing nothing', async () => {
      ddb.on(GetCommand).rejects(throttled());
      await expect(repository.set('acct-1', 'ann', false, BY, accessEvent(false))).rejects.toBeInstanceOf(
        ThrottlingException,
      );
      expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
    });
  });

  describe('applyToCredentials', () => {
    const disabled: UserAccess = {
      accountId: 'acct-1',
      userId: 'ann',
      enabled: false,
      generation: 7,
      updatedAt: BY.at,
      updatedBy: 'root',
    };
    const current = tokenRecord({ userId: 'ann', secretHash: 'h-current' });
    const inGrace = tokenRecord({
      userId: 'ann',
      secretHash: 'h-new',
      previousSecretHash: 'h-old',
      previousSecretNotAfter: new Date(NOW.getTime() + 60_000).toISOString(),
    });
    const graceOver = tokenRecord({
      userId: 'ann',
      secretHash: 'h-new2',
      previousSecretHash: 'h-old2',
      previousSecretNotAfter: new Date(NOW.getTime() - 1).toISOString(),
    });

    function serveTokens(...tokens: ReturnType<typeof tokenRecord>[]) {
      ddb.on(GetCommand).resolves({});
      for (const token of tokens) {
        ddb.on(GetCommand, { Key: KEYS.token(token.id) }).resolves({ Item: tokenToItem(token) });
      }
    }

    const updatedKeys = () => ddb.commandCalls(UpdateCommand).map((call) => call.args[0].input.Key);

    it('reads each token consistently, then writes its current and in-grace previous credentials', async () => {
      serveTokens(current, inGrace, graceOver);
      ddb.on(UpdateCommand).resolves({});
      await expect(
        repository.applyToCredentials(disabled, [current.id, inGrace.id, graceOver.id, 'tok_missing']),
      ).resolves.toBe(4);
      expect(ddb.commandCalls(GetCommand).map((call) => call.args[0].input)).toEqual(
        [current.id, inGrace.id, graceOver.id, 'tok_missing'].map((id) => ({
          TableName: TABLE,
          Key: KEYS.token(id),
          ConsistentRead: true,
        })),
      );
      expect(updatedKeys()).toEqual(
        expect.arrayContaining(
          ['h-current', 'h-new', 'h-old', 'h-new2'].map((hash) => KEYS.credential(hash)),
        ),
      );
      expect(updatedKeys()).toHaveLength(4);
      expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        Key: KEYS.credential('h-current'),
        UpdateExpression: 'SET #disabled = :disabled, #generation = :generation',
        ConditionExpression:
          'attribute_exists(pk) AND (attribute_not_exists(#generation) OR #generation < :generation)',
        ExpressionAttributeNames: { '#disabled': 'disabled', '#generation': 'accessGeneration' },
        ExpressionAttributeValues: { ':disabled': true, ':generation': 7 },
      });
    });

    it('a failed condition (credential gone, or a newer generation there) is skipped, not counted', async () => {
      serveTokens(current, inGrace);
      ddb.on(UpdateCommand).resolves({});
      ddb.on(UpdateCommand, { Key: KEYS.credential('h-old') }).rejects(conditionFailed());
      await expect(repository.applyToCredentials(disabled, [current.id, inGrace.id])).resolves.toBe(2);
      expect(ddb.commandCalls(UpdateCommand)).toHaveLength(3);
    });

    it.each([
      ['throttling', throttled],
      ['a 5xx', serverError],
    ])('passes %s of a credential write on', async (_name, error) => {
      serveTokens(current);
      ddb.on(UpdateCommand).rejects(error());
      await expect(repository.applyToCredentials(disabled, [current.id])).rejects.toThrow(error().message);
    });

    it.each([
      ['throttling', throttled],
      ['a 5xx', serverError],
    ])('passes %s of a token read on, and starts no new work after it', async (_name, error) => {
      const ids = Array.from({ length: 30 }, (_, i) => `tok_${i}`);
      ddb.on(GetCommand).rejects(error());
      await expect(repository.applyToCredentials(disabled, ids)).rejects.toThrow(error().message);
      expect(ddb.commandCalls(GetCommand).length).toBeLessThanOrEqual(8);
      expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
    });

    it('keeps at most 8 requests in flight', async () => {
      const tokens = Array.from({ length: 40 }, () => tokenRecord({ userId: 'ann' }));
      const byKey = new Map(tokens.map((token) => [KEYS.token(token.id).pk, token]));
      let inFlight = 0;
      let peak = 0;
      const track = async <T>(value: T): Promise<T> => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 2));
        inFlight -= 1;
        return value;
      };
      ddb.on(GetCommand).callsFake((input: { Key: { pk: string } }) => {
        const token = byKey.get(input.Key.pk);
        return track(token === undefined ? {} : { Item: tokenToItem(token) });
      });
      ddb.on(UpdateCommand).callsFake(() => track({}));
      await expect(
        repository.applyToCredentials(
          disabled,
          tokens.map((token) => token.id),
        ),
      ).resolves.toBe(40);
      expect(peak).toBeLessThanOrEqual(8);
      expect(peak).toBeGreaterThan(1);
    });

    it('no tokens: no requests', async () => {
      await expect(repository.applyToCredentials(disabled, [])).resolves.toBe(0);
      expect(ddb.calls()).toHaveLength(0);
    });
  });
});

describe('DynamoAuditLog (DynamoDB mocked)', () => {
  const log = new DynamoAuditLog(documentClient(), TABLE, { auditRetentionDays: 45 });
  const event = auditEvent({
    action: 'token.revoked',
    at: NOW,
    actor: { userId: 'ann', role: 'member', sourceIp: '203.0.113.9', userAgent: 'vitest' },
    accountId: 'acct-1',
    subjectUserId: 'ann',
    token: { id: 'tok_abc', name: 'deploys' },
  });

  describe('append', () => {
    it('one conditional PutItem of the event item, with TTL = at + retention', async () => {
      ddb.on(PutCommand).resolves({});
      await log.append(event);
      expect(ddb.calls()).toHaveLength(1);
      const input = ddb.commandCalls(PutCommand)[0]?.args[0].input;
      expect(input).toEqual({
        TableName: TABLE,
        Item: auditEventToItem(event, 45),
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      expect(input?.Item?.ttl).toBe(Math.floor(NOW.getTime() / 1000) + 45 * 86_400);
    });

    it('an event already there is success', async () => {
      ddb.on(PutCommand).rejects(conditionFailed());
      await expect(log.append(event)).resolves.toBeUndefined();
    });

    it.each([
      ['throttling', throttled],
      ['a 5xx', serverError],
    ])('passes %s on', async (_name, error) => {
      ddb.on(PutCommand).rejects(error());
      await expect(log.append(event)).rejects.toThrow(error().message);
    });
  });

  describe('list', () => {
    const item = auditEventToItem(event, 45);

    it('token scope: the base table partition, consistently, newest first', async () => {
      ddb.on(QueryCommand).resolves({ Items: [item, { pk: 'x', sk: 'y', entity: 'token' }] });
      const page = await log.list({ kind: 'token', tokenId: 'tok_abc' }, { limit: 10, cursor: undefined });
      expect(page).toEqual({ items: [event], nextCursor: undefined });
      expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toEqual({
        TableName: TABLE,
        ConsistentRead: true,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': 'pk' },
        ExpressionAttributeValues: { ':pk': PARTITIONS.auditOfToken('tok_abc') },
        ScanIndexForward: false,
        Limit: 10,
        ExclusiveStartKey: undefined,
      });
    });

    it.each([
      [
        'user',
        { kind: 'user', accountId: 'acct-1', userId: 'ann' } as const,
        INDEXES.byOwner,
        PARTITIONS.auditOfUser('acct-1', 'ann'),
      ],
      [
        'account',
        { kind: 'account', accountId: 'acct-1' } as const,
        INDEXES.byAccount,
        PARTITIONS.auditOfAccount('acct-1'),
      ],
    ])(
      '%s scope: its index partition, newest first; the cursor round-trips',
      async (_name, scope, index, partition) => {
        const lastKey = {
          pk: item.pk,
          sk: item.sk,
          [index.partitionKey]: partition,
          [index.sortKey]: item.sk,
        };
        ddb.on(QueryCommand).resolves({ Items: [item], LastEvaluatedKey: lastKey });
        const page = await log.list(scope, { limit: 1, cursor: undefined });
        expect(page.items).toEqual([event]);
        expect(page.nextCursor).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]+$/));
        expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toEqual({
          TableName: TABLE,
          IndexName: index.indexName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': index.partitionKey },
          ExpressionAttributeValues: { ':pk': partition },
          ScanIndexForward: false,
          Limit: 1,
          ExclusiveStartKey: undefined,
        });
        await log.list(scope, { limit: 1, cursor: page.nextCursor });
        expect(ddb.commandCalls(QueryCommand)[1]?.args[0].input.ExclusiveStartKey).toEqual(lastKey);
      },
    );

    it('a cursor that is not this listing’s is a ValidationError on `cursor`, with no query sent', async () => {
      const tokenKey = { pk: item.pk, sk: item.sk };
      for (const [scope, cursor] of [
        [{ kind: 'token', tokenId: 'tok_other' }, encodeAuditCursor(tokenKey)],
        [{ kind: 'user', accountId: 'acct-1', userId: 'ann' }, encodeAuditCursor(tokenKey)],
        [{ kind: 'token', tokenId: 'tok_abc' }, '%%%'],
        [{ kind: 'token', tokenId: 'tok_abc' }, 'a'.repeat(5_000)],
        [{ kind: 'token', tokenId: 'tok_abc' }, encodeAuditCursor({ pk: item.pk, sk: 5 })],
        [{ kind: 'token', tokenId: 'tok_abc' }, encodeAuditCursor({ pk: item.pk, sk: 'no-event-id' })],
      ] as const) {
        const error = await log.list(scope, { limit: 5, cursor }).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).code).toBe('VALIDATION_FAILED');
        expect((error as ValidationError).details?.[0]?.path).toBe('cursor');
      }
      expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
    });

    it.each([
      ['throttling', throttled],
      ['a 5xx', serverError],
    ])('passes %s on', async (_name, error) => {
      ddb.on(QueryCommand).rejects(error());
      await expect(
        log.list({ kind: 'account', accountId: 'acct-1' }, { limit: 5, cursor: undefined }),
      ).rejects.toThrow(error().message);
    });
  });
});

describe('DynamoLastUsedRecorder (DynamoDB mocked)', () => {
  const recorder = new DynamoLastUsedRecorder(documentClient(), TABLE);
  const notBefore = new Date(NOW.getTime() - 300_000);

  it('one conditional UpdateItem naming only pk and lastUsedAt', async () => {
    ddb.on(UpdateCommand).resolves({});
    await expect(recorder.recordUse('tok_abc', NOW, notBefore)).resolves.toBe(true);
    expect(ddb.calls()).toHaveLength(1);
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input).toEqual({
      TableName: TABLE,
      Key: KEYS.token('tok_abc'),
      UpdateExpression: 'SET lastUsedAt = :at',
      ConditionExpression:
        'attribute_exists(pk) AND (attribute_not_exists(lastUsedAt) OR attribute_type(lastUsedAt, :nullType) OR lastUsedAt < :notBefore)',
      ExpressionAttributeValues: {
        ':at': NOW.toISOString(),
        ':notBefore': notBefore.toISOString(),
        ':nullType': 'NULL',
      },
      ReturnValues: 'NONE',
    });
    expect(input?.ExpressionAttributeNames).toBeUndefined();
    // Every attribute the expressions touch: the IAM policy allows pk, sk and lastUsedAt only.
    const named = `${input?.UpdateExpression} ${input?.ConditionExpression}`
      .replace(/:[A-Za-z]+/g, '')
      .match(/\b[a-z][A-Za-z]*\b(?=\s*[<=,)])/g);
    expect(new Set(named)).toEqual(new Set(['pk', 'lastUsedAt']));
  });

  it('recorded recently or token gone: false', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    await expect(recorder.recordUse('tok_abc', NOW, notBefore)).resolves.toBe(false);
  });

  it.each([
    ['throttling', throttled],
    ['a 5xx', serverError],
  ])('passes %s on (the authorizer logs it and answers anyway)', async (_name, error) => {
    ddb.on(UpdateCommand).rejects(error());
    await expect(recorder.recordUse('tok_abc', NOW, notBefore)).rejects.toThrow(error().message);
  });
});
