import { randomBytes } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoTokenRepository } from '../../lambdas/adapters/dynamo-token-repository.js';
import { KEYS } from '../../lambdas/adapters/table-definition.js';
import { expiredAuditEvent, tokenAuditEvent } from '../../lambdas/core/audit.js';
import { LimitExceededError } from '../../lambdas/core/errors.js';
import { hashToken } from '../../lambdas/core/hashing.js';
import type { Caller, TokenRecord } from '../../lambdas/core/model.js';
import { generateToken } from '../../lambdas/core/token-format.js';
import { createTokenRoute } from '../../lambdas/create-token/route.js';
import { getTokenRoute } from '../../lambdas/get-token/route.js';
import { listAuditEventsRoute } from '../../lambdas/list-audit-events/route.js';
import { updateTokenRoute } from '../../lambdas/update-token/route.js';
import { createTestTable, dynamoEndpoint, type TestTable } from '../support/dynamo.js';
import { managementDeps } from '../support/management-deps.js';
import { adminContext, errorOf, invoke, memberContext, proxyEvent } from '../support/proxy-events.js';
import { tokenRecord } from '../unit/management/records.js';

// Per-token limits (#14) on DynamoDB Local: the deployment's usage-key counter (counted with each
// token's limit slot, released with it) and the limit-class registry (put-if-absent + a counter),
// both under races at the budget's edge, and the limits through the routes end to end.

const key = { version: 'v1', material: randomBytes(32) };
const UNLIMITED = { perUser: 1_000, perAccount: 1_000 };

let table: TestTable;
let repository: DynamoTokenRepository;

beforeAll(async () => {
  table = await createTestTable();
  repository = new DynamoTokenRepository(table.documentClient, table.tableName, { auditRetentionDays: 30 });
});
afterAll(async () => {
  await table.drop();
});

function caller(token: TokenRecord): Caller {
  return {
    accountId: token.accountId,
    userId: token.userId,
    role: 'member',
    email: undefined,
    sourceIp: '198.51.100.7',
    userAgent: 'vitest',
  };
}

function newToken(accountId: string, userId: string): TokenRecord {
  const { secret, hint } = generateToken('atk');
  return tokenRecord({ accountId, userId, secretHash: hashToken(key, secret), hint });
}

const created = (token: TokenRecord) =>
  tokenAuditEvent('token.created', caller(token), token, token.createdAt);

async function active(limitKey: Record<string, string>): Promise<number> {
  const { Item } = await table.documentClient.send(
    new GetCommand({ TableName: table.tableName, Key: limitKey, ConsistentRead: true }),
  );
  return typeof Item?.active === 'number' ? Item.active : 0;
}

describe('usage-key budget', () => {
  it('a race of creations across accounts at the budget edge: exactly the budget succeed', async () => {
    const start = await active(KEYS.usageKeyLimit());
    const budget = start + 5;
    const tokens = Array.from({ length: 12 }, (_, index) => newToken(`acct-race-${index}`, 'user'));
    const results = await Promise.allSettled(
      tokens.map((token) => repository.create(token, { ...UNLIMITED, usageKeys: budget }, created(token))),
    );
    const refused = results.filter((result) => result.status === 'rejected');
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(5);
    for (const result of refused) {
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(LimitExceededError);
      expect(String((result as PromiseRejectedResult).reason)).toMatch(/usageKeyBudget/);
    }
    expect(await active(KEYS.usageKeyLimit())).toBe(budget);
  });

  it('revocation and the release of an expired slot give the usage key back, once each', async () => {
    const before = await active(KEYS.usageKeyLimit());
    const revoked = newToken('acct-release', 'user');
    const expired = newToken('acct-release', 'user');
    for (const token of [revoked, expired]) {
      await repository.create(token, { ...UNLIMITED, usageKeys: 10_000 }, created(token));
    }
    expect(await active(KEYS.usageKeyLimit())).toBe(before + 2);
    const change = { ...revoked.lastChange, action: 'revoked' as const, at: new Date().toISOString() };
    const revoke = () =>
      repository.revoke(revoked.id, change, (record) =>
        tokenAuditEvent('token.revoked', caller(record), record, change.at),
      );
    await Promise.all([revoke(), revoke()]);
    expect(await active(KEYS.usageKeyLimit())).toBe(before + 1);
    const gone = await Promise.all([
      repository.releaseSlotOfDeletedToken(expired, expiredAuditEvent(expired)),
      repository.releaseSlotOfDeletedToken(expired, expiredAuditEvent(expired)),
    ]);
    expect(gone.filter(Boolean)).toHaveLength(1);
    expect(await active(KEYS.usageKeyLimit())).toBe(before);
  });
});

describe('limit-class budget', () => {
  it('a race of new classes at the budget edge: exactly the budget registered; a known class is fine when full', async () => {
    const budget = 3;
    const classes = Array.from({ length: 8 }, (_, index) => `limit-r${index + 1}-b1-qnone`);
    // Each class twice: a class registered by a racing twin is "already registered", not a slot.
    const results = await Promise.allSettled(
      [...classes, ...classes].map((limitClass) => repository.registerLimitClass(limitClass, budget)),
    );
    const registered: string[] = [];
    for (const limitClass of classes) {
      const { Item } = await table.documentClient.send(
        new GetCommand({
          TableName: table.tableName,
          Key: KEYS.limitClass(limitClass),
          ConsistentRead: true,
        }),
      );
      if (Item !== undefined) registered.push(limitClass);
    }
    expect(registered).toHaveLength(budget);
    expect(await active(KEYS.limitClassLimit())).toBe(budget);
    for (const result of results.filter((result) => result.status === 'rejected')) {
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(LimitExceededError);
    }
    // Full: a registered class still goes through, a new one does not.
    await expect(repository.registerLimitClass(registered[0] ?? '', budget)).resolves.toBeUndefined();
    const unregistered = classes.find((limitClass) => !registered.includes(limitClass)) ?? '';
    await expect(repository.registerLimitClass(unregistered, budget)).rejects.toThrow(/limitClassBudget/);
    expect(await active(KEYS.limitClassLimit())).toBe(budget);
  });
});

describe('limits through the management routes', () => {
  it('create with a lower limit, read it back with its source, owner lowers, audit trail records both', async () => {
    const deps = managementDeps({
      tableName: table.tableName,
      dynamoEndpoint: dynamoEndpoint(),
      policy: {
        tokenTypes: {
          metered: {
            description: 'Daily quota.',
            rateLimit: { requestsPerSecond: 10, burst: 20 },
            quota: { limit: 1000, period: 'DAY' },
          },
        },
        defaultTokenType: 'metered',
      },
    });
    const owner = memberContext({ accountId: 'acct-routes', userId: 'olive' });
    const create = await invoke(
      createTokenRoute(deps),
      proxyEvent({
        method: 'POST',
        resource: '/tokens',
        caller: owner,
        body: {
          name: 'reports',
          scopes: ['content:read'],
          limits: { rateLimit: { requestsPerSecond: 5, burst: 5 } },
        },
      }),
    );
    expect(create.status).toBe(201);
    const id = String((create.json as { id: string }).id);
    const tokenEvent = (method: 'GET' | 'PATCH', body?: object, who = owner) =>
      proxyEvent({
        method,
        resource: '/tokens/{id}',
        pathParameters: { id },
        caller: who,
        ...(body ? { body } : {}),
      });

    const read = await invoke(getTokenRoute(deps), tokenEvent('GET'));
    expect(read.json).toMatchObject({
      limits: {
        rateLimit: { requestsPerSecond: 5, burst: 5 },
        quota: { limit: 1000, period: 'DAY' },
        source: 'token',
      },
      usage: null,
    });
    const raise = await invoke(updateTokenRoute(deps), tokenEvent('PATCH', { limits: { rateLimit: null } }));
    expect(raise.status).toBe(403);
    expect(errorOf(raise)?.code).toBe('FORBIDDEN');
    const lower = await invoke(
      updateTokenRoute(deps),
      tokenEvent('PATCH', { limits: { quota: { limit: 20, period: 'DAY' } } }),
    );
    expect(lower.status).toBe(200);
    const cleared = await invoke(
      updateTokenRoute(deps),
      tokenEvent(
        'PATCH',
        { limits: { rateLimit: null, quota: null } },
        adminContext({ accountId: 'acct-routes' }),
      ),
    );
    expect(cleared.json).toMatchObject({
      limits: {
        rateLimit: { requestsPerSecond: 10, burst: 20 },
        quota: { limit: 1000, period: 'DAY' },
        source: 'type',
      },
    });

    const audit = await invoke(
      listAuditEventsRoute(deps),
      proxyEvent({ method: 'GET', resource: '/audit-events', query: { tokenId: id }, caller: owner }),
    );
    const events = (audit.json as { items: { action: string; details: object; changes: object[] }[] }).items;
    expect(events.map((event) => event.action)).toEqual(['token.updated', 'token.updated', 'token.created']);
    expect(events[2]?.details).toEqual({
      limits: '{"rateLimit":{"requestsPerSecond":5,"burst":5},"quota":null}',
    });
    expect(events[1]?.changes).toEqual([
      {
        field: 'limits',
        from: '{"rateLimit":{"requestsPerSecond":5,"burst":5},"quota":null}',
        to: '{"rateLimit":{"requestsPerSecond":5,"burst":5},"quota":{"limit":20,"period":"DAY"}}',
      },
    ]);
    expect(events[0]?.changes).toEqual([expect.objectContaining({ field: 'limits', to: null })]);
    // The override's class was registered once; going back to the type's registers nothing.
    expect(await active(KEYS.limitClassLimit())).toBeGreaterThan(0);
  });
});
