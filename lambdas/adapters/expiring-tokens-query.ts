import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { TokenRecord } from '../core/model.js';
import type { ExpiringTokens } from '../core/notifications/reminders.js';
import { isTokenItem, itemToToken } from './items.js';
import { INDEXES } from './table-definition.js';

// Tokens by expiry, through the byExpiryDay index (`EXPIRES#<yyyy-mm-dd>` / `<expiresAt>#<tokenId>`):
// one query per UTC day of the range, every page of it. The expiry time itself is compared after
// parsing, so the sort key's string format never decides who gets a reminder. The index is
// eventually consistent, which is fine for a daily job.

const DAY_MS = 86_400_000;

/** The UTC days (`yyyy-mm-dd`) from `from`'s to `to`'s, both included. */
export function utcDaysBetween(from: Date, to: Date): string[] {
  const days: string[] = [];
  const start = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
  for (let day = start; day <= to.getTime(); day += DAY_MS) {
    days.push(new Date(day).toISOString().slice(0, 10));
  }
  return days;
}

export class DynamoExpiringTokensQuery implements ExpiringTokens {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Told about a token item that does not parse; it is skipped, the others still get reminders. */
    private readonly onMalformedItem: (error: unknown, pk: unknown) => void = () => undefined,
    private readonly pageSize = 100,
  ) {}

  async *expiringBetween(from: Date, to: Date): AsyncIterable<TokenRecord> {
    const index = INDEXES.byExpiryDay;
    for (const day of utcDaysBetween(from, to)) {
      let exclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: index.indexName,
            KeyConditionExpression: '#pk = :day',
            ExpressionAttributeNames: { '#pk': index.partitionKey },
            ExpressionAttributeValues: { ':day': `EXPIRES#${day}` },
            Limit: this.pageSize,
            ExclusiveStartKey: exclusiveStartKey,
          }),
        );
        for (const item of page.Items ?? []) {
          if (!isTokenItem(item)) continue;
          let token: TokenRecord;
          try {
            token = itemToToken(item);
          } catch (error) {
            this.onMalformedItem(error, item.pk);
            continue;
          }
          if (token.expiresAt === null) continue;
          const expiresMs = Date.parse(token.expiresAt);
          if (expiresMs >= from.getTime() && expiresMs <= to.getTime()) yield token;
        }
        exclusiveStartKey = page.LastEvaluatedKey;
      } while (exclusiveStartKey !== undefined);
    }
  }
}
