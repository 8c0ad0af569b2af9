import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type StreamPoller, startStreamPoller } from '../../local/stream-poller.js';
import { createTestTable, dynamoEndpoint, type TestTable } from '../support/dynamo.js';
import { untilTrue } from '../support/time.js';

// The local stream poller on DynamoDB Local: Lambda's event shape, LATEST at start, and Lambda's
// partial-batch semantics (redelivery from the first reported record).

// untilTrue's deadline is on the monotonic clock: one test moves Date a day ahead while it waits.

describe('local stream poller', () => {
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

  const put = (item: Record<string, unknown>) =>
    table.documentClient.send(new PutCommand({ TableName: table.tableName, Item: item }));

  it("delivers Lambda's DynamoDBStreamEvent shape, from the records written after it started", async () => {
    await put({ pk: 'BEFORE#1', sk: 'X' });
    const events: DynamoDBStreamEvent[] = [];
    poller = await startStreamPoller({
      dynamoEndpoint: dynamoEndpoint(),
      tableName: table.tableName,
      intervalMs: 50,
      handler: async (event) => {
        events.push(event);
        return { batchItemFailures: [] };
      },
    });
    await put({ pk: 'AFTER#1', sk: 'X', n: 7, flag: true, data: new Uint8Array([1, 2, 3]), list: ['a', 1] });
    await put({ pk: 'AFTER#1', sk: 'X', n: 8 });
    await untilTrue(() => events.flatMap((event) => event.Records).length >= 2);

    const records = events.flatMap((event) => event.Records);
    expect(records.map((record) => record.dynamodb?.Keys?.pk?.S)).toEqual(['AFTER#1', 'AFTER#1']);
    const [insert, modify] = records as [DynamoDBRecord, DynamoDBRecord];
    expect(insert).toMatchObject({
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
      eventSourceARN: poller.streamArn,
      dynamodb: {
        Keys: { pk: { S: 'AFTER#1' }, sk: { S: 'X' } },
        NewImage: {
          n: { N: '7' },
          flag: { BOOL: true },
          data: { B: Buffer.from([1, 2, 3]).toString('base64') },
          list: { L: [{ S: 'a' }, { N: '1' }] },
        },
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
    expect(typeof insert.eventID).toBe('string');
    expect(typeof insert.awsRegion).toBe('string');
    expect(typeof insert.dynamodb?.SequenceNumber).toBe('string');
    expect(typeof insert.dynamodb?.SizeBytes).toBe('number');
    const created = insert.dynamodb?.ApproximateCreationDateTime ?? 0;
    expect(Math.abs(created - Date.now() / 1000)).toBeLessThan(120); // epoch seconds, as Lambda sends
    expect(insert.userIdentity).toBeUndefined();
    expect(modify).toMatchObject({
      eventName: 'MODIFY',
      dynamodb: { OldImage: { n: { N: '7' } }, NewImage: { n: { N: '8' } } },
    });
  });

  it('redelivers from the first reported record until the handler succeeds', async () => {
    const seen: string[][] = [];
    let failuresLeft = 2;
    poller = await startStreamPoller({
      dynamoEndpoint: dynamoEndpoint(),
      tableName: table.tableName,
      intervalMs: 50,
      retryDelayMs: 50,
      batchSize: 10,
      handler: async (event): Promise<DynamoDBBatchResponse> => {
        const keys = event.Records.map((record) => record.dynamodb?.Keys?.pk?.S ?? '?');
        seen.push(keys);
        const second = event.Records.find((record) => record.dynamodb?.Keys?.pk?.S === 'RETRY#2');
        if (second !== undefined && failuresLeft > 0) {
          failuresLeft -= 1;
          return { batchItemFailures: [{ itemIdentifier: second.dynamodb?.SequenceNumber ?? '' }] };
        }
        return { batchItemFailures: [] };
      },
    });
    for (const n of [1, 2, 3]) await put({ pk: `RETRY#${n}`, sk: 'X' });
    await untilTrue(
      () => seen.flat().filter((key) => key === 'RETRY#2').length >= 3 && seen.flat().includes('RETRY#3'),
    );

    const flat = seen.flat();
    expect(flat.filter((key) => key === 'RETRY#1')).toHaveLength(1);
    expect(flat.filter((key) => key === 'RETRY#2')).toHaveLength(3);
    // Every redelivery starts at the reported record, and nothing after it is skipped.
    const withSecond = seen.filter((keys) => keys.includes('RETRY#2'));
    expect(withSecond.slice(1).every((keys) => keys[0] === 'RETRY#2')).toBe(true);
    expect(flat.indexOf('RETRY#3')).toBeGreaterThan(flat.indexOf('RETRY#2'));
  });

  it('a handler that throws gets the whole batch again', async () => {
    let calls = 0;
    const errors: unknown[] = [];
    const delivered: string[] = [];
    poller = await startStreamPoller({
      dynamoEndpoint: dynamoEndpoint(),
      tableName: table.tableName,
      intervalMs: 50,
      retryDelayMs: 50,
      onError: (error) => errors.push(error),
      handler: async (event) => {
        calls += 1;
        if (calls === 1) throw new Error('boom');
        delivered.push(...event.Records.map((record) => record.dynamodb?.Keys?.pk?.S ?? '?'));
        return { batchItemFailures: [] };
      },
    });
    await put({ pk: 'THROW#1', sk: 'X' });
    await untilTrue(() => delivered.includes('THROW#1'));
    expect(delivered).toEqual(['THROW#1']);
    expect(errors).toHaveLength(1);
  });

  it('a batch failed while Date reads a day ahead is delivered again once the clock is back', async () => {
    // A test that fakes Date (as the grace-period tests do) must not push a retry into its future.
    const delivered: string[] = [];
    let failed = false;
    poller = await startStreamPoller({
      dynamoEndpoint: dynamoEndpoint(),
      tableName: table.tableName,
      intervalMs: 50,
      retryDelayMs: 50,
      handler: async (event) => {
        if (!failed) {
          failed = true;
          vi.useFakeTimers({ toFake: ['Date'] });
          vi.setSystemTime(Date.now() + 86_400_000);
          // Back to the real clock once the poller has scheduled the retry.
          setTimeout(() => vi.useRealTimers(), 20);
          throw new Error('fails while the clock is a day ahead');
        }
        delivered.push(...event.Records.map((record) => record.dynamodb?.Keys?.pk?.S ?? '?'));
        return { batchItemFailures: [] };
      },
      onError: () => {},
    });
    try {
      await put({ pk: 'CLOCK#1', sk: 'X' });
      await untilTrue(() => delivered.includes('CLOCK#1'));
    } finally {
      vi.useRealTimers();
    }
    expect(delivered).toEqual(['CLOCK#1']);
  });

  it('refuses a table without a stream', async () => {
    await expect(
      startStreamPoller({
        dynamoEndpoint: dynamoEndpoint(),
        tableName: 'no-such-table',
        handler: async () => undefined,
      }),
    ).rejects.toThrow();
  });
});
