import { describe, expect, it } from 'vitest';
import type { CreateTokenRequest, ListTokensQuery } from '../../../lambdas/core/api-schemas.js';
import {
  ForbiddenError,
  LimitExceededError,
  NotFoundError,
  ValidationError,
} from '../../../lambdas/core/errors.js';
import { type HmacKey, hashToken } from '../../../lambdas/core/hashing.js';
import { newTokenId } from '../../../lambdas/core/ids.js';
import type { Caller, TokenChange, TokenRecord } from '../../../lambdas/core/model.js';
import type {
  ActiveTokenLimits,
  Clock,
  Page,
  PageRequest,
  TokenRepository,
} from '../../../lambdas/core/ports.js';
import { DEFAULT_POLICY_SETTINGS, parsePolicySettings } from '../../../lambdas/core/settings.js';
import { isWellFormedToken } from '../../../lambdas/core/token-format.js';
import {
  type CreateDeps,
  createToken,
  getToken,
  listTokens,
  MAX_QUERIES_PER_LIST,
  revokeToken,
} from '../../../lambdas/core/token-service.js';

// The use cases over in-memory ports: no mocks, no AWS.

class MemoryTokenRepository implements TokenRepository {
  readonly tokens = new Map<string, TokenRecord>();
  readonly active = new Map<string, number>();
  queries = 0;

  async create(token: TokenRecord, limits: ActiveTokenLimits): Promise<void> {
    const userKey = `${token.accountId}#${token.userId}`;
    if ((this.active.get(userKey) ?? 0) >= limits.perUser) throw new LimitExceededError('user limit');
    if ((this.active.get(token.accountId) ?? 0) >= limits.perAccount)
      throw new LimitExceededError('account limit');
    this.active.set(userKey, (this.active.get(userKey) ?? 0) + 1);
    this.active.set(token.accountId, (this.active.get(token.accountId) ?? 0) + 1);
    this.tokens.set(token.id, token);
  }

  async get(tokenId: string): Promise<TokenRecord | undefined> {
    return this.tokens.get(tokenId);
  }

  async listByOwner(accountId: string, userId: string, page: PageRequest): Promise<Page<TokenRecord>> {
    return this.page((token) => token.accountId === accountId && token.userId === userId, page);
  }

  async listByAccount(accountId: string, page: PageRequest): Promise<Page<TokenRecord>> {
    return this.page((token) => token.accountId === accountId, page);
  }

  async revoke(tokenId: string, change: TokenChange): Promise<TokenRecord | undefined> {
    const token = this.tokens.get(tokenId);
    if (token === undefined || token.state === 'revoked') return undefined;
    const revoked: TokenRecord = { ...token, state: 'revoked', revokedAt: change.at, lastChange: change };
    this.tokens.set(tokenId, revoked);
    const userKey = `${token.accountId}#${token.userId}`;
    this.active.set(userKey, (this.active.get(userKey) ?? 0) - 1);
    this.active.set(token.accountId, (this.active.get(token.accountId) ?? 0) - 1);
    return revoked;
  }

  private page(match: (token: TokenRecord) => boolean, page: PageRequest): Page<TokenRecord> {
    this.queries += 1;
    const all = [...this.tokens.values()]
      .filter(match)
      .sort((a, b) => `${b.createdAt}#${b.id}`.localeCompare(`${a.createdAt}#${a.id}`));
    const start = page.cursor === undefined ? 0 : Number(page.cursor);
    const items = all.slice(start, start + page.limit);
    const next = start + page.limit;
    return { items, nextCursor: next < all.length ? String(next) : undefined };
  }
}

class TestClock implements Clock {
  constructor(public current: Date) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

const KEY: HmacKey = { version: 'v1', material: Buffer.alloc(32, 7) };

function setup(settings = DEFAULT_POLICY_SETTINGS) {
  const repository = new MemoryTokenRepository();
  const clock = new TestClock(new Date('2025-03-01T12:00:00.000Z'));
  const deps: CreateDeps = { repository, clock, settings, keySource: { getKey: async () => KEY } };
  return { repository, clock, deps };
}

const caller = (overrides: Partial<Caller> = {}): Caller => ({
  userId: 'alice',
  accountId: 'acct-1',
  role: 'member',
  email: 'alice@example.com',
  sourceIp: '198.51.100.7',
  userAgent: 'curl/8',
  ...overrides,
});
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
    expect(repository.active.get('acct-1#alice')).toBe(0);
    clock.advance(60_000);
    await revokeToken(deps, alice, token.id);
    expect(repository.tokens.get(token.id)).toEqual(revoked);
    expect(repository.active.get('acct-1#alice')).toBe(0);
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

  it('a viewer cannot revoke', async () => {
    const { deps } = setup();
    const { token } = await createToken(deps, alice, request());
    await expect(revokeToken(deps, viewer, token.id)).rejects.toBeInstanceOf(ForbiddenError);
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
