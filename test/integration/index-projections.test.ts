import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEventToItem } from '../../lambdas/adapters/audit-items.js';
import { DynamoAuditLog } from '../../lambdas/adapters/dynamo-audit-log.js';
import { DynamoTokenRepository } from '../../lambdas/adapters/dynamo-token-repository.js';
import { DynamoExpiringTokensQuery } from '../../lambdas/adapters/expiring-tokens-query.js';
import { slotFor, slotToItem, tokenToItem } from '../../lambdas/adapters/items.js';
import {
  createTableInput,
  globalSecondaryIndexOf,
  INDEXES,
  LEGACY_INDEXES,
  PARTITIONS,
  TABLE_KEYS,
  type TableIndexes,
  TOKEN_LISTING_ATTRIBUTES,
} from '../../lambdas/adapters/table-definition.js';
import { auditEvent } from '../../lambdas/core/audit.js';
import { newTokenId } from '../../lambdas/core/ids.js';
import { type AuditEvent, type TokenRecord, toTokenView } from '../../lambdas/core/model.js';
import { ensureTable } from '../../local/table.js';
import { localDynamoClient } from '../support/dynamo.js';

// What the indexes copy (#18 item 8: "project only what the audit queries read"), on DynamoDB
// Local: the listing indexes hold a token's listing fields and the audit events, not the secret's
// hash, the owner's address or lastChange; the expiry index holds keys only. And every listing
// still returns every field it showed: each field is set (no nulls, no empty lists), so a field the
// projection left out fails the listing's parse or its comparison. The same listings on a table at
// upgrade step 3 (legacy and new indexes side by side), read through the legacy indexes, return the
// same: the functions can read either during the upgrade.

const ACCOUNT = 'acct-proj';
const OWNER = 'ann';
const DAY_MS = 86_400_000;
const NOW = Date.now();
const iso = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();

function fullToken(index: number): TokenRecord {
  const id = newTokenId();
  return {
    id,
    userId: OWNER,
    accountId: ACCOUNT,
    ownerEmail: 'ann@example.com',
    name: `deploys ${index}`,
    description: 'CI deploys of the shop',
    scopes: ['content:read', 'products:write'],
    type: 'restricted',
    allowedIps: ['198.51.100.0/24'],
    hint: 'atk_…wxyz',
    secretHash: `secret-hash-${id}`,
    keyVersion: 'v7',
    state: 'active',
    createdAt: iso(-40 * DAY_MS + index * 1000),
    expiresAt: iso(3 * DAY_MS + index * 1000),
    lastUsedAt: iso(-DAY_MS),
    rotatedAt: iso(-2 * DAY_MS),
    revokedAt: null,
    createdBy: 'admin-1',
    lastChange: {
      action: 'rotated',
      at: iso(-2 * DAY_MS),
      actorUserId: OWNER,
      actorRole: 'member',
      sourceIp: '198.51.100.7',
      userAgent: 'curl/8',
      actorEmail: 'ann@example.com',
    },
    version: 3,
    previousSecretHash: `previous-hash-${id}`,
    previousSecretNotAfter: iso(DAY_MS),
    limits: null,
  };
}

function fullEvent(token: TokenRecord, minute: number): AuditEvent {
  return auditEvent({
    action: 'token.updated',
    at: new Date(NOW - DAY_MS + minute * 60_000),
    actor: { userId: 'admin-1', role: 'admin', sourceIp: '203.0.113.9', userAgent: 'Mozilla/5.0' },
    accountId: ACCOUNT,
    subjectUserId: OWNER,
    token: { id: token.id, name: token.name },
    changes: [{ field: 'scopes', from: ['content:read'], to: ['content:read', 'products:write'] }],
    details: { note: 'set by the test', count: 2, flag: true },
  });
}

/** A token's listing fields, as the record has them. */
function listingOf(token: TokenRecord): Record<string, unknown> {
  return Object.fromEntries(
    TOKEN_LISTING_ATTRIBUTES.filter((name) => name !== 'entity').map((name) => [name, token[name]]),
  );
}

const TOKENS = [fullToken(1), fullToken(2), fullToken(3)];
const EVENTS = TOKENS.map((token, index) => fullEvent(token, index));
const newestFirst = <T>(items: T[], key: (item: T) => string) =>
  [...items].sort((a, b) => key(b).localeCompare(key(a)));

async function seededTable(step: number | undefined) {
  const client = localDynamoClient();
  const tableName = `test-${randomUUID()}`;
  await client.send(new CreateTableCommand(createTableInput(tableName, step)));
  const documentClient = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const items = [
    ...TOKENS.map(tokenToItem),
    ...TOKENS.map((token) => slotToItem(slotFor(token))),
    ...EVENTS.map((event) => auditEventToItem(event, 365)),
  ];
  for (const Item of items) await documentClient.send(new PutCommand({ TableName: tableName, Item }));
  return {
    tableName,
    documentClient,
    drop: async () => {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    },
  };
}

describe('index projections on DynamoDB Local', () => {
  let table: Awaited<ReturnType<typeof seededTable>>;
  beforeAll(async () => {
    table = await seededTable(undefined);
  });
  afterAll(async () => {
    await table.drop();
  });

  const queryIndex = async (indexName: string, partitionKey: string, partition: string) => {
    const { Items = [] } = await table.documentClient.send(
      new QueryCommand({
        TableName: table.tableName,
        IndexName: indexName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': partitionKey },
        ExpressionAttributeValues: { ':pk': partition },
      }),
    );
    return Items;
  };

  it.each([
    ['byOwner', PARTITIONS.tokensOfOwner(ACCOUNT, OWNER)],
    ['byAccount', PARTITIONS.tokensOfAccount(ACCOUNT)],
  ] as const)(
    '%s copies a token listing fields, not its secret hash, owner address or lastChange',
    async (key, partition) => {
      const index = INDEXES[key];
      const items = await queryIndex(index.indexName, index.partitionKey, partition);
      expect(items).toHaveLength(TOKENS.length);
      for (const item of items) {
        for (const absent of [
          'secretHash',
          'previousSecretHash',
          'previousSecretNotAfter',
          'keyVersion',
          'ownerEmail',
          'lastChange',
          'version',
          'revokedAt',
          'ttl',
        ]) {
          expect(item, absent).not.toHaveProperty(absent);
        }
        expect(item).toMatchObject({ entity: 'token', name: expect.any(String), scopes: expect.any(Array) });
      }
    },
  );

  it('the audit events in byOwner and byAccount carry everything the audit listing shows, but not the TTL', async () => {
    const byUser = await queryIndex(
      INDEXES.byOwner.indexName,
      INDEXES.byOwner.partitionKey,
      PARTITIONS.auditOfUser(ACCOUNT, OWNER),
    );
    expect(byUser).toHaveLength(EVENTS.length);
    for (const item of byUser) expect(item).not.toHaveProperty('ttl');
  });

  it('byExpiryDay copies only keys', async () => {
    const index = INDEXES.byExpiryDay;
    const day = TOKENS[0]?.expiresAt?.slice(0, 10) ?? '';
    const items = await queryIndex(index.indexName, index.partitionKey, PARTITIONS.tokensExpiringOn(day));
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) {
      expect(Object.keys(item).sort()).toEqual(
        [TABLE_KEYS.partitionKey, TABLE_KEYS.sortKey, index.partitionKey, index.sortKey].sort(),
      );
    }
  });
});

describe.each([
  ['the current indexes', undefined, INDEXES],
  ['the legacy indexes at upgrade step 3', 3, LEGACY_INDEXES],
] as const)('every listing field round-trips through %s', (_name, step, indexes: TableIndexes) => {
  let table: Awaited<ReturnType<typeof seededTable>>;
  let repository: DynamoTokenRepository;
  let auditLog: DynamoAuditLog;
  beforeAll(async () => {
    table = await seededTable(step);
    repository = new DynamoTokenRepository(table.documentClient, table.tableName, {
      auditRetentionDays: 365,
      indexes,
    });
    auditLog = new DynamoAuditLog(table.documentClient, table.tableName, {
      auditRetentionDays: 365,
      indexes,
    });
  });
  afterAll(async () => {
    await table.drop();
  });

  it("a user's and an account's tokens: every TokenView field, as GET /tokens/{id} shows it", async () => {
    const expected = newestFirst(TOKENS, (token) => token.createdAt);
    const byOwner = await repository.listByOwner(ACCOUNT, OWNER, { limit: 10, cursor: undefined });
    const byAccount = await repository.listByAccount(ACCOUNT, { limit: 10, cursor: undefined });
    for (const page of [byOwner, byAccount]) {
      expect(page.items).toEqual(expected.map(listingOf));
      const now = new Date(NOW);
      expect(page.items.map((token) => toTokenView(token, now))).toEqual(
        expected.map((token) => toTokenView(token, now)),
      );
    }
  });

  it("a user's and an account's audit events: every field", async () => {
    const expected = newestFirst(EVENTS, (event) => event.at);
    const byUser = await auditLog.list(
      { kind: 'user', accountId: ACCOUNT, userId: OWNER },
      { limit: 10, cursor: undefined },
    );
    const byAccount = await auditLog.list(
      { kind: 'account', accountId: ACCOUNT },
      { limit: 10, cursor: undefined },
    );
    expect(byUser.items).toEqual(expected);
    expect(byAccount.items).toEqual(expected);
  });

  it("an account's limit slots (the expiry sweep's listing)", async () => {
    const holders = await repository.listSlotHolders(ACCOUNT, undefined);
    expect(holders.sort()).toEqual(TOKENS.map((token) => token.id).sort());
  });

  it('reminders: the token ids of an expiry day', async () => {
    const query = new DynamoExpiringTokensQuery(table.documentClient, table.tableName, indexes);
    const days = [...new Set(TOKENS.map((token) => token.expiresAt?.slice(0, 10) ?? ''))];
    const ids: string[] = [];
    for (const day of days) ids.push(...(await query.page(day, undefined, 100)).tokenIds);
    expect(ids.sort()).toEqual(TOKENS.map((token) => token.id).sort());
  });
});

describe('the local stack keeps its table across the index change', () => {
  it('a table kept from before (legacy indexes, with data) gets the current indexes and loses the legacy ones', async () => {
    const client = localDynamoClient();
    const tableName = `test-${randomUUID()}`;
    await client.send(
      new CreateTableCommand({
        ...createTableInput(tableName),
        GlobalSecondaryIndexes: Object.values(LEGACY_INDEXES).map(globalSecondaryIndexOf),
      }),
    );
    const documentClient = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    const token = fullToken(9);
    await documentClient.send(new PutCommand({ TableName: tableName, Item: tokenToItem(token) }));
    try {
      await expect(ensureTable(client, tableName)).resolves.toBe('indexes-upgraded');
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      expect((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName).sort()).toEqual(
        Object.values(INDEXES)
          .map((index) => index.indexName)
          .sort(),
      );
      const repository = new DynamoTokenRepository(documentClient, tableName, { auditRetentionDays: 365 });
      const page = await repository.listByOwner(ACCOUNT, OWNER, { limit: 10, cursor: undefined });
      expect(page.items).toEqual([listingOf(token)]);
      await expect(ensureTable(client, tableName)).resolves.toBe('existing');
    } finally {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    }
  });
});
