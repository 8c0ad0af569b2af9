import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { TokenRecord } from '../core/model.js';
import type { BulkRevocation, BulkRevocationTokens } from '../core/notifications/notices.js';
import { isTokenItem, itemToToken } from './items.js';
import { INDEXES, PARTITIONS } from './table-definition.js';

// The tokens one revoke-all revoked, for its summary emails: the target user's tokens (byOwner
// index) or the account's (byAccount index), those whose lastChange names the revoke-all. The
// indexes are eventually consistent: the notifier compares what it found with the count the
// revoke-all recorded and retries while some are missing.

export class DynamoBulkRevocationTokens implements BulkRevocationTokens {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly pageSize = 200,
  ) {}

  async revokedBy(bulk: BulkRevocation): Promise<TokenRecord[]> {
    const index = bulk.targetUserId === undefined ? INDEXES.byAccount : INDEXES.byOwner;
    const partition =
      bulk.targetUserId === undefined
        ? PARTITIONS.tokensOfAccount(bulk.accountId)
        : PARTITIONS.tokensOfOwner(bulk.accountId, bulk.targetUserId);
    const tokens: TokenRecord[] = [];
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: index.indexName,
          KeyConditionExpression: '#pk = :pk',
          FilterExpression: '#lastChange.#bulkId = :bulkId',
          ExpressionAttributeNames: {
            '#pk': index.partitionKey,
            '#lastChange': 'lastChange',
            '#bulkId': 'bulkId',
          },
          ExpressionAttributeValues: { ':pk': partition, ':bulkId': bulk.bulkId },
          Limit: this.pageSize,
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) {
        if (!isTokenItem(item)) continue;
        const token = itemToToken(item);
        // Partitions are key strings: only this account's, and only what the revoke-all revoked.
        if (token.accountId !== bulk.accountId || token.state !== 'revoked') continue;
        if (bulk.targetUserId !== undefined && token.userId !== bulk.targetUserId) continue;
        tokens.push(token);
      }
      exclusiveStartKey = page.LastEvaluatedKey;
    } while (exclusiveStartKey !== undefined);
    return tokens;
  }
}
