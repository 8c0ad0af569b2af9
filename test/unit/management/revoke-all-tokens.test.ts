import { InternalServerError, ThrottlingException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { slotFor, slotToItem, tokenToItem } from '../../../lambdas/adapters/items.js';
import { KEYS } from '../../../lambdas/adapters/table-definition.js';
import type { CallerContext } from '../../../lambdas/core/caller-context.js';
import type { TokenRecord } from '../../../lambdas/core/model.js';
import { revokeAllTokensRoute } from '../../../lambdas/revoke-all-tokens/route.js';
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
import { fakeRevokeAllJobs } from '../../support/revoke-all-jobs.js';
import { tokenRecord } from './records.js';

const revokeAllEvent = (query: Record<string, string> = {}, caller?: CallerContext) =>
  proxyEvent({ method: 'DELETE', resource: '/tokens', query, caller });

describe('DELETE /tokens (DynamoDB mocked)', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const handler = revokeAllTokensRoute(managementDeps({ tableName: 'tokens-table' }));

  afterEach(() => {
    dynamo.reset();
  });

  function holding(tokens: readonly TokenRecord[]): void {
    dynamo.on(QueryCommand).resolves({ Items: tokens.map((token) => slotToItem(slotFor(token))) });
    for (const token of tokens) {
      dynamo.on(GetCommand, { Key: KEYS.token(token.id) }).resolves({ Item: tokenToItem(token) });
    }
    fakeRevokeAllJobs(dynamo);
  }

  /** The audit events written outside a transaction (the job item is not one). */
  const appended = () =>
    dynamo
      .commandCalls(PutCommand)
      .map((call) => call.args[0].input.Item)
      .filter((item) => item?.entity === 'audit');

  it("200 {revoked: n}: the caller's active slot holders, each in its own bulk transaction, then one summary event", async () => {
    const active = [tokenRecord(), tokenRecord()];
    const expired = tokenRecord({ expiresAt: new Date(Date.now() - 1000).toISOString() });
    holding([...active, expired]);
    dynamo.on(TransactWriteCommand).resolves({});
    const result = await invoke(handler, revokeAllEvent());
    expect(result.status).toBe(200);
    expect(result.json).toEqual({ revoked: 2, status: 'done', jobId: expect.stringMatching(/^evt_/) });
    expect(dynamo.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      ExpressionAttributeValues: { ':pk': 'SLOTS#acct-1#user-1' },
      ConsistentRead: true,
    });
    const writes = dynamo
      .commandCalls(TransactWriteCommand)
      .map((call) => call.args[0].input.TransactItems ?? []);
    expect(writes).toHaveLength(2);
    for (const items of writes) {
      expect(items[0]?.Update?.ExpressionAttributeValues?.[':change']).toMatchObject({
        action: 'revoked',
        bulk: true,
      });
      expect(items.at(-2)?.Put?.Item).toMatchObject({ action: 'token.revoked', details: { bulk: true } });
      expect(items.at(-1)?.Update?.Key).toEqual({ pk: 'LIMIT#USAGE_KEYS', sk: 'LIMIT' });
    }
    expect(appended()).toEqual([
      expect.objectContaining({
        entity: 'audit',
        action: 'tokens.revoked-all',
        subjectUserId: 'user-1',
        tokenId: null,
        details: { revokedCount: 2, target: 'user-1' },
      }),
    ]);
  });

  it('200 {revoked: 0} when nothing is active; the summary event is still written', async () => {
    holding([]);
    const result = await invoke(handler, revokeAllEvent());
    expect(result.json).toMatchObject({ revoked: 0, status: 'done' });
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect(appended()).toEqual([expect.objectContaining({ details: { revokedCount: 0, target: 'user-1' } })]);
  });

  it('an admin revokes the whole account from the slots index, skipping anything not in the account', async () => {
    const mine = tokenRecord({ userId: 'bob' });
    const stray = tokenRecord({ accountId: 'acct-2' });
    holding([mine, stray]);
    dynamo.on(TransactWriteCommand).resolves({});
    const result = await invoke(handler, revokeAllEvent({ userId: '*' }, adminContext()));
    expect(result.json).toMatchObject({ revoked: 1, status: 'done' });
    expect(dynamo.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      IndexName: 'byAccount2',
      ExpressionAttributeValues: { ':pk': 'SLOTS#acct-1' },
    });
    expect(appended()).toEqual([
      expect.objectContaining({ subjectUserId: 'admin-1', details: { revokedCount: 1, target: '*' } }),
    ]);
  });

  it('403 for a member or a viewer naming another user or the account; nothing is read', async () => {
    expectContractError(await invoke(handler, revokeAllEvent({ userId: 'bob' })), 403, 'FORBIDDEN');
    expectContractError(await invoke(handler, revokeAllEvent({ userId: '*' })), 403, 'FORBIDDEN');
    for (const userId of ['bob', '*']) {
      expectContractError(
        await invoke(handler, revokeAllEvent({ userId }, viewerContext())),
        403,
        'FORBIDDEN',
      );
    }
    expect(dynamo.calls()).toHaveLength(0);
  });

  it('a viewer may revoke their own tokens: it only reduces access', async () => {
    holding([]);
    const result = await invoke(handler, revokeAllEvent({}, viewerContext()));
    expect(result.status).toBe(200);
    expect(dynamo.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      ExpressionAttributeValues: { ':pk': 'SLOTS#acct-1#viewer-1' },
    });
  });

  it('a member may name themselves; an admin of another account never reaches this one', async () => {
    holding([]);
    expect((await invoke(handler, revokeAllEvent({ userId: 'user-1' }, memberContext()))).status).toBe(200);
    await invoke(handler, revokeAllEvent({ userId: 'user-1' }, adminContext({ accountId: 'acct-2' })));
    expect(dynamo.commandCalls(QueryCommand)[1]?.args[0].input).toMatchObject({
      ExpressionAttributeValues: { ':pk': 'SLOTS#acct-2#user-1' },
    });
  });

  it.each([['bell\u0007'], ['a#b'], ['']])('400 for userId=%j', async (userId) => {
    expectContractError(
      await invoke(handler, revokeAllEvent({ userId }, adminContext())),
      400,
      'VALIDATION_FAILED',
    );
    expect(dynamo.calls()).toHaveLength(0);
  });

  it.each([
    ['the slot query', 'query'],
    ['a revoke transaction', 'write'],
    ['the summary event', 'append'],
  ])('500 INTERNAL with no detail when %s fails', async (_label, where) => {
    const error = new InternalServerError({ message: 'boom', $metadata: {} });
    holding([tokenRecord()]);
    dynamo.on(TransactWriteCommand).resolves({});
    dynamo.on(PutCommand, { Item: { entity: 'audit' } }).resolves({});
    if (where === 'query') dynamo.on(QueryCommand).rejects(error);
    if (where === 'write') dynamo.on(TransactWriteCommand).rejects(error);
    if (where === 'append') dynamo.on(PutCommand, { Item: { entity: 'audit' } }).rejects(error);
    expectOpaqueInternalError(await invoke(handler, revokeAllEvent()));
  });

  it('500 on throttling of a read', async () => {
    holding([tokenRecord()]);
    dynamo
      .on(GetCommand, { Key: { sk: 'TOKEN' } })
      .rejects(new ThrottlingException({ message: 'slow down', $metadata: {} }));
    expectOpaqueInternalError(await invoke(handler, revokeAllEvent()));
    expect(appended()).toHaveLength(0);
  });
});
