import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamsRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { credentialFor, credentialToItem, tokenToItem } from '../../../lambdas/adapters/items.js';
import type { TokenRecord } from '../../../lambdas/core/model.js';
import { FUNCTION_ENTRIES } from '../../../lib/function-entries.js';
import type { LocalFunction } from '../../../local/lambda-runtime.js';
import { streamConsumers } from '../../../local/notifier-component.js';
import { type StreamPoller, startStreamPoller, toLambdaRecord } from '../../../local/stream-poller.js';
import { quietFor, untilTrue } from '../../support/time.js';
import { issueToken } from '../notifications/support.js';

// The local stack's stream poller feeding two consumers as the deployed stack's two event source
// mappings do: the notifier gets every record, the expiry ledger only TTL deletions of token items
// (the deployed filter criteria), and each retries on its own. DynamoDB Local never expires items,
// so the stream is mocked here with what DynamoDB's TTL process writes (userIdentity of the
// DynamoDB service principal).

const STREAM_ARN =
  'arn:aws:dynamodb:us-east-1:000000000000:table/access-tokens/stream/2026-01-01T00:00:00.000';

let sequence = 100;

function sdkRecord(
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  item: Record<string, unknown>,
  byTtl = false,
): StreamsRecord {
  sequence += 1;
  const image = marshall(item, { removeUndefinedValues: true });
  return {
    eventID: `event-${sequence}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'ddblocal',
    ...(byTtl ? { userIdentity: { Type: 'Service', PrincipalId: 'dynamodb.amazonaws.com' } } : {}),
    dynamodb: {
      ApproximateCreationDateTime: new Date(),
      Keys: marshall({ pk: item.pk, sk: item.sk }),
      ...(eventName === 'REMOVE' ? { OldImage: image } : { NewImage: image }),
      SequenceNumber: String(sequence).padStart(21, '0'),
      SizeBytes: 300,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

/** A LocalFunction that records its events and answers with what `respond` says. */
function recordingFunction(
  name: string,
  respond: (event: DynamoDBStreamEvent, call: number) => DynamoDBBatchResponse = () => ({
    batchItemFailures: [],
  }),
): LocalFunction & { readonly events: DynamoDBStreamEvent[] } {
  const events: DynamoDBStreamEvent[] = [];
  return {
    name,
    entry: name === 'notifier' ? FUNCTION_ENTRIES.notifier : FUNCTION_ENTRIES.expiryLedger,
    events,
    invoke: async (event) => {
      events.push(event as DynamoDBStreamEvent);
      return respond(event as DynamoDBStreamEvent, events.length);
    },
  };
}

const eventIds = (events: readonly DynamoDBStreamEvent[]) =>
  events.map((event) => event.Records.map((record) => record.eventID));

describe('local stream poller: notifier and expiry ledger', () => {
  const dynamo = mockClient(DynamoDBClient);
  const streams = mockClient(DynamoDBStreamsClient);
  let poller: StreamPoller | undefined;
  let token: TokenRecord;
  let records: StreamsRecord[];

  beforeEach(() => {
    token = issueToken().token;
    const other = issueToken().token;
    records = [
      sdkRecord('INSERT', tokenToItem(token)),
      sdkRecord('REMOVE', tokenToItem(other)), // a user's delete
      sdkRecord('REMOVE', credentialToItem(credentialFor(token)), true), // TTL, not a token
      sdkRecord('REMOVE', tokenToItem(token), true), // TTL deletion of the token
    ];
    dynamo.on(DescribeTableCommand).resolves({
      Table: { LatestStreamArn: STREAM_ARN, StreamSpecification: { StreamEnabled: true } },
    });
    streams.on(DescribeStreamCommand).resolves({
      StreamDescription: {
        Shards: [{ ShardId: 'shard-1', SequenceNumberRange: { StartingSequenceNumber: '1' } }],
      },
    });
    streams.on(GetShardIteratorCommand).resolves({ ShardIterator: 'at-start' });
    // Every mapping reads the shard with its own iterator: the batch first, then nothing new.
    streams
      .on(GetRecordsCommand)
      .callsFake((input: { ShardIterator?: string }) =>
        input.ShardIterator === 'at-start'
          ? { Records: records, NextShardIterator: 'after-batch' }
          : { Records: [], NextShardIterator: 'after-batch' },
      );
  });

  afterEach(async () => {
    await poller?.stop();
    poller = undefined;
    dynamo.reset();
    streams.reset();
  });

  async function start(notifier: LocalFunction, ledger: LocalFunction, errors: unknown[] = []) {
    poller = await startStreamPoller({
      dynamoEndpoint: 'http://127.0.0.1:1',
      tableName: 'access-tokens',
      intervalMs: 5,
      retryDelayMs: 5,
      consumers: streamConsumers(notifier, ledger),
      onError: (error, where) => errors.push(`${where}: ${String(error)}`),
    });
  }

  it('hands the ledger only the TTL deletion of the token item, and the notifier only token records (as deployed)', async () => {
    const notifier = recordingFunction('notifier');
    const ledger = recordingFunction('expiryLedger');
    await start(notifier, ledger);
    await untilTrue(() => notifier.events.length > 0 && ledger.events.length > 0);
    await quietFor(50); // anything more would show up by now

    // Not the credential's TTL deletion: the notifier's filter (lambdas/notifier/filter.ts) leaves it out.
    expect(eventIds(notifier.events)).toEqual([
      [records[0]?.eventID, records[1]?.eventID, records[3]?.eventID],
    ]);
    expect(eventIds(ledger.events)).toEqual([[records[3]?.eventID]]);
    const [delivered] = ledger.events[0]?.Records ?? [];
    // In Lambda's shape: lower-case userIdentity, JSON attribute values.
    expect(delivered).toMatchObject({
      eventName: 'REMOVE',
      eventSourceARN: STREAM_ARN,
      userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
      dynamodb: { OldImage: { entity: { S: 'token' }, id: { S: token.id }, state: { S: 'active' } } },
    });
  });

  it("retries a consumer's failed record on its own: the other is not redelivered", async () => {
    const notifier = recordingFunction('notifier');
    const ledger = recordingFunction('expiryLedger', (event, call) => ({
      batchItemFailures:
        call <= 2
          ? event.Records.map((record) => ({ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' }))
          : [],
    }));
    await start(notifier, ledger);
    await untilTrue(() => ledger.events.length >= 3);
    await quietFor(50);

    expect(eventIds(ledger.events)).toEqual([
      [records[3]?.eventID],
      [records[3]?.eventID],
      [records[3]?.eventID],
    ]);
    expect(notifier.events).toHaveLength(1);
  });

  it('a consumer that throws is told to onError with its name, and gets the batch again', async () => {
    const errors: unknown[] = [];
    const notifier = recordingFunction('notifier');
    const ledger = recordingFunction('expiryLedger', (_event, call) => {
      if (call === 1) throw new Error('cold start failed');
      return { batchItemFailures: [] };
    });
    await start(notifier, ledger, errors);
    await untilTrue(() => ledger.events.length >= 2);

    expect(ledger.events).toHaveLength(2);
    expect(errors).toEqual([expect.stringMatching(/^expiry ledger: handler failed on a batch of 1 record/)]);
    expect(notifier.events).toHaveLength(1);
  });
});

describe('toLambdaRecord: empty maps', () => {
  it("turns DynamoDB Local's member-less value (its rendering of an empty map) into Lambda's {M: {}}", () => {
    const record = toLambdaRecord(
      {
        eventName: 'INSERT',
        dynamodb: {
          SequenceNumber: '1',
          // As the Streams SDK hands over DynamoDB Local's `"details":{}` (an audit event's).
          NewImage: { details: {} as never, nested: { M: { inner: {} as never } }, list: { L: [] } },
        },
      },
      STREAM_ARN,
      'us-east-1',
    );
    expect(record.dynamodb?.NewImage).toEqual({
      details: { M: {} },
      nested: { M: { inner: { M: {} } } },
      list: { L: [] },
    });
  });
});
