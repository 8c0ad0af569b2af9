import { InternalServerError, ThrottlingException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { tokenToItem } from '../../../lambdas/adapters/items.js';
import type { CallerContext } from '../../../lambdas/core/caller-context.js';
import { revokeTokenRoute } from '../../../lambdas/revoke-token/route.js';
import { transactionCanceled } from '../../support/dynamo-errors.js';
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

const revokeEvent = (id: string, caller?: CallerContext) =>
  proxyEvent({ method: 'DELETE', resource: '/tokens/{id}', pathParameters: { id }, caller });

describe('DELETE /tokens/{id} (DynamoDB mocked)', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const handler = revokeTokenRoute(managementDeps({ tableName: 'tokens-table' }));

  afterEach(() => {
    dynamo.reset();
  });

  it('204 with an empty body; one transaction: token, credential, both counters', async () => {
    const token = tokenRecord();
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(token) });
    dynamo.on(TransactWriteCommand).resolves({});
    const result = await invoke(handler, revokeEvent(token.id));
    expect(result.status).toBe(204);
    expect(result.rawBody).toBe('');
    expect(result.headers['cache-control']).toBe('no-store');
    const items = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items.map((item) => item.Update?.Key ?? item.Delete?.Key ?? null)).toEqual([
      { pk: `TOKEN#${token.id}`, sk: 'TOKEN' },
      { pk: 'CREDENTIAL#hash-of-secret', sk: 'CREDENTIAL' },
      { pk: 'SLOTS#acct-1#user-1', sk: `SLOT#${token.id}` },
      { pk: 'LIMIT#USER#acct-1#user-1', sk: 'LIMIT' },
      { pk: 'LIMIT#ACCOUNT#acct-1', sk: 'LIMIT' },
      null,
      { pk: 'LIMIT#USAGE_KEYS', sk: 'LIMIT' },
    ]);
    expect(items[0]?.Update?.ExpressionAttributeValues).toMatchObject({
      ':revoked': 'revoked',
      ':change': {
        action: 'revoked',
        actorUserId: 'user-1',
        actorRole: 'member',
        sourceIp: '198.51.100.7',
      },
    });
    expect(items[3]?.Update?.ExpressionAttributeValues).toMatchObject({ ':minusOne': -1 });
    expect(items[5]?.Put?.Item).toMatchObject({
      pk: `AUDIT#TOKEN#${token.id}`,
      entity: 'audit',
      action: 'token.revoked',
      tokenId: token.id,
      subjectUserId: 'user-1',
      actor: { userId: 'user-1', role: 'member' },
      details: {},
    });
    expect(JSON.stringify(items[5]?.Put?.Item)).not.toContain('hash-of-secret');
  });

  it('204 again for a revoked token, without writing', async () => {
    const token = tokenRecord({ state: 'revoked', revokedAt: new Date().toISOString() });
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(token) });
    expect((await invoke(handler, revokeEvent(token.id))).status).toBe(204);
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it('204 when a concurrent revoke wins the race (the token condition fails, item revoked)', async () => {
    const token = tokenRecord();
    const revoked = tokenRecord({
      ...token,
      state: 'revoked',
      revokedAt: new Date().toISOString(),
      version: 2,
    });
    // The service's read (the repository's first attempt reuses it), then the re-read after the
    // failed condition.
    dynamo
      .on(GetCommand)
      .resolvesOnce({ Item: tokenToItem(token) })
      .resolves({ Item: tokenToItem(revoked) });
    dynamo.on(TransactWriteCommand).rejects(transactionCanceled(['ConditionalCheckFailed', 'None']));
    expect((await invoke(handler, revokeEvent(token.id))).status).toBe(204);
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });

  it('revokes without the credential when TTL has already removed it', async () => {
    const token = tokenRecord();
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(token) });
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(transactionCanceled(['None', 'ConditionalCheckFailed']))
      .resolves({});
    expect((await invoke(handler, revokeEvent(token.id))).status).toBe(204);
    const second = dynamo.commandCalls(TransactWriteCommand)[1]?.args[0].input.TransactItems ?? [];
    expect(second).toHaveLength(6);
    expect(second.some((item) => String(item.Update?.Key?.pk).startsWith('CREDENTIAL#'))).toBe(false);
  });

  it('404 for another member and an admin of another account; 204 for an admin of the account', async () => {
    const token = tokenRecord();
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(token) });
    dynamo.on(TransactWriteCommand).resolves({});
    expectContractError(
      await invoke(handler, revokeEvent(token.id, memberContext({ userId: 'bob' }))),
      404,
      'NOT_FOUND',
    );
    expectContractError(
      await invoke(handler, revokeEvent(token.id, adminContext({ accountId: 'acct-2' }))),
      404,
      'NOT_FOUND',
    );
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect((await invoke(handler, revokeEvent(token.id, adminContext()))).status).toBe(204);
  });

  it('a viewer revokes their own token (made while a member): 204; another user’s is a 404', async () => {
    const own = tokenRecord({ userId: 'viewer-1' });
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(own) });
    dynamo.on(TransactWriteCommand).resolves({});
    expect((await invoke(handler, revokeEvent(own.id, viewerContext()))).status).toBe(204);
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(1);
    dynamo.reset();
    const other = tokenRecord();
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(other) });
    expectContractError(await invoke(handler, revokeEvent(other.id, viewerContext())), 404, 'NOT_FOUND');
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it('409 CONFLICT for an expired token, and nothing written (no "revoked" email can follow)', async () => {
    const expired = tokenRecord({ expiresAt: new Date(Date.now() - 60_000).toISOString() });
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(expired) });
    const result = await invoke(handler, revokeEvent(expired.id));
    expectContractError(result, 409, 'CONFLICT');
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it('400 for a malformed id, before any read', async () => {
    expectContractError(await invoke(handler, revokeEvent('../../etc')), 400, 'VALIDATION_FAILED');
    expect(dynamo.commandCalls(GetCommand)).toHaveLength(0);
  });

  it.each([
    ['throttling on the read', 'get', new ThrottlingException({ message: 'slow down', $metadata: {} })],
    [
      'a 5xx on the write',
      'write',
      new InternalServerError({ message: 'boom', $metadata: { httpStatusCode: 500 } }),
    ],
    [
      'a cancellation for another reason',
      'write',
      transactionCanceled(['None', 'None', 'ValidationError', 'None']),
    ],
  ])('500 INTERNAL on %s', async (_label, where, error) => {
    const token = tokenRecord();
    if (where === 'get') {
      dynamo.on(GetCommand).rejects(error);
    } else {
      dynamo.on(GetCommand).resolves({ Item: tokenToItem(token) });
      dynamo.on(TransactWriteCommand).rejects(error);
    }
    expectOpaqueInternalError(await invoke(handler, revokeEvent(token.id)));
  });
});
