import { InternalServerError } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { slotFor, slotToItem, tokenToItem } from '../../../lambdas/adapters/items.js';
import { KEYS } from '../../../lambdas/adapters/table-definition.js';
import type { CallerContext } from '../../../lambdas/core/caller-context.js';
import { getUserTokenAccessRoute } from '../../../lambdas/get-user-token-access/route.js';
import { setUserTokenAccessRoute } from '../../../lambdas/set-user-token-access/route.js';
import { managementDeps } from '../../support/management-deps.js';
import {
  adminContext,
  expectContractError,
  expectOpaqueInternalError,
  invoke,
  memberContext,
  type ProxyEventOptions,
  proxyEvent,
  viewerContext,
} from '../../support/proxy-events.js';
import { tokenRecord } from './records.js';

const RESOURCE = '/users/{userId}/token-access';
const putEvent = (userId: string, body: ProxyEventOptions['body'], caller: CallerContext = adminContext()) =>
  proxyEvent({ method: 'PUT', resource: RESOURCE, pathParameters: { userId }, body, caller });
const getEvent = (userId: string, caller?: CallerContext) =>
  proxyEvent({ method: 'GET', resource: RESOURCE, pathParameters: { userId }, caller });

const accessItem = (overrides: Record<string, unknown> = {}) => ({
  ...KEYS.userAccess('acct-1', 'user-1'),
  entity: 'userAccess',
  accountId: 'acct-1',
  userId: 'user-1',
  enabled: false,
  generation: 1,
  updatedAt: '2025-03-01T12:00:00.000Z',
  updatedBy: 'admin-1',
  ...overrides,
});

// One mock for both handlers: a second mockClient of the same class would replace the first's stub.
const dynamo = mockClient(DynamoDBDocumentClient);

describe('PUT /users/{userId}/token-access (DynamoDB mocked)', () => {
  const handler = setUserTokenAccessRoute(managementDeps({ tableName: 'tokens-table' }));

  afterEach(() => {
    dynamo.reset();
  });

  it("disables: the switch with its audit event, then each of the user's credentials", async () => {
    const tokens = [tokenRecord({ secretHash: 'hash-a' }), tokenRecord({ secretHash: 'hash-b' })];
    dynamo.on(GetCommand, { Key: KEYS.userAccess('acct-1', 'user-1') }).resolves({});
    for (const token of tokens) {
      dynamo.on(GetCommand, { Key: KEYS.token(token.id) }).resolves({ Item: tokenToItem(token) });
    }
    dynamo.on(TransactWriteCommand).resolves({});
    dynamo.on(QueryCommand).resolves({ Items: tokens.map((token) => slotToItem(slotFor(token))) });
    dynamo.on(UpdateCommand).resolves({});
    const result = await invoke(handler, putEvent('user-1', { enabled: false }));
    expect(result.status).toBe(200);
    expect(result.json).toEqual({
      userId: 'user-1',
      accountId: 'acct-1',
      enabled: false,
      updatedAt: expect.any(String),
      updatedBy: 'admin-1',
      tokensAffected: 2,
    });
    const items = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items[0]?.Update?.Key).toEqual(KEYS.userAccess('acct-1', 'user-1'));
    expect(items[1]?.Put?.Item).toMatchObject({
      entity: 'audit',
      action: 'user.token-access-disabled',
      accountId: 'acct-1',
      subjectUserId: 'user-1',
      tokenId: null,
      actor: { userId: 'admin-1', role: 'admin' },
    });
    expect(dynamo.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      ExpressionAttributeValues: { ':pk': 'SLOTS#acct-1#user-1' },
    });
    expect(dynamo.commandCalls(UpdateCommand).map((call) => call.args[0].input.Key)).toEqual(
      expect.arrayContaining([KEYS.credential('hash-a'), KEYS.credential('hash-b')]),
    );
  });

  it('already in that state: no switch, no audit event; the fan-out still completes any leftovers', async () => {
    const token = tokenRecord();
    dynamo.on(GetCommand, { Key: KEYS.userAccess('acct-1', 'user-1') }).resolves({ Item: accessItem() });
    dynamo.on(GetCommand, { Key: KEYS.token(token.id) }).resolves({ Item: tokenToItem(token) });
    dynamo.on(QueryCommand).resolves({ Items: [slotToItem(slotFor(token))] });
    const alreadyThere = Object.assign(new Error('The conditional request failed'), {
      name: 'ConditionalCheckFailedException',
    });
    dynamo.on(UpdateCommand).rejects(alreadyThere);
    const result = await invoke(handler, putEvent('user-1', { enabled: false }));
    expect(result.json).toMatchObject({ enabled: false, updatedBy: 'admin-1', tokensAffected: 0 });
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it('403 for a member or a viewer, even about themselves; nothing is read', async () => {
    for (const caller of [memberContext(), viewerContext({ userId: 'user-1' })]) {
      expectContractError(
        await invoke(handler, putEvent('user-1', { enabled: false }, caller)),
        403,
        'FORBIDDEN',
      );
    }
    expect(dynamo.calls()).toHaveLength(0);
  });

  it("an admin of another account switches that account's user, never this one's", async () => {
    dynamo.on(GetCommand).resolves({});
    dynamo.on(TransactWriteCommand).resolves({});
    dynamo.on(QueryCommand).resolves({ Items: [] });
    const result = await invoke(
      handler,
      putEvent('user-1', { enabled: false }, adminContext({ accountId: 'acct-2' })),
    );
    expect(result.json).toMatchObject({ accountId: 'acct-2', tokensAffected: 0 });
    const items = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items[0]?.Update?.Key).toEqual(KEYS.userAccess('acct-2', 'user-1'));
  });

  it.each([
    ['no body', undefined],
    ['a string', { enabled: 'false' }],
    ['an unknown field', { enabled: true, generation: 9 }],
    ['no field', {}],
  ])('400 for %s', async (_label, body) => {
    expectContractError(await invoke(handler, putEvent('user-1', body)), 400, 'VALIDATION_FAILED');
    expect(dynamo.calls()).toHaveLength(0);
  });

  it('400 for a user id with # or control characters', async () => {
    expectContractError(await invoke(handler, putEvent('a#b', { enabled: false })), 400, 'VALIDATION_FAILED');
    expectContractError(
      await invoke(handler, putEvent('a\u0000', { enabled: false })),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('500 INTERNAL with no detail when DynamoDB fails', async () => {
    dynamo.on(GetCommand).resolves({});
    dynamo.on(TransactWriteCommand).rejects(new InternalServerError({ message: 'boom', $metadata: {} }));
    expectOpaqueInternalError(await invoke(handler, putEvent('user-1', { enabled: false })));
  });
});

describe('GET /users/{userId}/token-access (DynamoDB mocked)', () => {
  const handler = getUserTokenAccessRoute(managementDeps({ tableName: 'tokens-table' }));

  afterEach(() => {
    dynamo.reset();
  });

  it('a user never switched is enabled', async () => {
    dynamo.on(GetCommand).resolves({});
    const result = await invoke(handler, getEvent('user-1'));
    expect(result.json).toEqual({
      userId: 'user-1',
      accountId: 'acct-1',
      enabled: true,
      updatedAt: null,
      updatedBy: null,
      tokensAffected: 0,
    });
    expect(dynamo.commandCalls(GetCommand)[0]?.args[0].input).toMatchObject({
      Key: KEYS.userAccess('acct-1', 'user-1'),
      ConsistentRead: true,
    });
  });

  it('the caller themselves (a viewer too) or an admin of the account; a member asking about someone else: 403', async () => {
    dynamo.on(GetCommand).resolves({ Item: accessItem() });
    expect((await invoke(handler, getEvent('user-1'))).json).toMatchObject({ enabled: false });
    expect((await invoke(handler, getEvent('viewer-1', viewerContext()))).status).toBe(200);
    expect((await invoke(handler, getEvent('user-1', adminContext()))).status).toBe(200);
    expectContractError(await invoke(handler, getEvent('bob')), 403, 'FORBIDDEN');
    expectContractError(await invoke(handler, getEvent('bob', viewerContext())), 403, 'FORBIDDEN');
  });

  it("an admin of another account reads their own account's user of that id", async () => {
    dynamo.on(GetCommand).resolves({});
    await invoke(handler, getEvent('user-1', adminContext({ accountId: 'acct-2' })));
    expect(dynamo.commandCalls(GetCommand)[0]?.args[0].input.Key).toEqual(
      KEYS.userAccess('acct-2', 'user-1'),
    );
  });

  it('500 INTERNAL with no detail when DynamoDB fails', async () => {
    dynamo.on(GetCommand).rejects(new InternalServerError({ message: 'boom', $metadata: {} }));
    expectOpaqueInternalError(await invoke(handler, getEvent('user-1')));
  });
});
