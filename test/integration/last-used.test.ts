import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLastUsedRecorder } from '../../lambdas/adapters/dynamo-last-used-recorder.js';
import { itemToToken, tokenToItem } from '../../lambdas/adapters/items.js';
import { KEYS } from '../../lambdas/adapters/table-definition.js';
import type { TokenRecord } from '../../lambdas/core/model.js';
import { createTestTable, type TestTable } from '../support/dynamo.js';
import { tokenRecord } from '../unit/management/records.js';

// lastUsedAt on DynamoDB Local: the conditional update is what bounds writes to one per token per
// interval across every authorizer container, and it never creates an item.

const INTERVAL_MS = 300_000;

describe('DynamoLastUsedRecorder on DynamoDB Local', () => {
  let table: TestTable;
  let recorder: DynamoLastUsedRecorder;

  beforeAll(async () => {
    table = await createTestTable();
    recorder = new DynamoLastUsedRecorder(table.documentClient, table.tableName);
  });
  afterAll(async () => {
    await table.drop();
  });

  async function storeToken(overrides: Partial<TokenRecord> = {}): Promise<TokenRecord> {
    const token = tokenRecord(overrides);
    await table.documentClient.send(new PutCommand({ TableName: table.tableName, Item: tokenToItem(token) }));
    return token;
  }

  async function itemOf(tokenId: string) {
    const { Item } = await table.documentClient.send(
      new GetCommand({ TableName: table.tableName, Key: KEYS.token(tokenId), ConsistentRead: true }),
    );
    return Item;
  }

  const use = (tokenId: string, atMs: number) =>
    recorder.recordUse(tokenId, new Date(atMs), new Date(atMs - INTERVAL_MS));

  it('100 uses inside one interval write once, the first; a use after the interval writes again', async () => {
    const token = await storeToken();
    const before = await itemOf(token.id);
    const t0 = Date.now();
    const sequential: boolean[] = [];
    for (let i = 0; i < 50; i++) sequential.push(await use(token.id, t0 + i * 1_000));
    // And as many containers racing at once.
    const concurrent = await Promise.all(
      Array.from({ length: 50 }, (_, i) => use(token.id, t0 + 50_000 + i)),
    );
    expect([...sequential, ...concurrent].filter(Boolean)).toHaveLength(1);
    expect(sequential[0]).toBe(true);

    const after = await itemOf(token.id);
    if (after === undefined) throw new Error('token item gone');
    expect(itemToToken(after).lastUsedAt).toBe(new Date(t0).toISOString());
    // Nothing but lastUsedAt changed.
    expect({ ...after, lastUsedAt: null }).toEqual(before);

    const later = t0 + INTERVAL_MS + 1;
    await expect(use(token.id, later)).resolves.toBe(true);
    expect((await itemOf(token.id))?.lastUsedAt).toBe(new Date(later).toISOString());
    await expect(use(token.id, later + 1)).resolves.toBe(false);
  });

  it('writes over a lastUsedAt older than the interval, not over one inside it', async () => {
    const now = Date.now();
    const stale = await storeToken({ lastUsedAt: new Date(now - 2 * INTERVAL_MS).toISOString() });
    await expect(use(stale.id, now)).resolves.toBe(true);
    const fresh = await storeToken({ lastUsedAt: new Date(now - 1_000).toISOString() });
    await expect(use(fresh.id, now)).resolves.toBe(false);
    expect((await itemOf(fresh.id))?.lastUsedAt).toBe(new Date(now - 1_000).toISOString());
  });

  it('a token that is not there answers false and creates nothing', async () => {
    const missing = tokenRecord();
    await expect(use(missing.id, Date.now())).resolves.toBe(false);
    expect(await itemOf(missing.id)).toBeUndefined();
  });
});
