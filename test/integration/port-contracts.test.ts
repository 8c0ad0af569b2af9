import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAuditLog } from '../../lambdas/adapters/dynamo-audit-log.js';
import { DynamoTokenRepository } from '../../lambdas/adapters/dynamo-token-repository.js';
import { DynamoUserAccessRepository } from '../../lambdas/adapters/dynamo-user-access.js';
import { DynamoIdempotencyStore } from '../../lambdas/adapters/idempotency-store.js';
import { auditEvent, tokenAuditEvent } from '../../lambdas/core/audit.js';
import { ConflictError, LimitExceededError, TokenAccessDisabledError } from '../../lambdas/core/errors.js';
import { hashToken } from '../../lambdas/core/hashing.js';
import type { AuditEvent, Caller, TokenChange, TokenRecord } from '../../lambdas/core/model.js';
import type { IdempotencyStore } from '../../lambdas/core/notifications/notifier.js';
import type {
  AuditLog,
  Page,
  PageRequest,
  TokenRepository,
  UserAccessRepository,
} from '../../lambdas/core/ports.js';
import { generateToken } from '../../lambdas/core/token-format.js';
import { createTestTable, type TestTable } from '../support/dynamo.js';
import {
  MemoryAuditLog,
  MemoryTokenRepository,
  MemoryUserAccessRepository,
} from '../unit/core/memory-ports.js';
import { tokenRecord } from '../unit/management/records.js';
import { MemoryIdempotencyStore } from '../unit/notifications/support.js';

// The ports' contracts, run against the in-memory fakes the use-case tests use and against the
// DynamoDB adapters on DynamoDB Local: the same observable behaviour through the port, so a fake
// cannot drift from the real thing. Adapter-specific details (items, keys, conditions) are in the
// adapters' own integration tests.

interface Ports {
  readonly tokens: TokenRepository;
  readonly access: UserAccessRepository;
  readonly audit: AuditLog;
  readonly idempotency: IdempotencyStore;
}

const RETENTION = { auditRetentionDays: 30 };
let table: TestTable;

beforeAll(async () => {
  table = await createTestTable();
});
afterAll(async () => {
  await table.drop();
});

const IMPLEMENTATIONS: readonly [string, () => Ports][] = [
  [
    'in memory',
    () => {
      const audit = new MemoryAuditLog();
      const tokens = new MemoryTokenRepository(audit);
      return {
        tokens,
        access: new MemoryUserAccessRepository(tokens),
        audit,
        idempotency: new MemoryIdempotencyStore(),
      };
    },
  ],
  [
    'DynamoDB',
    () => ({
      tokens: new DynamoTokenRepository(table.documentClient, table.tableName, RETENTION),
      access: new DynamoUserAccessRepository(table.documentClient, table.tableName, RETENTION),
      audit: new DynamoAuditLog(table.documentClient, table.tableName, RETENTION),
      idempotency: new DynamoIdempotencyStore(table.documentClient, table.tableName),
    }),
  ],
];

const key = { version: 'v1', material: randomBytes(32) };
const LIMITS = { perUser: 2, perAccount: 3, usageKeys: 10_000 };

/** A fresh account per test: the DynamoDB implementations share one table. */
const newAccount = () => `acct-${randomUUID().slice(0, 8)}`;

function callerOf(token: Pick<TokenRecord, 'accountId' | 'userId'>): Caller {
  return {
    accountId: token.accountId,
    userId: token.userId,
    role: 'member',
    email: undefined,
    sourceIp: '198.51.100.7',
    userAgent: 'vitest',
  };
}

function newToken(accountId: string, userId: string, createdAt: Date): TokenRecord {
  const { secret, hint } = generateToken('atk');
  return tokenRecord({
    accountId,
    userId,
    createdBy: userId,
    createdAt: createdAt.toISOString(),
    secretHash: hashToken(key, secret),
    hint,
  });
}

function change(action: TokenChange['action'], at = new Date()): TokenChange {
  return {
    action,
    at: at.toISOString(),
    actorUserId: 'actor',
    actorRole: 'admin',
    sourceIp: '198.51.100.7',
    userAgent: 'vitest',
  };
}

async function allPages<T>(list: (page: PageRequest) => Promise<Page<T>>, limit = 2): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await list({ limit, cursor });
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return items;
}

describe.each(IMPLEMENTATIONS)('port contracts: %s', (_name, make) => {
  let ports: Ports;
  beforeAll(() => {
    ports = make();
  });

  async function create(token: TokenRecord): Promise<TokenRecord> {
    await ports.tokens.create(
      token,
      LIMITS,
      tokenAuditEvent('token.created', callerOf(token), token, token.createdAt),
    );
    return token;
  }
  const revoke = (tokenId: string, at = new Date()) =>
    ports.tokens.revoke(tokenId, change('revoked', at), (revoked) =>
      tokenAuditEvent('token.revoked', callerOf(revoked), revoked, revoked.lastChange.at),
    );

  describe('TokenRepository', () => {
    it('reads back what it created; lists newest first, by owner and by account, across pages', async () => {
      const accountId = newAccount();
      const base = Date.now() - 60_000;
      const first = await create(newToken(accountId, 'ana', new Date(base)));
      const second = await create(newToken(accountId, 'ana', new Date(base + 1000)));
      const other = await create(newToken(accountId, 'bo', new Date(base + 2000)));

      expect(await ports.tokens.get(first.id)).toEqual(first);
      expect(await ports.tokens.get('tok_doesnotexist')).toBeUndefined();
      const byOwner = await allPages((page) => ports.tokens.listByOwner(accountId, 'ana', page), 1);
      expect(byOwner.map((token) => token.id)).toEqual([second.id, first.id]);
      const byAccount = await allPages((page) => ports.tokens.listByAccount(accountId, page));
      expect(byAccount.map((token) => token.id)).toEqual([other.id, second.id, first.id]);
    });

    it('refuses a create over the per-user and the per-account limit', async () => {
      const accountId = newAccount();
      await create(newToken(accountId, 'ana', new Date()));
      await create(newToken(accountId, 'ana', new Date()));
      await expect(create(newToken(accountId, 'ana', new Date()))).rejects.toBeInstanceOf(LimitExceededError);
      await create(newToken(accountId, 'bo', new Date()));
      await expect(create(newToken(accountId, 'cy', new Date()))).rejects.toBeInstanceOf(LimitExceededError);
      expect((await ports.tokens.listSlotHolders(accountId, 'ana')).length).toBe(2);
    });

    it('revokes once (a second revoke is undefined), and the slot it frees takes a new token', async () => {
      const accountId = newAccount();
      const token = await create(newToken(accountId, 'ana', new Date()));
      await create(newToken(accountId, 'ana', new Date()));
      const revoked = await revoke(token.id);
      expect(revoked).toMatchObject({ id: token.id, state: 'revoked', version: token.version + 1 });
      expect(await ports.tokens.get(token.id)).toMatchObject({ state: 'revoked' });
      expect(await revoke(token.id)).toBeUndefined();
      expect(await ports.tokens.listSlotHolders(accountId, 'ana')).not.toContain(token.id);
      await create(newToken(accountId, 'ana', new Date()));
    });

    it('never revokes a token that had expired by the time of the change', async () => {
      const accountId = newAccount();
      const token = await create({
        ...newToken(accountId, 'ana', new Date(Date.now() - 120_000)),
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      });
      expect(await revoke(token.id, new Date(Date.now() + 120_000))).toBeUndefined();
      expect(await ports.tokens.get(token.id)).toMatchObject({ state: 'active' });
    });

    it('applies an edit on the version it read, and refuses one on a stale version (409)', async () => {
      const accountId = newAccount();
      const token = await create(newToken(accountId, 'ana', new Date()));
      const edited: TokenRecord = {
        ...token,
        name: 'renamed',
        version: token.version + 1,
        lastChange: change('updated'),
      };
      const audit = tokenAuditEvent('token.updated', callerOf(token), edited, edited.lastChange.at);
      await ports.tokens.update(token, edited, audit);
      expect(await ports.tokens.get(token.id)).toMatchObject({ name: 'renamed', version: token.version + 1 });
      await expect(ports.tokens.update(token, { ...edited, name: 'again' }, audit)).rejects.toBeInstanceOf(
        ConflictError,
      );
      await revoke(token.id);
      await expect(
        ports.tokens.update(edited, { ...edited, version: edited.version + 1 }, audit),
      ).rejects.toBeInstanceOf(ConflictError);
    });

    it("refuses creates and edits while the owner's token access is off, and allows them once it is back", async () => {
      const accountId = newAccount();
      const token = await create(newToken(accountId, 'ana', new Date()));
      const event = (enabled: boolean): AuditEvent =>
        auditEvent({
          action: enabled ? 'user.token-access-enabled' : 'user.token-access-disabled',
          at: new Date(),
          actor: { userId: 'root', role: 'admin', sourceIp: '198.51.100.1', userAgent: 'vitest' },
          accountId,
          subjectUserId: 'ana',
        });
      const by = { at: new Date().toISOString(), actorUserId: 'root' };
      const off = await ports.access.set(accountId, 'ana', false, by, event(false));
      expect(off).toMatchObject({ changed: true, access: { enabled: false, generation: 1 } });
      expect(await ports.access.set(accountId, 'ana', false, by, event(false))).toMatchObject({
        changed: false,
      });
      expect(await ports.access.get(accountId, 'ana')).toMatchObject({ enabled: false, generation: 1 });
      expect(await ports.access.get(accountId, 'bo')).toMatchObject({ enabled: true, generation: 0 });

      await expect(create(newToken(accountId, 'ana', new Date()))).rejects.toBeInstanceOf(
        TokenAccessDisabledError,
      );
      const edited: TokenRecord = {
        ...token,
        name: 'renamed',
        version: token.version + 1,
        lastChange: change('updated'),
      };
      await expect(
        ports.tokens.update(
          token,
          edited,
          tokenAuditEvent('token.updated', callerOf(token), edited, edited.lastChange.at),
        ),
      ).rejects.toBeInstanceOf(TokenAccessDisabledError);
      expect(await ports.access.applyToCredentials(off.access, [token.id])).toBe(1);
      expect(await ports.access.applyToCredentials(off.access, [token.id])).toBe(0);

      await ports.access.set(accountId, 'ana', true, by, event(true));
      await create(newToken(accountId, 'ana', new Date()));
    });
  });

  describe('AuditLog', () => {
    it('appends once per event id and lists each scope newest first, across pages', async () => {
      const accountId = newAccount();
      const token = newToken(accountId, 'ana', new Date());
      const caller = callerOf(token);
      const base = Date.now() - 10_000;
      const events = [0, 1, 2].map((n) =>
        tokenAuditEvent('token.updated', caller, token, new Date(base + n * 1000)),
      );
      const otherUser = tokenAuditEvent(
        'token.created',
        callerOf({ accountId, userId: 'bo' }),
        {
          ...newToken(accountId, 'bo', new Date()),
        },
        new Date(base + 5000),
      );
      for (const event of [...events, otherUser]) await ports.audit.append(event);
      await ports.audit.append(events[0] as AuditEvent);

      const ids = (list: AuditEvent[]) => list.map((event) => event.id);
      const newestFirst = ids([...events].reverse());
      expect(
        ids(await allPages((page) => ports.audit.list({ kind: 'token', tokenId: token.id }, page))),
      ).toEqual(newestFirst);
      expect(
        ids(await allPages((page) => ports.audit.list({ kind: 'user', accountId, userId: 'ana' }, page))),
      ).toEqual(newestFirst);
      expect(ids(await allPages((page) => ports.audit.list({ kind: 'account', accountId }, page)))).toEqual([
        otherUser.id,
        ...newestFirst,
      ]);
    });
  });

  describe('IdempotencyStore', () => {
    const request = (keyName: string, now: Date, leaseMs = 60_000) => ({
      key: keyName,
      kind: 'created' as const,
      tokenId: 'tok_1',
      now,
      leaseUntilMs: now.getTime() + leaseMs,
      expiresAt: Math.floor(now.getTime() / 1000) + 86_400,
    });

    it('claims once; a second claim waits while the lease runs, and is done once it is marked sent', async () => {
      const keyName = `contract-${randomUUID()}`;
      const now = new Date();
      const first = await ports.idempotency.claim(request(keyName, now));
      expect(first.status).toBe('claimed');
      expect(await ports.idempotency.claim(request(keyName, now))).toMatchObject({ status: 'in-progress' });
      if (first.status !== 'claimed') return;
      await ports.idempotency.complete(keyName, first.claimId, now, 'message-1');
      expect(await ports.idempotency.claim(request(keyName, now))).toEqual({ status: 'done' });
    });

    it('a released claim can be claimed again; a lapsed one is reported lapsed, never taken over', async () => {
      const released = `contract-${randomUUID()}`;
      const now = new Date();
      const first = await ports.idempotency.claim(request(released, now));
      if (first.status !== 'claimed') throw new Error(`expected a claim, got ${first.status}`);
      await ports.idempotency.release(released, first.claimId);
      expect((await ports.idempotency.claim(request(released, now))).status).toBe('claimed');

      const lapsed = `contract-${randomUUID()}`;
      await ports.idempotency.claim(request(lapsed, now, 1_000));
      const later = new Date(now.getTime() + 5_000);
      const again = await ports.idempotency.claim(request(lapsed, later));
      expect(again.status).toBe('lapsed');
      if (again.status !== 'lapsed') return;
      await ports.idempotency.markMaybeSent(lapsed, again.claimId, later);
      expect(await ports.idempotency.claim(request(lapsed, later))).toEqual({ status: 'done' });
    });
  });
});
