import { InternalServerError } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { auditEventToItem } from '../../../lambdas/adapters/audit-items.js';
import { auditEvent, tokenAuditEvent } from '../../../lambdas/core/audit.js';
import type { CallerContext } from '../../../lambdas/core/caller-context.js';
import { newTokenId } from '../../../lambdas/core/ids.js';
import type { AuditEvent, Caller } from '../../../lambdas/core/model.js';
import { listAuditEventsRoute } from '../../../lambdas/list-audit-events/route.js';
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

const listEvent = (query: Record<string, string> = {}, caller?: CallerContext) =>
  proxyEvent({ method: 'GET', resource: '/audit-events', query, caller });

const actor: Caller = {
  userId: 'user-1',
  accountId: 'acct-1',
  role: 'member',
  email: undefined,
  sourceIp: '198.51.100.7',
  userAgent: 'vitest',
};

const itemOf = (event: AuditEvent) => auditEventToItem(event, 365);

function lastKeyOf(item: Record<string, unknown>): Record<string, unknown> {
  return { pk: item.pk, sk: item.sk, gsi1pk: item.gsi1pk, gsi1sk: item.gsi1sk };
}

describe('GET /audit-events (DynamoDB mocked)', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const handler = listAuditEventsRoute(managementDeps({ tableName: 'tokens-table' }));

  afterEach(() => {
    dynamo.reset();
  });

  it('a member gets their own events from the byOwner index, newest first', async () => {
    const token = tokenRecord();
    const created = tokenAuditEvent('token.created', actor, token, '2025-03-01T12:00:00.000Z');
    dynamo.on(QueryCommand).resolves({ Items: [itemOf(created)] });
    const result = await invoke(handler, listEvent());
    expect(result.status).toBe(200);
    expect(result.json).toEqual({ items: [JSON.parse(JSON.stringify(created))], nextCursor: null });
    expect(dynamo.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      IndexName: 'byOwner2',
      ExpressionAttributeValues: { ':pk': 'AUDIT#USER#acct-1#user-1' },
      ScanIndexForward: false,
      Limit: 50,
    });
  });

  it('an admin gets the account by default, or one user with userId', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [] });
    await invoke(handler, listEvent({}, adminContext()));
    await invoke(handler, listEvent({ userId: 'bob' }, adminContext()));
    const inputs = dynamo.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(inputs[0]).toMatchObject({
      IndexName: 'byAccount2',
      ExpressionAttributeValues: { ':pk': 'AUDIT#ACCOUNT#acct-1' },
    });
    expect(inputs[1]).toMatchObject({
      IndexName: 'byOwner2',
      ExpressionAttributeValues: { ':pk': 'AUDIT#USER#acct-1#bob' },
    });
  });

  it('403 for a member or viewer naming another user, before any read', async () => {
    expectContractError(await invoke(handler, listEvent({ userId: 'bob' })), 403, 'FORBIDDEN');
    expectContractError(
      await invoke(handler, listEvent({ userId: 'bob' }, viewerContext())),
      403,
      'FORBIDDEN',
    );
    expect(dynamo.calls()).toHaveLength(0);
  });

  it("a token's events, strongly consistent from its partition: its owner and the account's admin see them", async () => {
    const token = tokenRecord();
    const created = tokenAuditEvent('token.created', actor, token, '2025-03-01T12:00:00.000Z');
    dynamo.on(QueryCommand).resolves({ Items: [itemOf(created)] });
    for (const caller of [memberContext(), adminContext()]) {
      const result = await invoke(handler, listEvent({ tokenId: token.id }, caller));
      expect(result.status).toBe(200);
      expect((result.json as { items: unknown[] }).items).toHaveLength(1);
    }
    expect(dynamo.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      ConsistentRead: true,
      ExpressionAttributeValues: { ':pk': `AUDIT#TOKEN#${token.id}` },
    });
  });

  it("404 for another member's token, another account's token and a token with no events, alike", async () => {
    const token = tokenRecord();
    const created = tokenAuditEvent('token.created', actor, token, '2025-03-01T12:00:00.000Z');
    dynamo.on(QueryCommand).resolves({ Items: [itemOf(created)] });
    const bodies: string[] = [];
    for (const caller of [
      memberContext({ userId: 'bob' }),
      adminContext({ accountId: 'acct-2' }),
      viewerContext(),
    ]) {
      const result = await invoke(handler, listEvent({ tokenId: token.id }, caller));
      expectContractError(result, 404, 'NOT_FOUND');
      bodies.push(result.rawBody);
    }
    dynamo.on(QueryCommand).resolves({ Items: [] });
    const missing = await invoke(handler, listEvent({ tokenId: newTokenId() }));
    expectContractError(missing, 404, 'NOT_FOUND');
    expect(new Set([...bodies, missing.rawBody]).size).toBe(1);
  });

  it('drops events of another account that an index page might hold', async () => {
    const foreign = auditEvent({
      action: 'user.token-access-disabled',
      at: '2025-03-01T12:00:00.000Z',
      actor: { userId: 'eve', role: 'admin', sourceIp: null, userAgent: null },
      accountId: 'acct-2',
      subjectUserId: 'user-1',
    });
    dynamo.on(QueryCommand).resolves({ Items: [itemOf(foreign)] });
    expect((await invoke(handler, listEvent())).json).toEqual({ items: [], nextCursor: null });
  });

  it('pages with a sealed cursor that only this caller and query can use', async () => {
    const token = tokenRecord();
    const first = itemOf(tokenAuditEvent('token.updated', actor, token, '2025-03-01T12:01:00.000Z'));
    dynamo
      .on(QueryCommand)
      .resolvesOnce({ Items: [first], LastEvaluatedKey: lastKeyOf(first) })
      .resolves({ Items: [] });
    const page = await invoke(handler, listEvent({ limit: '1' }));
    const cursor = (page.json as { nextCursor: string }).nextCursor;
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect((await invoke(handler, listEvent({ limit: '5', cursor }))).status).toBe(200);
    expect(dynamo.commandCalls(QueryCommand)[1]?.args[0].input.ExclusiveStartKey).toEqual(lastKeyOf(first));
    dynamo.resetHistory();
    for (const [query, caller] of [
      [{ cursor }, memberContext({ userId: 'bob' })],
      [{ cursor }, memberContext({ accountId: 'acct-2' })],
      [{ cursor }, memberContext({ role: 'viewer' })],
      [{ cursor, userId: 'user-1' }, memberContext()],
      [{ cursor, tokenId: token.id }, memberContext()],
      [{ cursor: `${cursor}A` }, memberContext()],
    ] as const) {
      expectContractError(await invoke(handler, listEvent(query, caller)), 400, 'VALIDATION_FAILED');
    }
    expect(dynamo.calls()).toHaveLength(0);
  });

  it.each([[{ tokenId: 'tok_short' }], [{ limit: '0' }], [{ userId: 'a#b' }], [{ action: 'token.created' }]])(
    '400 for %j',
    async (query) => {
      expectContractError(await invoke(handler, listEvent(query, adminContext())), 400, 'VALIDATION_FAILED');
      expect(dynamo.calls()).toHaveLength(0);
    },
  );

  it('500 INTERNAL with no detail when DynamoDB fails', async () => {
    dynamo.on(QueryCommand).rejects(new InternalServerError({ message: 'boom', $metadata: {} }));
    expectOpaqueInternalError(await invoke(handler, listEvent()));
  });
});
