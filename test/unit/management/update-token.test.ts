import { InternalServerError, ThrottlingException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { tokenToItem } from '../../../lambdas/adapters/items.js';
import type { CallerContext } from '../../../lambdas/core/caller-context.js';
import { updateTokenRoute } from '../../../lambdas/update-token/route.js';
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

const patchEvent = (id: string, body: unknown, caller?: CallerContext) =>
  proxyEvent({
    method: 'PATCH',
    resource: '/tokens/{id}',
    pathParameters: { id },
    body: body === undefined ? undefined : (body as object),
    caller,
  });

describe('PATCH /tokens/{id} (DynamoDB mocked)', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const handler = updateTokenRoute(managementDeps({ tableName: 'tokens-table' }));

  afterEach(() => {
    dynamo.reset();
  });

  it('200 with the edited token; one conditional transaction with the token.updated diff', async () => {
    const token = tokenRecord();
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(token) });
    dynamo.on(TransactWriteCommand).resolves({});
    const result = await invoke(
      handler,
      patchEvent(token.id, {
        name: '  Deploys ',
        scopes: ['content:read', 'reports:read'],
        allowedIps: ['10.1.2.3'],
      }),
    );
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({
      id: token.id,
      name: 'Deploys',
      scopes: ['content:read', 'reports:read'],
      allowedIps: ['10.1.2.3/32'],
      status: 'active',
      hint: token.hint,
    });
    expect(result.json).not.toHaveProperty('secret');
    expect(result.json).not.toHaveProperty('secretHash');
    const items = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items[0]?.Update).toMatchObject({
      Key: { pk: `TOKEN#${token.id}`, sk: 'TOKEN' },
      ConditionExpression: expect.stringContaining(':active'),
    });
    expect(items[0]?.Update?.ExpressionAttributeValues).toMatchObject({ ':expectedVersion': 1 });
    const audit = items.find((item) => item.Put?.Item?.entity === 'audit')?.Put?.Item;
    expect(audit).toMatchObject({
      action: 'token.updated',
      tokenId: token.id,
      actor: { userId: 'user-1', role: 'member' },
      changes: [
        { field: 'name', from: 'CI deploys', to: 'Deploys' },
        { field: 'scopes', from: ['content:read'], to: ['content:read', 'reports:read'] },
        { field: 'allowedIps', from: [], to: ['10.1.2.3/32'] },
      ],
    });
    expect(JSON.stringify(audit)).not.toContain('hash-of-secret');
  });

  it('200 and no write for a patch that changes nothing', async () => {
    const token = tokenRecord();
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(token) });
    const result = await invoke(
      handler,
      patchEvent(token.id, { name: token.name, scopes: [...token.scopes] }),
    );
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({ id: token.id, name: token.name });
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it('409 CONFLICT when another change won (the version condition fails)', async () => {
    const token = tokenRecord();
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(token) });
    dynamo.on(TransactWriteCommand).rejects(transactionCanceled(['ConditionalCheckFailed', 'None', 'None']));
    expectContractError(await invoke(handler, patchEvent(token.id, { name: 'x' })), 409, 'CONFLICT');
  });

  it.each([
    ['revoked', { state: 'revoked' as const, revokedAt: new Date().toISOString() }],
    ['expired', { expiresAt: new Date(Date.now() - 1000).toISOString() }],
  ])('409 CONFLICT for a %s token, without writing', async (_label, overrides) => {
    const token = tokenRecord(overrides);
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(token) });
    expectContractError(await invoke(handler, patchEvent(token.id, { name: 'x' })), 409, 'CONFLICT');
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it('404 for another member and an admin of another account; 200 for an admin of the account', async () => {
    const token = tokenRecord();
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(token) });
    dynamo.on(TransactWriteCommand).resolves({});
    for (const caller of [memberContext({ userId: 'bob' }), adminContext({ accountId: 'acct-2' })]) {
      expectContractError(
        await invoke(handler, patchEvent(token.id, { name: 'x' }, caller)),
        404,
        'NOT_FOUND',
      );
    }
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect((await invoke(handler, patchEvent(token.id, { name: 'x' }, adminContext()))).status).toBe(200);
  });

  it('403 for a viewer, before any read', async () => {
    const result = await invoke(handler, patchEvent(tokenRecord().id, { name: 'x' }, viewerContext()));
    expectContractError(result, 403, 'FORBIDDEN');
    expect(dynamo.calls()).toHaveLength(0);
  });

  it.each([
    ['an empty patch', {}],
    ['an unknown field', { name: 'x', type: 'restricted' }],
    ['a secret-ish field', { secretHash: 'x' }],
    ['an empty name', { name: '   ' }],
    ['no body', undefined],
  ])('400 for %s, before any read', async (_label, body) => {
    expectContractError(await invoke(handler, patchEvent(tokenRecord().id, body)), 400, 'VALIDATION_FAILED');
    expect(dynamo.calls()).toHaveLength(0);
  });

  it('400 with policy details for a scope outside the catalogue or an expiry past the lifetime', async () => {
    const token = tokenRecord();
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(token) });
    const result = await invoke(
      handler,
      patchEvent(token.id, { scopes: ['content:read', 'nope:write'], expiresAt: '2999-01-01T00:00:00Z' }),
    );
    expectContractError(result, 400, 'VALIDATION_FAILED');
    expect(
      (result.json as { error: { details: { path: string }[] } }).error.details.map((d) => d.path),
    ).toEqual(['scopes.1', 'expiresAt']);
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it.each([
    ['throttling on the read', 'get', new ThrottlingException({ message: 'slow down', $metadata: {} })],
    ['a 5xx on the write', 'write', new InternalServerError({ message: 'boom', $metadata: {} })],
  ])('500 INTERNAL with no detail on %s', async (_label, where, error) => {
    const token = tokenRecord();
    if (where === 'get') {
      dynamo.on(GetCommand).rejects(error);
    } else {
      dynamo.on(GetCommand).resolves({ Item: tokenToItem(token) });
      dynamo.on(TransactWriteCommand).rejects(error);
    }
    expectOpaqueInternalError(await invoke(handler, patchEvent(token.id, { name: 'x' })));
  });
});
