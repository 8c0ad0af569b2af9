import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoIdempotencyStore, idempotencyItemKey } from '../../lambdas/adapters/idempotency-store.js';
import type { ClaimRequest } from '../../lambdas/core/notifications/notifier.js';
import { createTestTable, type TestTable } from '../support/dynamo.js';

// The idempotency store's conditional writes on DynamoDB Local: one claim wins, a sent record is
// final, a released claim can be taken again, a lapsed one is maybe sent and never taken over.

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
    await expect(store.claim(claim)).resolves.toEqual({
      status: 'in-progress',
      leaseUntilMs: claim.leaseUntilMs,
    });
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

  it('a lapsed claim is never taken over: it is maybe sent, marked so, and then done', async () => {
    const claim = request({ leaseUntilMs: Date.now() - 1 });
    const stale = await store.claim(claim);
    if (stale.status !== 'claimed') throw new Error('not claimed');
    await expect(store.claim({ ...claim, leaseUntilMs: Date.now() + 120_000 })).resolves.toEqual({
      status: 'lapsed',
      claimId: stale.claimId,
    });
    await store.markMaybeSent(claim.key, stale.claimId, new Date());
    expect(await itemOf(claim.key)).toMatchObject({ status: 'sent', maybeSent: true });
    expect(await itemOf(claim.key)).not.toHaveProperty('leaseUntil');
    await expect(store.claim(claim)).resolves.toEqual({ status: 'done' });
    // The old holder's late release changes nothing.
    await store.release(claim.key, stale.claimId);
    expect(await itemOf(claim.key)).toMatchObject({ status: 'sent' });
  });

  it('a put that succeeded but was answered too late (the SDK retried it) is still our claim', async () => {
    const claim = request();
    const fixedId = `claim-${claim.key}`;
    const retried = new DynamoIdempotencyStore(table.documentClient, table.tableName, () => fixedId);
    await expect(retried.claim(claim)).resolves.toEqual({ status: 'claimed', claimId: fixedId });
    // The same put again (as the SDK's retry of a timed-out attempt): the record holds our claim id.
    await expect(retried.claim(claim)).resolves.toEqual({ status: 'claimed', claimId: fixedId });
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
