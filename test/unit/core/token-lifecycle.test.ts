import { describe, expect, it } from 'vitest';
import type { CreateTokenRequest, UpdateTokenRequest } from '../../../lambdas/contract/api-schemas.js';
import { DEFAULT_POLICY_SETTINGS, parsePolicySettings } from '../../../lambdas/contract/policy-settings.js';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  TokenAccessDisabledError,
  ValidationError,
} from '../../../lambdas/core/errors.js';
import { type HmacKey, hashToken } from '../../../lambdas/core/hashing.js';
import type { AuditEvent, TokenRecord } from '../../../lambdas/core/model.js';
import { isWellFormedToken } from '../../../lambdas/core/token-format.js';
import { forEachBounded, rotateToken, updateToken } from '../../../lambdas/core/token-lifecycle.js';
import { createToken, revokeToken } from '../../../lambdas/core/token-service.js';
import { MemoryTokenRepository, revokeAllToCompletion, TestClock, testCaller } from './memory-ports.js';

// Edits, rotations and revoke-all over in-memory ports.

const KEY: HmacKey = { version: 'v2', material: Buffer.alloc(32, 7) };
const DAY_MS = 86_400_000;

function setup(settings = DEFAULT_POLICY_SETTINGS) {
  const repository = new MemoryTokenRepository();
  const clock = new TestClock(new Date('2025-03-01T12:00:00.000Z'));
  const deps = {
    repository,
    clock,
    settings,
    keySource: { getKey: async () => KEY },
    auditLog: repository.auditLog,
  };
  return { repository, clock, deps, auditLog: repository.auditLog };
}

const alice = testCaller();
const bob = testCaller({ userId: 'bob', email: 'bob@example.com' });
const admin = testCaller({ userId: 'root', role: 'admin' });
const otherAdmin = testCaller({ userId: 'eve', accountId: 'acct-2', role: 'admin' });
const viewer = testCaller({ userId: 'alice', role: 'viewer' });

const createRequest = (overrides: Partial<CreateTokenRequest> = {}): CreateTokenRequest => ({
  name: 'CI deploys',
  description: '',
  scopes: ['content:read'],
  ...overrides,
});

async function created(context: ReturnType<typeof setup>, overrides: Partial<CreateTokenRequest> = {}) {
  return (await createToken(context.deps, alice, createRequest(overrides))).token;
}

const actionsOf = (events: readonly AuditEvent[]) => events.map((event) => event.action);

describe('updateToken', () => {
  it('applies the edit, bumps the version, records who did it and the field-level diff', async () => {
    const context = setup();
    const token = await created(context);
    context.clock.advance(60_000);
    const patch: UpdateTokenRequest = {
      name: 'Deploys',
      scopes: ['content:read', 'reports:write'],
      allowedIps: ['10.0.0.7/24'],
      expiresAt: '2025-04-01T00:00:00Z',
    };
    const next = await updateToken(context.deps, admin, token.id, patch);
    expect(next).toMatchObject({
      id: token.id,
      name: 'Deploys',
      scopes: ['content:read', 'reports:write'],
      allowedIps: ['10.0.0.0/24'],
      expiresAt: '2025-04-01T00:00:00.000Z',
      secretHash: token.secretHash,
      version: 2,
      lastChange: {
        action: 'updated',
        actorUserId: 'root',
        actorRole: 'admin',
        at: '2025-03-01T12:01:00.000Z',
      },
    });
    expect(context.repository.tokens.get(token.id)).toEqual(next);
    const updated = context.auditLog.all().at(-1);
    expect(updated).toMatchObject({
      action: 'token.updated',
      tokenId: token.id,
      tokenName: 'Deploys',
      subjectUserId: 'alice',
      actor: { userId: 'root', role: 'admin' },
      changes: [
        { field: 'name', from: 'CI deploys', to: 'Deploys' },
        { field: 'scopes', from: ['content:read'], to: ['content:read', 'reports:write'] },
        { field: 'allowedIps', from: [], to: ['10.0.0.0/24'] },
        { field: 'expiresAt', from: token.expiresAt, to: '2025-04-01T00:00:00.000Z' },
      ],
    });
  });

  it('a patch that changes nothing writes nothing and returns the token as it is', async () => {
    const context = setup();
    const token = await created(context, { scopes: ['content:read', 'reports:read'] });
    context.repository.calls = [];
    const same = await updateToken(context.deps, alice, token.id, {
      name: token.name,
      description: '',
      scopes: ['reports:read', 'content:read'],
      allowedIps: [],
      expiresAt: token.expiresAt ?? undefined,
    });
    expect(same).toEqual(token);
    expect(context.repository.calls).toEqual([`get:${token.id}`]);
    expect(actionsOf(context.auditLog.all())).toEqual(['token.created']);
  });

  it('other member and other account: not found; viewer: forbidden before any read', async () => {
    const context = setup();
    const token = await created(context);
    await expect(updateToken(context.deps, bob, token.id, { name: 'x' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(updateToken(context.deps, otherAdmin, token.id, { name: 'x' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    context.repository.calls = [];
    await expect(updateToken(context.deps, viewer, token.id, { name: 'x' })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    expect(context.repository.calls).toEqual([]);
  });

  it('a revoked or expired token: ConflictError', async () => {
    const context = setup();
    const revoked = await created(context);
    await revokeToken(context.deps, alice, revoked.id);
    await expect(updateToken(context.deps, alice, revoked.id, { name: 'x' })).rejects.toBeInstanceOf(
      ConflictError,
    );
    const expiring = await created(context, { expiresInDays: 7 });
    context.clock.advance(7 * DAY_MS);
    await expect(updateToken(context.deps, alice, expiring.id, { name: 'x' })).rejects.toBeInstanceOf(
      ConflictError,
    );
  });

  it('a concurrent change (version moved on) is a ConflictError from the repository', async () => {
    const context = setup();
    const token = await created(context);
    // Reads the token as it was before the first edit landed.
    const stale = Object.create(context.repository) as MemoryTokenRepository;
    stale.get = async () => token;
    await updateToken(context.deps, alice, token.id, { name: 'first' });
    await expect(
      updateToken({ ...context.deps, repository: stale }, alice, token.id, { name: 'second' }),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(context.repository.tokens.get(token.id)?.name).toBe('first');
  });

  it.each<[string, UpdateTokenRequest, { path: string; message: RegExp }[]]>([
    [
      'an unknown scope',
      { scopes: ['content:read', 'nope:read'] },
      [{ path: 'scopes.1', message: /unknown scope/ }],
    ],
    [
      'a duplicate scope',
      { scopes: ['content:read', 'content:read'] },
      [{ path: 'scopes.1', message: /duplicate/ }],
    ],
    [
      'an invalid address',
      { allowedIps: ['10.0.0.300'] },
      [{ path: 'allowedIps.0', message: /IPv4 or IPv6/ }],
    ],
    [
      'an expiry in the past',
      { expiresAt: '2025-02-01T00:00:00Z' },
      [{ path: 'expiresAt', message: /future/ }],
    ],
    [
      'an expiry past createdAt + maxLifetimeDays',
      { expiresAt: '2025-08-29T12:00:00.001Z' },
      [{ path: 'expiresAt', message: /180 days after the token was created/ }],
    ],
    [
      'no expiry where it is not allowed',
      { expiresAt: null },
      [{ path: 'expiresAt', message: /never expire/ }],
    ],
  ])('refuses %s with the create-style detail', async (_label, patch, details) => {
    const context = setup();
    const token = await created(context);
    const error = await updateToken(context.deps, alice, token.id, patch).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).details).toEqual(
      details.map((detail) => ({ path: detail.path, message: expect.stringMatching(detail.message) })),
    );
  });

  it('the lifetime counts from creation: an edit months later cannot extend beyond it', async () => {
    const context = setup();
    const token = await created(context, { expiresInDays: 180 });
    context.clock.advance(100 * DAY_MS);
    const latest = new Date(Date.parse(token.createdAt) + 180 * DAY_MS).toISOString();
    await expect(updateToken(context.deps, alice, token.id, { expiresAt: latest })).resolves.toMatchObject({
      expiresAt: latest,
    });
  });

  it('no expiry where the policy allows it', async () => {
    const context = setup(parsePolicySettings({ allowNoExpiry: true }));
    const token = await created(context);
    await expect(updateToken(context.deps, alice, token.id, { expiresAt: null })).resolves.toMatchObject({
      expiresAt: null,
    });
  });

  it("never more scopes than the token's type allows; a required allowlist cannot be emptied", async () => {
    const context = setup();
    const token = await created(context, {
      type: 'restricted',
      scopes: ['reports:read'],
      allowedIps: ['203.0.113.0/24'],
    });
    const error = await updateToken(context.deps, alice, token.id, {
      scopes: ['reports:read', 'reports:write'],
      allowedIps: [],
    }).catch((caught: unknown) => caught);
    expect((error as ValidationError).details).toEqual([
      { path: 'scopes.1', message: 'scope "reports:write" is not allowed for token type "restricted"' },
      { path: 'allowedIps', message: expect.stringContaining('requires at least one allowed IP') },
    ]);
    await expect(
      updateToken(context.deps, alice, token.id, { scopes: ['content:read'], allowedIps: ['203.0.113.9'] }),
    ).resolves.toMatchObject({ scopes: ['content:read'], allowedIps: ['203.0.113.9/32'] });
  });
});

describe('rotateToken', () => {
  it('a new secret for the same id; the old one ends after the grace period; audit token.rotated', async () => {
    const context = setup();
    const token = await created(context);
    context.clock.advance(60_000);
    const { token: next, secret } = await rotateToken(context.deps, admin, token.id, {
      gracePeriodSeconds: 3600,
    });
    expect(isWellFormedToken(secret, 'atk')).toBe(true);
    expect(next).toMatchObject({
      id: token.id,
      secretHash: hashToken(KEY, secret),
      hint: `atk_…${secret.slice(-4)}`,
      keyVersion: 'v2',
      rotatedAt: '2025-03-01T12:01:00.000Z',
      previousSecretHash: token.secretHash,
      previousSecretNotAfter: '2025-03-01T13:01:00.000Z',
      version: 2,
      lastChange: { action: 'rotated', actorUserId: 'root', actorRole: 'admin' },
      scopes: token.scopes,
      expiresAt: token.expiresAt,
    });
    const rotated = context.auditLog.all().at(-1);
    expect(rotated).toMatchObject({
      action: 'token.rotated',
      tokenId: token.id,
      subjectUserId: 'alice',
      details: { gracePeriodSeconds: 3600 },
    });
    const text = JSON.stringify(context.auditLog.all());
    for (const forbidden of [secret, next.secretHash, token.secretHash, next.hint]) {
      expect(text).not.toContain(forbidden);
    }
  });

  it('grace 0: the previous secret ends now', async () => {
    const context = setup();
    const token = await created(context);
    const { token: next } = await rotateToken(context.deps, alice, token.id, { gracePeriodSeconds: 0 });
    expect(next.previousSecretNotAfter).toBe(context.clock.now().toISOString());
  });

  it('not found, forbidden, conflict and disabled as for the other changes', async () => {
    const context = setup();
    const token = await created(context);
    await expect(rotateToken(context.deps, bob, token.id, { gracePeriodSeconds: 0 })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(
      rotateToken(context.deps, otherAdmin, token.id, { gracePeriodSeconds: 0 }),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      rotateToken(context.deps, viewer, token.id, { gracePeriodSeconds: 0 }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    context.repository.access.set('acct-1#alice', {
      accountId: 'acct-1',
      userId: 'alice',
      enabled: false,
      generation: 1,
      updatedAt: null,
      updatedBy: null,
    });
    await expect(
      rotateToken(context.deps, alice, token.id, { gracePeriodSeconds: 0 }),
    ).rejects.toBeInstanceOf(TokenAccessDisabledError);
    context.repository.access.delete('acct-1#alice');
    await revokeToken(context.deps, alice, token.id);
    await expect(
      rotateToken(context.deps, alice, token.id, { gracePeriodSeconds: 0 }),
    ).rejects.toBeInstanceOf(ConflictError);
  });
});

describe('revokeAllTokens', () => {
  async function seeded() {
    const context = setup();
    const tokens: TokenRecord[] = [];
    for (let index = 0; index < 3; index++) tokens.push(await created(context, { name: `a${index}` }));
    const expiring = await created(context, { name: 'short', expiresInDays: 7 });
    const revoked = await created(context, { name: 'gone' });
    await revokeToken(context.deps, alice, revoked.id);
    const bobs = (await createToken(context.deps, bob, createRequest({ name: 'b0' }))).token;
    const foreign = (
      await createToken(context.deps, testCaller({ userId: 'alice', accountId: 'acct-2' }), createRequest())
    ).token;
    return { ...context, tokens, expiring, bobs, foreign };
  }

  it("revokes the caller's active tokens, each with its own bulk audit event, then tokens.revoked-all", async () => {
    const context = await seeded();
    context.clock.advance(8 * DAY_MS); // `short` has expired meanwhile: skipped, not revoked
    const before = context.auditLog.all().length;
    expect(await revokeAllToCompletion(context.deps, alice, {})).toBe(3);
    for (const token of context.tokens) {
      expect(context.repository.tokens.get(token.id)).toMatchObject({
        state: 'revoked',
        lastChange: { action: 'revoked', bulk: true, actorUserId: 'alice' },
      });
    }
    expect(context.repository.tokens.get(context.expiring.id)?.state).toBe('active');
    expect(context.repository.tokens.get(context.bobs.id)?.state).toBe('active');
    expect(context.repository.tokens.get(context.foreign.id)?.state).toBe('active');
    const events = context.auditLog.all().slice(before);
    expect(actionsOf(events).sort()).toEqual(
      ['token.revoked', 'token.revoked', 'token.revoked', 'tokens.revoked-all'].sort(),
    );
    for (const event of events.filter((candidate) => candidate.action === 'token.revoked')) {
      expect(event.details).toEqual({ bulk: true });
    }
    expect(events.find((event) => event.action === 'tokens.revoked-all')).toMatchObject({
      accountId: 'acct-1',
      subjectUserId: 'alice',
      tokenId: null,
      details: { revokedCount: 3, target: 'alice' },
    });
    context.clock.advance(1000);
    expect(await revokeAllToCompletion(context.deps, alice, {})).toBe(0);
    expect(context.auditLog.all().filter((event) => event.action === 'tokens.revoked-all')).toEqual([
      expect.objectContaining({ details: { revokedCount: 3, target: 'alice' } }),
      expect.objectContaining({ details: { revokedCount: 0, target: 'alice' } }),
    ]);
  });

  it("an admin revokes a user's or the whole account's; never another account's", async () => {
    const context = await seeded();
    expect(await revokeAllToCompletion(context.deps, admin, { userId: 'bob' })).toBe(1);
    expect(await revokeAllToCompletion(context.deps, admin, { userId: '*' })).toBe(4);
    expect(context.repository.tokens.get(context.foreign.id)?.state).toBe('active');
    const revokedAll = context.auditLog.all().filter((event) => event.action === 'tokens.revoked-all');
    expect(revokedAll.find((event) => event.details.target === '*')).toMatchObject({
      subjectUserId: 'root',
      details: { revokedCount: 4, target: '*' },
    });
    expect(await revokeAllToCompletion(context.deps, otherAdmin, { userId: 'alice' })).toBe(1);
    expect(context.repository.tokens.get(context.foreign.id)?.state).toBe('revoked');
  });

  it('a member or a viewer naming someone else or the account is forbidden; nothing is read', async () => {
    const context = await seeded();
    context.repository.calls = [];
    for (const caller of [alice, viewer]) {
      for (const userId of ['bob', '*']) {
        await expect(revokeAllToCompletion(context.deps, caller, { userId })).rejects.toBeInstanceOf(
          ForbiddenError,
        );
      }
    }
    expect(context.repository.calls).toEqual([]);
    await expect(revokeAllToCompletion(context.deps, alice, { userId: 'alice' })).resolves.toBe(4);
  });

  it('a viewer (demoted since) revokes their own tokens: revoking only reduces access', async () => {
    const context = await seeded();
    await expect(revokeAllToCompletion(context.deps, viewer, {})).resolves.toBe(4);
  });

  it('a token revoked by someone else meanwhile is not counted', async () => {
    const context = await seeded();
    const [first] = context.tokens;
    if (first === undefined) throw new Error('seed failed');
    const racing = Object.create(context.repository) as MemoryTokenRepository;
    racing.revoke = async (id, change, audit) => {
      if (id === first.id) await context.repository.revoke(id, change, audit);
      return context.repository.revoke(id, change, audit);
    };
    expect(await revokeAllToCompletion({ ...context.deps, repository: racing }, alice, {})).toBe(3);
  });

  it('a failure stops the run with that error and appends no revoked-all event', async () => {
    const context = await seeded();
    const failing = Object.create(context.repository) as MemoryTokenRepository;
    failing.revoke = async () => {
      throw new Error('DynamoDB down');
    };
    await expect(revokeAllToCompletion({ ...context.deps, repository: failing }, alice, {})).rejects.toThrow(
      'DynamoDB down',
    );
    expect(actionsOf(context.auditLog.all())).not.toContain('tokens.revoked-all');
  });
});

describe('forEachBounded', () => {
  it('never has more than the limit in flight and visits every item once', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    await forEachBounded(
      Array.from({ length: 25 }, (_, index) => index),
      4,
      async (item) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 1));
        seen.push(item);
        inFlight -= 1;
      },
    );
    expect(peak).toBe(4);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, index) => index));
  });

  it('starts nothing new after a failure, lets the others finish, then throws the first error', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const run = forEachBounded([0, 1, 2, 3, 4, 5], 2, async (item) => {
      started.push(item);
      if (item === 0) throw new Error('first');
      await new Promise((resolve) => setTimeout(resolve, 5));
      finished.push(item);
    });
    await expect(run).rejects.toThrow('first');
    expect(started).toEqual([0, 1]);
    expect(finished).toEqual([1]);
  });

  it('does nothing for no items', async () => {
    await expect(forEachBounded([], 8, async () => undefined)).resolves.toBeUndefined();
  });
});
