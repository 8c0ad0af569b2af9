import { BatchWriteCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { auditEventToItem } from '../../lambdas/adapters/audit-items.js';
import { dropUndefined } from '../../lambdas/adapters/dynamo-token-transact.js';
import {
  credentialFor,
  credentialToItem,
  slotFor,
  slotToItem,
  tokenToItem,
} from '../../lambdas/adapters/items.js';
import { KEYS } from '../../lambdas/adapters/table-definition.js';
import type { AuditEvent, TokenRecord } from '../../lambdas/core/model.js';

// Many created tokens at once, for tests that need an account full of them before the part they test:
// the items `DynamoTokenRepository.create` writes for each token (token, credential, limit slot, the
// `token.created` event) in BatchWrite requests of 25, and one addition per counter for all of them. A create is
// one transaction of eight parts, and creates of one account conflict on its counter, so seeding 400
// tokens one create at a time took most of a minute on DynamoDB Local. The caller's last create can
// still go through the repository: it then finds the counters exactly where 399 creates left them.

const BATCH = 25;
const LANES = 4;

interface SeededToken {
  readonly token: TokenRecord;
  readonly created: AuditEvent;
}

export async function seedCreatedTokens(
  client: DynamoDBDocumentClient,
  tableName: string,
  seeded: readonly SeededToken[],
  auditRetentionDays: number,
): Promise<void> {
  const items: Record<string, unknown>[] = [];
  const counters = new Map<string, { key: Record<string, string>; active: number }>();
  const count = (key: Record<string, string>) => {
    const id = `${key.pk}\0${key.sk}`;
    const counter = counters.get(id) ?? { key, active: 0 };
    counter.active += 1;
    counters.set(id, counter);
  };
  for (const { token, created } of seeded) {
    items.push(
      tokenToItem(token),
      credentialToItem(credentialFor(token)),
      slotToItem(slotFor(token)),
      auditEventToItem(created, auditRetentionDays),
    );
    count(KEYS.userLimit(token.accountId, token.userId));
    count(KEYS.accountLimit(token.accountId));
    count(KEYS.usageKeyLimit());
  }

  const batches: Record<string, unknown>[][] = [];
  for (let start = 0; start < items.length; start += BATCH) batches.push(items.slice(start, start + BATCH));
  const lane = async () => {
    for (let batch = batches.pop(); batch !== undefined; batch = batches.pop()) {
      let requests = batch.map((item) => ({ PutRequest: { Item: dropUndefined(item) } }));
      while (requests.length > 0) {
        const { UnprocessedItems } = await client.send(
          new BatchWriteCommand({ RequestItems: { [tableName]: requests } }),
        );
        requests = (UnprocessedItems?.[tableName] ?? []) as typeof requests;
      }
    }
  };
  await Promise.all(Array.from({ length: LANES }, lane));
  // As the create's counterIncrement does, by the whole count at once.
  for (const { key, active } of counters.values()) {
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression: 'SET #entity = :entity ADD #active :count',
        ExpressionAttributeNames: { '#entity': 'entity', '#active': 'active' },
        ExpressionAttributeValues: { ':entity': 'limit', ':count': active },
      }),
    );
  }
}
