import { randomUUID } from 'node:crypto';
import { SESClient } from '@aws-sdk/client-ses';
import { SendMessageBatchCommand, type SendMessageBatchCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import { DeleteCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { DynamoIdempotencyStore } from '../../lambdas/adapters/idempotency-store.js';
import { credentialFor, credentialToItem, tokenToItem } from '../../lambdas/adapters/items.js';
import { SesMailer } from '../../lambdas/adapters/ses-mailer.js';
import { KEYS } from '../../lambdas/adapters/table-definition.js';
import type { TokenChange, TokenRecord } from '../../lambdas/core/model.js';
import { systemClock } from '../../lambdas/core/ports.js';
import { secretScannerPattern } from '../../lambdas/core/token-format.js';
import { createStreamNotifier } from '../../lambdas/notifier/stream-notifier.js';
import { ENV } from '../../lambdas/runtime/env.js';
import { findFreePort } from '../../local/emulators.js';
import { type StreamPoller, startStreamPoller } from '../../local/stream-poller.js';
import { createTestTable, dynamoEndpoint, LOCAL_CREDENTIALS, type TestTable } from '../support/dynamo.js';
import { stubHandlerEnv } from '../support/env.js';
import { lambdaContext as baseContext } from '../support/proxy-events.js';
import { pollUntil, quietFor, scaled } from '../support/time.js';
import { batch, issueToken, ttlDeletion } from '../unit/notifications/support.js';

// Notifications end to end on DynamoDB Local and the SES emulator: token items written as the
// repository writes them, the table's stream read by the local stream poller (the same
// DynamoDBStreamEvent Lambda delivers), the notifier sending through SES. The emulator is shared by
// every test file running in parallel, so this file reads only emails to its own addresses.

const SENDER = 'no-reply@example.com';
const lambdaContext = () => ({ ...baseContext(), getRemainingTimeInMillis: () => 300_000 });
const DAY_MS = 86_400_000;

interface StoredEmail {
  readonly messageId: string;
  readonly from: string;
  readonly destination: { readonly to: string[] };
  readonly subject: string;
  readonly body: { readonly text?: string; readonly html?: string };
  readonly at: number;
}

const sesEndpoint = () => inject('sesEndpoint');

async function storedEmails(): Promise<StoredEmail[]> {
  const response = await fetch(`${sesEndpoint()}/store`);
  const body = (await response.json()) as { emails: StoredEmail[] };
  return body.emails;
}

async function emailsTo(address: string): Promise<StoredEmail[]> {
  return (await storedEmails()).filter((email) => email.destination.to.includes(address));
}

/** Waits a little for anything more to arrive, then returns what there is. */
async function settled(address: string, ms = 1500): Promise<StoredEmail[]> {
  await quietFor(ms);
  return emailsTo(address);
}

const uniqueAddress = (label: string) => `${label}-${randomUUID()}@notifications.test`;

function sesClient(endpoint: string, maxAttempts = 3): SESClient {
  return new SESClient({ endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts });
}

/** Every secret this file generated: no email may contain any of them. */
const secrets: string[] = [];
const hashes: string[] = [];
const addresses: string[] = [];

function newToken(overrides: Partial<TokenRecord> = {}, now = new Date()): TokenRecord {
  const ownerEmail = overrides.ownerEmail ?? uniqueAddress('owner');
  addresses.push(ownerEmail);
  const { token, secret } = issueToken({ ownerEmail, ...overrides }, now);
  secrets.push(secret);
  hashes.push(token.secretHash);
  return token;
}

/** As the repository creates a token: one transaction, token item and credential item. */
async function createToken(table: TestTable, token: TokenRecord): Promise<void> {
  await table.documentClient.send(
    new TransactWriteCommand({
      TransactItems: [
        {
          Put: {
            TableName: table.tableName,
            Item: tokenToItem(token),
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        {
          Put: {
            TableName: table.tableName,
            Item: credentialToItem(credentialFor(token)),
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
      ],
    }),
  );
}

function revokeChange(token: TokenRecord, overrides: Partial<TokenChange> = {}): TokenChange {
  return {
    action: 'revoked',
    at: new Date().toISOString(),
    actorUserId: token.userId,
    actorRole: 'member',
    sourceIp: '203.0.113.9',
    userAgent: 'integration-test',
    ...overrides,
  };
}

/** As the repository revokes: only an active token (a second revoke changes nothing). */
async function revokeToken(
  table: TestTable,
  token: TokenRecord,
  change = revokeChange(token),
): Promise<boolean> {
  try {
    await table.documentClient.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: KEYS.token(token.id),
        UpdateExpression: 'SET #state = :revoked, revokedAt = :at, lastChange = :change',
        ConditionExpression: '#state = :active',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':revoked': 'revoked',
          ':active': 'active',
          ':at': change.at,
          ':change': change,
        },
      }),
    );
    return true;
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

describe('notifications on DynamoDB Local and the SES emulator', () => {
  let table: TestTable;
  let poller: StreamPoller;
  /** What the poller delivered, to deliver again as Lambda would after a retry. */
  const delivered: DynamoDBStreamEvent[] = [];
  const pollerErrors: unknown[] = [];
  let notify: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;
  /** Which notifier the poller feeds; the SES-down test swaps it. */
  let current: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;
  const results: DynamoDBBatchResponse[] = [];

  function notifierSendingTo(endpoint: string, maxAttempts = 3) {
    return createStreamNotifier({
      mailer: new SesMailer(sesClient(endpoint, maxAttempts), { senderAddress: SENDER }),
      store: new DynamoIdempotencyStore(table.documentClient, table.tableName),
      clock: systemClock,
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    });
  }

  beforeAll(async () => {
    table = await createTestTable();
    notify = notifierSendingTo(sesEndpoint());
    current = notify;
    poller = await startStreamPoller({
      dynamoEndpoint: dynamoEndpoint(),
      tableName: table.tableName,
      intervalMs: 100,
      retryDelayMs: 200,
      handler: async (event) => {
        delivered.push(event);
        const result = await current(event);
        results.push(result);
        return result;
      },
      onError: (error) => pollerErrors.push(error),
    });
  });

  afterAll(async () => {
    await poller.stop();
    await table.drop();
  });

  it('create → exactly one creation email to the owner, within a few seconds, even if the batch comes again', async () => {
    const token = newToken();
    const owner = token.ownerEmail ?? '';
    const started = Date.now();
    await createToken(table, token);

    const [email] = await pollUntil(
      () => emailsTo(owner),
      (emails) => emails.length > 0,
    );
    // A few seconds at most, even with the rest of the suite competing for the CPU (typically < 1 s).
    expect(Date.now() - started).toBeLessThan(scaled(8000));
    expect(email?.from).toBe(SENDER);
    expect(email?.subject).toBe('[Access Tokens] New access token "CI deploy key" created');
    expect(email?.body.text).toContain(token.id);
    expect(email?.body.text).toContain(token.hint);

    // Lambda redelivers a batch after a retry or a crash: same records, no second email.
    const batches = delivered.filter((event) => JSON.stringify(event).includes(token.id));
    expect(batches.length).toBeGreaterThan(0);
    for (const event of batches) await expect(notify(event)).resolves.toEqual({ batchItemFailures: [] });
    expect(await settled(owner)).toHaveLength(1);
  });

  it('revoke twice → exactly one revocation email', async () => {
    const token = newToken();
    const owner = token.ownerEmail ?? '';
    await createToken(table, token);
    await pollUntil(
      () => emailsTo(owner),
      (emails) => emails.length === 1,
    );

    expect(await revokeToken(table, token)).toBe(true);
    expect(await revokeToken(table, token)).toBe(false);
    // Even a second write that leaves the token revoked (a MODIFY without a transition) sends nothing.
    await table.documentClient.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: KEYS.token(token.id),
        UpdateExpression: 'SET lastChange = :change',
        ExpressionAttributeValues: {
          ':change': revokeChange(token, { at: new Date(Date.now() + 1).toISOString() }),
        },
      }),
    );

    const emails = await pollUntil(
      () => emailsTo(owner),
      (found) => found.some((email) => email.subject.includes('was revoked')),
    );
    expect(emails.filter((email) => email.subject.includes('was revoked'))).toHaveLength(1);
    const all = await settled(owner);
    expect(all.map((email) => email.subject)).toEqual([
      '[Access Tokens] New access token "CI deploy key" created',
      '[Access Tokens] Access token "CI deploy key" was revoked',
    ]);
    expect(all[1]?.body.text).toContain('203.0.113.9');
    expect(all[1]?.body.text).toContain('integration-test');
  });

  it("an administrator's revocation says so", async () => {
    const token = newToken();
    const owner = token.ownerEmail ?? '';
    await createToken(table, token);
    await revokeToken(table, token, revokeChange(token, { actorUserId: 'admin-7', actorRole: 'admin' }));
    const emails = await pollUntil(
      () => emailsTo(owner),
      (found) => found.length === 2,
    );
    expect(emails.find((email) => email.subject.includes('was revoked'))?.body.text).toContain(
      'An administrator revoked the access token',
    );
  });

  it("a TTL-deletion record → one expiry email; a user's delete → none", async () => {
    const token = newToken({ expiresAt: new Date(Date.now() - 60_000).toISOString() });
    const owner = token.ownerEmail ?? '';
    await createToken(table, token);
    await pollUntil(
      () => emailsTo(owner),
      (emails) => emails.length === 1,
    );

    // DynamoDB Local does not expire items; a plain delete reaches the stream without userIdentity.
    await table.documentClient.send(
      new DeleteCommand({ TableName: table.tableName, Key: KEYS.token(token.id) }),
    );
    expect(await settled(owner)).toHaveLength(1);

    // What DynamoDB's TTL process writes to the stream, delivered twice.
    const ttlEvent = batch(ttlDeletion(token));
    await expect(notify(ttlEvent)).resolves.toEqual({ batchItemFailures: [] });
    await expect(notify(ttlEvent)).resolves.toEqual({ batchItemFailures: [] });
    const emails = await settled(owner, 300);
    expect(emails.map((email) => email.subject)).toEqual([
      '[Access Tokens] New access token "CI deploy key" created',
      '[Access Tokens] Access token "CI deploy key" has expired',
    ]);
    expect(emails[1]?.body.text).not.toContain('revoked');
  });

  it('SES down: the token write succeeds, the records fail and are retried, and the email goes out once SES is back', async () => {
    const closedPort = await findFreePort();
    const failuresBefore = results.filter((result) => result.batchItemFailures.length > 0).length;
    current = notifierSendingTo(`http://127.0.0.1:${closedPort}`, 1);
    try {
      const token = newToken();
      const owner = token.ownerEmail ?? '';
      await expect(createToken(table, token)).resolves.toBeUndefined();

      // The poller keeps redelivering the failed record.
      await pollUntil(
        async () => results.filter((result) => result.batchItemFailures.length > 0).length - failuresBefore,
        (failures) => failures >= 2,
      );
      expect(
        results.filter((result) => result.batchItemFailures.length > 0).length - failuresBefore,
      ).toBeGreaterThanOrEqual(2);
      expect(await emailsTo(owner)).toHaveLength(0);

      current = notify;
      const emails = await pollUntil(
        () => emailsTo(owner),
        (found) => found.length > 0,
      );
      expect(emails.map((email) => email.subject)).toEqual([
        '[Access Tokens] New access token "CI deploy key" created',
      ]);
      expect(await settled(owner)).toHaveLength(1);
    } finally {
      current = notify;
    }
  });

  it('the poller reported no stream errors', () => {
    expect(pollerErrors).toEqual([]);
  });
});

describe('the reminder job on DynamoDB Local and the SES emulator', () => {
  let table: TestTable;
  // SQS has no emulator here: the queue is mocked, its messages handed to the handler as SQS would.
  const sqs = mockClient(SQSClient);

  beforeAll(async () => {
    table = await createTestTable();
  });

  afterAll(async () => {
    sqs.restore();
    vi.unstubAllEnvs();
    await table.drop();
  });

  it('run twice → one reminder per due token, none for the others', async () => {
    const now = Date.now();
    const at = (days: number) => new Date(now + days * DAY_MS).toISOString();
    const due = [0.5, 3, 6.9].map((days) => newToken({ createdAt: at(-90), expiresAt: at(days) }));
    const notDue = [
      newToken({ createdAt: at(-90), expiresAt: at(7.5) }),
      newToken({ createdAt: at(-90), expiresAt: at(2), state: 'revoked' }),
      newToken({ createdAt: at(-1), expiresAt: at(6) }),
      newToken({ createdAt: at(-90), expiresAt: at(-0.5) }),
    ];
    for (const token of [...due, ...notDue]) await createToken(table, token);

    stubHandlerEnv({
      tableName: table.tableName,
      dynamoEndpoint: dynamoEndpoint(),
      extra: {
        AWS_ENDPOINT_URL_SES: sesEndpoint(),
        [ENV.notificationSenderAddress]: SENDER,
        [ENV.reminderWindowDays]: '7',
        [ENV.reminderQueueUrl]: 'https://sqs.us-east-1.amazonaws.com/123456789012/reminders',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
      },
    });
    vi.resetModules();
    const { handler } = await import('../../lambdas/reminder-job/handler.js');
    const queued: string[] = [];
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
      queued.push(...(input.Entries ?? []).map((entry) => entry.MessageBody ?? ''));
      return { Successful: [], Failed: [] };
    });

    /** The schedule, then every queued message as the SQS event source delivers them. */
    const runDay = async () => {
      await expect(handler({ source: 'aws.events' }, lambdaContext())).resolves.toEqual({ plannedDays: 8 });
      while (queued.length > 0) {
        const body = queued.shift() ?? '';
        const event = { Records: [{ messageId: randomUUID(), body, eventSource: 'aws:sqs' }] };
        await expect(handler(event, lambdaContext())).resolves.toEqual({ batchItemFailures: [] });
      }
    };
    await runDay();
    await runDay();

    for (const token of due) {
      const emails = await emailsTo(token.ownerEmail ?? '');
      expect(emails).toHaveLength(1);
      expect(emails[0]?.subject).toMatch(
        /^\[Access Tokens\] Access token "CI deploy key" expires in \d days?$/,
      );
    }
    for (const token of notDue) expect(await emailsTo(token.ownerEmail ?? '')).toHaveLength(0);
  });
});

describe('the notifier handler module behind the stream poller, as the local stack runs it', () => {
  let table: TestTable;
  let poller: StreamPoller;

  beforeAll(async () => {
    table = await createTestTable();
    stubHandlerEnv({
      tableName: table.tableName,
      dynamoEndpoint: dynamoEndpoint(),
      extra: {
        AWS_ENDPOINT_URL_SES: sesEndpoint(),
        [ENV.notificationSenderAddress]: SENDER,
        POWERTOOLS_LOG_LEVEL: 'SILENT',
      },
    });
    vi.resetModules();
    const { handler } = await import('../../lambdas/notifier/handler.js');
    poller = await startStreamPoller({
      dynamoEndpoint: dynamoEndpoint(),
      tableName: table.tableName,
      intervalMs: 100,
      handler: (event) => handler(event, lambdaContext()),
    });
  });

  afterAll(async () => {
    await poller.stop();
    vi.unstubAllEnvs();
    await table.drop();
  });

  it('create, then revoke → the two emails, each once', async () => {
    const token = newToken();
    const owner = token.ownerEmail ?? '';
    await createToken(table, token);
    await pollUntil(
      () => emailsTo(owner),
      (emails) => emails.length === 1,
    );
    await revokeToken(table, token);
    await pollUntil(
      () => emailsTo(owner),
      (emails) => emails.length === 2,
    );
    expect((await settled(owner)).map((email) => email.subject)).toEqual([
      '[Access Tokens] New access token "CI deploy key" created',
      '[Access Tokens] Access token "CI deploy key" was revoked',
    ]);
  });
});

describe('every email of the suite', () => {
  it('carries no secret: not ours, not the hashes, nothing shaped like a token', async () => {
    const emails = await storedEmails();
    const ours = emails.filter((email) => email.destination.to.some((to) => addresses.includes(to)));
    expect(ours.length).toBeGreaterThanOrEqual(10);
    for (const email of emails) {
      const texts = [email.subject, email.body.text ?? '', email.body.html ?? ''].join('\n');
      for (const secret of secrets) expect(texts).not.toContain(secret);
      for (const hash of hashes) expect(texts).not.toContain(hash);
      expect(texts.match(secretScannerPattern('atk'))).toBeNull();
    }
  });
});
