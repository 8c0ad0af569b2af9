import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoIdempotencyStore, idempotencyItemKey } from '../../lambdas/adapters/idempotency-store.js';
import type { ClaimRequest } from '../../lambdas/core/notifications/notifier.js';
import { createTestTable, type TestTable } from '../support/dynamo.js';

// The idempotency store's conditional writes on DynamoDB Local: one claim wins, a sent record is
// final, a released or lapsed claim can be taken again.

describe('DynamoIdempotencyStore on DynamoDB Local', () => {
  let table: TestTable;
  let store: DynamoIdempotencyStore;
  let counter = 0;

  beforeAll(async () => {
    table = await createTestTable();
    store = new DynamoIdempotencyStore(table.documentClient, table.tableName);
  });

  afterAll(async () => {
    await table.drop();
  });

  function request(overrides: Partial<ClaimRequest> = {}): ClaimRequest {
    counter += 1;
    const now = new Date();
    return {
      key: `created#tok_test${counter}`,
      kind: 'created',
      tokenId: `tok_test${counter}`,
      now,
      leaseUntilMs: now.getTime() + 120_000,
      expiresAt: Math.floor(now.getTime() / 1000) + 604_800,
      ...overrides,
    };
  }

  const itemOf = async (key: string) =>
    (
      await table.documentClient.send(
        new GetCommand({ TableName: table.tableName, Key: idempotencyItemKey(key), ConsistentRead: true }),
      )
    ).Item;

  it('claims once; a second claim sees it in progress; once sent, it is done', async () => {
    const claim = request();
    const first = await store.claim(claim);
    expect(first.status).toBe('claimed');
    await expect(store.claim(claim)).resolves.toEqual({ status: 'in-progress' });
    if (first.status !== 'claimed') throw new Error('not claimed');

    await store.complete(claim.key, first.claimId, new Date(), 'ses-1');
    await expect(store.claim(claim)).resolves.toEqual({ status: 'done' });
    expect(await itemOf(claim.key)).toMatchObject({
      pk: `IDEMPOTENCY#${claim.key}`,
      sk: 'IDEMPOTENCY',
      entity: 'notification',
      status: 'sent',
      messageId: 'ses-1',
      ttl: claim.expiresAt,
    });
  });

  it('a released claim can be claimed again at once', async () => {
    const claim = request();
    const first = await store.claim(claim);
    if (first.status !== 'claimed') throw new Error('not claimed');
    await store.release(claim.key, first.claimId);
    expect(await itemOf(claim.key)).toBeUndefined();
    await expect(store.claim(claim)).resolves.toMatchObject({ status: 'claimed' });
  });

  it('a lapsed claim is taken over, and the old holder can neither complete nor release it', async () => {
    const claim = request({ leaseUntilMs: Date.now() - 1 });
    const stale = await store.claim(claim);
    if (stale.status !== 'claimed') throw new Error('not claimed');
    const fresh = await store.claim({ ...claim, leaseUntilMs: Date.now() + 120_000 });
    if (fresh.status !== 'claimed') throw new Error('not taken over');
    expect(fresh.claimId).not.toBe(stale.claimId);

    await store.complete(claim.key, stale.claimId, new Date(), 'late');
    await store.release(claim.key, stale.claimId);
    expect(await itemOf(claim.key)).toMatchObject({ status: 'pending', claimId: fresh.claimId });
  });

  it('a sent record is never taken over, whatever the lease said', async () => {
    const claim = request({ leaseUntilMs: Date.now() - 1 });
    const first = await store.claim(claim);
    if (first.status !== 'claimed') throw new Error('not claimed');
    await store.complete(claim.key, first.claimId, new Date(), undefined);
    await expect(store.claim({ ...claim, now: new Date(Date.now() + 3_600_000) })).resolves.toEqual({
      status: 'done',
    });
  });

  it('of many concurrent claims, exactly one wins', async () => {
    const claim = request();
    const results = await Promise.all(Array.from({ length: 12 }, () => store.claim(claim)));
    expect(results.filter((result) => result.status === 'claimed')).toHaveLength(1);
    expect(results.filter((result) => result.status === 'in-progress')).toHaveLength(11);
  });
});
