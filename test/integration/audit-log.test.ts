import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditPartitionOf } from '../../lambdas/adapters/audit-items.js';
import { DynamoAuditLog, encodeAuditCursor } from '../../lambdas/adapters/dynamo-audit-log.js';
import { KEYS } from '../../lambdas/adapters/table-definition.js';
import { auditEvent } from '../../lambdas/core/audit.js';
import { ValidationError } from '../../lambdas/core/errors.js';
import { newTokenId } from '../../lambdas/core/ids.js';
import type { AuditAction, AuditEvent } from '../../lambdas/core/model.js';
import type { AuditScope } from '../../lambdas/core/ports.js';
import { createTestTable, type TestTable } from '../support/dynamo.js';

// The audit log on DynamoDB Local: a token's events from the base table, a user's and an account's
// from the indexes, newest first, paged without gaps or duplicates; cursors that do not belong to
// the listing are 400s.

const RETENTION_DAYS = 90;
const T0 = Date.parse('2026-03-01T10:00:00.000Z');

describe('DynamoAuditLog on DynamoDB Local', () => {
  let table: TestTable;
  let log: DynamoAuditLog;
  let minute = 0;
  const tokenA = { id: newTokenId(), name: 'deploys' };
  const tokenB = { id: newTokenId(), name: 'reports' };
  const tokenOther = { id: newTokenId(), name: 'elsewhere' };
  const events: AuditEvent[] = [];

  function event(
    action: AuditAction,
    accountId: string,
    subjectUserId: string,
    token?: { id: string; name: string },
  ): AuditEvent {
    minute += 1;
    return auditEvent({
      action,
      at: new Date(T0 + minute * 60_000),
      actor: { userId: subjectUserId, role: 'member', sourceIp: '203.0.113.9', userAgent: 'vitest' },
      accountId,
      subjectUserId,
      token,
      ...(action === 'token.updated'
        ? { changes: [{ field: 'scopes', from: ['content:read'], to: ['content:read', 'reports:read'] }] }
        : {}),
      ...(action === 'token.rotated' ? { details: { gracePeriodSeconds: 3600 } } : {}),
    });
  }

  beforeAll(async () => {
    table = await createTestTable();
    log = new DynamoAuditLog(table.documentClient, table.tableName, { auditRetentionDays: RETENTION_DAYS });
    events.push(
      event('token.created', 'acct-1', 'ann', tokenA),
      event('token.created', 'acct-1', 'bob', tokenB),
      event('token.updated', 'acct-1', 'ann', tokenA),
      event('user.token-access-disabled', 'acct-1', 'ann'),
      event('token.rotated', 'acct-1', 'ann', tokenA),
      event('token.created', 'acct-2', 'ann', tokenOther),
      event('user.token-access-enabled', 'acct-1', 'ann'),
      event('token.revoked', 'acct-1', 'bob', tokenB),
      event('token.updated', 'acct-1', 'ann', tokenA),
      event('token.revoked', 'acct-1', 'ann', tokenA),
    );
    // Appended out of order: the listing order comes from the keys, not from the writes.
    for (const item of [...events].reverse()) await log.append(item);
  });
  afterAll(async () => {
    await table.drop();
  });

  const newestFirst = (predicate: (event: AuditEvent) => boolean) =>
    events.filter(predicate).sort((a, b) => b.at.localeCompare(a.at));

  async function listAll(scope: AuditScope, limit: number): Promise<{ items: AuditEvent[]; pages: number }> {
    const items: AuditEvent[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await log.list(scope, { limit, cursor });
      items.push(...page.items);
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== undefined && pages < 50);
    return { items, pages };
  }

  it("lists a token's events newest first, exactly as appended", async () => {
    const page = await log.list({ kind: 'token', tokenId: tokenA.id }, { limit: 50, cursor: undefined });
    expect(page.items).toEqual(newestFirst((e) => e.tokenId === tokenA.id));
    expect(page.nextCursor).toBeUndefined();
  });

  it('pages through a listing with no duplicates and no gaps', async () => {
    for (const [scope, predicate] of [
      [{ kind: 'token', tokenId: tokenA.id }, (e: AuditEvent) => e.tokenId === tokenA.id],
      [
        { kind: 'user', accountId: 'acct-1', userId: 'ann' },
        (e: AuditEvent) => e.accountId === 'acct-1' && e.subjectUserId === 'ann',
      ],
      [{ kind: 'account', accountId: 'acct-1' }, (e: AuditEvent) => e.accountId === 'acct-1'],
    ] as const) {
      const expected = newestFirst(predicate);
      for (const limit of [1, 2, 3]) {
        const { items, pages } = await listAll(scope, limit);
        expect(items.map((e) => e.id)).toEqual(expected.map((e) => e.id));
        expect(pages).toBeGreaterThanOrEqual(Math.ceil(expected.length / limit));
      }
    }
  });

  it("a user's events include those about no token; an account's never another account's", async () => {
    const ann = await listAll({ kind: 'user', accountId: 'acct-1', userId: 'ann' }, 100);
    expect(ann.items.map((e) => e.action)).toEqual([
      'token.revoked',
      'token.updated',
      'user.token-access-enabled',
      'token.rotated',
      'user.token-access-disabled',
      'token.updated',
      'token.created',
    ]);
    const bob = await listAll({ kind: 'user', accountId: 'acct-1', userId: 'bob' }, 100);
    expect(bob.items).toEqual(newestFirst((e) => e.subjectUserId === 'bob'));
    const other = await listAll({ kind: 'account', accountId: 'acct-2' }, 100);
    expect(other.items).toEqual(newestFirst((e) => e.accountId === 'acct-2'));
    const annElsewhere = await listAll({ kind: 'user', accountId: 'acct-2', userId: 'ann' }, 100);
    expect(annElsewhere.items.map((e) => e.tokenId)).toEqual([tokenOther.id]);
    const nobody = await log.list({ kind: 'account', accountId: 'acct-3' }, { limit: 10, cursor: undefined });
    expect(nobody).toEqual({ items: [], nextCursor: undefined });
  });

  it('appending the same event again writes nothing new', async () => {
    const first = events[0];
    if (first === undefined) throw new Error('no events');
    await log.append(first);
    await log.append({ ...first });
    const page = await log.list({ kind: 'token', tokenId: tokenA.id }, { limit: 50, cursor: undefined });
    expect(page.items.filter((e) => e.id === first.id)).toHaveLength(1);
  });

  it('keeps each event for the retention period (TTL = at + retention days)', async () => {
    for (const e of events) {
      const { Item } = await table.documentClient.send(
        new GetCommand({
          TableName: table.tableName,
          Key: KEYS.audit(auditPartitionOf(e), e.at, e.id),
          ConsistentRead: true,
        }),
      );
      expect(Item?.ttl).toBe(Math.floor(Date.parse(e.at) / 1000) + RETENTION_DAYS * 86_400);
    }
  });

  it('refuses cursors that are garbage or belong to another listing with a ValidationError on `cursor`', async () => {
    const tokenScope: AuditScope = { kind: 'token', tokenId: tokenA.id };
    const userScope: AuditScope = { kind: 'user', accountId: 'acct-1', userId: 'ann' };
    const accountScope: AuditScope = { kind: 'account', accountId: 'acct-1' };
    const cursorOf = async (scope: AuditScope) => {
      const { nextCursor } = await log.list(scope, { limit: 1, cursor: undefined });
      if (nextCursor === undefined) throw new Error('expected a second page');
      return nextCursor;
    };
    const tokenCursor = await cursorOf(tokenScope);
    const userCursor = await cursorOf(userScope);
    const accountCursor = await cursorOf(accountScope);
    const decoded = JSON.parse(Buffer.from(userCursor, 'base64url').toString('utf8')) as Record<
      string,
      string
    >;

    const foreign: [AuditScope, string][] = [
      [{ kind: 'token', tokenId: tokenB.id }, tokenCursor],
      [tokenScope, userCursor],
      [userScope, tokenCursor],
      [userScope, accountCursor],
      [{ kind: 'user', accountId: 'acct-1', userId: 'bob' }, userCursor],
      [{ kind: 'user', accountId: 'acct-2', userId: 'ann' }, userCursor],
      [accountScope, userCursor],
      [{ kind: 'account', accountId: 'acct-2' }, accountCursor],
      [tokenScope, 'not a cursor!'],
      [tokenScope, 'e30'],
      [tokenScope, Buffer.from('[1,2]').toString('base64url')],
      [tokenScope, Buffer.from('{"pk":').toString('base64url')],
      [userScope, encodeAuditCursor({ ...decoded, extra: 'x' })],
      [userScope, encodeAuditCursor({ ...decoded, sk: 123 })],
      [userScope, encodeAuditCursor({ ...decoded, sk: `${decoded.sk ?? ''}x#y` })],
      [userScope, encodeAuditCursor({ ...decoded, gsi1sk: '2099-01-01T00:00:00.000Z#evt_x' })],
      [userScope, encodeAuditCursor({ ...decoded, pk: 'TOKEN#tok_x' })],
      [userScope, encodeAuditCursor({ ...decoded, sk: 'x'.repeat(600) })],
    ];
    for (const [scope, cursor] of foreign) {
      const error = await log.list(scope, { limit: 5, cursor }).catch((caught: unknown) => caught);
      expect(error, `${scope.kind} ${cursor}`).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).details).toEqual([{ path: 'cursor', message: expect.any(String) }]);
    }

    // Each cursor still works for its own listing.
    await expect(log.list(tokenScope, { limit: 50, cursor: tokenCursor })).resolves.toMatchObject({
      nextCursor: undefined,
    });
    await expect(log.list(userScope, { limit: 50, cursor: userCursor })).resolves.toMatchObject({
      nextCursor: undefined,
    });
  });
});
