import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { createTestTable } from '../support/dynamo.js';
import { isLoopback, listenersOnPort } from '../support/sockets.js';

describe('test emulators', () => {
  it('one DynamoDB Local per worker, each a separate database', async () => {
    const endpoints = inject('dynamoEndpoints');
    expect(endpoints.length).toBeGreaterThanOrEqual(1);
    expect(new Set(endpoints).size).toBe(endpoints.length);
  });

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

  // Nobody else on the network can read or rewrite the test data (/proc: Linux only).
  it.runIf(process.platform === 'linux')('both listen on the loopback interface only', () => {
    for (const endpoint of [...inject('dynamoEndpoints'), inject('sesEndpoint')]) {
      const listeners = listenersOnPort(Number(new URL(endpoint).port));
      expect(listeners.length, `nothing listens for ${endpoint}`).toBeGreaterThan(0);
      expect(listeners.filter((socket) => !isLoopback(socket.address))).toEqual([]);
    }
  });
});
