import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { TokenRecord } from '../core/model.js';
import type { ExpiringTokens } from '../core/notifications/reminders.js';
import { isTokenItem, itemToToken } from './items.js';
import { INDEXES, PARTITIONS } from './table-definition.js';

// Tokens by expiry, through the byExpiryDay index (`EXPIRES#<yyyy-mm-dd>` / `<expiresAt>#<tokenId>`):
// one page of one UTC day at a time, the cursor being the page's LastEvaluatedKey (base64url JSON;
// it holds only key attributes: the token id and its expiry). The index is eventually consistent;
// the reminder worker reads every candidate again from the table before it sends.

function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  return key === undefined ? undefined : Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string | undefined): Record<string, unknown> | undefined {
  if (cursor === undefined) return undefined;
  const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error('reminder cursor is not a key');
  }
  return parsed as Record<string, unknown>;
}

export class DynamoExpiringTokensQuery implements ExpiringTokens {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Told about a token item that does not parse; it is skipped, the others still get reminders. */
    private readonly onMalformedItem: (error: unknown, pk: unknown) => void = () => undefined,
  ) {}

  async page(
    day: string,
    cursor: string | undefined,
    limit: number,
  ): Promise<{ tokens: TokenRecord[]; cursor: string | undefined }> {
    const index = INDEXES.byExpiryDay;
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: index.indexName,
        KeyConditionExpression: '#pk = :day',
        ExpressionAttributeNames: { '#pk': index.partitionKey },
        ExpressionAttributeValues: { ':day': PARTITIONS.tokensExpiringOn(day) },
        Limit: limit,
        ExclusiveStartKey: decodeCursor(cursor),
      }),
    );
    const tokens: TokenRecord[] = [];
    for (const item of page.Items ?? []) {
      if (!isTokenItem(item)) continue;
      try {
        tokens.push(itemToToken(item));
      } catch (error) {
        this.onMalformedItem(error, item.pk);
      }
    }
    return { tokens, cursor: encodeCursor(page.LastEvaluatedKey) };
  }
}
