import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { itemToToken, slotFor, slotToItem, tokenToItem } from '../../lambdas/adapters/items.js';
import { KEYS } from '../../lambdas/adapters/table-definition.js';
import type { ManagementRouteName } from '../../lambdas/contract/routes.js';
import type { CallerContext } from '../../lambdas/core/caller-context.js';
import type { AuditEvent, TokenRecord, TokenView } from '../../lambdas/core/model.js';
import { createTestTable, dynamoEndpoint, type TestTable } from '../support/dynamo.js';
import { stubHandlerEnv } from '../support/env.js';
import { type ManagementClient, managementClient, type RouteRequest } from '../support/management-client.js';
import { adminContext, captureLogs, expectContractError, memberContext } from '../support/proxy-events.js';

// The token lifecycle end to end on DynamoDB Local, through the real handlers: edit, rotate,
// revoke all, token access, and the audit trail each of them leaves.

type CreatedView = TokenView & { secret: string };
const PER_USER_LIMIT = 5;
const alice = memberContext({ userId: 'alice', email: 'alice@example.com' });
const admin = adminContext({ userId: 'root' });

describe('token lifecycle on DynamoDB Local', () => {
  let table: TestTable;
  let client: ManagementClient;
  const secrets: string[] = [];
  let logs: ReturnType<typeof captureLogs>;

  beforeAll(async () => {
    table = await createTestTable();
    stubHandlerEnv({
      tableName: table.tableName,
      dynamoEndpoint: dynamoEndpoint(),
      policy: { maxActiveTokensPerUser: PER_USER_LIMIT },
    });
    client = await managementClient();
    logs = captureLogs();
  });
  afterAll(async () => {
    logs.restore();
    vi.unstubAllEnvs();
    await table.drop();
  });

  const call = (name: ManagementRouteName, request: RouteRequest) => client.call(name, request);

  async function create(caller: CallerContext, body: object = {}): Promise<CreatedView> {
    const result = await call('createToken', {
      caller,
      body: { name: 'lifecycle', scopes: ['content:read'], ...body },
    });
    expect(result.status).toBe(201);
    const created = result.json as CreatedView;
    secrets.push(created.secret);
    return created;
  }
  const tryCreate = (caller: CallerContext) =>
    call('createToken', {
      caller,
      body: { name: 'x', scopes: ['content:read'] },
    });
  const patch = (caller: CallerContext, id: string, body: object) =>
    call('updateToken', { pathParameters: { id }, caller, body });
  const rotate = (caller: CallerContext, id: string, body?: object) =>
    call('rotateToken', { pathParameters: { id }, caller, body });
  const revokeAll = (caller: CallerContext, query: Record<string, string> = {}) =>
    call('revokeAllTokens', { caller, query });
  const setAccess = (caller: CallerContext, userId: string, enabled: boolean) =>
    call('setUserTokenAccess', {
      pathParameters: { userId },
      caller,
      body: { enabled },
    });
  const auditOf = async (caller: CallerContext, query: Record<string, string>): Promise<AuditEvent[]> => {
    const result = await call('listAuditEvents', { caller, query });
    expect(result.status).toBe(200);
    return (result.json as { items: AuditEvent[] }).items;
  };

  async function item(key: Record<string, string>): Promise<Record<string, unknown> | undefined> {
    const { Item } = await table.documentClient.send(
      new GetCommand({ TableName: table.tableName, Key: key, ConsistentRead: true }),
    );
    return Item;
  }
  async function tokenItem(id: string): Promise<TokenRecord> {
    const stored = await item(KEYS.token(id));
    if (stored === undefined) throw new Error(`no token ${id}`);
    return itemToToken(stored);
  }
  const activeCount = async (key: Record<string, string>) => Number((await item(key))?.active ?? 0);

  it('PATCH: the token, its credential and its audit trail follow the edit; a no-op writes nothing', async () => {
    const created = await create(alice, { scopes: ['content:read'] });
    const edited = await patch(alice, created.id, {
      name: 'renamed',
      scopes: ['content:read', 'reports:read'],
      allowedIps: ['203.0.113.7'],
    });
    expect(edited.status).toBe(200);
    expect(edited.json).toMatchObject({
      id: created.id,
      name: 'renamed',
      scopes: ['content:read', 'reports:read'],
      allowedIps: ['203.0.113.7/32'],
      hint: created.hint,
    });
    const stored = await tokenItem(created.id);
    expect(stored.version).toBe(2);
    expect(await item(KEYS.credential(stored.secretHash))).toMatchObject({
      scopes: ['content:read', 'reports:read'],
      allowedIps: ['203.0.113.7/32'],
      state: 'active',
    });

    const again = await patch(alice, created.id, { name: 'renamed' });
    expect(again.status).toBe(200);
    expect((await tokenItem(created.id)).version).toBe(2);

    expectContractError(
      await patch(memberContext({ userId: 'bob' }), created.id, { name: 'x' }),
      404,
      'NOT_FOUND',
    );
    expectContractError(await patch(alice, created.id, { scopes: ['nope:read'] }), 400, 'VALIDATION_FAILED');

    const events = await auditOf(alice, { tokenId: created.id });
    expect(events.map((event) => event.action)).toEqual(['token.updated', 'token.created']);
    expect(events[0]?.changes).toEqual([
      { field: 'name', from: 'lifecycle', to: 'renamed' },
      { field: 'scopes', from: ['content:read'], to: ['content:read', 'reports:read'] },
      { field: 'allowedIps', from: [], to: ['203.0.113.7/32'] },
    ]);
  });

  it('rotate: a new secret for the same id; the old credential ends with the grace period; then revoked → 409', async () => {
    const created = await create(alice);
    const before = await tokenItem(created.id);
    const result = await rotate(alice, created.id, { gracePeriodSeconds: 3600 });
    expect(result.status).toBe(201);
    const rotated = result.json as CreatedView;
    secrets.push(rotated.secret);
    expect(rotated.id).toBe(created.id);
    expect(rotated.secret).not.toBe(created.secret);
    expect(rotated.hint).toBe(`atk_…${rotated.secret.slice(-4)}`);

    const after = await tokenItem(created.id);
    expect(after).toMatchObject({
      version: 2,
      previousSecretHash: before.secretHash,
      rotatedAt: rotated.rotatedAt,
    });
    expect(await item(KEYS.credential(after.secretHash))).toMatchObject({
      state: 'active',
      notAfterMs: null,
    });
    const old = await item(KEYS.credential(before.secretHash));
    expect(Number(old?.notAfterMs) - Date.parse(String(rotated.rotatedAt))).toBe(3_600_000);

    // Without a body: the grace period is 0.
    const second = await rotate(alice, created.id);
    expect(second.status).toBe(201);
    secrets.push((second.json as CreatedView).secret);

    const events = await auditOf(alice, { tokenId: created.id });
    expect(events.map((event) => [event.action, event.details])).toEqual([
      ['token.rotated', { gracePeriodSeconds: 0 }],
      ['token.rotated', { gracePeriodSeconds: 3600 }],
      ['token.created', {}],
    ]);

    await call('revokeAllTokens', { caller: alice });
    expectContractError(await rotate(alice, created.id), 409, 'CONFLICT');
    expectContractError(await patch(alice, created.id, { name: 'late' }), 409, 'CONFLICT');
  });

  it('revoke all: 3 active tokens → {revoked: 3}, counters back to 0; again → {revoked: 0}', async () => {
    const owner = memberContext({ userId: 'carol', accountId: 'acct-ra' });
    const created = [await create(owner), await create(owner), await create(owner)];
    expect(await activeCount(KEYS.userLimit('acct-ra', 'carol'))).toBe(3);
    expect(await activeCount(KEYS.accountLimit('acct-ra'))).toBe(3);

    const first = await revokeAll(owner);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ revoked: 3, status: 'done' });
    for (const token of created) {
      expect(await tokenItem(token.id)).toMatchObject({ state: 'revoked', lastChange: { bulk: true } });
    }
    expect(await activeCount(KEYS.userLimit('acct-ra', 'carol'))).toBe(0);
    expect(await activeCount(KEYS.accountLimit('acct-ra'))).toBe(0);

    expect((await revokeAll(owner)).json).toMatchObject({ revoked: 0, status: 'done' });
    expect(await activeCount(KEYS.userLimit('acct-ra', 'carol'))).toBe(0);

    const events = await auditOf(owner, {});
    const actions = events.map((event) => event.action);
    expect(actions.slice(0, 2)).toEqual(['tokens.revoked-all', 'tokens.revoked-all']);
    expect(events.slice(0, 2).map((event) => event.details)).toEqual([
      { revokedCount: 0, target: 'carol' },
      { revokedCount: 3, target: 'carol' },
    ]);
    expect(actions.filter((action) => action === 'token.revoked')).toHaveLength(3);
    expect(
      events.filter((event) => event.action === 'token.revoked').every((event) => event.details.bulk),
    ).toBe(true);
    expect(actions.filter((action) => action === 'token.created')).toHaveLength(3);

    expectContractError(await revokeAll(owner, { userId: '*' }), 403, 'FORBIDDEN');
  });

  it("an admin revokes the whole account's active tokens, not another account's", async () => {
    const one = memberContext({ userId: 'u1', accountId: 'acct-wide' });
    const two = memberContext({ userId: 'u2', accountId: 'acct-wide' });
    const outsider = memberContext({ userId: 'u1', accountId: 'acct-other' });
    await create(one);
    await create(two);
    const kept = await create(outsider);
    const result = await revokeAll(adminContext({ accountId: 'acct-wide' }), { userId: '*' });
    expect(result.json).toMatchObject({ revoked: 2, status: 'done' });
    expect(await activeCount(KEYS.accountLimit('acct-wide'))).toBe(0);
    expect((await tokenItem(kept.id)).state).toBe('active');
  });

  it('token access: disable → credentials disabled, create and rotate 403; enable → create works', async () => {
    const dave = memberContext({ userId: 'dave' });
    const token = await create(dave);
    const disabled = await setAccess(admin, 'dave', false);
    expect(disabled.status).toBe(200);
    expect(disabled.json).toMatchObject({
      userId: 'dave',
      enabled: false,
      updatedBy: 'root',
      tokensAffected: 1,
    });
    const stored = await tokenItem(token.id);
    expect(await item(KEYS.credential(stored.secretHash))).toMatchObject({ disabled: true });

    expectContractError(await tryCreate(dave), 403, 'FORBIDDEN');
    expectContractError(await rotate(dave, token.id), 403, 'FORBIDDEN');
    expect((await setAccess(admin, 'dave', false)).json).toMatchObject({ enabled: false, tokensAffected: 0 });
    const own = await call('getUserTokenAccess', {
      pathParameters: { userId: 'dave' },
      caller: dave,
    });
    expect(own.json).toMatchObject({ enabled: false, tokensAffected: 0 });
    expectContractError(await setAccess(dave, 'dave', true), 403, 'FORBIDDEN');

    expect((await setAccess(admin, 'dave', true)).json).toMatchObject({ enabled: true, tokensAffected: 1 });
    expect(await item(KEYS.credential(stored.secretHash))).toMatchObject({ disabled: false });
    await create(dave);

    const events = await auditOf(admin, { userId: 'dave' });
    expect(events.map((event) => event.action)).toEqual([
      'token.created',
      'user.token-access-enabled',
      'user.token-access-disabled',
      'token.created',
    ]);
    expectContractError(
      await call('listAuditEvents', {
        caller: alice,
        query: { userId: 'dave' },
      }),
      403,
      'FORBIDDEN',
    );
  });

  it('at the limit, an expired token still holding its slot is released and the create goes through', async () => {
    const erin = memberContext({ userId: 'erin' });
    const created: CreatedView[] = [];
    for (let index = 0; index < PER_USER_LIMIT; index++) created.push(await create(erin));
    expectContractError(await tryCreate(erin), 409, 'LIMIT_EXCEEDED');
    // One of them expires (TTL has not deleted it yet): rewrite its token and slot items as such.
    const [first] = created;
    if (first === undefined) throw new Error('nothing created');
    const expired: TokenRecord = {
      ...(await tokenItem(first.id)),
      // Just now: after it was created, so its token.expired event sorts after token.created.
      expiresAt: new Date(Date.now() - 1).toISOString(),
    };
    for (const written of [tokenToItem(expired), slotToItem(slotFor(expired))]) {
      await table.documentClient.send(new PutCommand({ TableName: table.tableName, Item: written }));
    }
    await create(erin);
    expect(await activeCount(KEYS.userLimit('acct-1', 'erin'))).toBe(PER_USER_LIMIT);
    const events = await auditOf(erin, { tokenId: first.id });
    expect(events.map((event) => event.action)).toEqual(['token.expired', 'token.created']);
  });

  it('audit: a token is "not found" for others; admins of the account see it; cursors page', async () => {
    const created = await create(alice);
    await patch(alice, created.id, { name: 'one' });
    await patch(alice, created.id, { name: 'two' });
    expectContractError(
      await call('listAuditEvents', {
        caller: memberContext({ userId: 'bob' }),
        query: { tokenId: created.id },
      }),
      404,
      'NOT_FOUND',
    );
    expectContractError(
      await call('listAuditEvents', {
        caller: adminContext({ accountId: 'acct-2' }),
        query: { tokenId: created.id },
      }),
      404,
      'NOT_FOUND',
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const result = await call('listAuditEvents', {
        caller: admin,
        query: { tokenId: created.id, limit: '2', ...(cursor === null ? {} : { cursor }) },
      });
      expect(result.status).toBe(200);
      const page = result.json as { items: AuditEvent[]; nextCursor: string | null };
      seen.push(...page.items.map((event) => event.action));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(['token.updated', 'token.updated', 'token.created']);
  });

  it('no secret, hash or hint of any secret is in an audit event, and no secret in any item or log line', async () => {
    expect(secrets.length).toBeGreaterThan(10);
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await table.documentClient.send(
        new ScanCommand({ TableName: table.tableName, ExclusiveStartKey: startKey }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    const audits = items.filter((candidate) => candidate.entity === 'audit');
    expect(audits.length).toBeGreaterThan(20);
    const hashes = items
      .filter((candidate) => candidate.entity === 'credential')
      .map((c) => String(c.secretHash));
    const auditText = JSON.stringify(audits);
    for (const hash of hashes) expect(auditText).not.toContain(hash);
    expect(auditText).not.toContain('atk_');
    const stored = JSON.stringify(items);
    const logText = logs.lines().join('\n');
    for (const secret of secrets) {
      expect(stored).not.toContain(secret.slice(4, 36));
      expect(logText).not.toContain(secret.slice(4, 36));
    }
  });
});
