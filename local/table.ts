import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  createTableInput,
  globalSecondaryIndexOf,
  INDEXES,
  TTL_ATTRIBUTE,
} from '../lambdas/adapters/table-definition.js';

// The local table: created from the same definition as the stack's on first start, with TTL on as
// deployed; kept (with its data) on later starts. A table kept from before the indexes were
// narrowed (its legacy, ALL-projected indexes) gets the current ones and loses the legacy ones, one
// index per UpdateTable as DynamoDB requires, so the functions find the indexes they query.

type TableSetup = 'created' | 'existing' | 'indexes-upgraded';

/** Waits until no index is being created or deleted (DynamoDB takes one index change at a time). */
async function indexesSettled(client: DynamoDBClient, tableName: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const busy = (Table?.GlobalSecondaryIndexes ?? []).filter((index) => index.IndexStatus !== 'ACTIVE');
    if (busy.length === 0) return;
    if (attempt >= 600) {
      throw new Error(`table ${tableName}: index ${busy[0]?.IndexName} is still ${busy[0]?.IndexStatus}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function upgradeIndexes(
  client: DynamoDBClient,
  tableName: string,
  present: Set<string>,
): Promise<boolean> {
  const definition = createTableInput(tableName);
  const wanted = new Set<string>(Object.values(INDEXES).map((index) => index.indexName));
  let changed = false;
  for (const index of Object.values(INDEXES)) {
    if (present.has(index.indexName)) continue;
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: definition.AttributeDefinitions,
        GlobalSecondaryIndexUpdates: [{ Create: globalSecondaryIndexOf(index) }],
      }),
    );
    await indexesSettled(client, tableName);
    changed = true;
  }
  for (const name of present) {
    if (wanted.has(name)) continue;
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        GlobalSecondaryIndexUpdates: [{ Delete: { IndexName: name } }],
      }),
    );
    await indexesSettled(client, tableName);
    changed = true;
  }
  return changed;
}

export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<TableSetup> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const present = new Set((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName ?? ''));
    return (await upgradeIndexes(client, tableName, present)) ? 'indexes-upgraded' : 'existing';
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: tableName });
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
    }),
  );
  return 'created';
}
