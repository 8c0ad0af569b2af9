import { describe, expect, it } from 'vitest';
import type { CreateTokenRequest, ListTokensQuery } from '../../../lambdas/contract/api-schemas.js';
import { DEFAULT_POLICY_SETTINGS, parsePolicySettings } from '../../../lambdas/contract/policy-settings.js';
import {
  ForbiddenError,
  LimitExceededError,
  NotFoundError,
  TokenAccessDisabledError,
  ValidationError,
} from '../../../lambdas/core/errors.js';
import { type HmacKey, hashToken } from '../../../lambdas/core/hashing.js';
import { newTokenId } from '../../../lambdas/core/ids.js';
import { isWellFormedToken } from '../../../lambdas/core/token-format.js';
import {
  type CreateDeps,
  createToken,
  getToken,
  listTokens,
  MAX_QUERIES_PER_LIST,
  revokeToken,
} from '../../../lambdas/core/token-service.js';
import { MemoryTokenRepository, TestClock, testCaller } from './memory-ports.js';

// The use cases over in-memory ports: no mocks, no AWS.

const KEY: HmacKey = { version: 'v1', material: Buffer.alloc(32, 7) };

function setup(settings = DEFAULT_POLICY_SETTINGS) {
  const repository = new MemoryTokenRepository();
  const clock = new TestClock(new Date('2025-03-01T12:00:00.000Z'));
  const deps: CreateDeps = { repository, clock, settings, keySource: { getKey: async () => KEY } };
  return { repository, clock, deps };
}

const caller = testCaller;
const alice = caller();
const bob = caller({ userId: 'bob', email: 'bob@example.com' });
const admin = caller({ userId: 'root', role: 'admin' });
const otherAdmin = caller({ userId: 'eve', accountId: 'acct-2', role: 'admin' });
const viewer = caller({ userId: 'vic', role: 'viewer' });

const request = (overrides: Partial<CreateTokenRequest> = {}): CreateTokenRequest => ({
  name: 'CI deploys',
  description: '',
  scopes: ['content:read'],
  ...overrides,
});
const query = (overrides: Partial<ListTokensQuery> = {}): ListTokensQuery => ({
  status: 'all',
  limit: 50,
  ...overrides,
});

describe('createToken', () => {
  it('stores a record with the HMAC of the secret, never the secret, and returns the secret once', async () => {
    const { deps, repository } = setup();
    const { token, secret } = await createToken(deps, alice, request({ allowedIps: ['10.0.0.1'] }));
    expect(isWellFormedToken(secret, 'atk')).toBe(true);
    expect(token.secretHash).toBe(hashToken(KEY, secret));
    expect(token.hint).toBe(`atk_…${secret.slice(-4)}`);
    expect(JSON.stringify([...repository.tokens.values()])).not.toContain(secret);
    expect(token).toMatchObject({
      userId: 'alice',
      accountId: 'acct-1',
      ownerEmail: 'alice@example.com',
      createdBy: 'alice',
      state: 'active',
      type: 'standard',
      allowedIps: ['10.0.0.1/32'],
      keyVersion: 'v1',
      createdAt: '2025-03-01T12:00:00.000Z',
      expiresAt: '2025-03-31T12:00:00.000Z',
      lastChange: {
        action: 'created',
        actorUserId: 'alice',
        actorRole: 'member',
        sourceIp: '198.51.100.7',
        userAgent: 'curl/8',
        at: '2025-03-01T12:00:00.000Z',
      },
    });
  });

  it('uses the configured prefix and issues a different secret each time', async () => {
    const { deps } = setup(parsePolicySettings({ tokenPrefix: 'acme' }));
    const first = await createToken(deps, alice, request());
    const second = await createToken(deps, alice, request());
    expect(first.secret.startsWith('acme_')).toBe(true);
    expect(first.secret).not.toBe(second.secret);
    expect(first.token.id).not.toBe(second.token.id);
  });

  it('a viewer cannot create', async () => {
    const { deps, repository } = setup();
    await expect(createToken(deps, viewer, request())).rejects.toBeInstanceOf(ForbiddenError);
    expect(repository.tokens.size).toBe(0);
  });

  it('policy violations are ValidationErrors, checked before the key is fetched', async () => {
    const { deps } = setup();
    let keyFetched = false;
    const failing: CreateDeps = {
      ...deps,
      keySource: {
        getKey: async () => {
          keyFetched = true;
          return KEY;
        },
      },
    };
    await expect(createToken(failing, alice, request({ scopes: ['nope:read'] }))).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(keyFetched).toBe(false);
  });

  it('passes the configured limits to the repository', async () => {
    const { deps } = setup(parsePolicySettings({ maxActiveTokensPerUser: 2, maxActiveTokensPerAccount: 3 }));
    await createToken(deps, alice, request());
    await createToken(deps, alice, request());
    await expect(createToken(deps, alice, request())).rejects.toBeInstanceOf(LimitExceededError);
    await createToken(deps, bob, request());
    await expect(createToken(deps, bob, request())).rejects.toBeInstanceOf(LimitExceededError);
  });
});

describe('visibility', () => {
  it('a member sees own tokens; another member and another account see "not found"', async () => {
    const { deps } = setup();
    const { token } = await createToken(deps, alice, request());
    await expect(getToken(deps, alice, token.id)).resolves.toEqual(token);
    await expect(getToken(deps, bob, token.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(getToken(deps, otherAdmin, token.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(getToken(deps, alice, newTokenId())).rejects.toBeInstanceOf(NotFoundError);
    await expect(getToken(deps, admin, token.id)).resolves.toEqual(token);
  });

  it('"not yours" and "missing" carry the same message', async () => {
    const { deps } = setup();
    const { token } = await createToken(deps, alice, request());
    const notYours = await getToken(deps, bob, token.id).catch((error: unknown) => error);
    const missing = await getToken(deps, bob, newTokenId()).catch((error: unknown) => error);
    expect(notYours).toEqual(missing);
  });
});

describe('revokeToken', () => {
  it('revokes once, records who did it, releases the limit slot; again changes nothing', async () => {
    const { deps, repository, clock } = setup();
    const { token } = await createToken(deps, alice, request());
    clock.advance(60_000);
    await revokeToken(deps, alice, token.id);
    const revoked = repository.tokens.get(token.id);
    expect(revoked).toMatchObject({
      state: 'revoked',
      revokedAt: '2025-03-01T12:01:00.000Z',
      lastChange: { action: 'revoked', actorUserId: 'alice', actorRole: 'member' },
    });
    expect(repository.activeCount('acct-1', 'alice')).toBe(0);
    clock.advance(60_000);
    await revokeToken(deps, alice, token.id);
    expect(repository.tokens.get(token.id)).toEqual(revoked);
    expect(repository.activeCount('acct-1', 'alice')).toBe(0);
  });

  it('another member or another account: not found; an admin of the account: revoked', async () => {
    const { deps, repository } = setup();
    const { token } = await createToken(deps, alice, request());
    await expect(revokeToken(deps, bob, token.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(revokeToken(deps, otherAdmin, token.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(repository.tokens.get(token.id)?.state).toBe('active');
    await revokeToken(deps, admin, token.id);
    expect(repository.tokens.get(token.id)?.lastChange).toMatchObject({
      actorUserId: 'root',
      actorRole: 'admin',
    });
  });

  it('a viewer revokes their own token (made while a member), never another user’s', async () => {
    const { deps, repository } = setup();
    const { token: others } = await createToken(deps, alice, request());
    await expect(revokeToken(deps, viewer, others.id)).rejects.toBeInstanceOf(NotFoundError);
    const { token: own } = await createToken(deps, { ...viewer, role: 'member' }, request());
    await revokeToken(deps, viewer, own.id);
    expect(repository.tokens.get(own.id)?.state).toBe('revoked');
    expect(repository.tokens.get(others.id)?.state).toBe('active');
  });
});

describe('listTokens', () => {
  async function seed() {
    const context = setup();
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) {
      context.clock.advance(1000);
      ids.push((await createToken(context.deps, alice, request({ name: `a${index}` }))).token.id);
    }
    context.clock.advance(1000);
    await createToken(context.deps, bob, request({ name: 'b0' }));
    return { ...context, ids };
  }

  it("lists the caller's own tokens, newest first", async () => {
    const { deps, ids } = await seed();
    const page = await listTokens(deps, alice, query());
    expect(page.items.map((token) => token.id)).toEqual([...ids].reverse());
    expect(page.nextCursor).toBeUndefined();
  });

  it('a member may name themselves but nobody else, nor the whole account', async () => {
    const { deps } = await seed();
    await expect(listTokens(deps, alice, query({ userId: 'alice' }))).resolves.toHaveProperty('items');
    await expect(listTokens(deps, alice, query({ userId: 'bob' }))).rejects.toBeInstanceOf(ForbiddenError);
    await expect(listTokens(deps, alice, query({ userId: '*' }))).rejects.toBeInstanceOf(ForbiddenError);
    await expect(listTokens(deps, viewer, query({ userId: '*' }))).rejects.toBeInstanceOf(ForbiddenError);
  });

  it("an admin lists a user's tokens or the whole account's, never another account's", async () => {
    const { deps } = await seed();
    expect(
      (await listTokens(deps, admin, query({ userId: 'bob' }))).items.map((token) => token.name),
    ).toEqual(['b0']);
    expect((await listTokens(deps, admin, query({ userId: '*' }))).items).toHaveLength(6);
    expect((await listTokens(deps, otherAdmin, query({ userId: '*' }))).items).toHaveLength(0);
    expect((await listTokens(deps, otherAdmin, query({ userId: 'alice' }))).items).toHaveLength(0);
  });

  it('filters by status, expired included, across repository pages', async () => {
    const { deps, ids, clock } = await seed();
    const [first, second] = ids;
    if (first === undefined || second === undefined) throw new Error('seed failed');
    await revokeToken(deps, alice, first);
    const revoked = await listTokens(deps, alice, query({ status: 'revoked', limit: 2 }));
    expect(revoked.items.map((token) => token.id)).toEqual([first]);

    clock.advance(31 * 86_400_000);
    const expired = await listTokens(deps, alice, query({ status: 'expired' }));
    expect(expired.items).toHaveLength(4);
    expect(await listTokens(deps, alice, query({ status: 'active' }))).toEqual({
      items: [],
      nextCursor: undefined,
    });
  });

  it('a filtered page never exceeds the limit and its cursor continues exactly', async () => {
    const { deps, ids } = await seed();
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listTokens(deps, alice, query({ status: 'active', limit: 2, cursor }));
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((token) => token.id));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(seen).toEqual([...ids].reverse());
  });

  it('bounds the repository reads of one filtered page', async () => {
    const { deps, repository } = setup(parsePolicySettings({ maxActiveTokensPerUser: 20 }));
    for (let index = 0; index < 12; index++) await createToken(deps, admin, request());
    repository.queries = 0;
    const page = await listTokens(deps, admin, query({ status: 'revoked', limit: 1 }));
    expect(page.items).toEqual([]);
    expect(repository.queries).toBe(MAX_QUERIES_PER_LIST);
    expect(page.nextCursor).toBeDefined();
  });
});

describe('listTokens defence in depth', () => {
  it("never returns another account's token, even if the repository's partition were shared", async () => {
    const { deps, repository } = setup();
    const { token } = await createToken(deps, caller({ userId: 'b', accountId: 'acct#a' }), request());
    // A repository whose key scheme lets `acct` + `a#b` meet `acct#a` + `b`.
    const leaky: typeof repository = Object.assign(Object.create(repository) as MemoryTokenRepository, {
      listByOwner: async () => ({ items: [token], nextCursor: undefined }),
    });
    const page = await listTokens(
      { ...deps, repository: leaky },
      caller({ userId: 'root', accountId: 'acct', role: 'admin' }),
      query({ userId: 'a#b' }),
    );
    expect(page.items).toEqual([]);
  });
});

describe('audit events of create and revoke', () => {
  it('create writes token.created with the change, by the caller; no secret, hash or hint in it', async () => {
    const { deps, repository } = setup();
    const { token, secret } = await createToken(deps, alice, request());
    const events = repository.auditLog.all();
    expect(events).toEqual([
      expect.objectContaining({
        action: 'token.created',
        at: '2025-03-01T12:00:00.000Z',
        accountId: 'acct-1',
        subjectUserId: 'alice',
        tokenId: token.id,
        tokenName: 'CI deploys',
        actor: { userId: 'alice', role: 'member', sourceIp: '198.51.100.7', userAgent: 'curl/8' },
      }),
    ]);
    const text = JSON.stringify(events);
    for (const forbidden of [secret, token.secretHash, token.hint]) expect(text).not.toContain(forbidden);
  });

  it('revoke writes token.revoked by the admin who did it, about the owner; once', async () => {
    const { deps, repository } = setup();
    const { token } = await createToken(deps, alice, request());
    await revokeToken(deps, admin, token.id);
    await revokeToken(deps, admin, token.id);
    const revoked = repository.auditLog.all().filter((event) => event.action === 'token.revoked');
    expect(revoked).toEqual([
      expect.objectContaining({
        tokenId: token.id,
        subjectUserId: 'alice',
        actor: expect.objectContaining({ userId: 'root', role: 'admin' }),
        details: {},
      }),
    ]);
  });
});

describe('createToken at the limit', () => {
  it('releases expired slots (the user, then the account) and retries once', async () => {
    const { deps, repository, clock } = setup(parsePolicySettings({ maxActiveTokensPerUser: 2 }));
    await createToken(deps, alice, request({ expiresInDays: 7 }));
    await createToken(deps, alice, request({ expiresInDays: 30 }));
    clock.advance(8 * 86_400_000);
    repository.calls = [];
    const { token } = await createToken(deps, alice, request());
    expect(repository.tokens.get(token.id)).toBeDefined();
    expect(repository.calls).toEqual([
      'create',
      'releaseExpiredSlots:acct-1:alice',
      'releaseExpiredSlots:acct-1:*',
      'create',
    ]);
    expect(repository.auditLog.all().map((event) => event.action)).toEqual([
      'token.created',
      'token.created',
      'token.expired',
      'token.created',
    ]);
  });

  it('with nothing to release, the LimitExceededError stands and nothing is retried', async () => {
    const { deps, repository } = setup(parsePolicySettings({ maxActiveTokensPerUser: 1 }));
    await createToken(deps, alice, request());
    repository.calls = [];
    await expect(createToken(deps, alice, request())).rejects.toBeInstanceOf(LimitExceededError);
    expect(repository.calls.filter((call) => call === 'create')).toHaveLength(1);
  });

  it('an account-wide expired slot of another user frees the account limit', async () => {
    const settings = parsePolicySettings({ maxActiveTokensPerUser: 2, maxActiveTokensPerAccount: 2 });
    const { deps, clock } = setup(settings);
    await createToken(deps, bob, request({ expiresInDays: 7 }));
    await createToken(deps, alice, request({ expiresInDays: 30 }));
    clock.advance(8 * 86_400_000);
    await expect(createToken(deps, alice, request())).resolves.toHaveProperty('secret');
  });

  it('a disabled user cannot create (the repository refuses)', async () => {
    const { deps, repository } = setup();
    repository.access.set('acct-1#alice', {
      accountId: 'acct-1',
      userId: 'alice',
      enabled: false,
      generation: 1,
      updatedAt: null,
      updatedBy: null,
    });
    await expect(createToken(deps, alice, request())).rejects.toBeInstanceOf(TokenAccessDisabledError);
    expect(repository.auditLog.all()).toEqual([]);
  });
});

describe('signed list cursors', () => {
  async function seeded() {
    const context = setup();
    for (let index = 0; index < 4; index++) {
      context.clock.advance(1000);
      await createToken(context.deps, alice, request({ name: `a${index}` }));
    }
    const first = await listTokens(context.deps, alice, query({ limit: 1 }));
    if (first.nextCursor === undefined) throw new Error('expected a second page');
    return { ...context, cursor: first.nextCursor };
  }

  it('the repository cursor never goes out bare', async () => {
    const { cursor } = await seeded();
    expect(cursor).not.toBe('1');
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it.each([
    ['truncated', (cursor: string) => cursor.slice(0, -1)],
    [
      'one character changed',
      (cursor: string) => `${cursor.slice(0, -1)}${cursor.endsWith('A') ? 'B' : 'A'}`,
    ],
    ['the bare repository cursor', () => '1'],
    [
      // Same top bits, other unused low bits: decodes to the same tag bytes, yet is not the cursor issued.
      'the last character re-encoded',
      (cursor: string) => {
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
        const last = alphabet.indexOf(cursor.slice(-1));
        return `${cursor.slice(0, -1)}${alphabet[last ^ 1]}`;
      },
    ],
    ['another inner cursor with the old tag', (cursor: string) => `2${cursor.slice(1)}`],
  ])('%s → ValidationError on cursor, with no repository read', async (_label, mutate) => {
    const { deps, repository, cursor } = await seeded();
    repository.queries = 0;
    const error = await listTokens(deps, alice, query({ limit: 1, cursor: mutate(cursor) })).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).details).toEqual([{ path: 'cursor', message: expect.any(String) }]);
    expect(repository.queries).toBe(0);
  });

  it("another caller's cursor, or one for another query, is refused; the same query with another limit is not", async () => {
    const { deps, cursor } = await seeded();
    const aliceAsAdmin = caller({ role: 'admin' });
    await expect(listTokens(deps, bob, query({ cursor }))).rejects.toBeInstanceOf(ValidationError);
    await expect(listTokens(deps, aliceAsAdmin, query({ cursor }))).rejects.toBeInstanceOf(ValidationError);
    await expect(listTokens(deps, alice, query({ cursor, status: 'active' }))).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(listTokens(deps, alice, query({ cursor, userId: 'alice' }))).rejects.toBeInstanceOf(
      ValidationError,
    );
    const next = await listTokens(deps, alice, query({ cursor, limit: 2 }));
    expect(next.items.map((token) => token.name)).toEqual(['a2', 'a1']);
  });

  it('a cursor sealed under another HMAC key is refused', async () => {
    const { deps, cursor } = await seeded();
    const rotatedKey = {
      ...deps,
      keySource: { getKey: async () => ({ version: 'v2', material: Buffer.alloc(32, 9) }) },
    };
    await expect(listTokens(rotatedKey, alice, query({ cursor }))).rejects.toBeInstanceOf(ValidationError);
  });
});
