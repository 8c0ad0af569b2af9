import { createSign, generateKeyPairSync } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { credentialFor, credentialToItem, tokenToItem } from '../../../lambdas/adapters/items.js';
import { KEYS } from '../../../lambdas/adapters/table-definition.js';
import { hashToken } from '../../../lambdas/core/hashing.js';
import { generateToken, hintOf } from '../../../lambdas/core/token-format.js';
import { reportLeaksRoute } from '../../../lambdas/report-leaks/route.js';
import { managementDeps } from '../../support/management-deps.js';
import { captureLogs, expectOpaqueInternalError, invoke, proxyEvent } from '../../support/proxy-events.js';
import { tokenRecord } from '../management/records.js';

// POST /leaks/github's SDK call sites with DynamoDB mocked: a dependency that fails mid-report is a
// 500 that says nothing (GitHub delivers the report again; revoking is idempotent), never a 401 or
// a false "false_positive"; the key endpoint failing is a 500 too. No reported string in any log line.

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const sign = (body: string) => createSign('sha256').update(body).sign(privateKey).toString('base64');

describe('POST /leaks/github with DynamoDB mocked', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  let logs: ReturnType<typeof captureLogs> | undefined;
  afterEach(() => {
    dynamo.reset();
    logs?.restore();
    logs = undefined;
  });

  async function setup(keyFor: (id: string) => Promise<string | undefined> = async () => pem) {
    const deps = managementDeps({ tableName: 'tokens-table' });
    const key = await deps.hmacKey.getKey();
    const { secret } = generateToken('atk');
    const token = tokenRecord({ secretHash: hashToken(key, secret), hint: hintOf(secret, 'atk') });
    const handler = reportLeaksRoute({ ...deps, githubKeys: { keyFor } });
    const body = JSON.stringify([
      { token: secret, type: 'access_tokens', url: 'https://github.com/o/r', source: 'content' },
    ]);
    const post = () =>
      invoke(
        handler,
        proxyEvent({
          method: 'POST',
          resource: '/leaks/github',
          caller: null,
          body,
          headers: { 'Github-Public-Key-Identifier': 'k1', 'Github-Public-Key-Signature': sign(body) },
        }),
      );
    return { token, secret, post };
  }

  it('the credential read throttled → 500 with nothing internal, nothing written, no secret logged', async () => {
    const { secret, post } = await setup();
    logs = captureLogs();
    dynamo
      .on(GetCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' }));
    const result = await post();
    expectOpaqueInternalError(result);
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
    logs.restore();
    expect(logs.lines().join('\n')).not.toContain(secret);
  });

  it('the revocation transaction failing → 500 (GitHub delivers again), not a false_positive', async () => {
    const { token, secret, post } = await setup();
    logs = captureLogs();
    dynamo
      .on(GetCommand, { Key: KEYS.credential(token.secretHash) })
      .resolves({ Item: credentialToItem(credentialFor(token)) });
    dynamo.on(GetCommand, { Key: KEYS.token(token.id) }).resolves({ Item: tokenToItem(token) });
    dynamo
      .on(TransactWriteCommand)
      .rejects(Object.assign(new Error('boom'), { name: 'InternalServerError' }));
    const result = await post();
    expect(result.status).toBe(500);
    expect(result.rawBody).not.toContain(secret);
    logs.restore();
    expect(logs.lines().join('\n')).not.toContain(secret);
  });

  it('the happy path on mocks: one transaction, true_positive, the log names the token id, never the secret', async () => {
    const { token, secret, post } = await setup();
    logs = captureLogs();
    dynamo
      .on(GetCommand, { Key: KEYS.credential(token.secretHash) })
      .resolves({ Item: credentialToItem(credentialFor(token)) });
    dynamo.on(GetCommand, { Key: KEYS.token(token.id) }).resolves({ Item: tokenToItem(token) });
    dynamo.on(TransactWriteCommand).resolves({});
    const result = await post();
    expect(result.status, result.rawBody).toBe(200);
    expect((result.json as Array<{ label: string }>)[0]?.label).toBe('true_positive');
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(1);
    logs.restore();
    const logged = logs.lines().join('\n');
    expect(logged).toContain(token.id);
    expect(logged).not.toContain(secret);
  });

  it('the key endpoint failing → 500, not 401, and nothing read', async () => {
    const { post } = await setup(async () => {
      throw new Error('GitHub public keys: HTTP 503');
    });
    logs = captureLogs();
    const result = await post();
    expectOpaqueInternalError(result);
    expect(dynamo.calls()).toHaveLength(0);
  });
});
