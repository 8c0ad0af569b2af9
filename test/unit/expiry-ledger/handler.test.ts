import { ThrottlingException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEYS } from '../../../lambdas/adapters/table-definition.js';
import type { TokenRecord } from '../../../lambdas/core/model.js';
import { expiryLedgerFunction } from '../../../lambdas/expiry-ledger/function.js';
import { captureStdout, lambdaContext, type StdoutCapture } from '../../support/authorizer-events.js';
import { transactionCanceled } from '../../support/dynamo-errors.js';
import { managementDeps } from '../../support/management-deps.js';
import { batch, issueToken, ttlDeletion } from '../notifications/support.js';

// The expiry ledger handler module (as deployed: env at load, clients built once) against a mocked
// DynamoDB: one transaction per released slot, throttling reported as a batch item failure with
// nothing written on its own, redeliveries releasing nothing twice.

type Handler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>;

const AUDIT_RETENTION_DAYS = 30;

const sequenceNumbers = (event: DynamoDBStreamEvent) =>
  event.Records.map((record) => ({ itemIdentifier: record.dynamodb?.SequenceNumber }));

function throttled(): ThrottlingException {
  return new ThrottlingException({
    message: 'Throughput exceeds the current capacity for one or more global secondary indexes.',
    $metadata: { httpStatusCode: 400 },
  });
}

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

function describeItem(item: TransactItem): string {
  if (item.Delete !== undefined) return `Delete ${item.Delete.Key?.pk}`;
  if (item.Update !== undefined) return `Update ${item.Update.Key?.pk}`;
  if (item.Put !== undefined) return `Put ${item.Put.Item?.pk}`;
  if (item.ConditionCheck !== undefined) return `ConditionCheck ${item.ConditionCheck.Key?.pk}`;
  return '?';
}

function releaseItems(token: TokenRecord, withAudit = true): string[] {
  return [
    `Delete ${KEYS.slot(token.accountId, token.userId, token.id).pk}`,
    `Update ${KEYS.userLimit(token.accountId, token.userId).pk}`,
    `Update ${KEYS.accountLimit(token.accountId).pk}`,
    ...(withAudit ? [`Put AUDIT#TOKEN#${token.id}`] : []),
    // The deployment's usage-key counter goes down with the slot (#14).
    `Update ${KEYS.usageKeyLimit().pk}`,
  ];
}

describe('expiry ledger handler', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  let logs: StdoutCapture;

  const transactions = () =>
    ddb
      .commandCalls(TransactWriteCommand)
      .map((call) => (call.args[0].input.TransactItems ?? []).map(describeItem));
  /** Anything written outside a transaction would be half a release. */
  const singleItemCalls = () => ddb.calls().filter((call) => !(call.args[0] instanceof TransactWriteCommand));

  const handler = expiryLedgerFunction({
    repository: managementDeps({
      tableName: 'access-tokens-test',
      policy: { auditRetentionDays: AUDIT_RETENTION_DAYS },
    }).tokens,
  }) as unknown as Handler;

  beforeEach(() => {
    ddb.on(TransactWriteCommand).resolves({});
    logs = captureStdout();
  });

  afterEach(() => {
    logs.restore();
    ddb.reset();
  });

  it('releases the slot of an expired active token in one transaction with its token.expired event', async () => {
    const { token, secret } = issueToken();

    await expect(handler(batch(ttlDeletion(token)), lambdaContext('expiryLedger'))).resolves.toEqual({
      batchItemFailures: [],
    });

    expect(transactions()).toEqual([releaseItems(token)]);
    const [call] = ddb.commandCalls(TransactWriteCommand);
    const items = call?.args[0].input.TransactItems ?? [];
    expect(items[0]?.Delete?.ConditionExpression).toContain('attribute_exists(pk)');
    const audit = items[3]?.Put;
    expect(audit?.ConditionExpression).toContain('attribute_not_exists(pk)');
    expect(audit?.Item).toMatchObject({
      entity: 'audit',
      action: 'token.expired',
      id: `evt_${token.id.slice('tok_'.length)}`,
      at: token.expiresAt,
      tokenId: token.id,
      actor: { userId: null, role: null, sourceIp: null, userAgent: null },
    });
    // The retention from POLICY_SETTINGS reaches the audit item's TTL.
    const at = Math.floor(Date.parse(token.expiresAt ?? '') / 1000);
    expect(audit?.Item?.ttl).toBe(at + AUDIT_RETENTION_DAYS * 86_400);
    expect(singleItemCalls()).toEqual([]);

    const lines = logs.records().filter((line) => line.tokenId === token.id);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ released: true, level: 'INFO' });
    expect(logs.text()).not.toContain(secret);
    expect(logs.text()).not.toContain(token.secretHash);
  });

  it('DynamoDB throttling: that record and the rest of the batch are reported, nothing written half', async () => {
    const tokens = [issueToken(), issueToken(), issueToken()].map(({ token }) => token);
    const event = batch(...tokens.map(ttlDeletion));
    ddb.on(TransactWriteCommand).resolvesOnce({}).rejects(throttled());

    const result = await handler(event, lambdaContext('expiryLedger'));

    expect(result.batchItemFailures).toEqual(sequenceNumbers(event).slice(1));
    // The first released whole; the second was one whole transaction that DynamoDB refused; the
    // third was never attempted.
    const [first, second] = tokens as [TokenRecord, TokenRecord, TokenRecord];
    expect(transactions()).toEqual([releaseItems(first), releaseItems(second)]);
    expect(singleItemCalls()).toEqual([]);
    const failure = logs.records().find((line) => line.level === 'ERROR');
    expect(failure).toMatchObject({
      tokenId: second.id,
      released: false,
      errorName: 'ThrottlingException',
      httpStatusCode: 400,
      reportedRecords: 2,
    });
    expect(logs.text()).not.toContain('Throughput exceeds');
  });

  it('a transaction cancelled for throttling is reported the same way', async () => {
    const { token } = issueToken();
    const event = batch(ttlDeletion(token));
    ddb.on(TransactWriteCommand).rejects(transactionCanceled(['ThrottlingError', 'None', 'None', 'None']));

    await expect(handler(event, lambdaContext('expiryLedger'))).resolves.toEqual({
      batchItemFailures: sequenceNumbers(event),
    });
    expect(singleItemCalls()).toEqual([]);
  });

  it('a slot released already (redelivery, or the expiry sweep first) succeeds without writing', async () => {
    const { token } = issueToken();
    ddb
      .on(TransactWriteCommand)
      .rejects(transactionCanceled(['ConditionalCheckFailed', 'None', 'None', 'None']));

    await expect(handler(batch(ttlDeletion(token)), lambdaContext('expiryLedger'))).resolves.toEqual({
      batchItemFailures: [],
    });

    expect(transactions()).toEqual([releaseItems(token)]);
    expect(logs.records().find((line) => line.tokenId === token.id)).toMatchObject({ released: false });
  });

  it('an expiry audited already still releases the slot, without a second event', async () => {
    const { token } = issueToken();
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(transactionCanceled(['None', 'None', 'None', 'ConditionalCheckFailed']))
      .resolves({});

    await expect(handler(batch(ttlDeletion(token)), lambdaContext('expiryLedger'))).resolves.toEqual({
      batchItemFailures: [],
    });

    expect(transactions()).toEqual([releaseItems(token), releaseItems(token, false)]);
    expect(logs.records().find((line) => line.tokenId === token.id)).toMatchObject({ released: true });
  });
});
