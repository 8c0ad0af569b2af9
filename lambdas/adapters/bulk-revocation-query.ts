import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { TokenRecord } from '../core/model.js';
import type { BulkRevocation, BulkRevocationTokens } from '../core/notifications/notices.js';
import { DynamoTokenLookup } from './dynamo-token-lookup.js';
import { INDEXES, PARTITIONS, TABLE_KEYS, type TableIndexes, tokenIdOfKey } from './table-definition.js';

// The tokens one revoke-all revoked, for its summary emails: the target user's tokens (byOwner
// index) or the account's (byAccount index), read again from the table (strongly consistent:
// the index copies neither lastChange nor the owner's address), those whose lastChange names the
// revoke-all. The index is eventually consistent about which tokens exist: the notifier compares
// what it found with the count the revoke-all recorded and retries while some are missing.

export class DynamoBulkRevocationTokens implements BulkRevocationTokens {
  private readonly lookup: DynamoTokenLookup;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly pageSize = 200,
    /** The indexes to query: the legacy ones during an upgrade (table-definition.ts). */
    private readonly indexes: TableIndexes = INDEXES,
  ) {
    this.lookup = new DynamoTokenLookup(client, tableName);
  }

  async revokedBy(bulk: BulkRevocation): Promise<TokenRecord[]> {
    const index = bulk.targetUserId === undefined ? this.indexes.byAccount : this.indexes.byOwner;
    const partition =
      bulk.targetUserId === undefined
        ? PARTITIONS.tokensOfAccount(bulk.accountId)
        : PARTITIONS.tokensOfOwner(bulk.accountId, bulk.targetUserId);
    const tokenIds: string[] = [];
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: index.indexName,
          KeyConditionExpression: '#pk = :pk',
          ProjectionExpression: '#tablePk',
          ExpressionAttributeNames: { '#pk': index.partitionKey, '#tablePk': TABLE_KEYS.partitionKey },
          ExpressionAttributeValues: { ':pk': partition },
          Limit: this.pageSize,
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const tokenId = tokenIdOfKey(String(item[TABLE_KEYS.partitionKey] ?? ''));
        if (tokenId !== undefined) tokenIds.push(tokenId);
      }
      exclusiveStartKey = page.LastEvaluatedKey;
    } while (exclusiveStartKey !== undefined);

    const tokens = await this.lookup.getMany(tokenIds);
    // Partitions are key strings: only this account's, and only what the revoke-all revoked.
    return [...tokens.values()].filter(
      (token) =>
        token.lastChange.bulkId === bulk.bulkId &&
        token.accountId === bulk.accountId &&
        token.state === 'revoked' &&
        (bulk.targetUserId === undefined || token.userId === bulk.targetUserId),
    );
  }
}
