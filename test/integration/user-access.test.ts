import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoUserAccessRepository } from '../../lambdas/adapters/dynamo-user-access.js';
import {
  credentialFor,
  credentialToItem,
  itemToCredential,
  tokenToItem,
} from '../../lambdas/adapters/items.js';
import { KEYS, PARTITIONS } from '../../lambdas/adapters/table-definition.js';
import { auditEvent } from '../../lambdas/core/audit.js';
import type { AuditEvent, TokenRecord, UserAccess } from '../../lambdas/core/model.js';
import { createTestTable, type TestTable } from '../support/dynamo.js';
import { tokenRecord } from '../unit/management/records.js';

// The user-access repository on DynamoDB Local: the switch and its audit event in one conditional
// transaction, and the fan-out onto credential items ordered by generation, whatever order the
// fan-outs run in.

const HOUR_MS = 3_600_000;
const RETENTION_DAYS = 30;

describe('DynamoUserAccessRepository on DynamoDB Local', () => {
  let table: TestTable;
  let repository: DynamoUserAccessRepository;

  beforeAll(async () => {
    table = await createTestTable();
    repository = new DynamoUserAccessRepository(table.documentClient, table.tableName, {
      auditRetentionDays: RETENTION_DAYS,
    });
  });
  afterAll(async () => {
    await table.drop();
  });

  const by = (actorUserId = 'root') => ({ at: new Date().toISOString(), actorUserId });

  function accessEvent(accountId: string, userId: string, enabled: boolean): AuditEvent {
    return auditEvent({
      action: enabled ? 'user.token-access-enabled' : 'user.token-access-disabled',
      at: new Date(),
      actor: { userId: 'root', role: 'admin', sourceIp: '198.51.100.1', userAgent: 'vitest' },
      accountId,
      subjectUserId: userId,
    });
  }

  async function setAccess(accountId: string, userId: string, enabled: boolean) {
    return repository.set(accountId, userId, enabled, by(), accessEvent(accountId, userId, enabled));
  }

  async function auditItemsOf(accountId: string, userId: string) {
    const { Items = [] } = await table.documentClient.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': PARTITIONS.auditOfUser(accountId, userId) },
        ConsistentRead: true,
      }),
    );
    return Items;
  }

  async function put(item: Record<string, unknown>): Promise<void> {
    await table.documentClient.send(new PutCommand({ TableName: table.tableName, Item: item }));
  }

  async function storeToken(overrides: Partial<TokenRecord>): Promise<TokenRecord> {
    const token = tokenRecord({ secretHash: `hash-${randomUUID()}`, ...overrides });
    await put(tokenToItem(token));
    await put(credentialToItem(credentialFor(token)));
    return token;
  }

  async function credentialItem(secretHash: string) {
    const { Item } = await table.documentClient.send(
      new GetCommand({ TableName: table.tableName, Key: KEYS.credential(secretHash), ConsistentRead: true }),
    );
    return Item;
  }

  async function credentialState(secretHash: string) {
    const item = await credentialItem(secretHash);
    if (item === undefined) return undefined;
    const { disabled, accessGeneration } = itemToCredential(item);
    return { disabled, accessGeneration };
  }

  it('a user never switched is enabled with generation 0', async () => {
    await expect(repository.get('acct-1', 'never')).resolves.toEqual({
      accountId: 'acct-1',
      userId: 'never',
      enabled: true,
      generation: 0,
      updatedAt: null,
      updatedBy: null,
    });
  });

  it('switches with generation + 1 and one audit event; the same switch again writes nothing', async () => {
    const at = new Date().toISOString();
    const event = accessEvent('acct-1', 'ann', false);
    const first = await repository.set('acct-1', 'ann', false, { at, actorUserId: 'root' }, event);
    const expected: UserAccess = {
      accountId: 'acct-1',
      userId: 'ann',
      enabled: false,
      generation: 1,
      updatedAt: at,
      updatedBy: 'root',
    };
    expect(first).toEqual({ access: expected, changed: true });
    await expect(repository.get('acct-1', 'ann')).resolves.toEqual(expected);
    const { Item } = await table.documentClient.send(
      new GetCommand({
        TableName: table.tableName,
        Key: KEYS.userAccess('acct-1', 'ann'),
        ConsistentRead: true,
      }),
    );
    expect(Item).toEqual({ ...KEYS.userAccess('acct-1', 'ann'), entity: 'userAccess', ...expected });

    const audits = await auditItemsOf('acct-1', 'ann');
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({
      entity: 'audit',
      id: event.id,
      action: 'user.token-access-disabled',
      ttl: Math.floor(Date.parse(event.at) / 1000) + RETENTION_DAYS * 86_400,
    });

    const again = await setAccess('acct-1', 'ann', false);
    expect(again).toEqual({ access: expected, changed: false });
    expect(await auditItemsOf('acct-1', 'ann')).toHaveLength(1);

    const enabled = await setAccess('acct-1', 'ann', true);
    expect(enabled.changed).toBe(true);
    expect(enabled.access).toMatchObject({ enabled: true, generation: 2 });
    expect(await auditItemsOf('acct-1', 'ann')).toHaveLength(2);
  });

  it('two admins switching at once: each outcome is one generation and one audit event', async () => {
    const results = await Promise.all([
      setAccess('acct-1', 'race', false),
      setAccess('acct-1', 'race', false),
      setAccess('acct-1', 'race', true),
      setAccess('acct-1', 'race', false),
    ]);
    const changes = results.filter((result) => result.changed).length;
    const final = await repository.get('acct-1', 'race');
    expect(final.generation).toBe(changes);
    expect(await auditItemsOf('acct-1', 'race')).toHaveLength(changes);
    // Every change flips the state, starting from enabled.
    expect(final.enabled).toBe(changes % 2 === 0);
  });

  it('copies the state onto current and in-grace previous credentials; skips missing tokens and credentials', async () => {
    const now = Date.now();
    const rotated = await storeToken({
      userId: 'carl',
      previousSecretHash: `hash-${randomUUID()}`,
      previousSecretNotAfter: new Date(now + HOUR_MS).toISOString(),
    });
    await put(
      credentialToItem(
        credentialFor({ ...rotated, secretHash: rotated.previousSecretHash ?? '' }, now + HOUR_MS),
      ),
    );
    const graceOver = await storeToken({
      userId: 'carl',
      previousSecretHash: `hash-${randomUUID()}`,
      previousSecretNotAfter: new Date(now - HOUR_MS).toISOString(),
    });
    // Its credential lingers until TTL deletes it; it can no longer verify, so it is left alone.
    await put(
      credentialToItem(
        credentialFor({ ...graceOver, secretHash: graceOver.previousSecretHash ?? '' }, now - HOUR_MS),
      ),
    );
    // The token is there but its credential is gone (TTL).
    const noCredential = tokenRecord({ userId: 'carl', secretHash: `hash-${randomUUID()}` });
    await put(tokenToItem(noCredential));

    const { access } = await setAccess('acct-1', 'carl', false);
    const written = await repository.applyToCredentials(access, [
      rotated.id,
      graceOver.id,
      noCredential.id,
      'tok_doesNotExist00000000000',
    ]);
    expect(written).toBe(3);
    const disabled = { disabled: true, accessGeneration: 1 };
    expect(await credentialState(rotated.secretHash)).toEqual(disabled);
    expect(await credentialState(rotated.previousSecretHash ?? '')).toEqual(disabled);
    expect(await credentialState(graceOver.secretHash)).toEqual(disabled);
    expect(await credentialState(graceOver.previousSecretHash ?? '')).toEqual({
      disabled: false,
      accessGeneration: 0,
    });
    expect(await credentialItem(noCredential.secretHash)).toBeUndefined();

    // Repeating the fan-out of the same generation writes nothing.
    await expect(repository.applyToCredentials(access, [rotated.id, graceOver.id])).resolves.toBe(0);
  });

  it('a late fan-out of an older generation never undoes a newer one', async () => {
    const tokens = await Promise.all([1, 2, 3].map(() => storeToken({ userId: 'dora' })));
    const ids = tokens.map((token) => token.id);
    const { access: disabled } = await setAccess('acct-1', 'dora', false);
    const { access: enabled } = await setAccess('acct-1', 'dora', true);
    expect([disabled.generation, enabled.generation]).toEqual([1, 2]);

    // Out of order: the enable's fan-out lands first, the disable's arrives late.
    await expect(repository.applyToCredentials(enabled, ids)).resolves.toBe(3);
    await expect(repository.applyToCredentials(disabled, ids)).resolves.toBe(0);
    for (const token of tokens) {
      expect(await credentialState(token.secretHash)).toEqual({ disabled: false, accessGeneration: 2 });
    }

    // Concurrently, in both orders: the highest generation wins every credential.
    const { access: disabledAgain } = await setAccess('acct-1', 'dora', false);
    const { access: enabledAgain } = await setAccess('acct-1', 'dora', true);
    const { access: finalDisable } = await setAccess('acct-1', 'dora', false);
    await Promise.all([
      repository.applyToCredentials(enabledAgain, ids),
      repository.applyToCredentials(finalDisable, ids),
      repository.applyToCredentials(disabledAgain, ids),
    ]);
    for (const token of tokens) {
      expect(await credentialState(token.secretHash)).toEqual({
        disabled: true,
        accessGeneration: finalDisable.generation,
      });
    }
  });

  it('fans out over many tokens', async () => {
    const tokens = await Promise.all(Array.from({ length: 20 }, () => storeToken({ userId: 'eli' })));
    const { access } = await setAccess('acct-1', 'eli', false);
    await expect(
      repository.applyToCredentials(
        access,
        tokens.map((token) => token.id),
      ),
    ).resolves.toBe(20);
    for (const token of tokens) {
      expect((await credentialState(token.secretHash))?.disabled).toBe(true);
    }
  });
});
