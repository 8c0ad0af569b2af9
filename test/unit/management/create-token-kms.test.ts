import { DecryptCommand, InvalidCiphertextException, KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenRoute } from '../../../lambdas/create-token/route.js';
import { managementDeps } from '../../support/management-deps.js';
import { expectOpaqueInternalError, invoke, proxyEvent } from '../../support/proxy-events.js';

// The create handler as deployed: its HMAC key is a KMS ciphertext decrypted once per container.

const VALID = { name: 'CI deploys', scopes: ['content:read'] };
const createEvent = (body: object) => proxyEvent({ method: 'POST', resource: '/tokens', body });

describe('POST /tokens with the KMS key source', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const kms = mockClient(KMSClient);
  const handler = createTokenRoute(managementDeps({ keySource: 'kms' }));

  afterEach(() => {
    dynamo.reset();
    kms.reset();
  });

  it('a failed KMS Decrypt is a 500 INTERNAL whose body carries no detail', async () => {
    const failure = new InvalidCiphertextException({
      message: 'The ciphertext refers to a customer master key that does not exist',
      $metadata: { httpStatusCode: 400 },
    });
    kms.on(DecryptCommand).rejects(failure);
    const result = await invoke(handler, createEvent(VALID));
    expectOpaqueInternalError(result);
    for (const leak of [failure.name, failure.message, 'KMS', 'Decrypt', 'at ', 'stack']) {
      expect(result.rawBody).not.toContain(leak);
    }
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it('decrypts once per container with the encryption context, and retries after a failure', async () => {
    kms
      .on(DecryptCommand)
      .rejectsOnce(new Error('throttled'))
      .resolves({ Plaintext: new Uint8Array(32).fill(3) });
    dynamo.on(TransactWriteCommand).resolves({});
    expect((await invoke(handler, createEvent(VALID))).status).toBe(500);
    expect((await invoke(handler, createEvent(VALID))).status).toBe(201);
    expect((await invoke(handler, createEvent(VALID))).status).toBe(201);
    const calls = kms.commandCalls(DecryptCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.args[0].input.EncryptionContext).toEqual({
      purpose: 'access-tokens-hmac',
      keyVersion: 'v1',
    });
  });
});
