import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DynamoRateCounters,
  RATE_COUNTER_ATTRIBUTES,
} from '../../../lambdas/adapters/dynamo-rate-counters.js';
import { KEYS } from '../../../lambdas/adapters/table-definition.js';
import { quotaWindowOf, RateWindowLimiter, rateWindowOf } from '../../../lambdas/core/rate-window.js';

// Strict mode's counters on DynamoDB, against a client mock: one atomic ADD per flush that answers
// the total, only the attributes the authorizer's IAM policy allows, and what a failure does.

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);

const throttled = () =>
  new ProvisionedThroughputExceededException({
    message: 'The level of configured provisioned throughput for the table was exceeded.',
    $metadata: { httpStatusCode: 400 },
  });

describe('DynamoRateCounters', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  const counters = new DynamoRateCounters(
    DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
    'tokens',
  );

  afterEach(() => {
    ddb.reset();
  });

  it('adds with one UpdateItem on the window’s item and answers the total after it', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { count: 42 } });
    const window = rateWindowOf({ requestsPerSecond: 50, burst: 100 }, T0);
    await expect(counters.add('tok1', window, 7)).resolves.toBe(42);
    const calls = ddb.commandCalls(UpdateCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input).toEqual({
      TableName: 'tokens',
      Key: KEYS.rateCounter('tok1', window.name),
      UpdateExpression: 'ADD #count :delta SET #entity = :entity, #ttl = :ttl',
      ExpressionAttributeNames: { '#count': 'count', '#entity': 'entity', '#ttl': 'ttl' },
      ExpressionAttributeValues: {
        ':delta': 7,
        ':entity': 'rate-counter',
        // An hour after the window ends.
        ':ttl': Math.ceil(window.endsAtMs / 1000) + 3600,
      },
      ReturnValues: 'UPDATED_NEW',
    });
    // Only the attributes the IAM policy allows, on a RATE# partition.
    expect(
      Object.values(input?.ExpressionAttributeNames ?? {}).every((name) =>
        (RATE_COUNTER_ATTRIBUTES as readonly string[]).includes(name),
      ),
    ).toBe(true);
    expect(input?.Key?.pk).toMatch(/^RATE#tok1#r2-/);
  });

  it('keys a quota by its period, so every container of the period counts on one item', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: { count: 1 } });
    await counters.add('tok1', quotaWindowOf({ limit: 20, period: 'DAY' }, T0), 1);
    await counters.add('tok1', quotaWindowOf({ limit: 20, period: 'DAY' }, T0 + 3_600_000), 1);
    const keys = ddb.commandCalls(UpdateCommand).map((call) => call.args[0].input.Key);
    expect(keys).toEqual([
      KEYS.rateCounter('tok1', 'qday-2026-11-30'),
      KEYS.rateCounter('tok1', 'qday-2026-11-30'),
    ]);
  });

  it('rejects with the SDK error (the limiter keeps the count) and on an answer without a count', async () => {
    ddb.on(UpdateCommand).rejects(throttled());
    const window = rateWindowOf({ requestsPerSecond: 5, burst: 5 }, T0);
    await expect(counters.add('tok1', window, 1)).rejects.toBeInstanceOf(
      ProvisionedThroughputExceededException,
    );
    ddb.on(UpdateCommand).resolves({ Attributes: { count: 'many' } });
    await expect(counters.add('tok1', window, 1)).rejects.toThrow('no numeric count');
    ddb.on(UpdateCommand).resolves({});
    await expect(counters.add('tok1', window, 1)).rejects.toThrow('no numeric count');
  });

  it('behind the limiter, a throttled table neither fails requests nor lifts the limit, and the counts arrive later', async () => {
    const failures: string[] = [];
    const limiter = new RateWindowLimiter(counters, {
      flushEvery: 10,
      flushIntervalMs: 1_000,
      maxTokens: 100,
      onFlushFailure: (_tokenId, error) => failures.push((error as Error).name),
    });
    const limits = {
      rateLimit: { requestsPerSecond: 50, burst: 100 },
      quota: { limit: 30, period: 'DAY' as const },
    };
    ddb.on(UpdateCommand).rejects(throttled());
    const decisions = [];
    for (let i = 0; i < 40; i++) decisions.push(await limiter.check('tok1', limits, T0 + i));
    expect(decisions.filter((d) => d === 'ALLOWED')).toHaveLength(30);
    expect(decisions.slice(30)).toEqual(Array(10).fill('QUOTA_EXCEEDED'));
    // One attempt per counter and interval, not per request.
    expect(ddb.commandCalls(UpdateCommand).length).toBeLessThanOrEqual(2);
    expect(failures.every((name) => name === 'ProvisionedThroughputExceededException')).toBe(true);

    // The table is back: the next flush carries every count kept meanwhile.
    ddb.reset();
    ddb.on(UpdateCommand).callsFake((input: { ExpressionAttributeValues: { ':delta': number } }) => ({
      Attributes: { count: input.ExpressionAttributeValues[':delta'] },
    }));
    expect(await limiter.check('tok1', limits, T0 + 2_000)).toBe('QUOTA_EXCEEDED');
    const deltas = ddb
      .commandCalls(UpdateCommand)
      .filter((call) => String(call.args[0].input.Key?.pk).includes('#qday-'))
      .map((call) => call.args[0].input.ExpressionAttributeValues?.[':delta']);
    expect(deltas).toEqual([30]);
  });
});
