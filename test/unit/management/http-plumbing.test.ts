import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { tokenToItem } from '../../../lambdas/adapters/items.js';
import { createTokenRoute } from '../../../lambdas/create-token/route.js';
import { getTokenRoute } from '../../../lambdas/get-token/route.js';
import { managementDeps } from '../../support/management-deps.js';
import {
  adminContext,
  captureLogs,
  expectContractError,
  invoke,
  memberContext,
  proxyEvent,
} from '../../support/proxy-events.js';
import { tokenRecord } from './records.js';

// The shared HTTP plumbing (lambdas/http), exercised through real handlers.

// The one environment fact here: even if an operator switches Powertools event logging on (read
// when the logger is built, at import: hence hoisted above the imports), events stay out.
vi.hoisted(() => {
  vi.stubEnv('POWERTOOLS_LOGGER_LOG_EVENT', 'true');
});

describe('HTTP plumbing', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const deps = managementDeps();
  const create = createTokenRoute(deps);
  const getToken = getTokenRoute(deps);

  afterEach(() => {
    dynamo.reset();
  });
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  it('never logs the event, the Authorization header or the body', async () => {
    dynamo.on(TransactWriteCommand).resolves({});
    const logs = captureLogs();
    const result = await invoke(
      create,
      proxyEvent({
        method: 'POST',
        resource: '/tokens',
        body: { name: 'secret-project-name', scopes: ['content:read'] },
        headers: { Authorization: 'Bearer eyJhbGciOi.jwt-payload.signature' },
      }),
    );
    logs.restore();
    expect(result.status).toBe(201);
    const text = logs.lines().join('\n');
    expect(logs.lines()).toHaveLength(1);
    for (const leak of [
      'eyJhbGciOi',
      'Authorization',
      'secret-project-name',
      (result.json as { secret: string }).secret,
    ]) {
      expect(text).not.toContain(leak);
    }
  });

  it('a 4xx log line carries the error code and the caller', async () => {
    const logs = captureLogs();
    await invoke(create, proxyEvent({ method: 'POST', resource: '/tokens', body: '{"oops"' }));
    logs.restore();
    expect(JSON.parse(logs.lines()[0] ?? '{}')).toMatchObject({
      level: 'INFO',
      message: 'request',
      route: 'createToken',
      status: 400,
      errorCode: 'VALIDATION_FAILED',
      userId: 'user-1',
      accountId: 'acct-1',
    });
  });

  it('concurrent requests keep their own log state', async () => {
    const token = tokenRecord();
    dynamo.on(GetCommand).callsFake(async () => {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
      return { Item: tokenToItem(token) };
    });
    const logs = captureLogs();
    const callers = [
      memberContext(),
      adminContext(),
      memberContext({ userId: 'bob' }),
      adminContext({ userId: 'root' }),
    ];
    const results = await Promise.all(
      callers.map((caller) =>
        invoke(
          getToken,
          proxyEvent({ method: 'GET', resource: '/tokens/{id}', pathParameters: { id: token.id }, caller }),
        ),
      ),
    );
    logs.restore();
    expect(results.map((result) => result.status)).toEqual([200, 200, 404, 200]);
    const lines = logs.lines().map((line) => JSON.parse(line) as { userId: string; status: number });
    expect(lines.map((line) => `${line.userId}:${line.status}`).sort()).toEqual(
      ['user-1:200', 'admin-1:200', 'bob:404', 'root:200'].sort(),
    );
  });

  it('a base64 body that is not UTF-8 is a 400', async () => {
    const body = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64');
    const result = await invoke(
      create,
      proxyEvent({ method: 'POST', resource: '/tokens', body, isBase64Encoded: true }),
    );
    expectContractError(result, 400, 'VALIDATION_FAILED');
  });

  it('a 16 KB body is accepted up to the byte, one more is 413', async () => {
    dynamo.on(TransactWriteCommand).resolves({});
    const base = JSON.stringify({ name: 'n', scopes: ['content:read'], description: '' });
    const exact = base.replace('"description":""', `"description":"${' '.repeat(16 * 1024 - base.length)}"`);
    expect(Buffer.byteLength(exact)).toBe(16 * 1024);
    const atLimit = await invoke(create, proxyEvent({ method: 'POST', resource: '/tokens', body: exact }));
    expect(atLimit.status).not.toBe(413);
    const over = await invoke(create, proxyEvent({ method: 'POST', resource: '/tokens', body: `${exact} ` }));
    expectContractError(over, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('an event without a request context is a 401, not a crash', async () => {
    const event = proxyEvent({ method: 'POST', resource: '/tokens', body: {} });
    const { requestContext: _dropped, ...rest } = event;
    const result = await invoke(create, rest as APIGatewayProxyEvent);
    expectContractError(result, 401, 'UNAUTHORIZED');
  });

  it('the caller comes from the authorizer context only, never from headers or the body', async () => {
    dynamo.on(TransactWriteCommand).resolves({});
    const result = await invoke(
      create,
      proxyEvent({
        method: 'POST',
        resource: '/tokens',
        body: { name: 'n', scopes: ['content:read'] },
        headers: { 'x-user-id': 'mallory', 'x-account-id': 'acct-9' },
      }),
    );
    expect(result.json).toMatchObject({ userId: 'user-1', accountId: 'acct-1' });
  });
});
