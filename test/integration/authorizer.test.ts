import { type DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FileKeySource } from '../../lambdas/adapters/file-key-source.js';
import { credentialToItem, tokenToItem } from '../../lambdas/adapters/items.js';
import { KEYS } from '../../lambdas/adapters/table-definition.js';
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
import { createTestTable, dynamoEndpoint, type TestTable } from '../support/dynamo.js';
import { stubHandlerEnv } from '../support/env.js';
import { pollUntil, quietFor } from '../support/time.js';
import { tokenRecord } from '../unit/management/records.js';

// The token authorizer on DynamoDB Local with the local key file: real credential items written as
// the repository writes them (HMAC of a generated secret, credentialToItem), verified through the
// handler module as API Gateway would call it.

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<TokenAuthorizerResult>;

let table: TestTable;
let handler: Handler;
let keySource: FileKeySource;
let logs: StdoutCapture;
const issuedSecrets: string[] = [];

/** UpdateItem calls the handler's own client sends; `failUpdates` makes them fail before the wire. */
const updates = { count: 0, failUpdates: false };

/** Counts (and can fail) UpdateItem on a document client the handler module built. */
function instrument(client: DynamoDBDocumentClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'UpdateItemCommand') {
        updates.count += 1;
        if (updates.failUpdates) {
          throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
        }
      }
      return next(args);
    },
    { step: 'initialize', name: 'countUpdateItem' },
  );
}

async function lastUsedAtOf(tokenId: string): Promise<unknown> {
  const { Item } = await table.documentClient.send(
    new GetCommand({ TableName: table.tableName, Key: KEYS.token(tokenId), ConsistentRead: true }),
  );
  return Item?.lastUsedAt;
}

/** A token item plus its credential, as the repository writes them (lastUsedAt starts null). */
async function issueWithToken(overrides: Partial<CredentialRecord> = {}) {
  const token = tokenRecord();
  await table.documentClient.send(new PutCommand({ TableName: table.tableName, Item: tokenToItem(token) }));
  const issued = await issue({
    tokenId: token.id,
    userId: token.userId,
    accountId: token.accountId,
    ...overrides,
  });
  return { ...issued, token };
}

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
    dynamoEndpoint: dynamoEndpoint(),
    keySource: 'file',
  });
  if (keyFile === undefined) throw new Error('stubHandlerEnv made no key file');
  keySource = new FileKeySource(keyFile);
  handler = (await import('../../lambdas/token-authorizer/handler.js')).handler as unknown as Handler;
  // The same module instance the handler uses (no module reset in this file): its shared client.
  instrument((await import('../../lambdas/runtime/clients.js')).sharedDocumentClient());
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

  it('lastUsedAt: 100 verifications of one token inside the interval write it once, without waiting for it', async () => {
    const { secret, token } = await issueWithToken({ scopes: ['content:read'] });
    expect(await lastUsedAtOf(token.id)).toBeNull();
    const before = updates.count;
    const startedAt = Date.now();
    // Half at once (one container serving overlapping requests), half one after another.
    const concurrent = await Promise.all(Array.from({ length: 50 }, () => rest(`Bearer ${secret}`)));
    const sequential: TokenAuthorizerResult[] = [];
    for (let index = 0; index < 50; index++) sequential.push(await rest(`Bearer ${secret}`));
    for (const result of [...concurrent, ...sequential]) {
      expect(
        evaluatePolicy(result as APIGatewayAuthorizerResult, methodArn('GET', '/demo/content/items')),
      ).toBe('allow');
    }
    const lastUsedAt = await pollUntil(
      () => lastUsedAtOf(token.id),
      (value) => typeof value === 'string',
    );
    expect(typeof lastUsedAt).toBe('string');
    expect(Date.parse(String(lastUsedAt))).toBeGreaterThanOrEqual(startedAt - 1000);
    expect(updates.count - before).toBe(1);
  });

  it('lastUsedAt: another container inside the interval asks once more, and the conditional update writes nothing', async () => {
    const { secret, token } = await issueWithToken();
    await rest(`Bearer ${secret}`);
    const first = await pollUntil(
      () => lastUsedAtOf(token.id),
      (value) => typeof value === 'string',
    );
    vi.resetModules();
    const other = (await import('../../lambdas/token-authorizer/handler.js')).handler as unknown as Handler;
    instrument((await import('../../lambdas/runtime/clients.js')).sharedDocumentClient());
    const before = updates.count;
    for (let index = 0; index < 10; index++) {
      await other(
        restRequestEvent({ authorization: `Bearer ${secret}`, basePath: '/demo' }),
        lambdaContext(),
      );
    }
    await pollUntil(
      async () => updates.count,
      (count) => count > before,
    );
    await quietFor(200);
    expect(updates.count - before).toBe(1);
    expect(await lastUsedAtOf(token.id)).toBe(first);
  });

  it('lastUsedAt: a failing update changes no decision and logs a warning with the error name only', async () => {
    const { secret, credential } = await issueWithToken();
    updates.failUpdates = true;
    try {
      logs.clear();
      const before = updates.count;
      const result = (await rest(`Bearer ${secret}`)) as APIGatewayAuthorizerResult;
      expect(evaluatePolicy(result, methodArn('GET', '/demo/content/items'))).toBe('allow');
      const warning = await pollUntil(
        async () => logs.records().find((line) => line.message === 'lastUsedAt not recorded'),
        (line) => line !== undefined,
      );
      expect(updates.count - before).toBe(1);
      expect(warning).toMatchObject({
        level: 'WARN',
        tokenId: credential.tokenId,
        errorName: 'ProvisionedThroughputExceededException',
      });
      expect(JSON.stringify(warning)).not.toContain('throttled');
      expect(logs.records().filter((line) => line.message === 'token authorizer decision')).toEqual([
        expect.objectContaining({ reason: 'VALID' }),
      ]);
    } finally {
      updates.failUpdates = false;
    }
  });

  it('no issued secret appears in the table or in the logs', async () => {
    expect(issuedSecrets.length).toBeGreaterThanOrEqual(4);
    const { Items } = await table.documentClient.send(new ScanCommand({ TableName: table.tableName }));
    expect(Items?.filter((item) => item.entity === 'credential').length).toBe(issuedSecrets.length);
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
