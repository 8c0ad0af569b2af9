import { randomBytes } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoTokenRepository } from '../../lambdas/adapters/dynamo-token-repository.js';
import { KEYS, PARTITIONS } from '../../lambdas/adapters/table-definition.js';
import { expiredAuditEvent, tokenAuditEvent } from '../../lambdas/core/audit.js';
import { ConflictError, LimitExceededError, TokenAccessDisabledError } from '../../lambdas/core/errors.js';
import { hashToken } from '../../lambdas/core/hashing.js';
import type { Caller, TokenChange, TokenRecord } from '../../lambdas/core/model.js';
import { generateToken } from '../../lambdas/core/token-format.js';
import { createTestTable, type TestTable } from '../support/dynamo.js';
import { tokenRecord } from '../unit/management/records.js';

// The token repository on DynamoDB Local: every write's items (token, credentials, slot,
// counters, audit event), the conditions that make each change happen once, and what a lost
// race answers. Limits under heavy contention: limits-concurrency.test.ts.

const key = { version: 'v1', material: randomBytes(32) };
const LIMITS = { perUser: 10, perAccount: 100, usageKeys: 10_000 };
const RETENTION_DAYS = 30;
const DAY_MS = 86_400_000;

let table: TestTable;
let repository: DynamoTokenRepository;
const secrets: string[] = [];

beforeAll(async () => {
  table = await createTestTable();
  repository = new DynamoTokenRepository(table.documentClient, table.tableName, {
    auditRetentionDays: RETENTION_DAYS,
  });
});
afterAll(async () => {
  await table.drop();
});

function callerOf(token: Pick<TokenRecord, 'accountId' | 'userId'>, role: Caller['role'] = 'member'): Caller {
  return {
    accountId: token.accountId,
    userId: token.userId,
    role,
    email: undefined,
    sourceIp: '198.51.100.7',
    userAgent: 'vitest',
  };
}

function newSecret(): { secretHash: string; hint: string } {
  const { secret, hint } = generateToken('atk');
  secrets.push(secret);
  return { secretHash: hashToken(key, secret), hint };
}

function newToken(accountId: string, userId: string, overrides: Partial<TokenRecord> = {}): TokenRecord {
  return tokenRecord({ accountId, userId, createdBy: userId, ...newSecret(), ...overrides });
}

async function create(token: TokenRecord, limits = LIMITS): Promise<TokenRecord> {
  await repository.create(
    token,
    limits,
    tokenAuditEvent('token.created', callerOf(token), token, token.createdAt),
  );
  return token;
}

function change(action: TokenChange['action'], at = new Date()): TokenChange {
  return {
    action,
    at: at.toISOString(),
    actorUserId: 'actor',
    actorRole: 'admin',
    sourceIp: '198.51.100.7',
    userAgent: 'vitest',
  };
}

function revoke(tokenId: string, at = new Date()): Promise<TokenRecord | undefined> {
  return repository.revoke(tokenId, change('revoked', at), (revoked) =>
    tokenAuditEvent('token.revoked', callerOf(revoked, 'admin'), revoked, revoked.lastChange.at),
  );
}

async function item(itemKey: Record<string, string>): Promise<Record<string, unknown> | undefined> {
  const { Item } = await table.documentClient.send(
    new GetCommand({ TableName: table.tableName, Key: itemKey, ConsistentRead: true }),
  );
  return Item;
}

async function counters(accountId: string, userId: string): Promise<{ user: unknown; account: unknown }> {
  return {
    user: (await item(KEYS.userLimit(accountId, userId)))?.active,
    account: (await item(KEYS.accountLimit(accountId)))?.active,
  };
}

async function auditItems(tokenId: string): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await table.documentClient.send(
    new ScanCommand({
      TableName: table.tableName,
      ConsistentRead: true,
      FilterExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': PARTITIONS.auditOfToken(tokenId) },
    }),
  );
  return Items;
}

const epochSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

describe('create', () => {
  it('writes the token, its credential, its slot, both counters and the audit event together', async () => {
    const token = await create(newToken('acct-c', 'ana'));
    expect(await repository.get(token.id)).toEqual(token);
    expect(await item(KEYS.credential(token.secretHash))).toMatchObject({
      entity: 'credential',
      tokenId: token.id,
      state: 'active',
      disabled: false,
      accessGeneration: 0,
      ttl: epochSeconds(token.expiresAt ?? ''),
    });
    expect(await item(KEYS.slot('acct-c', 'ana', token.id))).toEqual({
      ...KEYS.slot('acct-c', 'ana', token.id),
      entity: 'slot',
      tokenId: token.id,
      userId: 'ana',
      accountId: 'acct-c',
      tokenName: token.name,
      expiresAt: token.expiresAt,
      gsi2pk: 'SLOTS#acct-c',
      gsi2sk: `${token.expiresAt}#${token.id}`,
    });
    expect(await counters('acct-c', 'ana')).toEqual({ user: 1, account: 1 });
    const [audit] = await auditItems(token.id);
    expect(audit).toMatchObject({ action: 'token.created', tokenId: token.id, subjectUserId: 'ana' });
    expect(audit?.ttl).toBe(epochSeconds(String(audit?.at)) + RETENTION_DAYS * 86_400);
    expect(await repository.listSlotHolders('acct-c', 'ana')).toEqual([token.id]);
    expect(await repository.listSlotHolders('acct-c', undefined)).toEqual([token.id]);
  });

  it('a token without expiry sorts its slot after every dated one', async () => {
    const token = await create(newToken('acct-c', 'ben', { expiresAt: null }));
    expect((await item(KEYS.slot('acct-c', 'ben', token.id)))?.gsi2sk).toBe(`9999#${token.id}`);
    expect((await item(KEYS.credential(token.secretHash)))?.ttl).toBeUndefined();
  });

  it('refuses when the owner’s token access is disabled, writing nothing; enabled again, it creates', async () => {
    await table.documentClient.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...KEYS.userAccess('acct-d', 'dan'), entity: 'userAccess', enabled: false, generation: 1 },
      }),
    );
    const token = newToken('acct-d', 'dan');
    await expect(create(token)).rejects.toBeInstanceOf(TokenAccessDisabledError);
    expect(await repository.get(token.id)).toBeUndefined();
    expect(await item(KEYS.credential(token.secretHash))).toBeUndefined();
    expect(await counters('acct-d', 'dan')).toEqual({ user: undefined, account: undefined });
    expect(await auditItems(token.id)).toEqual([]);

    await table.documentClient.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: KEYS.userAccess('acct-d', 'dan'),
        UpdateExpression: 'SET enabled = :true, generation = :two',
        ExpressionAttributeValues: { ':true': true, ':two': 2 },
      }),
    );
    await create(token);
    expect(await counters('acct-d', 'dan')).toEqual({ user: 1, account: 1 });
  });

  it('answers LIMIT_EXCEEDED at the per-user and the per-account limit, writing nothing', async () => {
    await create(newToken('acct-l', 'lea'), { perUser: 1, perAccount: 2, usageKeys: 10_000 });
    const overUser = newToken('acct-l', 'lea');
    await expect(create(overUser, { perUser: 1, perAccount: 2, usageKeys: 10_000 })).rejects.toThrow(
      /limit of 1 active tokens/,
    );
    await create(newToken('acct-l', 'max'), { perUser: 1, perAccount: 2, usageKeys: 10_000 });
    const overAccount = newToken('acct-l', 'ned');
    await expect(
      create(overAccount, { perUser: 1, perAccount: 2, usageKeys: 10_000 }),
    ).rejects.toBeInstanceOf(LimitExceededError);
    expect(await repository.get(overUser.id)).toBeUndefined();
    expect(await repository.get(overAccount.id)).toBeUndefined();
    expect((await counters('acct-l', 'lea')).account).toBe(2);
    expect(await repository.listSlotHolders('acct-l', undefined)).toHaveLength(2);
  });
});

describe('revoke', () => {
  it('revokes token and credential, releases the slot and audits, once', async () => {
    const token = await create(newToken('acct-r', 'rob'));
    const revoked = await revoke(token.id);
    expect(revoked).toMatchObject({
      id: token.id,
      state: 'revoked',
      version: 2,
      lastChange: { action: 'revoked' },
    });
    expect(await repository.get(token.id)).toEqual(revoked);
    expect((await item(KEYS.credential(token.secretHash)))?.state).toBe('revoked');
    expect(await item(KEYS.slot('acct-r', 'rob', token.id))).toBeUndefined();
    expect(await counters('acct-r', 'rob')).toEqual({ user: 0, account: 0 });
    expect(await revoke(token.id)).toBeUndefined();
    expect(await revoke('tok_doesnotexist0000000000')).toBeUndefined();
    expect(await counters('acct-r', 'rob')).toEqual({ user: 0, account: 0 });
    expect((await auditItems(token.id)).map((audit) => audit.action).sort()).toEqual([
      'token.created',
      'token.revoked',
    ]);
  });

  it('in parallel: one state change, one decrement, one audit event; the others answer undefined', async () => {
    const token = await create(newToken('acct-r', 'par'));
    const results = await Promise.all(Array.from({ length: 10 }, () => revoke(token.id)));
    expect(results.filter((result) => result !== undefined)).toHaveLength(1);
    expect(await counters('acct-r', 'par')).toEqual({ user: 0, account: 0 });
    expect((await auditItems(token.id)).filter((audit) => audit.action === 'token.revoked')).toHaveLength(1);
    expect(await repository.get(token.id)).toMatchObject({ state: 'revoked', version: 2 });
  });

  it('also revokes a previous secret still in grace, and copes with credentials TTL already removed', async () => {
    const previous = newSecret();
    const token = await create(
      newToken('acct-r', 'rot', {
        previousSecretHash: previous.secretHash,
        previousSecretNotAfter: new Date(Date.now() + 3_600_000).toISOString(),
      }),
    );
    await table.documentClient.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...KEYS.credential(previous.secretHash), entity: 'credential', state: 'active' },
      }),
    );
    await revoke(token.id);
    expect((await item(KEYS.credential(previous.secretHash)))?.state).toBe('revoked');

    const gone = await create(
      newToken('acct-r', 'rot', {
        previousSecretHash: newSecret().secretHash,
        previousSecretNotAfter: new Date(Date.now() + 3_600_000).toISOString(),
      }),
    );
    await table.documentClient.send(
      new DeleteCommand({ TableName: table.tableName, Key: KEYS.credential(gone.secretHash) }),
    );
    expect(await revoke(gone.id)).toMatchObject({ state: 'revoked' });
    expect(await item(KEYS.credential(gone.secretHash))).toBeUndefined();
    expect(await counters('acct-r', 'rot')).toEqual({ user: 0, account: expect.any(Number) });
  });

  it('an expired token is never revoked (issue #11): nothing written, its slot released once by expiry', async () => {
    const token = await create(
      newToken('acct-x', 'old', { expiresAt: new Date(Date.now() - 1_000).toISOString() }),
    );
    expect(await repository.releaseExpiredSlots('acct-x', 'old', new Date())).toBe(1);
    expect(await counters('acct-x', 'old')).toEqual({ user: 0, account: 0 });
    expect(await revoke(token.id)).toBeUndefined();
    expect(await repository.get(token.id)).toMatchObject({ state: 'active', version: token.version });
    expect(await counters('acct-x', 'old')).toEqual({ user: 0, account: 0 });
  });

  it('with its slot already gone (released in a race), revokes without counting down again', async () => {
    const token = await create(newToken('acct-x', 'raced'));
    await table.documentClient.send(
      new DeleteCommand({ TableName: table.tableName, Key: KEYS.slot('acct-x', 'raced', token.id) }),
    );
    const before = await counters('acct-x', 'raced');
    expect(await revoke(token.id)).toMatchObject({ state: 'revoked' });
    expect(await counters('acct-x', 'raced')).toEqual(before);
  });
});

describe('update', () => {
  it('replaces the record, keeps lastUsedAt, edits both credentials (keeping disabled) and the slot', async () => {
    const previous = newSecret();
    const graceEnds = new Date(Date.now() + 3_600_000).toISOString();
    const current = await create(
      newToken('acct-u', 'uma', {
        previousSecretHash: previous.secretHash,
        previousSecretNotAfter: graceEnds,
      }),
    );
    await table.documentClient.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          ...KEYS.credential(previous.secretHash),
          entity: 'credential',
          state: 'active',
          notAfterMs: Date.parse(graceEnds),
          disabled: true,
          accessGeneration: 3,
        },
      }),
    );
    const usedAt = new Date().toISOString();
    await table.documentClient.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: KEYS.token(current.id),
        UpdateExpression: 'SET lastUsedAt = :at',
        ExpressionAttributeValues: { ':at': usedAt },
      }),
    );
    const expiresAt = new Date(Date.now() + 90 * DAY_MS).toISOString();
    const next: TokenRecord = {
      ...current,
      name: 'renamed',
      scopes: ['reports:read'],
      allowedIps: ['203.0.113.0/24'],
      expiresAt,
      version: 2,
      lastChange: change('updated'),
    };
    await repository.update(
      current,
      next,
      tokenAuditEvent('token.updated', callerOf(current), next, next.lastChange.at),
    );
    expect(await repository.get(current.id)).toEqual({ ...next, lastUsedAt: usedAt });
    expect(await item(KEYS.token(current.id))).toMatchObject({
      ttl: epochSeconds(expiresAt),
      gsi3pk: `EXPIRES#${expiresAt.slice(0, 10)}`,
    });
    expect(await item(KEYS.credential(current.secretHash))).toMatchObject({
      scopes: ['reports:read'],
      allowedIps: ['203.0.113.0/24'],
      expiresAtMs: Date.parse(expiresAt),
      ttl: epochSeconds(expiresAt),
      disabled: false,
    });
    expect(await item(KEYS.credential(previous.secretHash))).toMatchObject({
      scopes: ['reports:read'],
      expiresAtMs: Date.parse(expiresAt),
      ttl: epochSeconds(graceEnds),
      disabled: true,
      accessGeneration: 3,
    });
    expect(await item(KEYS.slot('acct-u', 'uma', current.id))).toMatchObject({
      expiresAt,
      tokenName: 'renamed',
      gsi2sk: `${expiresAt}#${current.id}`,
    });
    expect((await auditItems(current.id)).map((audit) => audit.action)).toContain('token.updated');
    expect(await counters('acct-u', 'uma')).toEqual({ user: 1, account: 1 });

    // To no expiry: TTL and the expiry-day index entry go.
    const noExpiry: TokenRecord = { ...next, expiresAt: null, version: 3, lastChange: change('updated') };
    await repository.update(
      next,
      noExpiry,
      tokenAuditEvent('token.updated', callerOf(next), noExpiry, noExpiry.lastChange.at),
    );
    const tokenItem = await item(KEYS.token(current.id));
    expect(tokenItem?.ttl).toBeUndefined();
    expect(tokenItem?.gsi3pk).toBeUndefined();
    expect(tokenItem?.lastUsedAt).toBe(usedAt);
    expect((await item(KEYS.credential(current.secretHash)))?.ttl).toBeUndefined();
    expect((await item(KEYS.credential(previous.secretHash)))?.ttl).toBe(epochSeconds(graceEnds));
    expect((await item(KEYS.slot('acct-u', 'uma', current.id)))?.gsi2sk).toBe(`9999#${current.id}`);
  });

  it('CONFLICT when the token changed or was revoked meanwhile; nothing written', async () => {
    const current = await create(newToken('acct-u', 'vic'));
    const next: TokenRecord = { ...current, name: 'first', version: 2, lastChange: change('updated') };
    const audit = () => tokenAuditEvent('token.updated', callerOf(current), next, next.lastChange.at);
    await repository.update(current, next, audit());
    await expect(repository.update(current, { ...next, name: 'second' }, audit())).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect((await repository.get(current.id))?.name).toBe('first');
    await revoke(current.id);
    const afterRevoke: TokenRecord = { ...next, name: 'third', version: 3 };
    await expect(repository.update(next, afterRevoke, audit())).rejects.toBeInstanceOf(ConflictError);
    expect((await auditItems(current.id)).filter((event) => event.action === 'token.updated')).toHaveLength(
      1,
    );
  });

  it('CONFLICT when the expiry sweep released the slot meanwhile: an edit cannot revive it uncounted', async () => {
    const current = await create(
      newToken('acct-u', 'wes', { expiresAt: new Date(Date.now() - 1_000).toISOString() }),
    );
    await repository.releaseExpiredSlots('acct-u', 'wes', new Date());
    const next: TokenRecord = {
      ...current,
      expiresAt: new Date(Date.now() + DAY_MS).toISOString(),
      version: 2,
      lastChange: change('updated'),
    };
    await expect(
      repository.update(current, next, tokenAuditEvent('token.updated', callerOf(current), next, new Date())),
    ).rejects.toBeInstanceOf(ConflictError);
    expect((await repository.get(current.id))?.version).toBe(1);
  });
});

describe('rotate', () => {
  function rotation(current: TokenRecord, graceMs: number, at = new Date()): TokenRecord {
    return {
      ...current,
      ...newSecret(),
      rotatedAt: at.toISOString(),
      previousSecretHash: current.secretHash,
      previousSecretNotAfter: new Date(at.getTime() + graceMs).toISOString(),
      version: current.version + 1,
      lastChange: change('rotated', at),
    };
  }
  const rotatedEvent = (next: TokenRecord) =>
    tokenAuditEvent('token.rotated', callerOf(next), next, next.lastChange.at, {
      details: { gracePeriodSeconds: 60 },
    });

  it('a new credential at the owner’s access generation; the old one ends after grace, an older one now', async () => {
    await table.documentClient.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...KEYS.userAccess('acct-o', 'ola'), entity: 'userAccess', enabled: true, generation: 2 },
      }),
    );
    const first = await create(newToken('acct-o', 'ola'));
    const second = rotation(first, 3_600_000);
    await repository.rotate(first, second, rotatedEvent(second));
    expect(await repository.get(first.id)).toEqual(second);
    expect(await item(KEYS.credential(second.secretHash))).toMatchObject({
      tokenId: first.id,
      state: 'active',
      notAfterMs: null,
      disabled: false,
      accessGeneration: 2,
    });
    const graceEndsMs = Date.parse(second.previousSecretNotAfter ?? '');
    expect(await item(KEYS.credential(first.secretHash))).toMatchObject({
      notAfterMs: graceEndsMs,
      ttl: Math.floor(graceEndsMs / 1000),
    });

    // Rotating again within the grace period ends the first secret at once.
    const third = rotation(second, 3_600_000);
    await repository.rotate(second, third, rotatedEvent(third));
    const thirdAtMs = Date.parse(third.lastChange.at);
    expect(await item(KEYS.credential(first.secretHash))).toMatchObject({ notAfterMs: thirdAtMs });
    expect((await item(KEYS.credential(second.secretHash)))?.notAfterMs).toBe(
      Date.parse(third.previousSecretNotAfter ?? ''),
    );
    expect(await counters('acct-o', 'ola')).toEqual({ user: 1, account: 1 });
    expect((await auditItems(first.id)).filter((event) => event.action === 'token.rotated')).toHaveLength(2);
    expect(await repository.listSlotHolders('acct-o', 'ola')).toEqual([first.id]);
  });

  it('in parallel: exactly one rotation wins, the others answer CONFLICT', async () => {
    const current = await create(newToken('acct-o', 'par'));
    const attempts = Array.from({ length: 6 }, () => rotation(current, 0));
    const results = await Promise.allSettled(
      attempts.map((next) => repository.rotate(current, next, rotatedEvent(next))),
    );
    const winners = attempts.filter((_, index) => results[index]?.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(ConflictError);
    }
    expect((await repository.get(current.id))?.secretHash).toBe(winners[0]?.secretHash);
    for (const loser of attempts.filter((next) => !winners.includes(next))) {
      expect(await item(KEYS.credential(loser.secretHash))).toBeUndefined();
    }
  });

  it('refused while the owner’s access is disabled', async () => {
    const current = await create(newToken('acct-o', 'dis'));
    await table.documentClient.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...KEYS.userAccess('acct-o', 'dis'), entity: 'userAccess', enabled: false, generation: 1 },
      }),
    );
    const next = rotation(current, 0);
    await expect(repository.rotate(current, next, rotatedEvent(next))).rejects.toBeInstanceOf(
      TokenAccessDisabledError,
    );
    expect(await item(KEYS.credential(next.secretHash))).toBeUndefined();
    expect((await repository.get(current.id))?.version).toBe(1);
  });
});

describe('expiry: releasing slots', () => {
  const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

  it('releases a user’s expired slots once, with one token.expired event each; live ones stay', async () => {
    const expired = await create(newToken('acct-e', 'eve', { expiresAt: ago(60_000) }));
    const live = await create(newToken('acct-e', 'eve'));
    const forever = await create(newToken('acct-e', 'eve', { expiresAt: null }));
    expect(await counters('acct-e', 'eve')).toEqual({ user: 3, account: 3 });

    const results = await Promise.all([
      repository.releaseExpiredSlots('acct-e', 'eve', new Date()),
      repository.releaseExpiredSlots('acct-e', undefined, new Date()),
    ]);
    expect(results[0] + results[1]).toBe(1);
    expect(await counters('acct-e', 'eve')).toEqual({ user: 2, account: 2 });
    expect((await repository.listSlotHolders('acct-e', 'eve')).sort()).toEqual([live.id, forever.id].sort());
    const events = (await auditItems(expired.id)).filter((event) => event.action === 'token.expired');
    expect(events).toEqual([
      expect.objectContaining({
        id: expiredAuditEvent(expired).id,
        at: expired.expiresAt,
        tokenName: expired.name,
        actor: { userId: null, role: null, sourceIp: null, userAgent: null },
      }),
    ]);
    expect(await repository.releaseExpiredSlots('acct-e', 'eve', new Date())).toBe(0);
    // The stream's TTL deletion arrives later: nothing left to release, nothing written twice.
    expect(await repository.releaseSlotOfDeletedToken(expired, expiredAuditEvent(expired))).toBe(false);
    expect(await counters('acct-e', 'eve')).toEqual({ user: 2, account: 2 });
    expect((await auditItems(expired.id)).filter((event) => event.action === 'token.expired')).toHaveLength(
      1,
    );
  });

  it('an account sweep finds every user’s expired slots; with the token item gone, audits from the slot', async () => {
    const first = await create(newToken('acct-s', 'sam', { expiresAt: ago(120_000) }));
    const second = await create(newToken('acct-s', 'sue', { expiresAt: ago(60_000) }));
    await table.documentClient.send(
      new DeleteCommand({ TableName: table.tableName, Key: KEYS.token(second.id) }),
    );
    expect(await repository.releaseExpiredSlots('acct-s', undefined, new Date())).toBe(2);
    expect(await counters('acct-s', 'sam')).toEqual({ user: 0, account: 0 });
    expect(await counters('acct-s', 'sue')).toEqual({ user: 0, account: 0 });
    expect((await auditItems(first.id)).find((event) => event.action === 'token.expired')?.id).toBe(
      expiredAuditEvent(first).id,
    );
    expect((await auditItems(second.id)).find((event) => event.action === 'token.expired')).toMatchObject({
      id: expiredAuditEvent(second).id,
      at: second.expiresAt,
      tokenName: second.name,
      subjectUserId: 'sue',
    });
  });

  it('a slot whose expiry an edit extended is not released', async () => {
    const current = await create(newToken('acct-s', 'tom', { expiresAt: ago(1_000) }));
    // The sweep read the slot, then an edit extended it: the sweep's condition on expiresAt fails.
    await table.documentClient.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: KEYS.slot('acct-s', 'tom', current.id),
        UpdateExpression: 'SET expiresAt = :later',
        ExpressionAttributeValues: { ':later': new Date(Date.now() + DAY_MS).toISOString() },
      }),
    );
    expect(await repository.releaseExpiredSlots('acct-s', 'tom', new Date())).toBe(0);
    expect(await counters('acct-s', 'tom')).toEqual({ user: 1, account: 1 });
  });

  it('the stream’s TTL deletion releases the slot once, idempotently', async () => {
    const token = await create(newToken('acct-t', 'ted', { expiresAt: ago(1_000) }));
    const results = await Promise.all([
      repository.releaseSlotOfDeletedToken(token, expiredAuditEvent(token)),
      repository.releaseSlotOfDeletedToken(token, expiredAuditEvent(token)),
    ]);
    expect(results.sort()).toEqual([false, true]);
    expect(await repository.releaseSlotOfDeletedToken(token, expiredAuditEvent(token))).toBe(false);
    expect(await counters('acct-t', 'ted')).toEqual({ user: 0, account: 0 });
    expect((await auditItems(token.id)).filter((event) => event.action === 'token.expired')).toHaveLength(1);
    // A revoked token's deletion: its slot went with the revocation.
    const revoked = await create(newToken('acct-t', 'ted'));
    await revoke(revoked.id);
    expect(await repository.releaseSlotOfDeletedToken(revoked, expiredAuditEvent(revoked))).toBe(false);
    expect(await counters('acct-t', 'ted')).toEqual({ user: 0, account: 0 });
  });
});

describe('listings', () => {
  it('pages a user’s and an account’s tokens newest first', async () => {
    const base = Date.now() - DAY_MS;
    const made: TokenRecord[] = [];
    for (let index = 0; index < 5; index++) {
      made.push(
        await create(
          newToken('acct-p', index < 3 ? 'pia' : 'pat', {
            createdAt: new Date(base + index * 1_000).toISOString(),
          }),
        ),
      );
    }
    const first = await repository.listByOwner('acct-p', 'pia', { limit: 2, cursor: undefined });
    expect(first.items.map((token) => token.id)).toEqual([made[2]?.id, made[1]?.id]);
    const second = await repository.listByOwner('acct-p', 'pia', { limit: 2, cursor: first.nextCursor });
    expect(second.items.map((token) => token.id)).toEqual([made[0]?.id]);
    const account = await repository.listByAccount('acct-p', { limit: 10, cursor: undefined });
    expect(account.items.map((token) => token.id)).toEqual(made.map((token) => token.id).reverse());
  });
});

describe('secrets', () => {
  it('no item in the table contains a secret this file generated', async () => {
    expect(secrets.length).toBeGreaterThan(20);
    const { Items = [] } = await table.documentClient.send(new ScanCommand({ TableName: table.tableName }));
    expect(Items.length).toBeGreaterThan(50);
    const dump = JSON.stringify(Items);
    for (const secret of secrets) {
      expect(dump).not.toContain(secret);
      expect(dump).not.toContain(secret.slice(4, 30));
    }
  });
});
