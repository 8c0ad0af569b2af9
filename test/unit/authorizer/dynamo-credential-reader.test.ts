import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CorruptCredentialError,
  DynamoCredentialReader,
} from '../../../lambdas/adapters/dynamo-credential-reader.js';
import { credentialToItem } from '../../../lambdas/adapters/items.js';
import { KEYS } from '../../../lambdas/adapters/table-definition.js';
import { credentialRecord } from '../../support/authorizer-events.js';

describe('DynamoCredentialReader', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  const reader = new DynamoCredentialReader(
    DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
    'tokens',
  );

  afterEach(() => {
    ddb.reset();
  });

  it('makes exactly one strongly consistent GetItem on the credential key and maps the item', async () => {
    const credential = credentialRecord({ secretHash: 'h1', allowedIps: ['10.0.0.0/8'] });
    ddb.on(GetCommand).resolves({ Item: credentialToItem(credential) });
    await expect(reader.findByHash('h1')).resolves.toEqual(credential);
    expect(ddb.calls()).toHaveLength(1);
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
      TableName: 'tokens',
      Key: KEYS.credential('h1'),
      ConsistentRead: true,
    });
  });

  it('answers undefined when there is no item', async () => {
    ddb.on(GetCommand).resolves({});
    await expect(reader.findByHash('h2')).resolves.toBeUndefined();
  });

  it('fails closed on an item that does not parse or belongs to another hash', async () => {
    ddb.on(GetCommand).resolves({ Item: { entity: 'credential', secretHash: 'h3', state: 'active' } });
    await expect(reader.findByHash('h3')).rejects.toBeInstanceOf(CorruptCredentialError);
    ddb.on(GetCommand).resolves({ Item: credentialToItem(credentialRecord({ secretHash: 'other' })) });
    await expect(reader.findByHash('h3')).rejects.toBeInstanceOf(CorruptCredentialError);
    ddb
      .on(GetCommand)
      .resolves({ Item: { ...credentialToItem(credentialRecord({ secretHash: 'h3' })), entity: 'token' } });
    await expect(reader.findByHash('h3')).rejects.toBeInstanceOf(CorruptCredentialError);
  });

  it('lets DynamoDB errors through (the authorizer turns them into a 500)', async () => {
    ddb.on(GetCommand).rejects(new Error('throttled'));
    await expect(reader.findByHash('h4')).rejects.toThrow('throttled');
  });
});
