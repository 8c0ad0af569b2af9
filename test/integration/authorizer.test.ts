import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { FileKeySource } from '../../lambdas/adapters/file-key-source.js';
import { credentialToItem } from '../../lambdas/adapters/items.js';
import { hashToken } from '../../lambdas/core/hashing.js';
import type { CredentialRecord } from '../../lambdas/core/model.js';
import { generateToken } from '../../lambdas/core/token-format.js';
import type { TokenAuthorizerResult } from '../../lambdas/token-authorizer/gateway.js';
import {
  captureStdout,
  credentialRecord,
  evaluatePolicy,
  httpEvent,
  lambdaContext,
  methodArn,
  restRequestEvent,
  type StdoutCapture,
} from '../support/authorizer-events.js';
import { createTestTable, type TestTable } from '../support/dynamo.js';
import { stubHandlerEnv } from '../support/env.js';

// The token authorizer on DynamoDB Local with the local key file: real credential items written as
// the repository writes them (HMAC of a generated secret, credentialToItem), verified through the
// handler module as API Gateway would call it.

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<TokenAuthorizerResult>;

let table: TestTable;
let handler: Handler;
let keySource: FileKeySource;
let logs: StdoutCapture;
const issuedSecrets: string[] = [];

async function issue(
  overrides: Partial<CredentialRecord>,
): Promise<{ secret: string; credential: CredentialRecord }> {
  const { secret } = generateToken('atk');
  issuedSecrets.push(secret);
  const credential = credentialRecord({
    secretHash: hashToken(await keySource.getKey(), secret),
    ...overrides,
  });
  await table.documentClient.send(
    new PutCommand({ TableName: table.tableName, Item: credentialToItem(credential) }),
  );
  return { secret, credential };
}

const rest = (authorization: string, method = 'GET', path = '/demo/content/items') =>
  handler(restRequestEvent({ authorization, method, path, basePath: '/demo' }), lambdaContext());

beforeAll(async () => {
  table = await createTestTable();
  const { keyFile } = stubHandlerEnv({
    tableName: table.tableName,
    dynamoEndpoint: inject('dynamoEndpoint'),
    keySource: 'file',
  });
  if (keyFile === undefined) throw new Error('stubHandlerEnv made no key file');
  keySource = new FileKeySource(keyFile);
  handler = (await import('../../lambdas/token-authorizer/handler.js')).handler as unknown as Handler;
  logs = captureStdout();
});

afterAll(async () => {
  logs.restore();
  vi.unstubAllEnvs();
  await table.drop();
});

describe('token authorizer on DynamoDB Local', () => {
  it('a valid token is allowed, with its context', async () => {
    const { secret, credential } = await issue({ scopes: ['content:read', 'content:write'] });
    const result = (await rest(`Bearer ${secret}`)) as APIGatewayAuthorizerResult;
    expect(evaluatePolicy(result, methodArn('GET', '/demo/content/items'))).toBe('allow');
    expect(evaluatePolicy(result, methodArn('DELETE', '/demo/content/items/1'))).toBe('allow');
    expect(result.context).toEqual({
      tokenId: credential.tokenId,
      userId: credential.userId,
      accountId: credential.accountId,
      scopes: 'content:read content:write',
      type: 'standard',
    });
    const http = await handler(
      httpEvent({ authorization: `Bearer ${secret}`, method: 'PUT', path: '/content/x' }),
      lambdaContext(),
    );
    expect(http).toMatchObject({ isAuthorized: true, context: { tokenId: credential.tokenId } });
  });

  it('a revoked token is a 401', async () => {
    const { secret } = await issue({ state: 'revoked' });
    await expect(rest(`Bearer ${secret}`)).rejects.toMatchObject({ message: 'Unauthorized' });
  });

  it('an expired token still in the table (TTL not yet run) is a 401 EXPIRED', async () => {
    const { secret } = await issue({ expiresAtMs: Date.now() - 60_000 });
    logs.clear();
    await expect(rest(`Bearer ${secret}`)).rejects.toMatchObject({ message: 'Unauthorized' });
    expect(logs.records().filter((line) => line.message === 'token authorizer decision')).toEqual([
      expect.objectContaining({ reason: 'EXPIRED' }),
    ]);
  });

  it('a token without the scope is not allowed (REST: the policy does not cover it; HTTP API: false)', async () => {
    const { secret } = await issue({ scopes: ['reports:read'] });
    const result = (await rest(`Bearer ${secret}`, 'POST', '/demo/reports/1')) as APIGatewayAuthorizerResult;
    expect(evaluatePolicy(result, methodArn('POST', '/demo/reports/1'))).toBe('implicit-deny');
    expect(evaluatePolicy(result, methodArn('GET', '/demo/reports/1'))).toBe('allow');
    const http = await handler(
      httpEvent({ authorization: `Bearer ${secret}`, method: 'GET', path: '/content/x' }),
      lambdaContext(),
    );
    expect(http).toEqual({ isAuthorized: false });
  });

  it('an unknown token is a 401 after one read', async () => {
    await expect(rest(`Bearer ${generateToken('atk').secret}`)).rejects.toMatchObject({
      message: 'Unauthorized',
    });
  });

  it('no issued secret appears in the table or in the logs', async () => {
    expect(issuedSecrets.length).toBeGreaterThanOrEqual(4);
    const { Items } = await table.documentClient.send(new ScanCommand({ TableName: table.tableName }));
    expect(Items?.length).toBe(issuedSecrets.length);
    const stored = JSON.stringify(Items);
    const logged = logs.text();
    for (const secret of issuedSecrets) {
      expect(stored).not.toContain(secret);
      expect(stored).not.toContain(secret.slice(4));
      expect(logged).not.toContain(secret);
      expect(logged).not.toContain(secret.slice(4));
    }
  });
});
