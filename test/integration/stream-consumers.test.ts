import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tokenToItem } from '../../lambdas/adapters/items.js';
import { KEYS } from '../../lambdas/adapters/table-definition.js';
import { FUNCTION_ENTRIES } from '../../lib/function-entries.js';
import type { LocalFunction } from '../../local/lambda-runtime.js';
import { streamConsumers } from '../../local/notifier-component.js';
import { type StreamPoller, startStreamPoller } from '../../local/stream-poller.js';
import { createTestTable, dynamoEndpoint, type TestTable } from '../support/dynamo.js';
import { quietFor, untilTrue } from '../support/time.js';
import { issueToken } from '../unit/notifications/support.js';

// The local stack's two stream consumers on DynamoDB Local's real stream: the notifier still gets
// every record; the expiry ledger gets none of a token's life by a user (create, delete), because
// DynamoDB Local's records carry no userIdentity, exactly as a user's writes in AWS. (TTL deletions
// themselves are covered with a mocked stream in test/unit/local/stream-consumers.test.ts: DynamoDB
// Local never expires items.)

function recordingFunction(entry: string): LocalFunction & { readonly events: DynamoDBStreamEvent[] } {
  const events: DynamoDBStreamEvent[] = [];
  return {
    name: entry,
    entry,
    events,
    invoke: async (event) => {
      events.push(event as DynamoDBStreamEvent);
      return { batchItemFailures: [] };
    },
  };
}

describe('local stream consumers on DynamoDB Local', () => {
  let table: TestTable;
  let poller: StreamPoller | undefined;

  beforeAll(async () => {
    table = await createTestTable();
  });

  afterEach(async () => {
    await poller?.stop();
    poller = undefined;
  });

  afterAll(async () => {
    await table.drop();
  });

  it("feeds the notifier every record and the ledger none of a user's writes", async () => {
    const notifier = recordingFunction(FUNCTION_ENTRIES.notifier);
    const ledger = recordingFunction(FUNCTION_ENTRIES.expiryLedger);
    poller = await startStreamPoller({
      dynamoEndpoint: dynamoEndpoint(),
      tableName: table.tableName,
      intervalMs: 50,
      consumers: streamConsumers(notifier, ledger),
    });
    const { token } = issueToken();
    await table.documentClient.send(new PutCommand({ TableName: table.tableName, Item: tokenToItem(token) }));
    await table.documentClient.send(
      new DeleteCommand({ TableName: table.tableName, Key: KEYS.token(token.id) }),
    );

    const delivered = () => notifier.events.flatMap((event) => event.Records);
    await untilTrue(() => delivered().length >= 2);
    await quietFor(300); // the ledger's mapping has read the same records

    expect(delivered().map((record) => record.eventName)).toEqual(['INSERT', 'REMOVE']);
    expect(delivered()[1]?.userIdentity).toBeUndefined();
    expect(ledger.events).toEqual([]);
  });

  it("delivers items with empty maps (an audit event's details) in Lambda's shape instead of stopping", async () => {
    const notifier = recordingFunction(FUNCTION_ENTRIES.notifier);
    const ledger = recordingFunction(FUNCTION_ENTRIES.expiryLedger);
    const errors: unknown[] = [];
    poller = await startStreamPoller({
      dynamoEndpoint: dynamoEndpoint(),
      tableName: table.tableName,
      intervalMs: 50,
      consumers: streamConsumers(notifier, ledger),
      onError: (error) => errors.push(error),
    });
    await table.documentClient.send(
      new PutCommand({
        TableName: table.tableName,
        // A revoke-all summary: the one audit event the notifier's filter lets through.
        Item: {
          pk: 'AUDIT#USER#acct#u',
          sk: 'x',
          entity: 'audit',
          action: 'tokens.revoked-all',
          details: {},
          changes: [],
        },
      }),
    );
    const delivered = () => notifier.events.flatMap((event) => event.Records);
    await untilTrue(() => delivered().length >= 1);

    expect(delivered()[0]?.dynamodb?.NewImage).toMatchObject({ details: { M: {} }, changes: { L: [] } });
    expect(errors).toEqual([]);
  });
});
