import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { createTestTable } from '../support/dynamo.js';

describe('test emulators', () => {
  it('DynamoDB Local creates the table from the shared definition', async () => {
    const table = await createTestTable();
    const { TableNames } = await table.client.send(new ListTablesCommand({}));
    expect(TableNames).toContain(table.tableName);
    await table.drop();
  });

  it('the SES emulator answers its health check', async () => {
    const response = await fetch(`${inject('sesEndpoint')}/health-check`);
    expect(response.status).toBe(200);
  });
});
