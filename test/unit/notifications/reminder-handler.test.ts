import { SESClient, SESServiceException, SendEmailCommand } from '@aws-sdk/client-ses';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { tokenToItem } from '../../../lambdas/adapters/items.js';
import type { ReminderRunResult } from '../../../lambdas/core/notifications/reminders.js';
import { ENV } from '../../../lambdas/runtime/env.js';
import {
  lambdaContext as baseContext,
  captureStdout,
  type StdoutCapture,
} from '../../support/authorizer-events.js';
import { stubHandlerEnv } from '../../support/env.js';
import { issueToken } from './support.js';

// The reminder job's handler module against mocked DynamoDB and SES: it queries each day of the
// window through the byExpiryDay index and fails the run (for the async retry) when an email failed.

type Handler = (event: unknown, context: ReturnType<typeof baseContext>) => Promise<ReminderRunResult>;
const lambdaContext = (remainingMs = 300_000) => ({
  ...baseContext('reminder-job'),
  getRemainingTimeInMillis: () => remainingMs,
});
const DAY_MS = 86_400_000;

describe('reminder job handler', () => {
  const ses = mockClient(SESClient);
  const ddb = mockClient(DynamoDBDocumentClient);
  let handler: Handler;
  let logs: StdoutCapture;
  const now = Date.now();
  const dueToken = issueToken({
    createdAt: new Date(now - 60 * DAY_MS).toISOString(),
    expiresAt: new Date(now + 2 * DAY_MS).toISOString(),
  }).token;

  beforeAll(async () => {
    stubHandlerEnv({
      extra: { [ENV.notificationSenderAddress]: 'no-reply@example.com', [ENV.reminderWindowDays]: '3' },
    });
    ({ handler } = (await import('../../../lambdas/reminder-job/handler.js')) as unknown as {
      handler: Handler;
    });
  });

  beforeEach(() => {
    const item = tokenToItem(dueToken);
    ddb.on(QueryCommand).callsFake((input: QueryCommandInput) => ({
      Items: input.ExpressionAttributeValues?.[':day'] === item.gsi3pk ? [item] : [],
    }));
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    ddb.on(DeleteCommand).resolves({});
    ses.on(SendEmailCommand).resolves({ MessageId: 'm' });
    logs = captureStdout();
  });

  afterEach(() => {
    logs.restore();
    ses.reset();
    ddb.reset();
  });

  afterAll(() => {
    vi.unstubAllEnvs();
  });

  it('queries the byExpiryDay index for every day of the window (from REMINDER_WINDOW_DAYS) and reminds', async () => {
    await expect(handler({ source: 'aws.events' }, lambdaContext())).resolves.toMatchObject({
      considered: 1,
      sent: 1,
    });
    const queries = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(queries.every((input) => input.IndexName === 'byExpiryDay')).toBe(true);
    expect(queries).toHaveLength(4); // today and the next 3 days
    const [send] = ses.commandCalls(SendEmailCommand);
    expect(send?.args[0].input.Message?.Subject?.Data).toMatch(/expires in 2 days$/);
  });

  it('fails the run after trying every token when an email could not be sent', async () => {
    ses.on(SendEmailCommand).rejects(
      new SESServiceException({
        name: 'ServiceUnavailable',
        $fault: 'server',
        $metadata: { httpStatusCode: 503 },
        message: 'down',
      }),
    );
    await expect(handler({}, lambdaContext())).rejects.toThrow('1 reminder(s) could not be sent');
    expect(ddb.commandCalls(DeleteCommand)).toHaveLength(1);
  });

  it('fails an incomplete run (out of time) so that its retry carries on', async () => {
    await expect(handler({}, lambdaContext(10_000))).rejects.toThrow('the run stopped for lack of time');
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
  });
});
