import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  SESClient,
  SESServiceException,
  SendEmailCommand,
  type SendEmailCommandInput,
} from '@aws-sdk/client-ses';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type PutCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoBulkRevocationTokens } from '../../../lambdas/adapters/bulk-revocation-query.js';
import { DynamoOwnerContacts } from '../../../lambdas/adapters/dynamo-owner-contacts.js';
import { DynamoIdempotencyStore } from '../../../lambdas/adapters/idempotency-store.js';
import { credentialFor, credentialToItem, tokenToItem } from '../../../lambdas/adapters/items.js';
import { SesMailer } from '../../../lambdas/adapters/ses-mailer.js';
import { SesSendRate } from '../../../lambdas/adapters/ses-send-rate.js';
import { SendPacer } from '../../../lambdas/core/notifications/pacing.js';
import { systemClock } from '../../../lambdas/core/ports.js';
import { notifierFunction } from '../../../lambdas/notifier/function.js';
import type { StreamNotifierDeps } from '../../../lambdas/notifier/stream-notifier.js';
import { logger } from '../../../lambdas/runtime/logger.js';
import {
  lambdaContext as baseContext,
  captureStdout,
  type StdoutCapture,
} from '../../support/authorizer-events.js';
import {
  batch,
  emailTexts,
  insertOf,
  issueToken,
  modifyOf,
  revoked,
  streamRecord,
  ttlDeletion,
} from './support.js';

// The notifier handler module (as deployed: env at load, clients built once) against mocked SES and
// DynamoDB: partial batch responses for SES throttling and 5xx, nothing sent twice, nothing logged
// that should not be.

type Handler = (
  event: DynamoDBStreamEvent,
  context: ReturnType<typeof lambdaContext>,
) => Promise<DynamoDBBatchResponse>;

const SENDER = 'no-reply@example.com';

/** A fresh invocation of the deployed function (5-minute timeout). */
const lambdaContext = (remainingMs = 300_000) => ({
  ...baseContext('notifier'),
  getRemainingTimeInMillis: () => remainingMs,
});

function throttling(): SESServiceException {
  return new SESServiceException({
    name: 'ThrottlingException',
    message: 'Maximum sending rate exceeded.',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
}

function serverError(): SESServiceException {
  return new SESServiceException({
    name: 'ServiceUnavailable',
    message: 'Service unavailable',
    $fault: 'server',
    $metadata: { httpStatusCode: 503 },
  });
}

const sequenceNumbers = (event: DynamoDBStreamEvent) =>
  event.Records.map((record) => ({ itemIdentifier: record.dynamodb?.SequenceNumber }));

/** What lambdas/notifier/handler.ts builds from its environment, on clients the mocks stub. */
function notifierDeps(): StreamNotifierDeps {
  const client = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  const sesClient = new SESClient(client);
  const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient(client), {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
  const tableName = 'access-tokens-test';
  return {
    mailer: new SesMailer(sesClient, { senderAddress: SENDER }),
    store: new DynamoIdempotencyStore(documentClient, tableName),
    contacts: new DynamoOwnerContacts(documentClient, tableName),
    bulkTokens: new DynamoBulkRevocationTokens(documentClient, tableName),
    pacer: new SendPacer(new SesSendRate(sesClient, { configured: 1000 })),
    clock: systemClock,
    logger,
  };
}

describe('notifier handler', () => {
  const ses = mockClient(SESClient);
  const ddb = mockClient(DynamoDBDocumentClient);
  const handler = notifierFunction(notifierDeps()) as unknown as Handler;
  let logs: StdoutCapture;

  beforeEach(() => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'ses-message-1' });
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    ddb.on(DeleteCommand).resolves({});
    ddb.on(GetCommand).resolves({});
    logs = captureStdout();
  });

  afterEach(() => {
    logs.restore();
    ses.reset();
    ddb.reset();
  });

  it('sends one email per token event, claims it first and marks it sent; other records succeed silently', async () => {
    const created = issueToken({ ownerEmail: 'alice@example.com' });
    const other = issueToken({ ownerEmail: 'bob@example.com' });
    const event = batch(
      insertOf(created.token),
      streamRecord('INSERT', { newItem: credentialToItem(credentialFor(created.token)) }),
      modifyOf(other.token, revoked(other.token)),
      modifyOf(revoked(other.token), revoked(other.token)),
    );

    await expect(handler(event, lambdaContext())).resolves.toEqual({ batchItemFailures: [] });

    const sends = ses
      .commandCalls(SendEmailCommand)
      .map((call) => call.args[0].input as SendEmailCommandInput);
    expect(sends.map((input) => [input.Source, input.Destination?.ToAddresses])).toEqual([
      [SENDER, ['alice@example.com']],
      [SENDER, ['bob@example.com']],
    ]);
    expect(sends[0]?.Message?.Subject?.Data).toBe('[Access Tokens] New access token "CI deploy key" created');
    expect(sends[1]?.Message?.Subject?.Data).toBe('[Access Tokens] Access token "CI deploy key" was revoked');
    for (const input of sends) {
      expect(input.Message?.Body?.Text?.Data).toBeTruthy();
      expect(input.Message?.Body?.Html?.Data).toBeTruthy();
      const texts = emailTexts({
        subject: input.Message?.Subject?.Data ?? '',
        text: input.Message?.Body?.Text?.Data,
        html: input.Message?.Body?.Html?.Data,
      });
      for (const { secret, token } of [created, other]) {
        expect(texts).not.toContain(secret);
        expect(texts).not.toContain(token.secretHash);
      }
    }

    const puts = ddb.commandCalls(PutCommand).map((call) => call.args[0].input as PutCommandInput);
    expect(puts.map((input) => input.Item?.pk)).toEqual([
      `IDEMPOTENCY#created#${created.token.id}`,
      `IDEMPOTENCY#revoked#${other.token.id}`,
    ]);
    expect(puts[0]?.ConditionExpression).toContain('attribute_not_exists(pk)');
    expect(typeof puts[0]?.Item?.ttl).toBe('number');
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(2);

    const logged = logs.text();
    for (const { secret, token } of [created, other]) {
      expect(logged).not.toContain(secret);
      expect(logged).not.toContain(token.secretHash);
    }
    expect(logged).not.toContain('alice@example.com');
  });

  it('SES throttling: the failed record and the rest of the batch are reported, the claim is released', async () => {
    const tokens = [issueToken(), issueToken(), issueToken()].map(({ token }) => token);
    const event = batch(...tokens.map(insertOf));
    ses.on(SendEmailCommand).resolvesOnce({ MessageId: 'first' }).rejects(throttling());

    const result = await handler(event, lambdaContext());

    expect(result.batchItemFailures).toEqual(sequenceNumbers(event).slice(1));
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(2);
    const released = ddb.commandCalls(DeleteCommand).map((call) => call.args[0].input.Key?.pk);
    expect(released).toEqual([`IDEMPOTENCY#created#${tokens[1]?.id}`]);
    expect(
      logs.records().some((line) => line.errorName === 'ThrottlingException' && line.httpStatusCode === 400),
    ).toBe(true);
    expect(logs.text()).not.toContain('Maximum sending rate exceeded.');
  });

  it('SES 5xx: every record from the failed one is reported', async () => {
    const { token } = issueToken();
    const event = batch(insertOf(token), ttlDeletion(issueToken().token));
    ses.on(SendEmailCommand).rejects(serverError());

    await expect(handler(event, lambdaContext())).resolves.toEqual({
      batchItemFailures: sequenceNumbers(event),
    });
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it('the retried batch sends what failed, and nothing twice', async () => {
    const first = issueToken().token;
    const second = issueToken().token;
    const event = batch(insertOf(first), insertOf(second));
    const sent = new Set<string>();
    ddb.on(PutCommand).callsFake((input: PutCommandInput) => {
      const pk = String(input.Item?.pk);
      if (sent.has(pk)) throw new ConditionalCheckFailedException({ message: 'exists', $metadata: {} });
      return {};
    });
    ddb.on(UpdateCommand).callsFake((input: { Key?: { pk?: string } }) => {
      sent.add(String(input.Key?.pk));
      return {};
    });
    ddb.on(GetCommand).resolves({ Item: { status: 'sent' } });
    ses
      .on(SendEmailCommand)
      .resolvesOnce({ MessageId: 'one' })
      .rejectsOnce(throttling())
      .resolves({ MessageId: 'two' });

    const firstTry = await handler(event, lambdaContext());
    expect(firstTry.batchItemFailures).toEqual(sequenceNumbers(event).slice(1));
    // Lambda redelivers from the checkpoint; here the whole batch comes again (as after a crash).
    await expect(handler(event, lambdaContext())).resolves.toEqual({ batchItemFailures: [] });

    const subjects = ses
      .commandCalls(SendEmailCommand)
      .map((call) => call.args[0].input.Message?.Subject?.Data);
    expect(subjects).toHaveLength(3); // first, second (throttled), second again
    expect(sent).toEqual(new Set([`IDEMPOTENCY#created#${first.id}`, `IDEMPOTENCY#created#${second.id}`]));
  });

  it('a token image that does not parse is reported, never skipped', async () => {
    const { token } = issueToken();
    const event = batch(streamRecord('INSERT', { newItem: { ...tokenToItem(token), state: 'unknown' } }));
    await expect(handler(event, lambdaContext())).resolves.toEqual({
      batchItemFailures: sequenceNumbers(event),
    });
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
  });

  it('a DynamoDB failure on the claim is reported too (nothing sent without a claim)', async () => {
    ddb.on(PutCommand).rejects(new Error('ProvisionedThroughputExceeded'));
    const event = batch(insertOf(issueToken().token));
    await expect(handler(event, lambdaContext())).resolves.toEqual({
      batchItemFailures: sequenceNumbers(event),
    });
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
  });

  it('stops starting records when the invocation runs short of time, and reports the rest', async () => {
    const event = batch(insertOf(issueToken().token), insertOf(issueToken().token));
    await expect(handler(event, lambdaContext(15_000))).resolves.toEqual({
      batchItemFailures: sequenceNumbers(event),
    });
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('an empty batch, or one of other items only, sends nothing and touches nothing', async () => {
    const { token } = issueToken();
    await expect(handler(batch(), lambdaContext())).resolves.toEqual({ batchItemFailures: [] });
    await expect(
      handler(
        batch(streamRecord('INSERT', { newItem: credentialToItem(credentialFor(token)) })),
        lambdaContext(),
      ),
    ).resolves.toEqual({ batchItemFailures: [] });
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
    expect(ddb.calls()).toHaveLength(0);
  });
});
