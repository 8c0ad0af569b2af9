import { InternalServerError, ThrottlingException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeCursor } from '../../../lambdas/adapters/dynamo-token-repository.js';
import { tokenToItem } from '../../../lambdas/adapters/items.js';
import { listTokensRoute } from '../../../lambdas/list-tokens/route.js';
import { managementDeps } from '../../support/management-deps.js';
import {
  adminContext,
  expectContractError,
  expectOpaqueInternalError,
  invoke,
  type ProxyEventOptions,
  proxyEvent,
  viewerContext,
} from '../../support/proxy-events.js';
import { tokenRecord } from './records.js';

const listEvent = (query: ProxyEventOptions['query'] = {}, extra: Partial<ProxyEventOptions> = {}) =>
  proxyEvent({ method: 'GET', resource: '/tokens', query, ...extra });

function lastKeyOf(item: Record<string, unknown>, index: 'byOwner' | 'byAccount'): Record<string, unknown> {
  const [pk, sk] = index === 'byOwner' ? ['gsi1pk', 'gsi1sk'] : ['gsi2pk', 'gsi2sk'];
  return { pk: item.pk, sk: item.sk, [pk]: item[pk], [sk]: item[sk] };
}

describe('GET /tokens (DynamoDB mocked)', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const handler = listTokensRoute(managementDeps({ tableName: 'tokens-table' }));

  afterEach(() => {
    dynamo.reset();
  });

  it("lists the caller's own tokens from the byOwner index, newest first, 50 by default", async () => {
    const token = tokenRecord();
    dynamo.on(QueryCommand).resolves({ Items: [tokenToItem(token)] });
    const result = await invoke(handler, listEvent());
    expect(result.status).toBe(200);
    expect(result.json).toEqual({
      items: [
        expect.objectContaining({ id: token.id, status: 'active', userId: 'user-1', hint: 'atk_…abcd' }),
      ],
      nextCursor: null,
    });
    const view = (result.json as { items: Record<string, unknown>[] }).items[0] ?? {};
    expect(view).not.toHaveProperty('secretHash');
    expect(view).not.toHaveProperty('ownerEmail');
    expect(dynamo.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      TableName: 'tokens-table',
      IndexName: 'byOwner2',
      ExpressionAttributeValues: { ':pk': 'USER#acct-1#user-1' },
      ScanIndexForward: false,
      Limit: 50,
    });
  });

  it('shows an expired token that is still in the table as expired', async () => {
    const expired = tokenRecord({ expiresAt: new Date(Date.now() - 1000).toISOString() });
    dynamo.on(QueryCommand).resolves({ Items: [tokenToItem(expired)] });
    const result = await invoke(handler, listEvent());
    expect(result.json).toMatchObject({ items: [{ id: expired.id, status: 'expired' }] });
  });

  it('an admin lists the whole account with userId=* and one user with userId=<id>', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [] });
    expect((await invoke(handler, listEvent({ userId: '*' }, { caller: adminContext() }))).status).toBe(200);
    expect((await invoke(handler, listEvent({ userId: 'bob' }, { caller: adminContext() }))).status).toBe(
      200,
    );
    const inputs = dynamo.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(inputs[0]).toMatchObject({
      IndexName: 'byAccount2',
      ExpressionAttributeValues: { ':pk': 'ACCOUNT#acct-1' },
    });
    expect(inputs[1]).toMatchObject({
      IndexName: 'byOwner2',
      ExpressionAttributeValues: { ':pk': 'USER#acct-1#bob' },
    });
  });

  it('403 when a member or viewer names another user or the account; no query is made', async () => {
    expectContractError(await invoke(handler, listEvent({ userId: 'bob' })), 403, 'FORBIDDEN');
    expectContractError(await invoke(handler, listEvent({ userId: '*' })), 403, 'FORBIDDEN');
    expectContractError(
      await invoke(handler, listEvent({ userId: '*' }, { caller: viewerContext() })),
      403,
      'FORBIDDEN',
    );
    expect(dynamo.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it('a viewer lists their own tokens', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [] });
    expect((await invoke(handler, listEvent({}, { caller: viewerContext() }))).status).toBe(200);
  });

  it('pages with an opaque cursor that round-trips to ExclusiveStartKey', async () => {
    const token = tokenRecord();
    const item = tokenToItem(token);
    dynamo
      .on(QueryCommand)
      .resolvesOnce({ Items: [item], LastEvaluatedKey: lastKeyOf(item, 'byOwner') })
      .resolves({ Items: [] });
    const first = await invoke(handler, listEvent({ limit: '1' }));
    const cursor = (first.json as { nextCursor: string }).nextCursor;
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    const second = await invoke(handler, listEvent({ limit: '1', cursor }));
    expect(second.json).toEqual({ items: [], nextCursor: null });
    expect(dynamo.commandCalls(QueryCommand)[1]?.args[0].input).toMatchObject({
      Limit: 1,
      ExclusiveStartKey: lastKeyOf(item, 'byOwner'),
    });
  });

  it.each([
    ['not base64url', 'abc$def'],
    ['base64 of garbage', Buffer.from('garbage').toString('base64url')],
    ['an object with the wrong keys', encodeCursor({ 0: 'x' })],
    ['a JSON array', Buffer.from('["a"]').toString('base64url')],
    ['JSON null', Buffer.from('null').toString('base64url')],
    [
      'extra keys',
      encodeCursor({
        pk: 'TOKEN#tok_x',
        sk: 'TOKEN',
        gsi1pk: 'USER#acct-1#user-1',
        gsi1sk: 'a#tok_x',
        x: '1',
      }),
    ],
    ['numbers', encodeCursor({ pk: 1, sk: 'TOKEN', gsi1pk: 'USER#acct-1#user-1', gsi1sk: 'a#tok_x' })],
    [
      "another user's listing",
      encodeCursor({ pk: 'TOKEN#tok_x', sk: 'TOKEN', gsi1pk: 'USER#acct-1#bob', gsi1sk: 'a#tok_x' }),
    ],
    [
      "the account listing's keys",
      encodeCursor({ pk: 'TOKEN#tok_x', sk: 'TOKEN', gsi2pk: 'ACCOUNT#acct-1', gsi2sk: 'a#tok_x' }),
    ],
    [
      'a mismatched token id',
      encodeCursor({ pk: 'TOKEN#tok_x', sk: 'TOKEN', gsi1pk: 'USER#acct-1#user-1', gsi1sk: 'a#tok_y' }),
    ],
    ['too long', 'A'.repeat(3000)],
  ])('400 for a garbage cursor (%s), without querying', async (_label, cursor) => {
    const result = await invoke(handler, listEvent({ cursor }));
    expectContractError(result, 400, 'VALIDATION_FAILED');
    expect(dynamo.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it.each([
    [{ limit: '0' }],
    [{ limit: '101' }],
    [{ limit: 'ten' }],
    [{ limit: '1.5' }],
    [{ limit: '-1' }],
    [{ status: 'deleted' }],
    [{ userId: '' }],
    [{ sort: 'asc' }],
    [{ status: ['active', 'revoked'] }],
  ])('400 for a bad query %j', async (query) => {
    expectContractError(await invoke(handler, listEvent(query)), 400, 'VALIDATION_FAILED');
    expect(dynamo.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it('filters by status and keeps querying until the page is full or the list ends', async () => {
    const active = tokenRecord();
    const revoked = tokenRecord({ state: 'revoked', revokedAt: new Date().toISOString() });
    const activeItem = tokenToItem(active);
    const revokedItem = tokenToItem(revoked);
    dynamo
      .on(QueryCommand)
      .resolvesOnce({ Items: [revokedItem], LastEvaluatedKey: lastKeyOf(revokedItem, 'byOwner') })
      .resolvesOnce({ Items: [activeItem] });
    const result = await invoke(handler, listEvent({ status: 'active', limit: '1' }));
    expect(result.json).toEqual({ items: [expect.objectContaining({ id: active.id })], nextCursor: null });
    expect(dynamo.commandCalls(QueryCommand)).toHaveLength(2);
  });

  it.each([
    ['throttling', new ThrottlingException({ message: 'slow down', $metadata: {} })],
    ['a 5xx', new InternalServerError({ message: 'boom', $metadata: { httpStatusCode: 500 } })],
  ])('500 INTERNAL on %s', async (_label, error) => {
    dynamo.on(QueryCommand).rejects(error);
    const result = await invoke(handler, listEvent());
    expectOpaqueInternalError(result);
  });

  it('500 INTERNAL, not 400, when a stored item no longer parses', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [{ entity: 'token', id: 'tok_broken' }] });
    expectOpaqueInternalError(await invoke(handler, listEvent()));
  });
});
