import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { createTableInput } from '../../lambdas/adapters/table-definition.js';

// A fresh table per test file on its worker's DynamoDB Local, built from the same definition as the stack's.

/** This worker's DynamoDB Local (test/support/global-setup.ts starts one per worker). */
export function dynamoEndpoint(): string {
  const endpoints = inject('dynamoEndpoints');
  const worker = Number(process.env.VITEST_POOL_ID ?? '1');
  const endpoint = endpoints[(Math.max(1, worker) - 1) % endpoints.length];
  if (endpoint === undefined) throw new Error('no DynamoDB Local endpoint was provided');
  return endpoint;
}

export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export function localDynamoClient(): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: dynamoEndpoint(),
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });
}

export interface TestTable {
  readonly tableName: string;
  readonly client: DynamoDBClient;
  readonly documentClient: DynamoDBDocumentClient;
  drop(): Promise<void>;
}

export async function createTestTable(): Promise<TestTable> {
  const client = localDynamoClient();
  const tableName = `test-${randomUUID()}`;
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  const documentClient = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  return {
    tableName,
    client,
    documentClient,
    drop: async () => {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    },
  };
}
