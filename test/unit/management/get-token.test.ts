import { InternalServerError, ThrottlingException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { tokenToItem } from '../../../lambdas/adapters/items.js';
import type { CallerContext } from '../../../lambdas/core/caller-context.js';
import { getTokenRoute } from '../../../lambdas/get-token/route.js';
import { managementDeps } from '../../support/management-deps.js';
import {
  adminContext,
  expectContractError,
  expectOpaqueInternalError,
  invoke,
  memberContext,
  proxyEvent,
  viewerContext,
} from '../../support/proxy-events.js';
import { tokenRecord } from './records.js';

const getEvent = (id: string, caller?: CallerContext) =>
  proxyEvent({ method: 'GET', resource: '/tokens/{id}', pathParameters: { id }, caller });

describe('GET /tokens/{id} (DynamoDB mocked)', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const handler = getTokenRoute(managementDeps({ tableName: 'tokens-table' }));

  afterEach(() => {
    dynamo.reset();
  });

  it('200: the owner reads the token with one strongly consistent GetItem', async () => {
    const token = tokenRecord();
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(token) });
    const result = await invoke(handler, getEvent(token.id));
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({ id: token.id, name: 'CI deploys', status: 'active' });
    expect(result.rawBody).not.toContain('hash-of-secret');
    expect(dynamo.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
      TableName: 'tokens-table',
      Key: { pk: `TOKEN#${token.id}`, sk: 'TOKEN' },
      ConsistentRead: true,
    });
  });

  it('an admin of the account reads it; a viewer who owns it reads it', async () => {
    const token = tokenRecord();
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(token) });
    expect((await invoke(handler, getEvent(token.id, adminContext()))).status).toBe(200);
    const own = tokenRecord({ userId: 'viewer-1' });
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(own) });
    expect((await invoke(handler, getEvent(own.id, viewerContext()))).status).toBe(200);
  });

  it('404 for another member, an admin of another account, and a missing token, all alike', async () => {
    const token = tokenRecord();
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(token) });
    const otherMember = await invoke(handler, getEvent(token.id, memberContext({ userId: 'bob' })));
    const otherAdmin = await invoke(handler, getEvent(token.id, adminContext({ accountId: 'acct-2' })));
    dynamo.on(GetCommand).resolves({});
    const missing = await invoke(handler, getEvent(token.id));
    for (const result of [otherMember, otherAdmin, missing]) expectContractError(result, 404, 'NOT_FOUND');
    expect(otherMember.rawBody).toBe(missing.rawBody);
    expect(otherAdmin.rawBody).toBe(missing.rawBody);
  });

  it.each(['nope', 'tok_short', `tok_${'a'.repeat(23)}`, `TOK_${'a'.repeat(22)}`, `tok_${'-'.repeat(22)}`])(
    '400 for the id %j, checked before any lookup',
    async (id) => {
      expectContractError(await invoke(handler, getEvent(id)), 400, 'VALIDATION_FAILED');
      expect(dynamo.commandCalls(GetCommand)).toHaveLength(0);
    },
  );

  it.each([
    ['throttling', new ThrottlingException({ message: 'slow down', $metadata: {} })],
    ['a 5xx', new InternalServerError({ message: 'boom', $metadata: { httpStatusCode: 500 } })],
  ])('500 INTERNAL on %s', async (_label, error) => {
    dynamo.on(GetCommand).rejects(error);
    expectOpaqueInternalError(await invoke(handler, getEvent(tokenRecord().id)));
  });
});
