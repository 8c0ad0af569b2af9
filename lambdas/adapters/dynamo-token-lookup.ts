import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TokenRecord } from '../core/model.js';
import type { TokenLookup } from '../core/notifications/reminders.js';
import { isTokenItem, itemToToken } from './items.js';
import { KEYS } from './table-definition.js';

// Tokens by id, strongly consistent, a hundred per BatchGetItem (its limit): the reminder worker's
// re-read of a page's candidates just before it sends. Keys DynamoDB leaves unprocessed (throttling)
// are asked for again, a few times, with a pause. A token item that does not parse is skipped and
// reported (onMalformedItem): the others still get their reminders.

const BATCH_LIMIT = 100;
const UNPROCESSED_ROUNDS = 5;

export class DynamoTokenLookup implements TokenLookup {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly onMalformedItem: (error: unknown, pk: unknown) => void = () => undefined,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  async getMany(tokenIds: readonly string[]): Promise<ReadonlyMap<string, TokenRecord>> {
    const found = new Map<string, TokenRecord>();
    const unique = [...new Set(tokenIds)];
    for (let start = 0; start < unique.length; start += BATCH_LIMIT) {
      let keys: Record<string, unknown>[] = unique
        .slice(start, start + BATCH_LIMIT)
        .map((id) => KEYS.token(id));
      for (let round = 0; keys.length > 0; round++) {
        if (round >= UNPROCESSED_ROUNDS) throw new Error(`${keys.length} token reads left unprocessed`);
        if (round > 0) await this.sleep(100 * 2 ** round);
        const output = await this.client.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } },
          }),
        );
        for (const item of output.Responses?.[this.tableName] ?? []) {
          if (!isTokenItem(item)) continue;
          try {
            const token = itemToToken(item);
            found.set(token.id, token);
          } catch (error) {
            this.onMalformedItem(error, item.pk);
          }
        }
        keys = output.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return found;
  }
}
