import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { KEYS } from '../../lambdas/adapters/table-definition.js';
import type { ManagementRouteName } from '../../lambdas/contract/routes.js';
import type { CallerContext } from '../../lambdas/core/caller-context.js';
import { newTokenId } from '../../lambdas/core/ids.js';
import type { TokenView } from '../../lambdas/core/model.js';
import { createTestTable, dynamoEndpoint, type TestTable } from '../support/dynamo.js';
import { stubHandlerEnv } from '../support/env.js';
import { type ManagementClient, managementClient, type RouteRequest } from '../support/management-client.js';
import {
  adminContext,
  captureLogs,
  expectContractError,
  memberContext,
  viewerContext,
} from '../support/proxy-events.js';

// The management handlers end to end on DynamoDB Local: the real repository, transactions,
// conditions, GSIs and cursors, with the local-file HMAC key.

type CreatedView = TokenView & { secret: string };

const alice = memberContext({ userId: 'alice', email: 'alice@example.com' });
const bob = memberContext({ userId: 'bob', email: 'bob@example.com' });
const admin = adminContext({ userId: 'root' });
const foreignAdmin = adminContext({ userId: 'eve', accountId: 'acct-2' });
const viewer = viewerContext({ userId: 'vic' });

describe('management API on DynamoDB Local', () => {
  let table: TestTable;
  let client: ManagementClient;
  const responses: { route: string; body: string }[] = [];
  const secrets: string[] = [];
  let logs: ReturnType<typeof captureLogs>;

  beforeAll(async () => {
    table = await createTestTable();
    stubHandlerEnv({ tableName: table.tableName, dynamoEndpoint: dynamoEndpoint() });
    client = await managementClient((route, result) => responses.push({ route, body: result.rawBody }));
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
      body: { name: 'integration', scopes: ['content:read'], ...body },
    });
    expect(result.status).toBe(201);
    const created = result.json as CreatedView;
    secrets.push(created.secret);
    return created;
  }
  const get = (caller: CallerContext, id: string) => call('getToken', { pathParameters: { id }, caller });
  const revoke = (caller: CallerContext, id: string) =>
    call('revokeToken', { pathParameters: { id }, caller });
  const list = (caller: CallerContext, query: Record<string, string> = {}) =>
    call('listTokens', { caller, query });

  async function item(key: Record<string, string>): Promise<Record<string, unknown> | undefined> {
    const { Item } = await table.documentClient.send(
      new GetCommand({ TableName: table.tableName, Key: key, ConsistentRead: true }),
    );
    return Item;
  }

  it('create, get, list, revoke; revoking again is a 204 with no second state change', async () => {
    const created = await create(alice, { description: 'ci', scopes: ['content:read', 'reports:write'] });
    expect(created).toMatchObject({
      status: 'active',
      userId: 'alice',
      accountId: 'acct-1',
      createdBy: 'alice',
    });

    const fetched = await get(alice, created.id);
    expect(fetched.status).toBe(200);
    const { secret: _secret, ...view } = created;
    expect(fetched.json).toEqual(view);

    const listed = await list(alice);
    expect((listed.json as { items: TokenView[] }).items.map((token) => token.id)).toContain(created.id);

    const credentialKey = KEYS.credential(String((await item(KEYS.token(created.id)))?.secretHash));
    expect(await item(credentialKey)).toMatchObject({ state: 'active', tokenId: created.id });
    expect(await item(KEYS.userLimit('acct-1', 'alice'))).toMatchObject({ active: 1, entity: 'limit' });

    expect((await revoke(alice, created.id)).status).toBe(204);
    const afterFirst = await item(KEYS.token(created.id));
    expect(afterFirst).toMatchObject({
      state: 'revoked',
      lastChange: { action: 'revoked', actorUserId: 'alice' },
    });
    expect(await item(credentialKey)).toMatchObject({ state: 'revoked' });
    expect(await item(KEYS.userLimit('acct-1', 'alice'))).toMatchObject({ active: 0 });

    const again = await revoke(alice, created.id);
    expect(again.status).toBe(204);
    expect(again.rawBody).toBe('');
    expect(await item(KEYS.token(created.id))).toEqual(afterFirst);
    expect(await item(KEYS.userLimit('acct-1', 'alice'))).toMatchObject({ active: 0 });
    expect((await get(alice, created.id)).json).toMatchObject({ status: 'revoked' });
  });

  it('an expired token still in the table is listed, and shown as expired', async () => {
    const created = await create(alice);
    const stored = await item(KEYS.token(created.id));
    const past = new Date(Date.now() - 60_000).toISOString();
    await table.documentClient.send(
      new PutCommand({ TableName: table.tableName, Item: { ...stored, expiresAt: past } }),
    );
    const listed = await list(alice, { status: 'expired' });
    expect((listed.json as { items: TokenView[] }).items).toEqual([
      expect.objectContaining({ id: created.id, status: 'expired', expiresAt: past }),
    ]);
    expect((await get(alice, created.id)).json).toMatchObject({ status: 'expired' });
    const active = await list(alice, { status: 'active' });
    expect((active.json as { items: TokenView[] }).items.map((token) => token.id)).not.toContain(created.id);
  });

  it('roles and ownership: other member and foreign admin get 404; the account admin 200; a viewer cannot create', async () => {
    const created = await create(bob);
    expectContractError(await get(alice, created.id), 404, 'NOT_FOUND');
    expectContractError(await revoke(alice, created.id), 404, 'NOT_FOUND');
    expectContractError(await get(foreignAdmin, created.id), 404, 'NOT_FOUND');
    expectContractError(await revoke(foreignAdmin, created.id), 404, 'NOT_FOUND');
    const missing = await get(alice, newTokenId());
    expect((await get(alice, created.id)).rawBody).toBe(missing.rawBody);
    expect((await item(KEYS.token(created.id)))?.state).toBe('active');

    expect((await get(admin, created.id)).status).toBe(200);
    expect((await revoke(admin, created.id)).status).toBe(204);
    expect(await item(KEYS.token(created.id))).toMatchObject({
      state: 'revoked',
      lastChange: { actorUserId: 'root', actorRole: 'admin' },
    });

    const denied = await call('createToken', {
      caller: viewer,
      body: { name: 'x', scopes: ['content:read'] },
    });
    expectContractError(denied, 403, 'FORBIDDEN');
  });

  it('a member listing with another userId gets 403; an admin lists that user and the account', async () => {
    expectContractError(await list(alice, { userId: 'bob' }), 403, 'FORBIDDEN');
    const bobs = await list(admin, { userId: 'bob' });
    expect((bobs.json as { items: TokenView[] }).items.every((token) => token.userId === 'bob')).toBe(true);
    const everyone = (await list(admin, { userId: '*' })).json as { items: TokenView[] };
    expect(new Set(everyone.items.map((token) => token.userId))).toEqual(new Set(['alice', 'bob']));
    const foreign = (await list(foreignAdmin, { userId: '*' })).json as { items: TokenView[] };
    expect(foreign.items).toEqual([]);
  });

  it('pages across several requests with limit, newest first, no duplicates, no gaps', async () => {
    const owner = memberContext({ userId: 'pager' });
    const created: CreatedView[] = [];
    for (let index = 0; index < 7; index++) created.push(await create(owner, { name: `page-${index}` }));
    const expected = [...created]
      .sort((a, b) => `${b.createdAt}#${b.id}`.localeCompare(`${a.createdAt}#${a.id}`))
      .map((token) => token.id);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const result = await list(owner, { limit: '3', ...(cursor === null ? {} : { cursor }) });
      expect(result.status).toBe(200);
      const page = result.json as { items: TokenView[]; nextCursor: string | null };
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((token) => token.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 10);
    expect(seen).toEqual(expected);
    expect(pages).toBeGreaterThanOrEqual(3);
  });

  it('a garbage or foreign cursor is a 400', async () => {
    expectContractError(await list(alice, { cursor: 'garbage' }), 400, 'VALIDATION_FAILED');
    const page = (await list(memberContext({ userId: 'pager' }), { limit: '1' })).json as {
      nextCursor: string;
    };
    expectContractError(await list(alice, { cursor: page.nextCursor }), 400, 'VALIDATION_FAILED');
  });

  it('the per-user limit holds on the real transaction, and revoking frees a slot', async () => {
    const owner = memberContext({ userId: 'limited' });
    const created: CreatedView[] = [];
    for (let index = 0; index < 10; index++) created.push(await create(owner));
    const refused = await call('createToken', {
      caller: owner,
      body: { name: 'one too many', scopes: ['content:read'] },
    });
    expectContractError(refused, 409, 'LIMIT_EXCEEDED');
    const first = created[0];
    if (first === undefined) throw new Error('nothing created');
    expect((await revoke(owner, first.id)).status).toBe(204);
    await create(owner);
    expect(await item(KEYS.userLimit('acct-1', 'limited'))).toMatchObject({ active: 10 });
  });

  it('concurrent creates in one account all succeed (conflicts on the counters are retried)', async () => {
    const callers = ['c1', 'c2', 'c3', 'c4'].map((userId) =>
      memberContext({ userId, accountId: 'acct-busy' }),
    );
    const results = await Promise.all(
      callers.map((caller) =>
        call('createToken', {
          caller,
          body: { name: 'n', scopes: ['content:read'] },
        }),
      ),
    );
    for (const result of results) secrets.push((result.json as CreatedView).secret);
    expect(results.map((result) => result.status)).toEqual([201, 201, 201, 201]);
    expect(await item(KEYS.accountLimit('acct-busy'))).toMatchObject({ active: 4 });
  });

  it('no secret is stored in any item or written to any log line, and each is returned exactly once', async () => {
    expect(secrets.length).toBeGreaterThan(20);
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await table.documentClient.send(
        new ScanCommand({ TableName: table.tableName, ExclusiveStartKey: startKey }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    expect(items.length).toBeGreaterThan(secrets.length);
    const stored = JSON.stringify(items);
    const logged = logs.lines();
    expect(logged.length).toBeGreaterThan(0);
    const logText = logged.join('\n');
    for (const secret of secrets) {
      expect(stored).not.toContain(secret);
      // Nor any long piece of it.
      expect(stored).not.toContain(secret.slice(4, 36));
      expect(logText).not.toContain(secret.slice(4, 36));
      const carriers = responses.filter((response) => response.body.includes(secret));
      expect(carriers).toHaveLength(1);
      expect(carriers[0]?.route).toBe('createToken');
    }
  });
});
