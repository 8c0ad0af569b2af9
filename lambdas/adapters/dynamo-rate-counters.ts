import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CounterWindow, RateCounterStore } from '../core/rate-window.js';
import { KEYS, TTL_ATTRIBUTE } from './table-definition.js';

// Strict mode's shared counters (lambdas/core/rate-window.ts) on the table: one item per token and
// window, one atomic UpdateItem per flush (`ADD count :delta`) that answers the total after it
// (ReturnValues UPDATED_NEW), so a flush is also the read. The item goes away by TTL an hour after
// its window ends. The expression names only pk, sk, count, entity and ttl: the authorizer's IAM
// policy allows exactly those attributes on `RATE#` items (lib/constructs/token-table.ts).

/** How long a counter outlives its window before TTL may remove it. */
const KEEP_AFTER_WINDOW_SECONDS = 3600;

export const RATE_COUNTER_ATTRIBUTES = ['pk', 'sk', 'count', 'entity', TTL_ATTRIBUTE] as const;

/** An UpdateItem answer without a numeric count: the item is not a counter (never retried as one). */
class InvalidCounterItemError extends Error {
  constructor() {
    super('The rate counter item has no numeric count');
    this.name = 'InvalidCounterItemError';
  }
}

export class DynamoRateCounters implements RateCounterStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async add(tokenId: string, window: CounterWindow, delta: number): Promise<number> {
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: KEYS.rateCounter(tokenId, window.name),
        UpdateExpression: 'ADD #count :delta SET #entity = :entity, #ttl = :ttl',
        ExpressionAttributeNames: { '#count': 'count', '#entity': 'entity', '#ttl': TTL_ATTRIBUTE },
        ExpressionAttributeValues: {
          ':delta': delta,
          ':entity': 'rate-counter',
          ':ttl': Math.ceil(window.endsAtMs / 1000) + KEEP_AFTER_WINDOW_SECONDS,
        },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const count: unknown = Attributes?.count;
    if (typeof count !== 'number' || !Number.isFinite(count)) throw new InvalidCounterItemError();
    return count;
  }
}
