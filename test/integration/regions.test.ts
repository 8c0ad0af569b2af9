import { DeleteCommand, GetCommand, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoTokenRepository } from '../../lambdas/adapters/dynamo-token-repository.js';
import { KEYS, PARTITIONS } from '../../lambdas/adapters/table-definition.js';
import { auditEvent } from '../../lambdas/core/audit.js';
import type { TokenRecord, TokenView } from '../../lambdas/core/model.js';
import { ENV } from '../../lambdas/runtime/env.js';
import type { TokenAuthorizerResult } from '../../lambdas/token-authorizer/gateway.js';
import {
  captureStdout,
  evaluatePolicy,
  lambdaContext,
  methodArn,
  restRequestEvent,
  type StdoutCapture,
} from '../support/authorizer-events.js';
import { createTestTable, dynamoEndpoint, type TestTable } from '../support/dynamo.js';
import { stubHandlerEnv } from '../support/env.js';
import { type ManagementClient, managementClient } from '../support/management-client.js';
import { captureLogs, memberContext } from '../support/proxy-events.js';
import { batch, issueToken, streamRecord } from '../unit/notifications/support.js';

// Several Regions (docs/regions.md) on DynamoDB Local: two tables stand for the home Region's and an
// edge Region's replicas of the global table, and `replicate` is the replication, run when the test
// says. The management routes write home (TABLE_NAME = home); the token authorizer module is loaded
// a second time with TABLE_NAME = edge, as the edge stack deploys it. Both read the same HMAC key
// file: the multi-Region key's replicas decrypt the same key. The authorizer's in-process cache is
// off (verificationCacheSeconds 0), so what it answers is what its replica holds.

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<TokenAuthorizerResult>;
type Item = Record<string, unknown>;
type Created = TokenView & { secret: string };
type Ledger = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>;

const alice = memberContext({ userId: 'alice', email: 'alice@example.com' });

let home: TestTable;
let edge: TestTable;
let client: ManagementClient;
let edgeAuthorizer: Handler;
let homeLedger: Ledger;
let stdout: StdoutCapture;
let logs: ReturnType<typeof captureLogs>;

const keyOf = (item: Item) => `${String(item.pk)}|${String(item.sk)}`;

async function itemsOf(table: TestTable): Promise<Map<string, Item>> {
  const items = new Map<string, Item>();
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await table.documentClient.send(
      new ScanCommand({ TableName: table.tableName, ConsistentRead: true, ExclusiveStartKey }),
    );
    for (const item of page.Items ?? []) items.set(keyOf(item), item);
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey !== undefined);
  return items;
}

/** Replication from home to the edge: every item as home has it, and gone where home has none. */
async function replicate(): Promise<void> {
  const [source, target] = await Promise.all([itemsOf(home), itemsOf(edge)]);
  for (const item of source.values()) {
    await edge.documentClient.send(new PutCommand({ TableName: edge.tableName, Item: item }));
  }
  for (const [key, item] of target) {
    if (!source.has(key)) {
      await edge.documentClient.send(
        new DeleteCommand({ TableName: edge.tableName, Key: { pk: item.pk, sk: item.sk } }),
      );
    }
  }
}

const PATH = '/demo/content/items';
async function atTheEdge(secret: string): Promise<'allow' | 'refused'> {
  try {
    const result = await edgeAuthorizer(
      restRequestEvent({ authorization: `Bearer ${secret}`, method: 'GET', path: PATH, basePath: '/demo' }),
      lambdaContext(),
    );
    return evaluatePolicy(result as Parameters<typeof evaluatePolicy>[0], methodArn('GET', PATH)) === 'allow'
      ? 'allow'
      : 'refused';
  } catch (error) {
    // API Gateway's 401: the REST authorizer throws `Unauthorized` for an unknown or revoked token.
    if (error instanceof Error && error.message === 'Unauthorized') return 'refused';
    throw error;
  }
}

async function createHome(): Promise<Created> {
  const result = await client.call('createToken', {
    caller: alice,
    body: { name: 'several regions', scopes: ['content:read'] },
  });
  expect(result.status).toBe(201);
  return result.json as Created;
}

beforeAll(async () => {
  [home, edge] = await Promise.all([createTestTable(), createTestTable()]);
  const policy = { verificationCacheSeconds: 0, verificationCacheNegativeSeconds: 0 };
  stubHandlerEnv({ tableName: home.tableName, dynamoEndpoint: dynamoEndpoint(), policy });
  client = await managementClient();
  // The expiry ledger runs at home only, on the home replica's stream.
  // GLOBAL_TABLE=true, as the multi-Region home stack sets it on the ledger.
  vi.stubEnv(ENV.globalTable, 'true');
  homeLedger = (await import('../../lambdas/expiry-ledger/handler.js')).handler as unknown as Ledger;
  // The edge stack's authorizer: the same module, another container, its Region's replica.
  vi.stubEnv(ENV.tableName, edge.tableName);
  vi.resetModules();
  edgeAuthorizer = (await import('../../lambdas/token-authorizer/handler.js')).handler as unknown as Handler;
  logs = captureLogs();
  stdout = captureStdout();
});

afterAll(async () => {
  stdout.restore();
  logs.restore();
  vi.unstubAllEnvs();
  await Promise.all([home.drop(), edge.drop()]);
});

describe('one token in two Regions (a global table, replication driven by the test)', () => {
  it('a token created at home verifies at the edge once replicated, not before', async () => {
    const created = await createHome();
    expect(await atTheEdge(created.secret)).toBe('refused');
    await replicate();
    expect(await atTheEdge(created.secret)).toBe('allow');
  });

  it('a token revoked at home is refused at the edge after replication, and passes until then', async () => {
    const created = await createHome();
    await replicate();
    expect(await atTheEdge(created.secret)).toBe('allow');

    const revoked = await client.call('revokeToken', { caller: alice, pathParameters: { id: created.id } });
    expect(revoked.status).toBe(204);
    // Within replication lag the edge replica still holds the active credential.
    expect(await atTheEdge(created.secret)).toBe('allow');
    await replicate();
    expect(await atTheEdge(created.secret)).toBe('refused');
  });

  it('an edge authorizer writes nothing but lastUsedAt', async () => {
    const created = await createHome();
    await replicate();
    const before = await itemsOf(edge);
    const homeBefore = await itemsOf(home);

    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect(await atTheEdge(created.secret)).toBe('allow');
    }
    expect(await atTheEdge('atk_not-a-real-token-at-all-000000000000000000')).toBe('refused');

    const after = await itemsOf(edge);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    const changes: string[] = [];
    for (const [key, item] of after) {
      const previous = before.get(key) ?? {};
      for (const name of new Set([...Object.keys(previous), ...Object.keys(item)])) {
        if (JSON.stringify(previous[name]) !== JSON.stringify(item[name])) changes.push(`${key} ${name}`);
      }
    }
    // The token just used got its lastUsedAt, and nothing else changed anywhere.
    expect(changes).toEqual([`TOKEN#${created.id}|TOKEN lastUsedAt`]);
    // Home is untouched by the edge (until that write replicates back).
    expect(await itemsOf(home)).toEqual(homeBefore);
  });
});

describe('an expiry in another Region (TTL ran at the edge)', () => {
  const DAY_MS = 86_400_000;

  /** An active token that expired yesterday, created at home through the repository. */
  async function expiredToken(): Promise<TokenRecord> {
    const suffix = Math.random().toString(36).slice(2);
    const { token } = issueToken(
      { userId: `user-${suffix}`, accountId: `acct-${suffix}` },
      new Date(Date.now() - 31 * DAY_MS),
    );
    expect(Date.parse(token.expiresAt ?? '')).toBeLessThan(Date.now());
    const repository = new DynamoTokenRepository(home.documentClient, home.tableName, {
      auditRetentionDays: 365,
    });
    await repository.create(
      token,
      { perUser: 10, perAccount: 100, usageKeys: 10_000 },
      auditEvent({
        action: 'token.created',
        at: token.createdAt,
        actor: { userId: token.userId, role: 'member', sourceIp: null, userAgent: null },
        accountId: token.accountId,
        subjectUserId: token.userId,
        token,
      }),
    );
    return token;
  }

  const activeCount = async (key: Record<string, string>) =>
    (
      await home.documentClient.send(
        new GetCommand({ TableName: home.tableName, Key: key, ConsistentRead: true }),
      )
    ).Item?.active;

  it('its replicated REMOVE at home releases the limit slot and audits token.expired once, delivered twice', async () => {
    const token = await expiredToken();
    await replicate();
    // TTL deletes the item in the edge replica; replication deletes it at home, whose stream gets a
    // REMOVE with the item as its old image and no userIdentity.
    const { Attributes } = await edge.documentClient.send(
      new DeleteCommand({ TableName: edge.tableName, Key: KEYS.token(token.id), ReturnValues: 'ALL_OLD' }),
    );
    if (Attributes === undefined) throw new Error('the token was not replicated');
    await home.documentClient.send(
      new DeleteCommand({ TableName: home.tableName, Key: KEYS.token(token.id) }),
    );
    const removed = streamRecord('REMOVE', { oldItem: Attributes });
    const record: DynamoDBRecord = {
      ...removed,
      dynamodb: { ...removed.dynamodb, ApproximateCreationDateTime: Math.floor(Date.now() / 1000) },
    };
    expect(record.userIdentity).toBeUndefined();

    expect(await activeCount(KEYS.userLimit(token.accountId, token.userId))).toBe(1);
    for (let delivery = 0; delivery < 2; delivery += 1) {
      await expect(homeLedger(batch(record), lambdaContext('expiryLedger'))).resolves.toEqual({
        batchItemFailures: [],
      });
    }
    expect(await activeCount(KEYS.userLimit(token.accountId, token.userId))).toBe(0);
    expect(await activeCount(KEYS.accountLimit(token.accountId))).toBe(0);
    const { Items = [] } = await home.documentClient.send(
      new QueryCommand({
        TableName: home.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': PARTITIONS.auditOfToken(token.id) },
        ConsistentRead: true,
      }),
    );
    expect(Items.map((item) => String(item.action)).sort()).toEqual(['token.created', 'token.expired']);
  });
});
