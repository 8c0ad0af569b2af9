import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { tokenToItem } from '../../../lambdas/adapters/items.js';
import type { UsageReader } from '../../../lambdas/core/ports.js';
import { createTokenRoute } from '../../../lambdas/create-token/route.js';
import { getPolicyRoute } from '../../../lambdas/get-policy/route.js';
import { getTokenRoute } from '../../../lambdas/get-token/route.js';
import { updateTokenRoute } from '../../../lambdas/update-token/route.js';
import { transactionCanceled } from '../../support/dynamo-errors.js';
import { managementDeps } from '../../support/management-deps.js';
import {
  adminContext,
  captureLogs,
  errorOf,
  expectContractError,
  invoke,
  proxyEvent,
} from '../../support/proxy-events.js';
import { tokenRecord } from './records.js';

// Per-token limits (#14) through the management routes, DynamoDB mocked: the contract, the
// policy's ceilings, who may raise, the budgets' 409s and the detail's usage.

const POLICY = {
  tokenTypes: {
    standard: { description: 'Any scope.', rateLimit: { requestsPerSecond: 50, burst: 100 } },
    metered: {
      description: 'Daily quota.',
      rateLimit: { requestsPerSecond: 10, burst: 20 },
      quota: { limit: 1000, period: 'DAY' as const },
    },
  },
  usageKeyBudget: 7,
  limitClassBudget: 3,
};

const VALID = { name: 'reports', scopes: ['content:read'] };
const createEvent = (body: object) => proxyEvent({ method: 'POST', resource: '/tokens', body });
const tokenEvent = (method: 'GET' | 'PATCH', id: string, body?: object, admin = false) =>
  proxyEvent({
    method,
    resource: '/tokens/{id}',
    pathParameters: { id },
    ...(body === undefined ? {} : { body }),
    ...(admin ? { caller: adminContext() } : {}),
  });

/** Cancellation codes with one part failing. */
const failing = (parts: number, index: number) =>
  Array.from({ length: parts }, (_, part) => (part === index ? 'ConditionalCheckFailed' : 'None'));

describe('per-token limits in the management API (DynamoDB mocked)', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const deps = managementDeps({ tableName: 'tokens-table', policy: POLICY });

  afterEach(() => {
    dynamo.reset();
  });

  it("GET /policy: each type's rateLimit and quota, and the usage-key budget", async () => {
    const result = await invoke(getPolicyRoute(deps), proxyEvent({ method: 'GET', resource: '/policy' }));
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({
      usageKeyBudget: 7,
      tokenTypes: [
        { name: 'standard', rateLimit: { requestsPerSecond: 50, burst: 100 }, quota: null },
        {
          name: 'metered',
          rateLimit: { requestsPerSecond: 10, burst: 20 },
          quota: { limit: 1000, period: 'DAY' },
        },
      ],
    });
  });

  it('POST /tokens: 400 naming each field above the ceiling, nothing written', async () => {
    const result = await invoke(
      createTokenRoute(deps),
      createEvent({ ...VALID, type: 'metered', limits: { rateLimit: { requestsPerSecond: 10, burst: 21 } } }),
    );
    expectContractError(result, 400, 'VALIDATION_FAILED');
    expect(errorOf(result)?.details).toEqual([
      { path: 'limits.rateLimit.burst', message: "rateLimit.burst 21 is above the type's 20" },
    ]);
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it('POST /tokens: a new limit class is registered first, then the token is created with its override', async () => {
    dynamo.on(TransactWriteCommand).resolves({});
    const result = await invoke(
      createTokenRoute(deps),
      createEvent({ ...VALID, limits: { rateLimit: { requestsPerSecond: 5, burst: 5 }, quota: null } }),
    );
    expect(result.status).toBe(201);
    expect(result.json).toMatchObject({
      limits: { rateLimit: { requestsPerSecond: 5, burst: 5 }, quota: null, source: 'token' },
      usage: null,
    });
    const [registration, create] = dynamo
      .commandCalls(TransactWriteCommand)
      .map((call) => call.args[0].input.TransactItems ?? []);
    expect(registration?.[0]?.Put).toMatchObject({
      Item: { pk: 'LIMIT_CLASS#limit-r5-b5-qnone', entity: 'limit-class' },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(registration?.[1]?.Update).toMatchObject({
      Key: { pk: 'LIMIT#LIMIT_CLASSES', sk: 'LIMIT' },
      ExpressionAttributeValues: { ':limit': 3 },
    });
    expect(create?.[0]?.Put?.Item).toMatchObject({
      limits: { rateLimit: { requestsPerSecond: 5, burst: 5 }, quota: null },
    });
  });

  it('POST /tokens: a class registered already goes on; a full class budget is a 409 naming limitClassBudget', async () => {
    const limits = { rateLimit: { requestsPerSecond: 5, burst: 5 } };
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(transactionCanceled(failing(2, 0)))
      .resolvesOnce({})
      .rejects(transactionCanceled(failing(2, 1)));
    expect((await invoke(createTokenRoute(deps), createEvent({ ...VALID, limits }))).status).toBe(201);
    const full = await invoke(createTokenRoute(deps), createEvent({ ...VALID, limits }));
    expectContractError(full, 409, 'LIMIT_EXCEEDED');
    expect(errorOf(full)?.message).toMatch(/budget of 3 distinct token limits \(limitClassBudget/);
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(3);
  });

  it('POST /tokens: 409 naming usageKeyBudget when the deployment holds that many tokens', async () => {
    dynamo.on(TransactWriteCommand).rejects(transactionCanceled(failing(8, 7)));
    // At a limit, create looks for expired slots to release first: there are none.
    dynamo.on(QueryCommand).resolves({ Items: [] });
    const result = await invoke(createTokenRoute(deps), createEvent(VALID));
    expectContractError(result, 409, 'LIMIT_EXCEEDED');
    expect(errorOf(result)?.message).toMatch(/budget of 7 active tokens \(usageKeyBudget/);
    expect(errorOf(result)?.message).toMatch(/revoke tokens that are no longer used/);
  });

  it('PATCH /tokens/{id}: the owner may lower but not raise (403 naming the field); an admin may raise to the ceiling', async () => {
    const token = tokenRecord({
      type: 'metered',
      limits: { rateLimit: { requestsPerSecond: 5, burst: 5 }, quota: null },
    });
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(token) });
    dynamo.on(TransactWriteCommand).resolves({});
    const handler = updateTokenRoute(deps);
    const raise = { limits: { rateLimit: { requestsPerSecond: 8, burst: 5 } } };
    const refused = await invoke(handler, tokenEvent('PATCH', token.id, raise));
    expectContractError(refused, 403, 'FORBIDDEN');
    expect(errorOf(refused)?.details).toEqual([
      { path: 'limits.rateLimit.requestsPerSecond', message: "8 is above the token's current 5" },
    ]);
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);

    const lowered = await invoke(
      handler,
      tokenEvent('PATCH', token.id, { limits: { quota: { limit: 9, period: 'DAY' } } }),
    );
    expect(lowered.status).toBe(200);
    expect(lowered.json).toMatchObject({
      limits: {
        rateLimit: { requestsPerSecond: 5, burst: 5 },
        quota: { limit: 9, period: 'DAY' },
        source: 'token',
      },
    });
    const raisedByAdmin = await invoke(handler, tokenEvent('PATCH', token.id, raise, true));
    expect(raisedByAdmin.status).toBe(200);
    expect(raisedByAdmin.json).toMatchObject({ limits: { rateLimit: { requestsPerSecond: 8, burst: 5 } } });
    // The audit event of each edit records the limits as compact JSON.
    const audits = dynamo
      .commandCalls(TransactWriteCommand)
      .flatMap((call) => call.args[0].input.TransactItems ?? [])
      .map((item) => item.Put?.Item)
      .filter((item) => item?.action === 'token.updated');
    expect(audits.at(-1)?.changes).toEqual([
      {
        field: 'limits',
        from: '{"rateLimit":{"requestsPerSecond":5,"burst":5},"quota":null}',
        to: '{"rateLimit":{"requestsPerSecond":8,"burst":5},"quota":null}',
      },
    ]);
  });

  it('PATCH /tokens/{id}: unknown fields inside limits are a 400', async () => {
    const result = await invoke(
      updateTokenRoute(deps),
      tokenEvent('PATCH', tokenRecord().id, {
        limits: { rateLimit: { requestsPerSecond: 1, burst: 1, perIp: 1 } },
      }),
    );
    expectContractError(result, 400, 'VALIDATION_FAILED');
  });

  it('GET /tokens/{id}: limits and usage from the reader; a failing reader gives usage null and a warning, never a 500', async () => {
    const token = tokenRecord({ type: 'metered' });
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(token) });
    const usage = {
      used: 3,
      limit: 1000,
      remaining: 997,
      period: 'DAY' as const,
      periodStart: '2025-03-05T00:00:00.000Z',
      resetsAt: '2025-03-06T00:00:00.000Z',
    };
    const working: UsageReader = { quotaUsage: async () => usage };
    const ok = await invoke(getTokenRoute({ ...deps, usage: working }), tokenEvent('GET', token.id));
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({
      limits: {
        rateLimit: { requestsPerSecond: 10, burst: 20 },
        quota: { limit: 1000, period: 'DAY' },
        source: 'type',
      },
      usage,
    });

    const failing: UsageReader = {
      quotaUsage: async () =>
        Promise.reject(Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' })),
    };
    const logs = captureLogs();
    let result: Awaited<ReturnType<typeof invoke>>;
    try {
      result = await invoke(getTokenRoute({ ...deps, usage: failing }), tokenEvent('GET', token.id));
    } finally {
      logs.restore();
    }
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({ usage: null, limits: { source: 'type' } });
    const warning = logs.lines().find((line) => line.includes('quota usage'));
    expect(warning).toBeDefined();
    expect(JSON.parse(warning ?? '{}')).toMatchObject({
      level: 'WARN',
      tokenId: token.id,
      error: { name: 'TooManyRequestsException' },
    });
  });
});
