import { DynamoDBClient, ThrottlingException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoTokenRepository } from '../../../lambdas/adapters/dynamo-token-repository.js';
import { slotFor, slotToItem, tokenToItem } from '../../../lambdas/adapters/items.js';
import { KEYS, TOKEN_LISTING_ATTRIBUTES } from '../../../lambdas/adapters/table-definition.js';
import { auditEvent, expiredAuditEvent, SYSTEM_ACTOR } from '../../../lambdas/core/audit.js';
import {
  ConflictError,
  LimitExceededError,
  TokenAccessDisabledError,
  ValidationError,
} from '../../../lambdas/core/errors.js';
import type { AuditEvent, TokenChange, TokenRecord } from '../../../lambdas/core/model.js';
import { transactionCanceled } from '../../support/dynamo-errors.js';
import { tokenRecord } from '../management/records.js';

// Every SDK call the token repository makes, and what it does with each failure: conditions map
// to domain errors or to a narrower retry, conflicts are retried within the budget, anything else
// (throttling after the SDK's own retries, validation) passes through untouched.

const dynamo = mockClient(DynamoDBDocumentClient);
const TABLE = 'tokens-table';
const MAX_ATTEMPTS = 3;

function repository(): DynamoTokenRepository {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  return new DynamoTokenRepository(client, TABLE, {
    auditRetentionDays: 30,
    retry: { maxAttempts: MAX_ATTEMPTS, baseDelayMs: 1, maxDelayMs: 2 },
  });
}

afterEach(() => {
  dynamo.reset();
});

type Code = 'None' | 'ConditionalCheckFailed' | 'TransactionConflict' | 'ThrottlingError';

/** Codes for a transaction of `length` parts with the given ones failing. */
function reasons(length: number, failing: Record<number, Code>): Code[] {
  return Array.from({ length }, (_, index) => failing[index] ?? 'None');
}

function throttled(): ThrottlingException {
  return new ThrottlingException({ message: 'Rate exceeded', $metadata: {} });
}

function transactions(): NonNullable<TransactWriteCommandInput['TransactItems']>[] {
  return dynamo.commandCalls(TransactWriteCommand).map((call) => call.args[0].input.TransactItems ?? []);
}

function keysOf(items: NonNullable<TransactWriteCommandInput['TransactItems']>): unknown[] {
  return items.map((part) =>
    part.Put === undefined
      ? (part.Update ?? part.Delete ?? part.ConditionCheck)?.Key
      : { pk: part.Put.Item?.pk, sk: part.Put.Item?.sk },
  );
}

const createdAudit = (token: TokenRecord): AuditEvent =>
  auditEvent({
    action: 'token.created',
    at: token.createdAt,
    actor: SYSTEM_ACTOR,
    accountId: token.accountId,
    subjectUserId: token.userId,
    token,
  });

const change = (action: TokenChange['action']): TokenChange => ({
  action,
  at: new Date().toISOString(),
  actorUserId: 'user-1',
  actorRole: 'member',
  sourceIp: undefined,
  userAgent: undefined,
});

describe('create', () => {
  const LIMITS = { perUser: 2, perAccount: 5, usageKeys: 9 };
  const CREATE_PARTS = 8;

  it('one transaction: token, credential, both counters, slot, access check, audit event, usage-key counter', async () => {
    const token = tokenRecord();
    dynamo.on(TransactWriteCommand).resolves({});
    await repository().create(token, LIMITS, createdAudit(token));
    const [items = []] = transactions();
    expect(keysOf(items)).toEqual([
      KEYS.token(token.id),
      KEYS.credential(token.secretHash),
      KEYS.userLimit('acct-1', 'user-1'),
      KEYS.accountLimit('acct-1'),
      KEYS.slot('acct-1', 'user-1', token.id),
      KEYS.userAccess('acct-1', 'user-1'),
      { pk: `AUDIT#TOKEN#${token.id}`, sk: expect.stringMatching(/#evt_/) },
      KEYS.usageKeyLimit(),
    ]);
    expect(items[7]?.Update).toMatchObject({
      ConditionExpression: 'attribute_not_exists(#active) OR #active < :limit',
      ExpressionAttributeValues: { ':limit': 9, ':one': 1 },
    });
    expect(items[2]?.Update).toMatchObject({
      ConditionExpression: 'attribute_not_exists(#active) OR #active < :limit',
      ExpressionAttributeValues: { ':limit': 2, ':one': 1 },
    });
    expect(items[3]?.Update?.ExpressionAttributeValues).toMatchObject({ ':limit': 5 });
    expect(items[4]?.Put?.Item).toMatchObject({ entity: 'slot', gsi2pk: 'SLOTS#acct-1' });
    expect(items[5]?.ConditionCheck?.ConditionExpression).toBe('attribute_not_exists(pk) OR enabled = :true');
    expect(items[1]?.Put?.Item).toMatchObject({ disabled: false, accessGeneration: 0 });
    for (const part of [items[0], items[1], items[4], items[6]]) {
      expect(part?.Put?.ConditionExpression).toBe('attribute_not_exists(pk)');
    }
    expect(dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.ClientRequestToken).toMatch(
      /^[0-9a-f-]{36}$/,
    );
  });

  it.each([
    ['the user counter', 2, LimitExceededError, /limit of 2 active tokens/],
    ['the account counter', 3, LimitExceededError, /account has reached its limit of 5/],
    ['the access check', 5, TokenAccessDisabledError, /disabled/],
    ['the usage-key counter', 7, LimitExceededError, /budget of 9 active tokens \(usageKeyBudget/],
  ])('a failed condition on %s is a domain error, never retried', async (_, index, type, message) => {
    const token = tokenRecord();
    dynamo
      .on(TransactWriteCommand)
      .rejects(transactionCanceled(reasons(CREATE_PARTS, { [index]: 'ConditionalCheckFailed' })));
    const failure = repository().create(token, LIMITS, createdAudit(token));
    await expect(failure).rejects.toBeInstanceOf(type);
    await expect(failure).rejects.toThrow(message);
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });

  it('disabled access outranks a full limit', async () => {
    const token = tokenRecord();
    dynamo
      .on(TransactWriteCommand)
      .rejects(
        transactionCanceled(
          reasons(CREATE_PARTS, { 2: 'ConditionalCheckFailed', 5: 'ConditionalCheckFailed' }),
        ),
      );
    await expect(repository().create(token, LIMITS, createdAudit(token))).rejects.toBeInstanceOf(
      TokenAccessDisabledError,
    );
  });

  it('retries a transaction conflict with a fresh request token, then succeeds', async () => {
    const token = tokenRecord();
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(transactionCanceled(reasons(CREATE_PARTS, { 3: 'TransactionConflict' })))
      .resolves({});
    await repository().create(token, LIMITS, createdAudit(token));
    const calls = dynamo.commandCalls(TransactWriteCommand);
    expect(calls).toHaveLength(2);
    expect(calls[0]?.args[0].input.ClientRequestToken).not.toBe(calls[1]?.args[0].input.ClientRequestToken);
  });

  it('a conflict then a full limit is LIMIT_EXCEEDED', async () => {
    const token = tokenRecord();
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(transactionCanceled(reasons(CREATE_PARTS, { 3: 'TransactionConflict' })))
      .rejects(transactionCanceled(reasons(CREATE_PARTS, { 3: 'ConditionalCheckFailed' })));
    await expect(repository().create(token, LIMITS, createdAudit(token))).rejects.toBeInstanceOf(
      LimitExceededError,
    );
  });

  it('rethrows the cancellation once the conflict budget is spent', async () => {
    const token = tokenRecord();
    const conflict = transactionCanceled(reasons(CREATE_PARTS, { 3: 'TransactionConflict' }));
    dynamo.on(TransactWriteCommand).rejects(conflict);
    await expect(repository().create(token, LIMITS, createdAudit(token))).rejects.toBeInstanceOf(
      TransactionCanceledException,
    );
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(MAX_ATTEMPTS);
  });

  it.each([
    ['throttling', throttled()],
    [
      'a throttled part of the transaction',
      transactionCanceled(reasons(CREATE_PARTS, { 3: 'ThrottlingError' })),
    ],
    ['a colliding token id', transactionCanceled(reasons(CREATE_PARTS, { 0: 'ConditionalCheckFailed' }))],
    ['a cancellation without reasons', transactionCanceled([])],
  ])('%s passes through as it is, without a retry', async (_, error) => {
    const token = tokenRecord();
    dynamo.on(TransactWriteCommand).rejects(error);
    await expect(repository().create(token, LIMITS, createdAudit(token))).rejects.toBe(error);
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });
});

describe('get and listings', () => {
  it('get: one consistent GetItem; a non-token item is not a token', async () => {
    const token = tokenRecord();
    dynamo
      .on(GetCommand)
      .resolvesOnce({ Item: tokenToItem(token) })
      .resolves({ Item: { entity: 'slot' } });
    expect(await repository().get(token.id)).toEqual(token);
    expect(await repository().get(token.id)).toBeUndefined();
    expect(dynamo.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Key: KEYS.token(token.id),
      ConsistentRead: true,
    });
  });

  it('get: throttling passes through', async () => {
    dynamo.on(GetCommand).rejects(throttled());
    await expect(repository().get('tok_x')).rejects.toBeInstanceOf(ThrottlingException);
  });

  it('listByOwner / listByAccount: newest first on their index, with a cursor back in', async () => {
    const token = tokenRecord();
    const lastKey = {
      pk: `TOKEN#${token.id}`,
      sk: 'TOKEN',
      gsi1pk: 'USER#acct-1#user-1',
      gsi1sk: `x#${token.id}`,
    };
    dynamo
      .on(QueryCommand)
      .resolvesOnce({ Items: [tokenToItem(token)], LastEvaluatedKey: lastKey })
      .resolves({});
    const first = await repository().listByOwner('acct-1', 'user-1', { limit: 1, cursor: undefined });
    // What the index copies and the listing shows, not the whole record (no secret hash, no address).
    const listed = Object.fromEntries(
      TOKEN_LISTING_ATTRIBUTES.filter((name) => name !== 'entity').map((name) => [name, token[name]]),
    );
    expect(first.items).toEqual([listed]);
    await repository().listByOwner('acct-1', 'user-1', { limit: 1, cursor: first.nextCursor });
    await repository().listByAccount('acct-1', { limit: 5, cursor: undefined });
    const inputs = dynamo.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(inputs[0]).toMatchObject({ IndexName: 'byOwner2', ScanIndexForward: false, Limit: 1 });
    expect(inputs[1]?.ExclusiveStartKey).toEqual(lastKey);
    expect(inputs[2]).toMatchObject({
      IndexName: 'byAccount2',
      ExpressionAttributeValues: { ':pk': 'ACCOUNT#acct-1' },
    });
  });

  it('a foreign cursor is a 400 before any query', async () => {
    await expect(
      repository().listByAccount('acct-1', { limit: 5, cursor: 'garbage!' }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(dynamo.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it('listSlotHolders: a user’s slots strongly consistent, every page; an account’s from the index', async () => {
    const a = tokenRecord();
    const b = tokenRecord();
    dynamo
      .on(QueryCommand)
      .resolvesOnce({ Items: [slotToItem(slotFor(a))], LastEvaluatedKey: { pk: 'x', sk: 'y' } })
      .resolvesOnce({ Items: [slotToItem(slotFor(b))] })
      .resolves({ Items: [slotToItem(slotFor(b))] });
    expect(await repository().listSlotHolders('acct-1', 'user-1')).toEqual([a.id, b.id]);
    expect(await repository().listSlotHolders('acct-1', undefined)).toEqual([b.id]);
    const inputs = dynamo.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(inputs[0]).toMatchObject({
      ConsistentRead: true,
      ExpressionAttributeValues: { ':pk': 'SLOTS#acct-1#user-1' },
    });
    expect(inputs[0]?.IndexName).toBeUndefined();
    expect(inputs[1]?.ExclusiveStartKey).toEqual({ pk: 'x', sk: 'y' });
    expect(inputs[2]).toMatchObject({
      IndexName: 'byAccount2',
      ExpressionAttributeValues: { ':pk': 'SLOTS#acct-1' },
    });
  });

  it('listSlotHolders: throttling passes through', async () => {
    dynamo.on(QueryCommand).rejects(throttled());
    await expect(repository().listSlotHolders('acct-1', undefined)).rejects.toBeInstanceOf(
      ThrottlingException,
    );
  });
});

describe('revoke', () => {
  const revokedAudit = (revoked: TokenRecord) =>
    auditEvent({
      action: 'token.revoked',
      at: revoked.lastChange.at,
      actor: SYSTEM_ACTOR,
      accountId: revoked.accountId,
      subjectUserId: revoked.userId,
      token: revoked,
    });

  it('one transaction conditional on the version read: token, credential, slot, counters, audit', async () => {
    const token = tokenRecord({ version: 4 });
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(token) });
    dynamo.on(TransactWriteCommand).resolves({});
    const revoked = await repository().revoke(token.id, change('revoked'), revokedAudit);
    expect(revoked).toMatchObject({ state: 'revoked', version: 5 });
    const [items = []] = transactions();
    expect(keysOf(items)).toEqual([
      KEYS.token(token.id),
      KEYS.credential(token.secretHash),
      KEYS.slot('acct-1', 'user-1', token.id),
      KEYS.userLimit('acct-1', 'user-1'),
      KEYS.accountLimit('acct-1'),
      { pk: `AUDIT#TOKEN#${token.id}`, sk: expect.any(String) },
      KEYS.usageKeyLimit(),
    ]);
    expect(items[6]?.Update?.ExpressionAttributeValues).toMatchObject({ ':minusOne': -1 });
    expect(items[0]?.Update).toMatchObject({
      ConditionExpression: '#version = :expectedVersion AND #state = :active',
      ExpressionAttributeValues: { ':expectedVersion': 4, ':nextVersion': 5, ':revoked': 'revoked' },
    });
    expect(items[2]?.Delete?.ConditionExpression).toBe('attribute_exists(pk)');
    expect(items[3]?.Update?.ExpressionAttributeValues).toMatchObject({ ':minusOne': -1 });
    expect(items[5]?.Put?.Item).toMatchObject({ action: 'token.revoked', tokenId: token.id });
  });

  it('an expired token is never revoked (issue #11): no write, nothing returned, whether known or read', async () => {
    const expired = tokenRecord({ expiresAt: new Date(Date.now() - 1000).toISOString() });
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(expired) });
    expect(await repository().revoke(expired.id, change('revoked'), revokedAudit, expired)).toBeUndefined();
    expect(await repository().revoke(expired.id, change('revoked'), revokedAudit)).toBeUndefined();
    expect(transactions()).toHaveLength(0);
  });

  it('version 1 also matches an item written before versions existed', async () => {
    const token = tokenRecord();
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(token) });
    dynamo.on(TransactWriteCommand).resolves({});
    await repository().revoke(token.id, change('revoked'), revokedAudit);
    expect(transactions()[0]?.[0]?.Update?.ConditionExpression).toBe(
      '(attribute_not_exists(#version) OR #version = :expectedVersion) AND #state = :active',
    );
  });

  it('includes the previous credential while its grace lasts, not after', async () => {
    const inGrace = tokenRecord({
      previousSecretHash: 'old-hash',
      previousSecretNotAfter: new Date(Date.now() + 60_000).toISOString(),
    });
    const ended = { ...inGrace, previousSecretNotAfter: new Date(Date.now() - 60_000).toISOString() };
    dynamo
      .on(GetCommand)
      .resolvesOnce({ Item: tokenToItem(inGrace) })
      .resolves({ Item: tokenToItem(ended) });
    dynamo.on(TransactWriteCommand).resolves({});
    await repository().revoke(inGrace.id, change('revoked'), revokedAudit);
    await repository().revoke(ended.id, change('revoked'), revokedAudit);
    const [first = [], second = []] = transactions();
    expect(keysOf(first)).toContainEqual(KEYS.credential('old-hash'));
    expect(keysOf(second)).not.toContainEqual(KEYS.credential('old-hash'));
  });

  it('already revoked or missing: undefined, nothing written', async () => {
    dynamo
      .on(GetCommand)
      .resolvesOnce({ Item: tokenToItem(tokenRecord({ state: 'revoked' })) })
      .resolves({});
    expect(await repository().revoke('tok_a', change('revoked'), revokedAudit)).toBeUndefined();
    expect(await repository().revoke('tok_b', change('revoked'), revokedAudit)).toBeUndefined();
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it('lost to a concurrent revoke: re-reads, answers undefined', async () => {
    const token = tokenRecord();
    dynamo
      .on(GetCommand)
      .resolvesOnce({ Item: tokenToItem(token) })
      .resolves({ Item: tokenToItem({ ...token, state: 'revoked', version: 2 }) });
    dynamo
      .on(TransactWriteCommand)
      .rejects(transactionCanceled(reasons(6, { 0: 'ConditionalCheckFailed', 2: 'ConditionalCheckFailed' })));
    expect(await repository().revoke(token.id, change('revoked'), revokedAudit)).toBeUndefined();
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });

  it('lost to a concurrent rotation: revokes the new version and its new credential', async () => {
    const token = tokenRecord();
    const rotated = { ...token, secretHash: 'new-hash', version: 2 };
    dynamo
      .on(GetCommand)
      .resolvesOnce({ Item: tokenToItem(token) })
      .resolves({ Item: tokenToItem(rotated) });
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(transactionCanceled(reasons(6, { 0: 'ConditionalCheckFailed' })))
      .resolves({});
    expect(await repository().revoke(token.id, change('revoked'), revokedAudit)).toMatchObject({
      version: 3,
    });
    const second = transactions()[1] ?? [];
    expect(keysOf(second)).toContainEqual(KEYS.credential('new-hash'));
    expect(second[0]?.Update?.ExpressionAttributeValues).toMatchObject({ ':expectedVersion': 2 });
  });

  it('slot released after expiry: retries without the slot and without counting down', async () => {
    const token = tokenRecord();
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(token) });
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(transactionCanceled(reasons(6, { 2: 'ConditionalCheckFailed' })))
      .resolves({});
    expect(await repository().revoke(token.id, change('revoked'), revokedAudit)).toMatchObject({
      state: 'revoked',
    });
    expect(keysOf(transactions()[1] ?? [])).toEqual([
      KEYS.token(token.id),
      KEYS.credential(token.secretHash),
      { pk: `AUDIT#TOKEN#${token.id}`, sk: expect.any(String) },
    ]);
  });

  it('credentials removed by TTL: retries without them', async () => {
    const token = tokenRecord({
      previousSecretHash: 'old-hash',
      previousSecretNotAfter: new Date(Date.now() + 60_000).toISOString(),
    });
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(token) });
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(
        transactionCanceled(reasons(7, { 1: 'ConditionalCheckFailed', 2: 'ConditionalCheckFailed' })),
      )
      .resolves({});
    await repository().revoke(token.id, change('revoked'), revokedAudit);
    const retried = keysOf(transactions()[1] ?? []);
    expect(retried).not.toContainEqual(KEYS.credential(token.secretHash));
    expect(retried).not.toContainEqual(KEYS.credential('old-hash'));
    expect(retried).toContainEqual(KEYS.slot('acct-1', 'user-1', token.id));
  });

  it('conflicts: retried up to the budget, then rethrown', async () => {
    const token = tokenRecord();
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(token) });
    const conflict = transactionCanceled(reasons(6, { 4: 'TransactionConflict' }));
    dynamo.on(TransactWriteCommand).rejects(conflict);
    await expect(repository().revoke(token.id, change('revoked'), revokedAudit)).rejects.toBe(conflict);
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(MAX_ATTEMPTS);
  });

  it('throttling of the read or the write passes through', async () => {
    const token = tokenRecord();
    dynamo
      .on(GetCommand)
      .rejectsOnce(throttled())
      .resolves({ Item: tokenToItem(token) });
    dynamo.on(TransactWriteCommand).rejects(throttled());
    await expect(repository().revoke(token.id, change('revoked'), revokedAudit)).rejects.toBeInstanceOf(
      ThrottlingException,
    );
    await expect(repository().revoke(token.id, change('revoked'), revokedAudit)).rejects.toBeInstanceOf(
      ThrottlingException,
    );
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });
});

describe('update', () => {
  const current = tokenRecord({
    version: 2,
    previousSecretHash: 'old-hash',
    previousSecretNotAfter: new Date(Date.now() + 60_000).toISOString(),
  });
  const later = new Date(Date.now() + 90 * 86_400_000).toISOString();
  const next: TokenRecord = {
    ...current,
    scopes: ['reports:read'],
    expiresAt: later,
    version: 3,
    lastChange: change('updated'),
  };
  const updatedAudit = createdAudit(next);

  it('one transaction: token (keeping lastUsedAt), both credentials, the slot, the owner’s access, the audit event', async () => {
    dynamo.on(TransactWriteCommand).resolves({});
    await repository().update(current, next, updatedAudit);
    const [items = []] = transactions();
    expect(keysOf(items)).toEqual([
      KEYS.token(current.id),
      KEYS.credential(current.secretHash),
      KEYS.credential('old-hash'),
      KEYS.slot('acct-1', 'user-1', current.id),
      KEYS.userAccess('acct-1', 'user-1'),
      { pk: `AUDIT#TOKEN#${current.id}`, sk: expect.any(String) },
    ]);
    expect(items[4]?.ConditionCheck?.ConditionExpression).toBe('attribute_not_exists(pk) OR enabled = :true');
    const tokenUpdate = items[0]?.Update;
    expect(tokenUpdate?.ConditionExpression).toBe('#version = :expectedVersion AND #state = :active');
    expect(Object.values(tokenUpdate?.ExpressionAttributeNames ?? {})).not.toContain('lastUsedAt');
    expect(Object.values(tokenUpdate?.ExpressionAttributeValues ?? {})).toContain(3);
    expect(items[1]?.Update).toMatchObject({
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: {
        ':scopes': ['reports:read'],
        ':expiresAtMs': Date.parse(later),
        ':ttl': Math.floor(Date.parse(later) / 1000),
      },
    });
    expect(items[1]?.Update?.UpdateExpression).not.toMatch(/disabled|accessGeneration/);
    expect(items[2]?.Update?.ExpressionAttributeValues).toMatchObject({
      ':ttl': Math.floor(Date.parse(current.previousSecretNotAfter ?? '') / 1000),
    });
    expect(items[3]?.Update?.ExpressionAttributeValues).toMatchObject({
      ':expiresAt': later,
      ':sortKey': `${later}#${current.id}`,
    });
  });

  it('leaves the slot alone when neither expiry nor name changed', async () => {
    dynamo.on(TransactWriteCommand).resolves({});
    await repository().update(current, { ...current, scopes: ['x:read'], version: 3 }, updatedAudit);
    expect(keysOf(transactions()[0] ?? [])).not.toContainEqual(KEYS.slot('acct-1', 'user-1', current.id));
  });

  it.each([
    ['the token (changed or revoked meanwhile)', 0],
    ['the current credential (expired, gone by TTL)', 1],
    ['the slot (released after expiry)', 3],
  ])('a failed condition on %s is CONFLICT', async (_, index) => {
    dynamo
      .on(TransactWriteCommand)
      .rejects(transactionCanceled(reasons(6, { [index]: 'ConditionalCheckFailed' })));
    await expect(repository().update(current, next, updatedAudit)).rejects.toBeInstanceOf(ConflictError);
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });

  it('the owner’s token access disabled (issue #11): 403 TokenAccessDisabledError, not retried', async () => {
    dynamo.on(TransactWriteCommand).rejects(transactionCanceled(reasons(6, { 4: 'ConditionalCheckFailed' })));
    await expect(repository().update(current, next, updatedAudit)).rejects.toBeInstanceOf(
      TokenAccessDisabledError,
    );
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });

  it('previous credential gone: retried without it; conflicts retried', async () => {
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(transactionCanceled(reasons(6, { 2: 'ConditionalCheckFailed' })))
      .rejectsOnce(transactionCanceled(reasons(5, { 0: 'TransactionConflict' })))
      .resolves({});
    await repository().update(current, next, updatedAudit);
    const calls = transactions();
    expect(calls).toHaveLength(3);
    expect(keysOf(calls[2] ?? [])).not.toContainEqual(KEYS.credential('old-hash'));
  });

  it('throttling passes through', async () => {
    dynamo.on(TransactWriteCommand).rejects(throttled());
    await expect(repository().update(current, next, updatedAudit)).rejects.toBeInstanceOf(
      ThrottlingException,
    );
  });
});

describe('rotate', () => {
  const at = new Date();
  const current = tokenRecord({
    version: 3,
    previousSecretHash: 'older-hash',
    previousSecretNotAfter: new Date(at.getTime() + 60_000).toISOString(),
  });
  const graceEnd = new Date(at.getTime() + 3_600_000).toISOString();
  const next: TokenRecord = {
    ...current,
    secretHash: 'new-hash',
    hint: 'atk_…wxyz',
    previousSecretHash: current.secretHash,
    previousSecretNotAfter: graceEnd,
    rotatedAt: at.toISOString(),
    version: 4,
    lastChange: { ...change('rotated'), at: at.toISOString() },
  };
  const rotatedAudit = createdAudit(next);
  const accessKey = KEYS.userAccess('acct-1', 'user-1');
  const access = (enabled: boolean, generation: number) => ({
    Item: { ...accessKey, entity: 'userAccess', enabled, generation },
  });

  it('reads the owner’s access, then one transaction conditional on it, the version and the new key', async () => {
    dynamo.on(GetCommand).resolves(access(true, 4));
    dynamo.on(TransactWriteCommand).resolves({});
    await repository().rotate(current, next, rotatedAudit);
    expect(dynamo.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Key: accessKey,
      ConsistentRead: true,
    });
    const [items = []] = transactions();
    expect(keysOf(items)).toEqual([
      KEYS.token(current.id),
      KEYS.credential('new-hash'),
      accessKey,
      KEYS.credential(current.secretHash),
      KEYS.credential('older-hash'),
      { pk: `AUDIT#TOKEN#${current.id}`, sk: expect.any(String) },
    ]);
    expect(items[1]?.Put).toMatchObject({
      ConditionExpression: 'attribute_not_exists(pk)',
      Item: { secretHash: 'new-hash', disabled: false, accessGeneration: 4, notAfterMs: null },
    });
    expect(items[2]?.ConditionCheck).toMatchObject({
      ConditionExpression: 'attribute_not_exists(pk) OR (enabled = :true AND generation = :generation)',
      ExpressionAttributeValues: { ':true': true, ':generation': 4 },
    });
    expect(items[3]?.Update?.ExpressionAttributeValues).toMatchObject({
      ':notAfterMs': Date.parse(graceEnd),
      ':ttl': Math.floor(Date.parse(graceEnd) / 1000),
    });
    expect(items[4]?.Update?.ExpressionAttributeValues).toMatchObject({ ':notAfterMs': at.getTime() });
    expect(keysOf(items)).not.toContainEqual(KEYS.userLimit('acct-1', 'user-1'));
  });

  it('never switched: generation 0', async () => {
    dynamo.on(GetCommand).resolves({});
    dynamo.on(TransactWriteCommand).resolves({});
    await repository().rotate(current, next, rotatedAudit);
    expect(transactions()[0]?.[1]?.Put?.Item).toMatchObject({ accessGeneration: 0 });
  });

  it('disabled at the read: TokenAccessDisabledError, nothing written', async () => {
    dynamo.on(GetCommand).resolves(access(false, 1));
    await expect(repository().rotate(current, next, rotatedAudit)).rejects.toBeInstanceOf(
      TokenAccessDisabledError,
    );
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it('switched between read and write: re-read; disabled → 403, re-enabled → retried at the new generation', async () => {
    dynamo.on(GetCommand).resolvesOnce(access(true, 1)).resolves(access(false, 2));
    dynamo.on(TransactWriteCommand).rejects(transactionCanceled(reasons(6, { 2: 'ConditionalCheckFailed' })));
    await expect(repository().rotate(current, next, rotatedAudit)).rejects.toBeInstanceOf(
      TokenAccessDisabledError,
    );

    dynamo.reset();
    dynamo.on(GetCommand).resolvesOnce(access(true, 1)).resolves(access(true, 3));
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(transactionCanceled(reasons(6, { 2: 'ConditionalCheckFailed' })))
      .resolves({});
    await repository().rotate(current, next, rotatedAudit);
    expect(transactions()[1]?.[1]?.Put?.Item).toMatchObject({ accessGeneration: 3 });
  });

  it('lost to another change: CONFLICT', async () => {
    dynamo.on(GetCommand).resolves({});
    dynamo.on(TransactWriteCommand).rejects(transactionCanceled(reasons(6, { 0: 'ConditionalCheckFailed' })));
    await expect(repository().rotate(current, next, rotatedAudit)).rejects.toBeInstanceOf(ConflictError);
  });

  it('old or older credential gone: retried without it', async () => {
    dynamo.on(GetCommand).resolves({});
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(
        transactionCanceled(reasons(6, { 3: 'ConditionalCheckFailed', 4: 'ConditionalCheckFailed' })),
      )
      .resolves({});
    await repository().rotate(current, next, rotatedAudit);
    const retried = keysOf(transactions()[1] ?? []);
    expect(retried).not.toContainEqual(KEYS.credential(current.secretHash));
    expect(retried).not.toContainEqual(KEYS.credential('older-hash'));
    expect(retried).toContainEqual(KEYS.credential('new-hash'));
  });

  it('throttling of the access read passes through', async () => {
    dynamo.on(GetCommand).rejects(throttled());
    await expect(repository().rotate(current, next, rotatedAudit)).rejects.toBeInstanceOf(
      ThrottlingException,
    );
  });
});

describe('releasing slots', () => {
  const now = new Date();
  const expired = tokenRecord({ expiresAt: new Date(now.getTime() - 60_000).toISOString() });
  const live = tokenRecord();

  it('releaseExpiredSlots: each expired slot in its own conditional transaction with token.expired', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [slotToItem(slotFor(expired)), slotToItem(slotFor(live))] });
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(expired) });
    dynamo.on(TransactWriteCommand).resolves({});
    expect(await repository().releaseExpiredSlots('acct-1', 'user-1', now)).toBe(1);
    const [items = []] = transactions();
    expect(transactions()).toHaveLength(1);
    expect(items[0]?.Delete).toMatchObject({
      Key: KEYS.slot('acct-1', 'user-1', expired.id),
      ConditionExpression: 'attribute_exists(pk) AND expiresAt = :seenExpiresAt',
      ExpressionAttributeValues: { ':seenExpiresAt': expired.expiresAt },
    });
    expect(keysOf(items).slice(1, 3)).toEqual([
      KEYS.userLimit('acct-1', 'user-1'),
      KEYS.accountLimit('acct-1'),
    ]);
    expect(items[3]?.Put).toMatchObject({
      ConditionExpression: 'attribute_not_exists(pk)',
      Item: { id: expiredAuditEvent(expired).id, action: 'token.expired', at: expired.expiresAt },
    });
  });

  it('an account sweep asks the index for slots that expired by now', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [] });
    expect(await repository().releaseExpiredSlots('acct-1', undefined, now)).toBe(0);
    expect(dynamo.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      IndexName: 'byAccount2',
      KeyConditionExpression: '#pk = :pk AND #sk < :before',
      ExpressionAttributeValues: { ':pk': 'SLOTS#acct-1', ':before': `${now.toISOString()}$` },
    });
  });

  it('token item gone: the event comes from the slot, with the same id', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [slotToItem(slotFor(expired))] });
    dynamo.on(GetCommand).resolves({});
    dynamo.on(TransactWriteCommand).resolves({});
    await repository().releaseExpiredSlots('acct-1', 'user-1', now);
    expect(transactions()[0]?.[3]?.Put?.Item).toMatchObject({
      id: expiredAuditEvent(expired).id,
      tokenName: expired.name,
      actor: SYSTEM_ACTOR,
    });
  });

  it('released or extended meanwhile: not counted; audit event already there: released without it', async () => {
    const other = tokenRecord({ expiresAt: expired.expiresAt });
    dynamo.on(QueryCommand).resolves({ Items: [slotToItem(slotFor(expired)), slotToItem(slotFor(other))] });
    dynamo.on(GetCommand).resolves({});
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(transactionCanceled(reasons(4, { 0: 'ConditionalCheckFailed' })))
      .rejectsOnce(transactionCanceled(reasons(4, { 3: 'ConditionalCheckFailed' })))
      .resolves({});
    expect(await repository().releaseExpiredSlots('acct-1', 'user-1', now)).toBe(1);
    const calls = transactions();
    expect(calls).toHaveLength(3);
    // slot, both counters and the usage-key counter; no audit event.
    expect(calls[2]).toHaveLength(4);
    expect(calls[2]?.at(-1)?.Update?.Key).toEqual(KEYS.usageKeyLimit());
  });

  it('releaseSlotOfDeletedToken: true once, false when the slot is gone; conflicts retried', async () => {
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(transactionCanceled(reasons(4, { 1: 'TransactionConflict' })))
      .resolvesOnce({})
      .rejects(transactionCanceled(reasons(4, { 0: 'ConditionalCheckFailed' })));
    expect(await repository().releaseSlotOfDeletedToken(expired, expiredAuditEvent(expired))).toBe(true);
    expect(await repository().releaseSlotOfDeletedToken(expired, expiredAuditEvent(expired))).toBe(false);
    expect(transactions()[0]?.[0]?.Delete?.ConditionExpression).toBe('attribute_exists(pk)');
  });

  it('throttling passes through', async () => {
    dynamo.on(TransactWriteCommand).rejects(throttled());
    await expect(
      repository().releaseSlotOfDeletedToken(expired, expiredAuditEvent(expired)),
    ).rejects.toBeInstanceOf(ThrottlingException);
  });
});
