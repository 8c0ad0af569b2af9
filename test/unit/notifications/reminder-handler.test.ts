import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import { SendMessageBatchCommand, type SendMessageBatchCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import {
  BatchGetCommand,
  type BatchGetCommandInput,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { tokenToItem } from '../../../lambdas/adapters/items.js';
import type { TokenRecord } from '../../../lambdas/core/model.js';
import { ENV } from '../../../lambdas/runtime/env.js';
import {
  lambdaContext as baseContext,
  captureStdout,
  type StdoutCapture,
} from '../../support/authorizer-events.js';
import { stubHandlerEnv } from '../../support/env.js';
import { issueToken } from './support.js';

// The reminder job's handler module against mocked DynamoDB, SES and SQS: the schedule plans one
// task per day of the window onto the queue; a queue message is a page of one day's tokens, read
// again consistently before anything is sent.

type Handler = (event: unknown, context: ReturnType<typeof baseContext>) => Promise<unknown>;
const lambdaContext = (remainingMs = 300_000) => ({
  ...baseContext('reminder-job'),
  getRemainingTimeInMillis: () => remainingMs,
});
const DAY_MS = 86_400_000;
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/reminders';

function sqsEvent(...bodies: unknown[]): SQSEvent {
  return {
    Records: bodies.map((body, index) => ({
      messageId: `message-${index}`,
      receiptHandle: 'handle',
      body: JSON.stringify(body),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '0',
        SenderId: 'x',
        ApproximateFirstReceiveTimestamp: '0',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:reminders',
      awsRegion: 'us-east-1',
    })),
  };
}

describe('reminder job handler', () => {
  const ses = mockClient(SESClient);
  const sqs = mockClient(SQSClient);
  const ddb = mockClient(DynamoDBDocumentClient);
  let handler: Handler;
  let logs: StdoutCapture;
  const now = Date.now();
  const dueToken = issueToken({
    createdAt: new Date(now - 60 * DAY_MS).toISOString(),
    expiresAt: new Date(now + 2 * DAY_MS).toISOString(),
  }).token;
  const day = dueToken.expiresAt?.slice(0, 10) ?? '';
  /** What a strongly consistent read of the token returns. */
  let current: TokenRecord;

  beforeAll(async () => {
    stubHandlerEnv({
      extra: {
        [ENV.notificationSenderAddress]: 'no-reply@example.com',
        [ENV.reminderWindowDays]: '3',
        [ENV.reminderQueueUrl]: QUEUE_URL,
        [ENV.notificationMaxSendRate]: '1000',
      },
    });
    ({ handler } = (await import('../../../lambdas/reminder-job/handler.js')) as unknown as {
      handler: Handler;
    });
  });

  beforeEach(() => {
    current = dueToken;
    const item = tokenToItem(dueToken);
    ddb.on(QueryCommand).callsFake((input: QueryCommandInput) => ({
      Items: input.ExpressionAttributeValues?.[':day'] === item.gsi3pk ? [item] : [],
    }));
    ddb.on(BatchGetCommand).callsFake((input: BatchGetCommandInput) => ({
      Responses: Object.fromEntries(
        Object.entries(input.RequestItems ?? {}).map(([table]) => [table, [tokenToItem(current)]]),
      ),
    }));
    ddb.on(GetCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    ddb.on(DeleteCommand).resolves({});
    ses.on(SendEmailCommand).resolves({ MessageId: 'm' });
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    logs = captureStdout();
  });

  afterEach(() => {
    logs.restore();
    ses.reset();
    sqs.reset();
    ddb.reset();
  });

  afterAll(() => {
    vi.unstubAllEnvs();
  });

  it('the schedule plans one task per day of the window (REMINDER_WINDOW_DAYS) onto the queue, and sends nothing', async () => {
    await expect(handler({ source: 'aws.events' }, lambdaContext())).resolves.toEqual({ plannedDays: 4 });
    const [batch] = sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input);
    expect((batch as SendMessageBatchCommandInput).QueueUrl).toBe(QUEUE_URL);
    const tasks = (batch as SendMessageBatchCommandInput).Entries?.map((entry) =>
      JSON.parse(entry.MessageBody ?? ''),
    );
    expect(tasks).toHaveLength(4); // today and the next 3 days
    expect(tasks?.every((task) => task.type === 'page')).toBe(true);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
  });

  it('a page task queries the byExpiryDay index, reads the tokens again consistently and reminds', async () => {
    await expect(handler(sqsEvent({ type: 'page', day }), lambdaContext())).resolves.toEqual({
      batchItemFailures: [],
    });
    const queries = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(queries.every((input) => input.IndexName === 'byExpiryDay2')).toBe(true);
    const [read] = ddb.commandCalls(BatchGetCommand).map((call) => call.args[0].input);
    expect(Object.values(read?.RequestItems ?? {})[0]?.ConsistentRead).toBe(true);
    const [send] = ses.commandCalls(SendEmailCommand);
    expect(send?.args[0].input.Message?.Subject?.Data).toMatch(/expires in 2 days$/);
  });

  it('a token revoked after the index was read (the consistent read says so) gets no reminder', async () => {
    current = { ...dueToken, state: 'revoked', revokedAt: new Date().toISOString() };
    await handler(sqsEvent({ type: 'page', day }), lambdaContext());
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('a failed email goes back on the queue as a delayed retry task; the message itself succeeds', async () => {
    ses.on(SendEmailCommand).rejects(Object.assign(new Error('down'), { name: 'ServiceUnavailable' }));
    await expect(handler(sqsEvent({ type: 'page', day }), lambdaContext())).resolves.toEqual({
      batchItemFailures: [],
    });
    const [batch] = sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input);
    const [entry] = (batch as SendMessageBatchCommandInput).Entries ?? [];
    expect(JSON.parse(entry?.MessageBody ?? '')).toEqual({
      type: 'retry',
      day,
      tokenIds: [dueToken.id],
      attempt: 1,
    });
    expect(entry?.DelaySeconds).toBe(60);
    expect(ddb.commandCalls(DeleteCommand)).toHaveLength(1); // the claim was released
  });

  it('a message it cannot do is reported for SQS to deliver again (then its dead-letter queue)', async () => {
    sqs.on(SendMessageBatchCommand).rejects(new Error('SQS unavailable'));
    ses.on(SendEmailCommand).rejects(new Error('down'));
    const result = (await handler(
      sqsEvent({ type: 'page', day }, 'not a task'),
      lambdaContext(),
    )) as SQSBatchResponse;
    expect(result.batchItemFailures).toEqual([
      { itemIdentifier: 'message-0' },
      { itemIdentifier: 'message-1' },
    ]);
  });
});
