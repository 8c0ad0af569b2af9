import { randomUUID } from 'node:crypto';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import { InvokeCommand, type InvokeCommandInput, LambdaClient } from '@aws-sdk/client-lambda';
import { SESClient } from '@aws-sdk/client-ses';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoIdempotencyStore } from '../../lambdas/adapters/idempotency-store.js';
import { credentialFor, credentialToItem, tokenToItem } from '../../lambdas/adapters/items.js';
import { SesMailer } from '../../lambdas/adapters/ses-mailer.js';
import { systemClock } from '../../lambdas/core/ports.js';
import { createStreamNotifier } from '../../lambdas/notifier/stream-notifier.js';
import { sdkClientConfig } from '../../lambdas/runtime/sdk-options.js';
import { batchInfoOf, redrive } from '../../scripts/redrive/redrive.js';
import { createTestTable, dynamoEndpoint, LOCAL_CREDENTIALS, type TestTable } from '../support/dynamo.js';
import { issueToken } from '../unit/notifications/support.js';

// The dead-letter queue redrive (npm run redrive:notifications) on DynamoDB Local's stream: an
// on-failure message names a range of the stream; the redrive reads it again, filters it as the
// event source does, and invokes the notifier (here in process, behind a mocked Lambda Invoke),
// once, and a second time without sending anything twice. SQS is mocked.

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/notifier-dlq';

interface StoredEmail {
  readonly destination: { readonly to: string[] };
  readonly subject: string;
}

async function emailsTo(address: string): Promise<StoredEmail[]> {
  const response = await fetch(`${inject('sesEndpoint')}/store`);
  const { emails } = (await response.json()) as { emails: StoredEmail[] };
  return emails.filter((email) => email.destination.to.includes(address));
}

/** Lambda's on-failure destination message for a stream batch (as in the Lambda docs). */
function onFailureMessage(shardId: string, start: string, end: string, streamArn: string) {
  return JSON.stringify({
    requestContext: {
      requestId: randomUUID(),
      functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:notifier',
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 11,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: new Date().toISOString(),
    DDBStreamBatchInfo: {
      shardId,
      startSequenceNumber: start,
      endSequenceNumber: end,
      approximateArrivalOfFirstRecord: new Date().toISOString(),
      approximateArrivalOfLastRecord: new Date().toISOString(),
      batchSize: 3,
      streamArn,
    },
  });
}

describe('redriving the notifier dead-letter queue', () => {
  const sqs = mockClient(SQSClient);
  const lambda = mockClient(LambdaClient);
  let table: TestTable;
  let streams: DynamoDBStreamsClient;

  beforeAll(async () => {
    table = await createTestTable();
    streams = new DynamoDBStreamsClient({
      endpoint: dynamoEndpoint(),
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
    });
  });

  afterEach(() => {
    sqs.reset();
    lambda.reset();
  });

  afterAll(async () => {
    streams.destroy();
    await table.drop();
  });

  it('replays the range through the notifier, deletes the message, and a second replay sends nothing', async () => {
    const owner = `redrive-${randomUUID()}@redrive.test`;
    const tokens = [issueToken({ ownerEmail: owner }).token, issueToken({ ownerEmail: owner }).token];
    for (const token of tokens) {
      await table.documentClient.send(
        new PutCommand({ TableName: table.tableName, Item: tokenToItem(token) }),
      );
      // A record the notifier's filter leaves out.
      await table.documentClient.send(
        new PutCommand({ TableName: table.tableName, Item: credentialToItem(credentialFor(token)) }),
      );
    }
    // Where those records are: the table's stream, its shard, the first and last sequence numbers.
    const { Table } = await table.client.send(new DescribeTableCommand({ TableName: table.tableName }));
    const streamArn = Table?.LatestStreamArn ?? '';
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    const shardId = StreamDescription?.Shards?.[0]?.ShardId ?? '';
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const { Records } = await streams.send(new GetRecordsCommand({ ShardIterator }));
    const sequenceNumbers = (Records ?? []).map((record) => record.dynamodb?.SequenceNumber ?? '');
    expect(sequenceNumbers).toHaveLength(4);
    const body = onFailureMessage(shardId, sequenceNumbers[0] ?? '', sequenceNumbers[3] ?? '', streamArn);
    expect(batchInfoOf(body)).toMatchObject({ shardId, streamArn });

    const notify = createStreamNotifier({
      mailer: new SesMailer(
        new SESClient({
          ...sdkClientConfig(),
          endpoint: inject('sesEndpoint'),
          region: 'us-east-1',
          credentials: LOCAL_CREDENTIALS,
        }),
        { senderAddress: 'no-reply@example.com' },
      ),
      store: new DynamoIdempotencyStore(table.documentClient, table.tableName),
      clock: systemClock,
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    const invoked: DynamoDBStreamEvent[] = [];
    lambda.on(InvokeCommand).callsFake(async (input: InvokeCommandInput) => {
      const event = JSON.parse(
        Buffer.from(input.Payload as Uint8Array).toString('utf8'),
      ) as DynamoDBStreamEvent;
      invoked.push(event);
      return { StatusCode: 200, Payload: Buffer.from(JSON.stringify(await notify(event))) };
    });
    const message = { MessageId: 'm-1', ReceiptHandle: 'r-1', Body: body };
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [message] })
      .resolves({ Messages: [] });
    sqs.on(DeleteMessageCommand).resolves({});

    const clients = { sqs: new SQSClient({}), streams, lambda: new LambdaClient({}) };
    await expect(redrive(clients, { queueUrl: QUEUE_URL, functionName: 'notifier' })).resolves.toMatchObject({
      messages: 1,
      replayed: 1,
      records: 2,
      failed: 0,
    });
    expect(invoked.flatMap((event) => event.Records).map((record) => record.eventName)).toEqual([
      'INSERT',
      'INSERT',
    ]);
    expect(sqs.commandCalls(DeleteMessageCommand).map((call) => call.args[0].input.ReceiptHandle)).toEqual([
      'r-1',
    ]);
    expect((await emailsTo(owner)).map((email) => email.subject)).toEqual([
      '[Access Tokens] New access token "CI deploy key" created',
      '[Access Tokens] New access token "CI deploy key" created',
    ]);

    // The same message again (delivered twice, or the redrive run twice): nothing is sent twice.
    sqs.reset();
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [{ ...message, MessageId: 'm-2' }] })
      .resolves({ Messages: [] });
    sqs.on(DeleteMessageCommand).resolves({});
    await expect(redrive(clients, { queueUrl: QUEUE_URL, functionName: 'notifier' })).resolves.toMatchObject({
      replayed: 1,
    });
    expect(await emailsTo(owner)).toHaveLength(2);
  });

  it('keeps a message whose range has left the stream, and one the notifier fails again', async () => {
    const trimmed = mockClient(DynamoDBStreamsClient);
    trimmed
      .on(GetShardIteratorCommand)
      .rejects(new TrimmedDataAccessException({ message: 'trimmed', $metadata: {} }));
    const body = onFailureMessage('shardId-1', '100', '200', 'arn:aws:dynamodb:us-east-1:1:table/t/stream/x');
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          { MessageId: 'old', ReceiptHandle: 'r-old', Body: body },
          { MessageId: 'junk', Body: '{}' },
        ],
      })
      .resolves({ Messages: [] });
    const lines: string[] = [];
    const clients = {
      sqs: new SQSClient({}),
      streams: new DynamoDBStreamsClient({}),
      lambda: new LambdaClient({}),
    };
    await expect(
      redrive(clients, { queueUrl: QUEUE_URL, functionName: 'notifier', log: (line) => lines.push(line) }),
    ).resolves.toMatchObject({ messages: 2, expired: 1, unreadable: 1, replayed: 0 });
    expect(sqs.commandCalls(DeleteMessageCommand)).toHaveLength(0);
    expect(lines.join('\n')).toContain('24 h retention');
    trimmed.restore();
  });
});
