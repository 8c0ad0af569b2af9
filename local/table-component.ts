import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LocalComponent } from './components.js';
import { LOCAL_AWS_REGION } from './handler-environment.js';
import { ensureTable } from './table.js';

export const tableComponent: LocalComponent = {
  name: 'table',
  async start(context) {
    const client = new DynamoDBClient({
      endpoint: context.urls.dynamoDb,
      region: LOCAL_AWS_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      const setup = await ensureTable(client, context.tableName);
      if (setup === 'created') context.log(`created table ${context.tableName}`);
      if (setup === 'indexes-upgraded')
        context.log(`table ${context.tableName}: indexes upgraded to the current ones`);
    } finally {
      client.destroy();
    }
    return { stop: async () => undefined };
  },
};
