import { type DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import type { TokenRecord } from '../core/model.js';
import { isTokenItem, itemToToken } from './items.js';

/**
 * Every active token of the table, page by page: a whole-table Scan, for rare operator jobs only
 * (giving existing tokens their usage keys), never on a request's path.
 */
export async function* scanActiveTokens(
  client: DynamoDBDocumentClient,
  tableName: string,
): AsyncIterable<TokenRecord> {
  const pages = paginateScan(
    { client },
    {
      TableName: tableName,
      FilterExpression: '#entity = :token AND #state = :active',
      ExpressionAttributeNames: { '#entity': 'entity', '#state': 'state' },
      ExpressionAttributeValues: { ':token': 'token', ':active': 'active' },
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      if (isTokenItem(item)) yield itemToToken(item);
    }
  }
}
