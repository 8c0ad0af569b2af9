import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { ExpiringTokens } from '../core/notifications/reminders.js';
import { INDEXES, PARTITIONS, TABLE_KEYS, type TableIndexes, tokenIdOfKey } from './table-definition.js';

// Tokens by expiry, through the byExpiryDay index (`EXPIRES#<yyyy-mm-dd>` / `<expiresAt>#<tokenId>`):
// one page of one UTC day at a time, the cursor being the page's LastEvaluatedKey (base64url JSON;
// it holds only key attributes: the token id and its expiry). The index copies only keys: a page is
// the token ids (from the table's partition key), and the reminder worker reads every one again
// from the table, strongly consistently, before it decides and sends.

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
    /** The indexes to query: the legacy ones during an upgrade (table-definition.ts). */
    private readonly indexes: TableIndexes = INDEXES,
  ) {}

  async page(
    day: string,
    cursor: string | undefined,
    limit: number,
  ): Promise<{ tokenIds: string[]; cursor: string | undefined }> {
    const index = this.indexes.byExpiryDay;
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: index.indexName,
        KeyConditionExpression: '#pk = :day',
        // The table's key only, whatever the index copies (the legacy index copies everything).
        ProjectionExpression: '#tablePk',
        ExpressionAttributeNames: { '#pk': index.partitionKey, '#tablePk': TABLE_KEYS.partitionKey },
        ExpressionAttributeValues: { ':day': PARTITIONS.tokensExpiringOn(day) },
        Limit: limit,
        ExclusiveStartKey: decodeCursor(cursor),
      }),
    );
    const tokenIds: string[] = [];
    for (const item of page.Items ?? []) {
      const tokenId = tokenIdOfKey(String(item[TABLE_KEYS.partitionKey] ?? ''));
      if (tokenId !== undefined) tokenIds.push(tokenId);
    }
    return { tokenIds, cursor: encodeCursor(page.LastEvaluatedKey) };
  }
}
