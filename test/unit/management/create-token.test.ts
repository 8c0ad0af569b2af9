import {
  InternalServerError,
  ProvisionedThroughputExceededException,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_RETRY } from '../../../lambdas/adapters/dynamo-token-transact.js';
import { slotFor, slotToItem, tokenToItem } from '../../../lambdas/adapters/items.js';
import { isWellFormedToken } from '../../../lambdas/core/token-format.js';
import { createTokenRoute } from '../../../lambdas/create-token/route.js';
import { transactionCanceled } from '../../support/dynamo-errors.js';
import { managementDeps } from '../../support/management-deps.js';
import {
  adminContext,
  captureLogs,
  expectContractError,
  expectOpaqueInternalError,
  invoke,
  memberContext,
  type ProxyEventOptions,
  proxyEvent,
  viewerContext,
} from '../../support/proxy-events.js';
import { tokenRecord } from './records.js';

const createEvent = (body: ProxyEventOptions['body'], extra: Partial<ProxyEventOptions> = {}) =>
  proxyEvent({ method: 'POST', resource: '/tokens', body, ...extra });

const VALID = { name: 'CI deploys', scopes: ['content:read', 'content:write'] };

/** The parts of the create transaction, in order. */
const CREATE = {
  token: 0,
  credential: 1,
  userLimit: 2,
  accountLimit: 3,
  slot: 4,
  access: 5,
  audit: 6,
} as const;

/** Cancellation codes for the create transaction with one part failing. */
function failing(index: number, code = 'ConditionalCheckFailed'): string[] {
  return Array.from({ length: 7 }, (_, part) => (part === index ? code : 'None'));
}

describe('POST /tokens (DynamoDB mocked)', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const handler = createTokenRoute(managementDeps({ tableName: 'tokens-table' }));

  afterEach(() => {
    dynamo.reset();
  });

  it('201: the token view plus its secret; one transaction with token, credential and both counters', async () => {
    dynamo.on(TransactWriteCommand).resolves({});
    const result = await invoke(
      handler,
      createEvent({ ...VALID, description: 'deploys', allowedIps: ['10.0.0.1'] }),
    );
    expect(result.status).toBe(201);
    const body = result.json as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(
      [
        'accountId',
        'allowedIps',
        'createdAt',
        'createdBy',
        'description',
        'expiresAt',
        'hint',
        'id',
        'lastUsedAt',
        'limits',
        'name',
        'rotatedAt',
        'scopes',
        'secret',
        'status',
        'type',
        'usage',
        'userId',
      ].sort(),
    );
    expect(body).toMatchObject({
      // The type's limits (standard: 50/s, burst 100, no quota), so no usage to show.
      limits: { rateLimit: { requestsPerSecond: 50, burst: 100 }, quota: null, source: 'type' },
      usage: null,
      name: 'CI deploys',
      description: 'deploys',
      scopes: ['content:read', 'content:write'],
      type: 'standard',
      allowedIps: ['10.0.0.1/32'],
      status: 'active',
      userId: 'user-1',
      accountId: 'acct-1',
      createdBy: 'user-1',
      lastUsedAt: null,
      rotatedAt: null,
    });
    const secret = String(body.secret);
    expect(isWellFormedToken(secret, 'atk')).toBe(true);
    expect(body.hint).toBe(`atk_…${secret.slice(-4)}`);

    const calls = dynamo.commandCalls(TransactWriteCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    const items = input?.TransactItems ?? [];
    // token, credential, both counters, the limit slot, the access check, the audit event, the
    // deployment's usage-key counter
    expect(items).toHaveLength(8);
    expect(items[7]?.Update).toMatchObject({
      Key: { pk: 'LIMIT#USAGE_KEYS', sk: 'LIMIT' },
      ConditionExpression: 'attribute_not_exists(#active) OR #active < :limit',
      ExpressionAttributeValues: { ':limit': 9000 },
    });
    expect(items[0]?.Put).toMatchObject({
      TableName: 'tokens-table',
      ConditionExpression: 'attribute_not_exists(pk)',
      Item: {
        pk: `TOKEN#${String(body.id)}`,
        entity: 'token',
        state: 'active',
        ownerEmail: 'user-1@example.com',
      },
    });
    expect(items[0]?.Put?.Item?.lastChange).toMatchObject({
      action: 'created',
      actorUserId: 'user-1',
      sourceIp: '198.51.100.7',
      userAgent: 'vitest',
    });
    expect(items[1]?.Put).toMatchObject({
      ConditionExpression: 'attribute_not_exists(pk)',
      Item: { entity: 'credential', tokenId: body.id, state: 'active', allowedIps: ['10.0.0.1/32'] },
    });
    expect(items[2]?.Update).toMatchObject({
      Key: { pk: 'LIMIT#USER#acct-1#user-1', sk: 'LIMIT' },
      ConditionExpression: 'attribute_not_exists(#active) OR #active < :limit',
      ExpressionAttributeValues: { ':limit': 10, ':one': 1 },
    });
    expect(items[3]?.Update).toMatchObject({
      Key: { pk: 'LIMIT#ACCOUNT#acct-1', sk: 'LIMIT' },
      ExpressionAttributeValues: { ':limit': 100 },
    });
    expect(items[4]?.Put).toMatchObject({
      ConditionExpression: 'attribute_not_exists(pk)',
      Item: { pk: 'SLOTS#acct-1#user-1', sk: `SLOT#${String(body.id)}`, entity: 'slot' },
    });
    expect(items[5]?.ConditionCheck).toMatchObject({ Key: { pk: 'ACCESS#acct-1#user-1', sk: 'ACCESS' } });
    expect(items[6]?.Put).toMatchObject({
      ConditionExpression: 'attribute_not_exists(pk)',
      Item: {
        pk: `AUDIT#TOKEN#${String(body.id)}`,
        entity: 'audit',
        action: 'token.created',
        tokenId: body.id,
        subjectUserId: 'user-1',
        actor: { userId: 'user-1', role: 'member', sourceIp: '198.51.100.7', userAgent: 'vitest' },
      },
    });
    // The secret goes nowhere near the table; the audit event carries no hash or hint either.
    expect(JSON.stringify(input)).not.toContain(secret);
    const audit = JSON.stringify(items[6]?.Put?.Item);
    expect(audit).not.toContain(String(items[0]?.Put?.Item?.secretHash));
    expect(audit).not.toContain(String(body.hint));
  });

  it('stores a 10 KB user agent and an oversized source IP truncated (audit event and lastChange)', async () => {
    dynamo.on(TransactWriteCommand).resolves({});
    const userAgent = `Mozilla/5.0 ${'x'.repeat(10_240)}`;
    const sourceIp = `2001:db8::1%${'e'.repeat(200)}`;
    const result = await invoke(handler, createEvent(VALID, { userAgent, sourceIp }));
    expect(result.status).toBe(201);
    const items = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    const audit = items[CREATE.audit]?.Put?.Item;
    expect(audit?.entity).toBe('audit');
    expect(audit?.actor.userAgent).toBe(`${userAgent.slice(0, 255)}…`);
    expect(audit?.actor.sourceIp).toHaveLength(64);
    const lastChange = items[CREATE.token]?.Put?.Item?.lastChange;
    expect(lastChange.userAgent).toHaveLength(256);
    expect(JSON.stringify(items).length).toBeLessThan(10_240);
  });

  it('responds with JSON, no-store and security headers', async () => {
    dynamo.on(TransactWriteCommand).resolves({});
    const result = await invoke(handler, createEvent(VALID));
    expect(result.headers).toMatchObject({
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
    });
    expect(result.headers['strict-transport-security']).toContain('max-age=');
  });

  it('409 LIMIT_EXCEEDED when the user counter condition fails and no expired slot can be released', async () => {
    dynamo.on(TransactWriteCommand).rejects(transactionCanceled(failing(CREATE.userLimit)));
    dynamo.on(QueryCommand).resolves({ Items: [] });
    const result = await invoke(handler, createEvent(VALID));
    expectContractError(result, 409, 'LIMIT_EXCEEDED');
    expect(result.json).toMatchObject({ error: { message: expect.stringContaining('10 active tokens') } });
    // The user's slots, then the account's expired ones; nothing released, so no second attempt.
    const queries = dynamo.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(queries).toEqual([
      expect.objectContaining({ ExpressionAttributeValues: { ':pk': 'SLOTS#acct-1#user-1' } }),
      expect.objectContaining({
        IndexName: 'byAccount2',
        KeyConditionExpression: '#pk = :pk AND #sk < :before',
      }),
    ]);
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });

  it('409 LIMIT_EXCEEDED when the account counter condition fails', async () => {
    dynamo.on(TransactWriteCommand).rejects(transactionCanceled(failing(CREATE.accountLimit)));
    dynamo.on(QueryCommand).resolves({ Items: [] });
    const result = await invoke(handler, createEvent(VALID));
    expectContractError(result, 409, 'LIMIT_EXCEEDED');
    expect(result.json).toMatchObject({ error: { message: expect.stringContaining('account') } });
  });

  it('at the limit, releases an expired slot and creates on the second attempt', async () => {
    const expired = tokenRecord({ expiresAt: new Date(Date.now() - 60_000).toISOString() });
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(transactionCanceled(failing(CREATE.userLimit)))
      .resolves({});
    dynamo
      .on(QueryCommand)
      .resolvesOnce({ Items: [slotToItem(slotFor(expired))] })
      .resolves({ Items: [] });
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(expired) });
    const result = await invoke(handler, createEvent(VALID));
    expect(result.status).toBe(201);
    const writes = dynamo
      .commandCalls(TransactWriteCommand)
      .map((call) => call.args[0].input.TransactItems ?? []);
    // create (refused), the release of the expired slot with its token.expired event, create again.
    expect(writes).toHaveLength(3);
    expect(writes[1]?.[0]?.Delete?.Key).toEqual({ pk: 'SLOTS#acct-1#user-1', sk: `SLOT#${expired.id}` });
    expect(writes[1]?.at(-2)?.Put?.Item).toMatchObject({ action: 'token.expired', tokenId: expired.id });
    expect(writes[1]?.at(-1)?.Update?.Key).toEqual({ pk: 'LIMIT#USAGE_KEYS', sk: 'LIMIT' });
    expect(writes[2]?.[0]?.Put?.Item).toMatchObject({ entity: 'token', name: 'CI deploys' });
  });

  it("403 FORBIDDEN when the owner's token access is disabled (the access check fails)", async () => {
    dynamo.on(TransactWriteCommand).rejects(transactionCanceled(failing(CREATE.access)));
    const result = await invoke(handler, createEvent(VALID));
    expectContractError(result, 403, 'FORBIDDEN');
    expect(dynamo.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it('500 INTERNAL for any other cancellation (an id collision), with nothing about it in the body', async () => {
    dynamo.on(TransactWriteCommand).rejects(transactionCanceled(failing(CREATE.token)));
    expectOpaqueInternalError(await invoke(handler, createEvent(VALID)));
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });

  it('retries a transaction conflict on the counters, then succeeds', async () => {
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(transactionCanceled(failing(CREATE.accountLimit, 'TransactionConflict')))
      .resolves({});
    const result = await invoke(handler, createEvent(VALID));
    expect(result.status).toBe(201);
    const tokens = dynamo
      .commandCalls(TransactWriteCommand)
      .map((call) => call.args[0].input.ClientRequestToken);
    expect(tokens).toHaveLength(2);
    expect(new Set(tokens).size).toBe(2);
  });

  it('gives up on conflicts after a few attempts: 500', async () => {
    dynamo
      .on(TransactWriteCommand)
      .rejects(transactionCanceled(failing(CREATE.userLimit, 'TransactionConflict')));
    expectOpaqueInternalError(await invoke(handler, createEvent(VALID)));
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(DEFAULT_RETRY.maxAttempts);
  });

  it.each([
    [
      'throttling',
      new ThrottlingException({ message: 'Rate of requests exceeds the allowed throughput.', $metadata: {} }),
    ],
    [
      'provisioned throughput',
      new ProvisionedThroughputExceededException({ message: 'Throughput exceeded', $metadata: {} }),
    ],
    [
      'a 5xx',
      new InternalServerError({ message: 'Internal server error', $metadata: { httpStatusCode: 500 } }),
    ],
    ['a network error', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
  ])('500 INTERNAL on %s, logged server-side only', async (_label, error) => {
    dynamo.on(TransactWriteCommand).rejects(error);
    const stdout = captureLogs();
    const result = await invoke(handler, createEvent(VALID));
    stdout.restore();
    expectOpaqueInternalError(result);
    expect(result.rawBody).not.toContain(error.name);
    expect(result.rawBody).not.toContain(error.message);
    const line = stdout.lines().find((candidate) => candidate.includes('"request failed"'));
    expect(line).toBeDefined();
    expect(JSON.parse(line ?? '{}')).toMatchObject({
      level: 'ERROR',
      route: 'createToken',
      status: 500,
      userId: 'user-1',
      error: { name: error.name, message: error.message },
    });
  });

  it('400 VALIDATION_FAILED on unknown fields: clients cannot set userId, status, hashes or times', async () => {
    for (const field of ['userId', 'status', 'secretHash', 'createdAt', 'accountId', 'secret']) {
      const result = await invoke(handler, createEvent({ ...VALID, [field]: 'x' }));
      expectContractError(result, 400, 'VALIDATION_FAILED');
      expect(result.json).toMatchObject({ error: { details: [{ path: field, message: 'unknown field' }] } });
    }
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it('400 with details for field and policy errors', async () => {
    const result = await invoke(
      handler,
      createEvent({
        name: '   ',
        scopes: ['content:read', 'content:read'],
        expiresInDays: 7,
        expiresAt: '2030-01-01T00:00:00Z',
      }),
    );
    expectContractError(result, 400, 'VALIDATION_FAILED');
    const paths = ((result.json as { error: { details: { path: string }[] } }).error.details ?? []).map(
      (detail) => detail.path,
    );
    expect(paths).toEqual(expect.arrayContaining(['name', 'expiresAt']));

    const policy = await invoke(
      handler,
      createEvent({ name: 'x', scopes: ['content:read', 'content:read'] }),
    );
    expectContractError(policy, 400, 'VALIDATION_FAILED');
    expect(policy.json).toMatchObject({
      error: { details: [{ path: 'scopes.1', message: 'duplicate of scopes.0' }] },
    });
  });

  it('400 on a missing body, malformed JSON and JSON that is not an object', async () => {
    for (const body of [undefined, '{"name":', 'null', '[]', '42', '"text"', 'true']) {
      expectContractError(await invoke(handler, createEvent(body)), 400, 'VALIDATION_FAILED');
    }
  });

  it('413 PAYLOAD_TOO_LARGE above 16 KB, counted in bytes, base64 bodies decoded first', async () => {
    const big = { ...VALID, description: 'x'.repeat(16 * 1024) };
    expectContractError(await invoke(handler, createEvent(big)), 413, 'PAYLOAD_TOO_LARGE');
    // 6000 three-byte characters: 6000 UTF-16 units, 18000 bytes.
    expectContractError(
      await invoke(handler, createEvent({ ...VALID, description: '€'.repeat(6000) })),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    const encoded = Buffer.from(JSON.stringify(big)).toString('base64');
    expectContractError(
      await invoke(handler, createEvent(encoded, { isBase64Encoded: true })),
      413,
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('accepts a base64-encoded body', async () => {
    dynamo.on(TransactWriteCommand).resolves({});
    const encoded = Buffer.from(JSON.stringify(VALID)).toString('base64');
    const result = await invoke(handler, createEvent(encoded, { isBase64Encoded: true }));
    expect(result.status).toBe(201);
  });

  it('401 without a valid caller context, before the body is even read', async () => {
    for (const caller of [
      null,
      {},
      { ...memberContext(), role: 'owner' },
      { ...memberContext(), userId: '' },
    ]) {
      const result = await invoke(handler, createEvent('{not json', { caller }));
      expectContractError(result, 401, 'UNAUTHORIZED');
    }
  });

  it('403 for a viewer; an admin may create', async () => {
    expectContractError(
      await invoke(handler, createEvent(VALID, { caller: viewerContext() })),
      403,
      'FORBIDDEN',
    );
    dynamo.on(TransactWriteCommand).resolves({});
    const result = await invoke(handler, createEvent(VALID, { caller: adminContext() }));
    expect(result.status).toBe(201);
  });

  it('logs one line per request without the body, the secret or the Authorization header', async () => {
    dynamo.on(TransactWriteCommand).resolves({});
    const stdout = captureLogs();
    const result = await invoke(
      handler,
      createEvent(
        { ...VALID, description: 'very-private-description' },
        { headers: { Authorization: 'Bearer jwt-abc.def.ghi' } },
      ),
    );
    stdout.restore();
    const lines = stdout.lines();
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({
      message: 'request',
      route: 'createToken',
      method: 'POST',
      status: 201,
      userId: 'user-1',
    });
    expect(typeof line.latencyMs).toBe('number');
    const text = lines.join('\n');
    expect(text).not.toContain('very-private-description');
    expect(text).not.toContain('jwt-abc');
    expect(text).not.toContain(String((result.json as { secret: string }).secret));
  });
});
