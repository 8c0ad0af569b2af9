import { describe, expect, it } from 'vitest';
import type { ListAuditEventsQuery } from '../../../lambdas/contract/api-schemas.js';
import { DEFAULT_POLICY_SETTINGS } from '../../../lambdas/contract/policy-settings.js';
import { listAuditEvents } from '../../../lambdas/core/audit-service.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../../../lambdas/core/errors.js';
import type { HmacKey } from '../../../lambdas/core/hashing.js';
import { newTokenId } from '../../../lambdas/core/ids.js';
import { createToken, revokeToken } from '../../../lambdas/core/token-service.js';
import { getUserTokenAccess, setUserTokenAccess } from '../../../lambdas/core/user-access-service.js';
import { MemoryTokenRepository, MemoryUserAccessRepository, TestClock, testCaller } from './memory-ports.js';

// Token access switches and the audit trail over in-memory ports.

const KEY: HmacKey = { version: 'v1', material: Buffer.alloc(32, 3) };

function setup() {
  const repository = new MemoryTokenRepository();
  const userAccess = new MemoryUserAccessRepository(repository);
  const clock = new TestClock(new Date('2025-03-01T12:00:00.000Z'));
  const keySource = { getKey: async () => KEY };
  return {
    repository,
    userAccess,
    clock,
    auditLog: repository.auditLog,
    tokenDeps: { repository, clock, keySource, settings: DEFAULT_POLICY_SETTINGS },
    accessDeps: { userAccess, tokens: repository, clock },
    auditDeps: { auditLog: repository.auditLog, keySource },
  };
}

const alice = testCaller();
const bob = testCaller({ userId: 'bob' });
const admin = testCaller({ userId: 'root', role: 'admin' });
const otherAdmin = testCaller({ userId: 'eve', accountId: 'acct-2', role: 'admin' });
const viewer = testCaller({ userId: 'vic', role: 'viewer' });

const request = { name: 'CI', description: '', scopes: ['content:read'] };
const query = (overrides: Partial<ListAuditEventsQuery> = {}): ListAuditEventsQuery => ({
  limit: 50,
  ...overrides,
});

describe('setUserTokenAccess / getUserTokenAccess', () => {
  it("disabling switches the user's credentials, audits it, and stops creation; enabling undoes it", async () => {
    const context = setup();
    await createToken(context.tokenDeps, alice, request);
    await createToken(context.tokenDeps, alice, request);
    context.clock.advance(1000);
    const disabled = await setUserTokenAccess(context.accessDeps, admin, 'alice', false);
    expect(disabled).toEqual({
      userId: 'alice',
      accountId: 'acct-1',
      enabled: false,
      updatedAt: '2025-03-01T12:00:01.000Z',
      updatedBy: 'root',
      tokensAffected: 2,
    });
    expect([...context.repository.credentials.values()].every((credential) => credential.disabled)).toBe(
      true,
    );
    await expect(createToken(context.tokenDeps, alice, request)).rejects.toBeInstanceOf(ForbiddenError);
    expect(context.auditLog.all().at(-1)).toMatchObject({
      action: 'user.token-access-disabled',
      accountId: 'acct-1',
      subjectUserId: 'alice',
      tokenId: null,
      actor: { userId: 'root', role: 'admin' },
    });

    context.clock.advance(1000);
    expect(await setUserTokenAccess(context.accessDeps, admin, 'alice', true)).toMatchObject({
      enabled: true,
      tokensAffected: 2,
    });
    expect(context.auditLog.all().at(-1)?.action).toBe('user.token-access-enabled');
    await expect(createToken(context.tokenDeps, alice, request)).resolves.toHaveProperty('secret');
  });

  it('switching to the state it is in changes nothing and audits nothing', async () => {
    const context = setup();
    await createToken(context.tokenDeps, alice, request);
    const before = context.auditLog.all().length;
    expect(await setUserTokenAccess(context.accessDeps, admin, 'alice', true)).toMatchObject({
      enabled: true,
      tokensAffected: 0,
      updatedAt: null,
    });
    expect(context.auditLog.all()).toHaveLength(before);
  });

  it('repeating a switch finishes a fan-out that an earlier call left half done', async () => {
    const context = setup();
    await createToken(context.tokenDeps, alice, request);
    await createToken(context.tokenDeps, alice, request);
    const flaky = Object.create(context.userAccess) as MemoryUserAccessRepository;
    flaky.applyToCredentials = async () => {
      throw new Error('DynamoDB down');
    };
    await expect(
      setUserTokenAccess({ ...context.accessDeps, userAccess: flaky }, admin, 'alice', false),
    ).rejects.toThrow('DynamoDB down');
    expect(await setUserTokenAccess(context.accessDeps, admin, 'alice', false)).toMatchObject({
      enabled: false,
      tokensAffected: 2,
    });
  });

  it('only admins switch; the target is always in the caller account', async () => {
    const context = setup();
    await createToken(context.tokenDeps, alice, request);
    await expect(setUserTokenAccess(context.accessDeps, alice, 'alice', false)).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    await expect(setUserTokenAccess(context.accessDeps, viewer, 'alice', false)).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    expect(await setUserTokenAccess(context.accessDeps, otherAdmin, 'alice', false)).toMatchObject({
      accountId: 'acct-2',
      tokensAffected: 0,
    });
    expect((await getUserTokenAccess(context.accessDeps, alice, 'alice')).enabled).toBe(true);
    await expect(createToken(context.tokenDeps, alice, request)).resolves.toHaveProperty('secret');
  });

  it('a user reads their own access; an admin anyone of the account; a member nobody else', async () => {
    const context = setup();
    await setUserTokenAccess(context.accessDeps, admin, 'bob', false);
    expect(await getUserTokenAccess(context.accessDeps, bob, 'bob')).toMatchObject({
      enabled: false,
      updatedBy: 'root',
      tokensAffected: 0,
    });
    expect(await getUserTokenAccess(context.accessDeps, viewer, 'vic')).toMatchObject({ enabled: true });
    expect(await getUserTokenAccess(context.accessDeps, admin, 'bob')).toMatchObject({ enabled: false });
    await expect(getUserTokenAccess(context.accessDeps, alice, 'bob')).rejects.toBeInstanceOf(ForbiddenError);
    expect(await getUserTokenAccess(context.accessDeps, otherAdmin, 'bob')).toMatchObject({
      accountId: 'acct-2',
      enabled: true,
    });
  });
});

describe('listAuditEvents', () => {
  async function seeded() {
    const context = setup();
    const step = () => context.clock.advance(1000);
    const aliceToken = (await createToken(context.tokenDeps, alice, request)).token;
    step();
    const bobToken = (await createToken(context.tokenDeps, bob, request)).token;
    step();
    await revokeToken(context.tokenDeps, alice, aliceToken.id);
    step();
    await setUserTokenAccess(context.accessDeps, admin, 'bob', false);
    step();
    const foreignToken = (await createToken(context.tokenDeps, testCaller({ accountId: 'acct-2' }), request))
      .token;
    return { ...context, aliceToken, bobToken, foreignToken };
  }

  it("a member sees their own events, newest first, and nobody else's", async () => {
    const context = await seeded();
    const page = await listAuditEvents(context.auditDeps, alice, query());
    expect(page.items.map((event) => event.action)).toEqual(['token.revoked', 'token.created']);
    expect(page.items.every((event) => event.subjectUserId === 'alice' && event.accountId === 'acct-1')).toBe(
      true,
    );
    await expect(listAuditEvents(context.auditDeps, alice, query({ userId: 'bob' }))).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    expect((await listAuditEvents(context.auditDeps, alice, query({ userId: 'alice' }))).items).toHaveLength(
      2,
    );
  });

  it("an admin sees the whole account by default, or one user's", async () => {
    const context = await seeded();
    const all = await listAuditEvents(context.auditDeps, admin, query());
    expect(all.items.map((event) => event.action)).toEqual([
      'user.token-access-disabled',
      'token.revoked',
      'token.created',
      'token.created',
    ]);
    const bobs = await listAuditEvents(context.auditDeps, admin, query({ userId: 'bob' }));
    expect(bobs.items.map((event) => event.action)).toEqual(['user.token-access-disabled', 'token.created']);
    const foreign = await listAuditEvents(context.auditDeps, otherAdmin, query());
    expect(foreign.items.map((event) => event.tokenId)).toEqual([context.foreignToken.id]);
  });

  it("a token's events: for its owner and the account's admins; 404 for everyone else and for no token", async () => {
    const context = await seeded();
    const mine = await listAuditEvents(context.auditDeps, alice, query({ tokenId: context.aliceToken.id }));
    expect(mine.items.map((event) => event.action)).toEqual(['token.revoked', 'token.created']);
    expect(
      (await listAuditEvents(context.auditDeps, admin, query({ tokenId: context.aliceToken.id }))).items,
    ).toHaveLength(2);
    for (const [caller, tokenId] of [
      [bob, context.aliceToken.id],
      [viewer, context.aliceToken.id],
      [otherAdmin, context.aliceToken.id],
      [admin, context.foreignToken.id],
      [alice, newTokenId()],
    ] as const) {
      await expect(listAuditEvents(context.auditDeps, caller, query({ tokenId }))).rejects.toBeInstanceOf(
        NotFoundError,
      );
    }
    await expect(
      listAuditEvents(context.auditDeps, admin, query({ tokenId: context.aliceToken.id, userId: 'bob' })),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it('pages with sealed cursors bound to the caller and the query', async () => {
    const context = await seeded();
    const first = await listAuditEvents(context.auditDeps, admin, query({ limit: 3 }));
    expect(first.items).toHaveLength(3);
    const cursor = first.nextCursor;
    if (cursor === undefined) throw new Error('expected a second page');
    expect(cursor).not.toBe('3');
    const second = await listAuditEvents(context.auditDeps, admin, query({ limit: 3, cursor }));
    expect(second.items.map((event) => event.action)).toEqual(['token.created']);
    expect(second.nextCursor).toBeUndefined();
    for (const [caller, filters] of [
      [testCaller({ userId: 'root2', role: 'admin' }), {}],
      [admin, { userId: 'bob' }],
      [admin, { tokenId: context.aliceToken.id }],
    ] as const) {
      await expect(
        listAuditEvents(context.auditDeps, caller, query({ ...filters, cursor })),
      ).rejects.toBeInstanceOf(ValidationError);
    }
    await expect(
      listAuditEvents(context.auditDeps, admin, query({ cursor: cursor.slice(1) })),
    ).rejects.toBeInstanceOf(ValidationError);
  });
});
