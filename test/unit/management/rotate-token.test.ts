import { InternalServerError } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { tokenToItem } from '../../../lambdas/adapters/items.js';
import { KEYS } from '../../../lambdas/adapters/table-definition.js';
import type { CallerContext } from '../../../lambdas/core/caller-context.js';
import type { TokenRecord } from '../../../lambdas/core/model.js';
import { isWellFormedToken } from '../../../lambdas/core/token-format.js';
import { rotateTokenRoute } from '../../../lambdas/rotate-token/route.js';
import { transactionCanceled } from '../../support/dynamo-errors.js';
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

const rotateEvent = (id: string, body?: ProxyEventOptions['body'], caller?: CallerContext) =>
  proxyEvent({ method: 'POST', resource: '/tokens/{id}/rotate', pathParameters: { id }, body, caller });

describe('POST /tokens/{id}/rotate (DynamoDB mocked)', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const handler = rotateTokenRoute(managementDeps({ tableName: 'tokens-table' }));

  afterEach(() => {
    dynamo.reset();
  });

  function stored(token: TokenRecord, access: Record<string, unknown> | undefined = undefined): void {
    dynamo.on(GetCommand, { Key: KEYS.token(token.id) }).resolves({ Item: tokenToItem(token) });
    dynamo.on(GetCommand, { Key: KEYS.userAccess(token.accountId, token.userId) }).resolves({ Item: access });
  }

  it('201: the token with its new secret; the old secret ends after the grace period', async () => {
    const token = tokenRecord();
    stored(token);
    dynamo.on(TransactWriteCommand).resolves({});
    const before = Date.now();
    const result = await invoke(handler, rotateEvent(token.id, { gracePeriodSeconds: 600 }));
    expect(result.status).toBe(201);
    const body = result.json as Record<string, unknown>;
    const secret = String(body.secret);
    expect(isWellFormedToken(secret, 'atk')).toBe(true);
    expect(body).toMatchObject({ id: token.id, hint: `atk_…${secret.slice(-4)}`, status: 'active' });
    expect(Date.parse(String(body.rotatedAt))).toBeGreaterThanOrEqual(before);
    expect(body).not.toHaveProperty('secretHash');

    const input = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input;
    const items = input?.TransactItems ?? [];
    expect(JSON.stringify(input)).not.toContain(secret);
    const tokenValues = Object.values(items[0]?.Update?.ExpressionAttributeValues ?? {});
    expect(tokenValues).toContain(token.secretHash);
    const newCredential = items[1]?.Put?.Item;
    expect(newCredential).toMatchObject({ entity: 'credential', tokenId: token.id, state: 'active' });
    expect(newCredential?.secretHash).not.toBe(token.secretHash);
    const oldCredential = items.find(
      (item) => item.Update?.Key?.pk === KEYS.credential(token.secretHash).pk,
    )?.Update;
    const notAfterMs = Number(
      Object.entries(oldCredential?.ExpressionAttributeValues ?? {}).find(([name]) =>
        name.toLowerCase().includes('notafter'),
      )?.[1],
    );
    expect(notAfterMs - Date.parse(String(body.rotatedAt))).toBe(600_000);
    const audit = items.find((item) => item.Put?.Item?.entity === 'audit')?.Put?.Item;
    expect(audit).toMatchObject({
      action: 'token.rotated',
      tokenId: token.id,
      details: { gracePeriodSeconds: 600 },
    });
    const auditText = JSON.stringify(audit);
    for (const forbidden of [
      secret,
      token.secretHash,
      String(newCredential?.secretHash),
      String(body.hint),
    ]) {
      expect(auditText).not.toContain(forbidden);
    }
  });

  it('the body may be omitted: grace period 0', async () => {
    const token = tokenRecord();
    stored(token);
    dynamo.on(TransactWriteCommand).resolves({});
    const result = await invoke(handler, rotateEvent(token.id));
    expect(result.status).toBe(201);
    const items = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items.find((item) => item.Put?.Item?.entity === 'audit')?.Put?.Item).toMatchObject({
      details: { gracePeriodSeconds: 0 },
    });
  });

  it.each([
    ['a negative grace period', { gracePeriodSeconds: -1 }],
    ['more than 24 h', { gracePeriodSeconds: 86_401 }],
    ['a fractional grace period', { gracePeriodSeconds: 1.5 }],
    ['an unknown field', { gracePeriodSeconds: 0, secret: 'atk_x' }],
    ['malformed JSON', '{"gracePeriodSeconds":'],
  ])('400 for %s, before any read', async (_label, body) => {
    expectContractError(await invoke(handler, rotateEvent(tokenRecord().id, body)), 400, 'VALIDATION_FAILED');
    expect(dynamo.calls()).toHaveLength(0);
  });

  it('409 CONFLICT when another change won; 403 when the owner is disabled', async () => {
    const token = tokenRecord();
    stored(token);
    dynamo
      .on(TransactWriteCommand)
      .rejects(transactionCanceled(['ConditionalCheckFailed', 'None', 'None', 'None', 'None']));
    expectContractError(await invoke(handler, rotateEvent(token.id)), 409, 'CONFLICT');

    dynamo.reset();
    stored(token, {
      ...KEYS.userAccess('acct-1', 'user-1'),
      entity: 'userAccess',
      enabled: false,
      generation: 1,
    });
    expectContractError(await invoke(handler, rotateEvent(token.id)), 403, 'FORBIDDEN');
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it.each([
    ['revoked', { state: 'revoked' as const, revokedAt: new Date().toISOString() }],
    ['expired', { expiresAt: new Date(Date.now() - 1000).toISOString() }],
  ])('409 CONFLICT for a %s token', async (_label, overrides) => {
    const token = tokenRecord(overrides);
    stored(token);
    expectContractError(await invoke(handler, rotateEvent(token.id)), 409, 'CONFLICT');
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it('404 for another member and an admin of another account; 403 for a viewer; 201 for the admin', async () => {
    const token = tokenRecord();
    stored(token);
    dynamo.on(TransactWriteCommand).resolves({});
    for (const caller of [memberContext({ userId: 'bob' }), adminContext({ accountId: 'acct-2' })]) {
      expectContractError(await invoke(handler, rotateEvent(token.id, {}, caller)), 404, 'NOT_FOUND');
    }
    expectContractError(await invoke(handler, rotateEvent(token.id, {}, viewerContext())), 403, 'FORBIDDEN');
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect((await invoke(handler, rotateEvent(token.id, {}, adminContext()))).status).toBe(201);
  });

  it('500 INTERNAL with no detail when DynamoDB fails', async () => {
    const token = tokenRecord();
    stored(token);
    dynamo.on(TransactWriteCommand).rejects(new InternalServerError({ message: 'boom', $metadata: {} }));
    const result = await invoke(handler, rotateEvent(token.id));
    expectOpaqueInternalError(result);
    expect(result.rawBody).not.toContain('atk_');
  });
});
