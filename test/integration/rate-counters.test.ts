import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRateCounters } from '../../lambdas/adapters/dynamo-rate-counters.js';
import { KEYS } from '../../lambdas/adapters/table-definition.js';
import type { TokenLimits } from '../../lambdas/core/rate-limits.js';
import {
  allowedBound,
  quotaWindowOf,
  type RateDecision,
  RateWindowLimiter,
  rateWindowOf,
} from '../../lambdas/core/rate-window.js';
import { createTestTable, localDynamoClient, type TestTable } from '../support/dynamo.js';

// Strict mode's counters on DynamoDB Local: two "containers" (each its own client and limiter, as
// two authorizer containers would be) share one table, send their requests at the same time, and
// together stay within the documented bound; the table's totals are what was allowed.

const FLUSH_EVERY = 10;

describe('strict-mode rate counters on DynamoDB Local', () => {
  let table: TestTable;
  const clients: DynamoDBDocumentClient[] = [];

  beforeAll(async () => {
    table = await createTestTable();
  });
  afterAll(async () => {
    for (const client of clients) client.destroy();
    await table.drop();
  });

  function container(): RateWindowLimiter {
    const client = DynamoDBDocumentClient.from(localDynamoClient());
    clients.push(client);
    return new RateWindowLimiter(new DynamoRateCounters(client, table.tableName), {
      flushEvery: FLUSH_EVERY,
      flushIntervalMs: 1_000,
      maxTokens: 100,
    });
  }

  async function counted(tokenId: string, window: string): Promise<unknown> {
    const { Item } = await table.documentClient.send(
      new GetCommand({
        TableName: table.tableName,
        Key: KEYS.rateCounter(tokenId, window),
        ConsistentRead: true,
      }),
    );
    return Item?.count;
  }

  it('two containers, 200 concurrent requests against a quota of 50: at most 50 + 1 × batch pass', async () => {
    const [a, b] = [container(), container()];
    // One fixed instant: every request falls in one rate window and one quota period.
    const at = Date.UTC(2026, 10, 30, 12, 0, 0, 100);
    const limits: TokenLimits = {
      rateLimit: { requestsPerSecond: 1_000, burst: 1_000 },
      quota: { limit: 50, period: 'DAY' },
    };
    const decisions: RateDecision[] = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).check('tok-quota', limits, at)),
    );
    const allowed = decisions.filter((d) => d === 'ALLOWED').length;
    expect(allowed).toBeGreaterThanOrEqual(50);
    expect(allowed).toBeLessThanOrEqual(allowedBound(50, 2, FLUSH_EVERY));
    expect(decisions.filter((d) => d === 'QUOTA_EXCEEDED').length).toBe(200 - allowed);

    // Once both have flushed what they kept (the interval has passed), the table holds every allowed request.
    const later = at + 1_500;
    await Promise.all([a.check('tok-quota', limits, later), b.check('tok-quota', limits, later)]);
    expect(await counted('tok-quota', quotaWindowOf({ limit: 50, period: 'DAY' }, at).name)).toBe(allowed);
  });

  it('two containers on a 20 req/s, burst 20 token: one window passes at most 20 + 1 × 2', async () => {
    const [a, b] = [container(), container()];
    const at = Date.UTC(2026, 10, 30, 12, 0, 1, 0);
    const limits: TokenLimits = { rateLimit: { requestsPerSecond: 20, burst: 20 }, quota: null };
    const decisions = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).check('tok-rate', limits, at + (i % 50))),
    );
    const allowed = decisions.filter((d) => d === 'ALLOWED').length;
    expect(allowed).toBeGreaterThanOrEqual(20);
    expect(allowed).toBeLessThanOrEqual(allowedBound(20, 2, FLUSH_EVERY));
    const window = rateWindowOf(limits.rateLimit, at).name;
    // Batches of 2 (a tenth of 20): at most one unflushed request per container.
    expect(Number(await counted('tok-rate', window))).toBeGreaterThanOrEqual(allowed - 2);
    // The next second is a new window.
    expect(await a.check('tok-rate', limits, at + 1_000)).toBe('ALLOWED');
  });
});
